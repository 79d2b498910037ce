// status.ts: the ServerStatus snapshot (common/status.ts) of a running server, read from the
// store, the trainers, the data dir's manager, the addon's per-device accounting and the recent-
// warnings ring. AdminService.GetStatus answers it; server/index.ts hands the same function to
// the status page. It only reads: every count is taken synchronously from the live structures
// (no lock, no await between them), so a snapshot is consistent without stalling any call; the
// one await (the log's files on disk) comes after.
import { stat } from 'node:fs/promises';
import * as nk from '../../native/index';
import type { Device, DeviceTensor } from '../../native/index';
import { emptyByKind, MEMORY_KINDS } from '../../common/status';
import type {
  DeviceMemory,
  DurabilityStatus,
  MemoryByKind,
  MemoryStatus,
  ParametersStatus,
  ServerStatus,
  TrainerStatus,
} from '../../common/status';
import type { Durability } from '../durability/durability';
import { listWalSegments } from '../durability/wal-segments';
import type { ParameterStore } from '../store/parameter-store';
import type { TrainerRegistry } from '../trainer/registry';
import type { Trainer } from '../trainer/trainer';
import { STEP_RATE_WINDOW_MS } from '../trainer/step-rate';
import type { WarningRing } from './warnings';
import pkg from '../../package.json' with { type: 'json' };

/** The server's version: package.json's, bundled in. */
export const SERVER_VERSION: string = pkg.version;

/** What a snapshot is read from; server/index.ts builds it. */
export interface StatusSource {
  /** Date.now() at start. */
  startedAt: number;
  address: string;
  /** --devices: the device kinds that may hold parameters. */
  devices: readonly string[];
  security: ServerStatus['security'];
  /** Serving, or why not. */
  health: () => ServerStatus['health'];
  store: ParameterStore;
  trainers: TrainerRegistry;
  durability: () => Durability | null;
  warnings: WarningRing;
}

const deviceName = (d: Device): string => `${d.type}(${d.id})`;

/** Adds live tensors' bytes to `kind` of their device's tally. */
function tally(into: Map<string, MemoryByKind>, kind: keyof MemoryByKind, tensors: Iterable<DeviceTensor>): void {
  for (const t of tensors) {
    if (t.disposed) continue;
    const name = deviceName(t.device);
    let k = into.get(name);
    if (k === undefined) into.set(name, (k = emptyByKind()));
    k[kind] += t.byteLength;
  }
}

function* statesOf(t: Trainer): Iterable<DeviceTensor> {
  for (const st of t.states.values()) for (const list of st.tensors) yield* list;
}

function* stagedOf(t: Trainer): Iterable<DeviceTensor> {
  for (const mine of t.pending.values()) for (const g of mine.values()) yield g.values;
}

/** Bytes by device and kind: the store's and trainers' tensors, the rest from the allocator. */
export function memoryStatus(store: ParameterStore, trainers: readonly Trainer[]): MemoryStatus {
  const kinds = new Map<string, MemoryByKind>();
  for (const e of store.entriesInOrder()) {
    tally(kinds, e.isConstant ? 'constants' : 'parameters', e.data ?? []);
    tally(kinds, 'gradients', e.grad ?? []);
  }
  for (const t of trainers) {
    tally(kinds, 'optimizerStates', statesOf(t));
    tally(kinds, 'stagedGradients', stagedOf(t));
  }
  // cpu(0) always; other cpu(i) and every gpu when they hold or held anything.
  const info = nk.buildInfo();
  const candidates: Device[] = [];
  for (let i = 0; i < store.maxCpuContexts; i++) candidates.push(nk.cpu(i));
  for (let i = 0; i < info.gpuCount; i++) candidates.push(nk.gpu(i));
  const devices: DeviceMemory[] = [];
  const total = emptyByKind();
  let allocated = 0;
  for (const d of candidates) {
    const name = deviceName(d);
    const stats = nk.memoryStats(d);
    const byKind = kinds.get(name) ?? emptyByKind();
    if (!(d.type === 'cpu' && d.id === 0) && d.type !== 'gpu' && stats.peak === 0 && !kinds.has(name)) continue;
    const known = MEMORY_KINDS.reduce((a, k) => a + byKind[k], 0);
    byKind.other = Math.max(0, stats.allocated - known);
    for (const k of MEMORY_KINDS) total[k] += byKind[k];
    allocated += stats.allocated;
    devices.push({
      device: name,
      allocatedBytes: stats.allocated,
      peakBytes: stats.peak,
      byKind,
    });
  }
  const totals = nk.memoryTotals();
  return {
    devices,
    byKind: total,
    readStagingBytes: totals.staging.allocated,
    allocatedBytes: allocated,
    budgetBytes: totals.total.budget < 0 ? null : totals.total.budget,
    heldBytes: totals.total.allocated,
    hostHeapBytes: totals.external.allocated,
  };
}

export function parametersStatus(store: ParameterStore): ParametersStatus {
  const out: ParametersStatus = { parameters: 0, constants: 0, initialized: 0, deferred: 0, bytes: 0 };
  for (const e of store.entriesInOrder()) {
    if (e.isConstant) out.constants++;
    else out.parameters++;
    if (e.data !== null) out.initialized++;
    if (e.deferred !== null) out.deferred++;
    for (const t of e.data ?? []) if (!t.disposed) out.bytes += t.byteLength;
  }
  return out;
}

export function trainerStatus(t: Trainer, now = Date.now()): TrainerStatus {
  const state = t.state();
  const open = t.spec.mode === 'sync' ? t.open : null;
  const rate = t.rate.recent(now);
  return {
    name: t.spec.name,
    mode: t.spec.mode,
    optimizer: t.spec.optimizer.name,
    // The trainer's own count: on a cluster shard, its parameters on every shard (status() merges by it).
    params: (t.spec.allParams ?? t.spec.params).length,
    numWorkers: t.spec.numWorkers,
    workersSeen: t.seen.size,
    workersLeft: state.workersLeft,
    step: state.step,
    learningRate: state.learningRate,
    stepTimeoutMs: t.spec.stepTimeoutMs,
    timeoutPolicy: t.spec.timeoutPolicy,
    quorum: t.spec.quorum,
    openStep:
      open === null
        ? null
        : {
            step: open.index,
            stepped: open.stepped.size,
            waitingFor: state.waitingFor,
            waitingCount: state.waitingCount,
            sinceUnixMs: open.openedAt,
            waitedMs: Math.max(0, now - open.openedAt),
            applying: open.applying,
          },
    recentSteps: rate.steps,
    rateWindowMs: STEP_RATE_WINDOW_MS,
    stepsPerSecond: rate.perSecond,
    lastStepUnixMs: t.rate.lastAt,
  };
}

/** The log's segment files on disk: their count and bytes (a file removed meanwhile is skipped). */
async function walOnDisk(dir: string): Promise<{ bytes: number; segments: number }> {
  const segs = await listWalSegments(dir);
  let bytes = 0;
  let segments = 0;
  for (const s of segs) {
    try {
      bytes += (await stat(s.path)).size;
      segments++;
    } catch {
      // Removed by a checkpoint between the listing and the stat.
    }
  }
  return { bytes, segments };
}

async function durabilityStatus(d: Durability): Promise<DurabilityStatus> {
  const mode = d.options.mode;
  const base: DurabilityStatus = {
    mode,
    dataDir: d.options.dataDir,
    lastCheckpoint: d.lastCheckpoint === null ? null : { ...d.lastCheckpoint },
    wal: null,
    changesSinceCheckpoint: d.changesPending,
    lastError: d.lastError === null ? null : { ...d.lastError },
  };
  if (mode !== 'checkpoint') {
    const appendedBytes = d.walBytes;
    const lastLsn = Number(d.lastRecordLsn);
    base.wal = { ...(await walOnDisk(d.walDir)), appendedBytes, lastLsn };
  }
  return base;
}

/**
 * A snapshot of the server. `trainer`: only that trainer (NOT_FOUND, naming it, when it does
 * not exist); otherwise every trainer, by name.
 */
export async function serverStatus(src: StatusSource, options: { trainer?: string } = {}): Promise<ServerStatus> {
  const now = Date.now();
  const all = src.trainers.all();
  const chosen = options.trainer ? [src.trainers.get(options.trainer)] : all;
  const d = src.durability();
  const status: ServerStatus = {
    version: SERVER_VERSION,
    timeUnixMs: now,
    startedUnixMs: src.startedAt,
    uptimeMs: Math.max(0, now - src.startedAt),
    health: src.health(),
    address: src.address,
    security: { ...src.security },
    devices: [...src.devices],
    memory: memoryStatus(src.store, all),
    durability: null,
    parameters: parametersStatus(src.store),
    trainers: chosen.map((t) => trainerStatus(t, now)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    warnings: src.warnings.list(),
    warningsTotal: src.warnings.total,
  };
  if (d !== null) status.durability = await durabilityStatus(d);
  return status;
}
