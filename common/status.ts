// status.ts: ServerStatus, the snapshot of a running server that AdminService.GetStatus answers
// (server/observability/status.ts builds it; the gluonps CLI and the status page show it), and
// its codecs to and from the wire message (protos/gluonps/v1/admin.proto, field by field). The
// type is plain JSON: times are milliseconds since the Unix epoch, byte counts are numbers
// (exact up to 2^53), and "none" is null where the wire says 0, -1 or an unset message.
import type { ServerStatus as ProtoServerStatus } from '../protos/generated/gluonps/v1/ServerStatus';
import type { ServerStatus__Output as ProtoServerStatusOut } from '../protos/generated/gluonps/v1/ServerStatus';
import type { MemoryByKind__Output } from '../protos/generated/gluonps/v1/MemoryByKind';
import type { TrainerStatus__Output } from '../protos/generated/gluonps/v1/TrainerStatus';

/** Bytes held, by what they hold (see MemoryByKind in admin.proto). */
export interface MemoryByKind {
  parameters: number;
  gradients: number;
  optimizerStates: number;
  stagedGradients: number;
  constants: number;
  /** Everything else the allocator holds: uploads in flight, reads being sent, a step's sums. */
  other: number;
}

export const MEMORY_KINDS = [
  'parameters',
  'gradients',
  'optimizerStates',
  'stagedGradients',
  'constants',
  'other',
] as const satisfies ReadonlyArray<keyof MemoryByKind>;

export interface DeviceMemory {
  /** e.g. "cpu(0)", "gpu(1)". */
  device: string;
  allocatedBytes: number;
  peakBytes: number;
  byKind: MemoryByKind;
}

export interface MemoryStatus {
  /** Every device holding tensors, and cpu(0). */
  devices: DeviceMemory[];
  /** The devices' bytes summed by kind. */
  byKind: MemoryByKind;
  /** Host copies of tensors being sent (counted in heldBytes). */
  readStagingBytes: number;
  /** The sum of the devices' allocatedBytes. */
  allocatedBytes: number;
  /** The one --memory-budget over everything held for callers; null when unlimited. */
  budgetBytes: number | null;
  /** Everything counted against it: devices' tensors, host copies being sent, hostHeapBytes. */
  heldBytes: number;
  /** Memory outside the devices held for callers: constants' values, upload buffers, state snapshots. */
  hostHeapBytes: number;
}

export interface CheckpointStatus {
  id: number;
  timeUnixMs: number;
  /** The last write-ahead log record it holds. */
  lsn: number;
  /** Bytes of its files (the manifest apart). */
  bytes: number;
  /** How long writing it took (0 when recovered). */
  durationMs: number;
  /** interval, steps, on demand (or the reason given), shutdown, recovered, ... */
  reason: string;
  /** Each trainer's step count in it. */
  trainerSteps: Array<{ trainer: string; step: number }>;
}

export interface WalStatus {
  /** Bytes of its segment files on disk. */
  bytes: number;
  segments: number;
  /** Bytes appended since the server started. */
  appendedBytes: number;
  lastLsn: number;
}

export interface DurabilityStatus {
  mode: 'checkpoint' | 'wal-batch' | 'wal-always';
  dataDir: string;
  lastCheckpoint: CheckpointStatus | null;
  /** null in checkpoint mode (no log). */
  wal: WalStatus | null;
  changesSinceCheckpoint: number;
  /** The last failure of a checkpoint or of the log. */
  lastError: { timeUnixMs: number; message: string } | null;
}

export interface ParametersStatus {
  /** Parameters, constants apart. */
  parameters: number;
  constants: number;
  initialized: number;
  deferred: number;
  /** Bytes of their values over every context. */
  bytes: number;
}

export interface OpenStepStatus {
  step: number;
  /** Workers that stepped in it. */
  stepped: number;
  /** The lowest 1024 ids of the workers it waits for. */
  waitingFor: number[];
  waitingCount: number;
  /** When its first worker stepped. */
  sinceUnixMs: number;
  waitedMs: number;
  /** Being applied: it waits for no one. */
  applying: boolean;
}

export interface TrainerStatus {
  name: string;
  mode: 'sync' | 'async';
  optimizer: string;
  /** Parameters it updates. */
  params: number;
  numWorkers: number;
  /** Workers that attached or called so far. */
  workersSeen: number;
  /** The lowest 1024 ids of the workers that left. */
  workersLeft: number[];
  step: number;
  learningRate: number;
  stepTimeoutMs: number;
  timeoutPolicy: 'fail' | 'quorum';
  quorum: number;
  /** The open sync step; null when none is open (always in async mode). */
  openStep: OpenStepStatus | null;
  /** Steps applied in the last rateWindowMs. */
  recentSteps: number;
  rateWindowMs: number;
  /** Over the window; 0 with fewer than two steps in it. */
  stepsPerSecond: number;
  /** null when no step was applied since the server started. */
  lastStepUnixMs: number | null;
}

export interface LogEvent {
  timeUnixMs: number;
  level: 'warn' | 'error' | 'fatal';
  message: string;
  /** The line's fields as bounded text (trainer, param, method, err, ...). */
  fields: Record<string, string>;
}

export interface ServerStatus {
  version: string;
  timeUnixMs: number;
  startedUnixMs: number;
  uptimeMs: number;
  health: { status: 'SERVING' | 'NOT_SERVING'; reason: string };
  address: string;
  security: { tls: 'off' | 'tls' | 'mutual'; auth: boolean; fullAccessTokens: number; readOnlyTokens: number };
  /** Device kinds that may hold parameters (--devices). */
  devices: string[];
  memory: MemoryStatus;
  /** null when the server keeps its state in memory only. */
  durability: DurabilityStatus | null;
  parameters: ParametersStatus;
  /** By name. */
  trainers: TrainerStatus[];
  /** The last warnings and errors of the log, oldest first. */
  warnings: LogEvent[];
  /** Warnings and errors logged since start. */
  warningsTotal: number;
  /**
   * Only on a cluster (ps.status() of connect([...])): every shard's own status, by index; the
   * fields above are their merge (client/cluster/status.ts, docs/cluster.md "Status").
   */
  shards?: ShardStatus[];
}

/** One shard's own status in a cluster's (ServerStatus.shards). */
export interface ShardStatus {
  index: number;
  /** The address the client reaches it at. */
  address: string;
  status: ServerStatus;
}

/** What ListTrainers answers: a name and one line about it. */
export interface TrainerSummary {
  name: string;
  description: string;
}

export function emptyByKind(): MemoryByKind {
  return { parameters: 0, gradients: 0, optimizerStates: 0, stagedGradients: 0, constants: 0, other: 0 };
}

/** One line about a trainer: `sync sgd, 2 params, 4 workers, step 120, waiting for 1 worker`. */
export function describeTrainer(t: TrainerStatus): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [`${t.mode} ${t.optimizer}`, plural(t.params, 'param'), plural(t.numWorkers, 'worker')];
  parts.push(`step ${t.step}`);
  if (t.workersLeft.length > 0) parts.push(`${t.workersLeft.length} left`);
  if (t.openStep !== null && !t.openStep.applying && t.openStep.waitingCount > 0)
    parts.push(`waiting for ${plural(t.openStep.waitingCount, 'worker')}`);
  return parts.join(', ');
}

// --- Wire codecs -------------------------------------------------------------------------------

/** The wire message of a snapshot (the server's handler sends it). */
export function statusToProto(s: ServerStatus): ProtoServerStatus {
  return {
    ...s,
    memory: {
      ...s.memory,
      devices: s.memory.devices.map((d) => ({ ...d, budgetBytes: -1 })),
      budgetBytes: s.memory.budgetBytes ?? -1,
    },
    trainers: s.trainers.map((t) => ({ ...t, lastStepUnixMs: t.lastStepUnixMs ?? 0 })),
  };
}

function byKindFrom(m: MemoryByKind__Output | null): MemoryByKind {
  if (m === null) return emptyByKind();
  return {
    parameters: m.parameters,
    gradients: m.gradients,
    optimizerStates: m.optimizerStates,
    stagedGradients: m.stagedGradients,
    constants: m.constants,
    other: m.other,
  };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function trainerFrom(t: TrainerStatus__Output): TrainerStatus {
  const o = t.openStep;
  return {
    name: t.name,
    mode: oneOf(t.mode, ['sync', 'async'], 'sync'),
    optimizer: t.optimizer,
    params: t.params,
    numWorkers: t.numWorkers,
    workersSeen: t.workersSeen,
    workersLeft: [...t.workersLeft],
    step: t.step,
    learningRate: t.learningRate,
    stepTimeoutMs: t.stepTimeoutMs,
    timeoutPolicy: oneOf(t.timeoutPolicy, ['fail', 'quorum'], 'fail'),
    quorum: t.quorum,
    openStep:
      o === null
        ? null
        : {
            step: o.step,
            stepped: o.stepped,
            waitingFor: [...o.waitingFor],
            waitingCount: o.waitingCount,
            sinceUnixMs: o.sinceUnixMs,
            waitedMs: o.waitedMs,
            applying: o.applying,
          },
    recentSteps: t.recentSteps,
    rateWindowMs: t.rateWindowMs,
    stepsPerSecond: t.stepsPerSecond,
    lastStepUnixMs: t.lastStepUnixMs === 0 ? null : t.lastStepUnixMs,
  };
}

/** A snapshot from the wire message (the client reads it); absent parts read as empty. */
export function statusFromProto(p: ProtoServerStatusOut): ServerStatus {
  const d = p.durability;
  const mem = p.memory;
  const params = p.parameters;
  const sec = p.security;
  return {
    version: p.version,
    timeUnixMs: p.timeUnixMs,
    startedUnixMs: p.startedUnixMs,
    uptimeMs: p.uptimeMs,
    health: {
      status: p.health?.status === 'SERVING' ? 'SERVING' : 'NOT_SERVING',
      reason: p.health?.reason ?? '',
    },
    address: p.address,
    security: {
      tls: oneOf(sec?.tls ?? 'off', ['off', 'tls', 'mutual'], 'off'),
      auth: sec?.auth ?? false,
      fullAccessTokens: sec?.fullAccessTokens ?? 0,
      readOnlyTokens: sec?.readOnlyTokens ?? 0,
    },
    devices: [...p.devices],
    memory: {
      devices: (mem?.devices ?? []).map((x) => ({
        device: x.device,
        allocatedBytes: x.allocatedBytes,
        peakBytes: x.peakBytes,
        byKind: byKindFrom(x.byKind),
      })),
      byKind: byKindFrom(mem?.byKind ?? null),
      readStagingBytes: mem?.readStagingBytes ?? 0,
      allocatedBytes: mem?.allocatedBytes ?? 0,
      budgetBytes: mem === null || mem === undefined || mem.budgetBytes < 0 ? null : mem.budgetBytes,
      heldBytes: mem?.heldBytes ?? 0,
      hostHeapBytes: mem?.hostHeapBytes ?? 0,
    },
    durability:
      d === null
        ? null
        : {
            mode: oneOf(d.mode, ['checkpoint', 'wal-batch', 'wal-always'], 'checkpoint'),
            dataDir: d.dataDir,
            lastCheckpoint:
              d.lastCheckpoint === null
                ? null
                : {
                    id: d.lastCheckpoint.id,
                    timeUnixMs: d.lastCheckpoint.timeUnixMs,
                    lsn: d.lastCheckpoint.lsn,
                    bytes: d.lastCheckpoint.bytes,
                    durationMs: d.lastCheckpoint.durationMs,
                    reason: d.lastCheckpoint.reason,
                    trainerSteps: d.lastCheckpoint.trainerSteps.map((x) => ({ trainer: x.trainer, step: x.step })),
                  },
            wal:
              d.wal === null
                ? null
                : {
                    bytes: d.wal.bytes,
                    segments: d.wal.segments,
                    appendedBytes: d.wal.appendedBytes,
                    lastLsn: d.wal.lastLsn,
                  },
            changesSinceCheckpoint: d.changesSinceCheckpoint,
            lastError:
              d.lastError === null ? null : { timeUnixMs: d.lastError.timeUnixMs, message: d.lastError.message },
          },
    parameters: {
      parameters: params?.parameters ?? 0,
      constants: params?.constants ?? 0,
      initialized: params?.initialized ?? 0,
      deferred: params?.deferred ?? 0,
      bytes: params?.bytes ?? 0,
    },
    trainers: p.trainers.map(trainerFrom),
    warnings: p.warnings.map((w) => ({
      timeUnixMs: w.timeUnixMs,
      level: oneOf(w.level, ['warn', 'error', 'fatal'], 'warn'),
      message: w.message,
      fields: { ...w.fields },
    })),
    warningsTotal: p.warningsTotal,
  };
}
