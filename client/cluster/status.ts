// status.ts: ps.status() on a cluster: one ServerStatus for the whole cluster, so every caller
// of one server's (the CLI, dashboards) reads it as it is, with each shard's own status beside it
// in `shards` so nothing is lost (docs/cluster.md, "Status"). The merge, field by field:
// - health: NOT_SERVING when any shard is, the reason naming each such shard and its address;
// - memory: devices by name with their bytes summed over the shards (peakBytes is the sum of the
//   shards' peaks, an upper bound: they need not have peaked at once); the budget is the sum of
//   the shards' budgets, or null (unlimited) when any shard has none;
// - parameters: each once: a split parameter's parts count as one parameter (its first part,
//   rowStart 0, counts; every shard's List says which parts it holds), their bytes summed;
// - trainers: one per name, as describeTrainer() merges them (trainer-merge.ts): the lowest
//   holding shard (the decider) gives the step, rate and settings; the workers seen, left and
//   waited for are every shard's; an open step is open while any shard has it;
// - warnings: every shard's, by time, each with a `shard` field; warningsTotal summed;
// - durability: each shard's is in `shards`; the merged one sums the logs and changes, and takes
//   the oldest shard's last checkpoint (the newest all of them hold at least) and newest error.
// A shard that does not answer fails the call UNAVAILABLE naming it and its address, as other
// calls needing every shard do: a status missing a shard would undercount every sum, silently.
// ps.cluster() is the call that reports which shards are down.
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { ServerStatus__Output } from '../../protos/generated/gluonps/v1/ServerStatus';
import {
  emptyByKind,
  MEMORY_KINDS,
  statusFromProto,
  type DeviceMemory,
  type DurabilityStatus,
  type LogEvent,
  type MemoryByKind,
  type MemoryStatus,
  type OpenStepStatus,
  type ParametersStatus,
  type ServerStatus,
  type TrainerStatus,
} from '../../common/status';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import type { Shards } from './shards';

/** Parameters a shard counts that are not the first part of a split one (counted on another shard). */
export type PartCounts = Omit<ParametersStatus, 'bytes'>;

/** One shard's answer: its status and the parts it holds beyond a split parameter's first. */
export interface ShardAnswer {
  index: number;
  address: string;
  status: ServerStatus;
  extraParts: PartCounts;
}

/** Most worker ids a status lists (server/observability/status.ts MAX_LISTED_WORKERS). */
const MAX_LISTED = 1024;

/** ps.status() of a cluster client: every shard's GetStatus and List, merged. */
export async function clusterStatus(shards: Shards, options: { trainer?: string } = {}): Promise<ServerStatus> {
  const trainer = options.trainer ?? '';
  if (typeof trainer !== 'string') throw invalidArgument(`status(): trainer must be a string, got ${show(trainer)}`);
  const all = shards.channels.map((_, i) => i);
  const answers = await shards.all(all, async (index, ch): Promise<ShardAnswer> => {
    // Unfiltered: a trainer lives only on the shards holding its parameters (filtered below).
    const [status, list] = await Promise.all([
      ch.unary<ServerStatus__Output>((md, o, cb) => ch.admin.getStatus({ trainer: '' }, md, o, cb)),
      ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb)),
    ]);
    return { index, address: ch.address, status: statusFromProto(status), extraParts: extraParts(list.parameters) };
  });
  const merged = mergeStatuses(answers);
  if (trainer === '') return merged;
  if (!merged.trainers.some((t) => t.name === trainer))
    throw new GluonPsError(Status.NOT_FOUND, `trainer '${trainer}' does not exist`);
  const only = (s: ServerStatus): ServerStatus => ({ ...s, trainers: s.trainers.filter((t) => t.name === trainer) });
  return { ...only(merged), shards: merged.shards!.map((x) => ({ ...x, status: only(x.status) })) };
}

/** What a shard holding `infos` (its List) counts beyond the first part of each split parameter. */
export function extraParts(infos: readonly ParameterInfo__Output[]): PartCounts {
  const out: PartCounts = { parameters: 0, constants: 0, initialized: 0, deferred: 0 };
  for (const info of infos) {
    const part = info.spec?.part ?? null;
    // Every split parameter has exactly one part from row 0 (placement.ts): it stands for the whole.
    if (part === null || part.rowStart === 0) continue;
    if (info.isConstant) out.constants++;
    else out.parameters++;
    if (info.initialized) out.initialized++;
    if (info.deferred) out.deferred++;
  }
  return out;
}

/** The cluster's status from every shard's answer (in index order). */
export function mergeStatuses(answers: readonly ShardAnswer[]): ServerStatus {
  const list = [...answers].sort((a, b) => a.index - b.index);
  const statuses = list.map((a) => a.status);
  const first = statuses[0]!;
  const where = (a: ShardAnswer): string => `shard ${a.index} (${a.address})`;
  const down = list.filter((a) => a.status.health.status !== 'SERVING');
  const sum = (pick: (s: ServerStatus) => number): number => statuses.reduce((t, s) => t + pick(s), 0);
  return {
    version: [...new Set(statuses.map((s) => s.version))].join(', '),
    timeUnixMs: Math.max(...statuses.map((s) => s.timeUnixMs)),
    startedUnixMs: Math.min(...statuses.map((s) => s.startedUnixMs)),
    uptimeMs: Math.max(...statuses.map((s) => s.uptimeMs)),
    health:
      down.length === 0
        ? { status: 'SERVING', reason: first.health.reason }
        : {
            status: 'NOT_SERVING',
            reason: down.map((a) => `${where(a)}: ${a.status.health.reason || 'not serving'}`).join('; '),
          },
    address: list.map((a) => a.address).join(','),
    // Every shard is started with the same flags; each one's own is in `shards`.
    security: { ...first.security },
    devices: [...new Set(statuses.flatMap((s) => s.devices))],
    memory: mergeMemory(statuses.map((s) => s.memory)),
    durability: mergeDurability(list),
    parameters: {
      parameters: sum((s) => s.parameters.parameters) - list.reduce((t, a) => t + a.extraParts.parameters, 0),
      constants: sum((s) => s.parameters.constants) - list.reduce((t, a) => t + a.extraParts.constants, 0),
      initialized: sum((s) => s.parameters.initialized) - list.reduce((t, a) => t + a.extraParts.initialized, 0),
      deferred: sum((s) => s.parameters.deferred) - list.reduce((t, a) => t + a.extraParts.deferred, 0),
      bytes: sum((s) => s.parameters.bytes),
    },
    trainers: mergeTrainers(statuses),
    warnings: list
      .flatMap((a) =>
        a.status.warnings.map((w): LogEvent => ({ ...w, fields: { ...w.fields, shard: String(a.index) } })),
      )
      // Stable: events of one millisecond keep shard order.
      .sort((a, b) => a.timeUnixMs - b.timeUnixMs),
    warningsTotal: sum((s) => s.warningsTotal),
    shards: list.map((a) => ({ index: a.index, address: a.address, status: a.status })),
  };
}

function addKinds(into: MemoryByKind, from: MemoryByKind): void {
  for (const k of MEMORY_KINDS) into[k] += from[k];
}

function mergeMemory(mems: readonly MemoryStatus[]): MemoryStatus {
  const devices = new Map<string, DeviceMemory>();
  const byKind = emptyByKind();
  for (const m of mems) {
    addKinds(byKind, m.byKind);
    for (const d of m.devices) {
      const to = devices.get(d.device) ?? { device: d.device, allocatedBytes: 0, peakBytes: 0, byKind: emptyByKind() };
      to.allocatedBytes += d.allocatedBytes;
      to.peakBytes += d.peakBytes;
      addKinds(to.byKind, d.byKind);
      devices.set(d.device, to);
    }
  }
  const sum = (pick: (m: MemoryStatus) => number): number => mems.reduce((t, m) => t + pick(m), 0);
  return {
    devices: [...devices.values()],
    byKind,
    readStagingBytes: sum((m) => m.readStagingBytes),
    allocatedBytes: sum((m) => m.allocatedBytes),
    budgetBytes: mems.some((m) => m.budgetBytes === null) ? null : sum((m) => m.budgetBytes!),
    heldBytes: sum((m) => m.heldBytes),
    hostHeapBytes: sum((m) => m.hostHeapBytes),
  };
}

function mergeDurability(list: readonly ShardAnswer[]): DurabilityStatus | null {
  const held = list.filter((a) => a.status.durability !== null);
  if (held.length === 0) return null;
  const ds = held.map((a) => a.status.durability!);
  const checkpoints = ds.map((d) => d.lastCheckpoint);
  const wals = ds.map((d) => d.wal).filter((w) => w !== null);
  const errors = held
    .filter((a) => a.status.durability!.lastError !== null)
    .map((a) => {
      const e = a.status.durability!.lastError!;
      return { timeUnixMs: e.timeUnixMs, message: `shard ${a.index} (${a.address}): ${e.message}` };
    })
    .sort((a, b) => b.timeUnixMs - a.timeUnixMs);
  return {
    mode: ds[0]!.mode,
    dataDir: held.map((a) => a.status.durability!.dataDir).join(','),
    // A shard without one (or without durability) has none the cluster could go back to.
    lastCheckpoint:
      held.length < list.length || checkpoints.some((c) => c === null)
        ? null
        : checkpoints.reduce((a, b) => (b!.timeUnixMs < a!.timeUnixMs ? b : a))!,
    wal:
      wals.length === 0
        ? null
        : {
            bytes: wals.reduce((t, w) => t + w.bytes, 0),
            segments: wals.reduce((t, w) => t + w.segments, 0),
            appendedBytes: wals.reduce((t, w) => t + w.appendedBytes, 0),
            // Each shard numbers its own log: the highest, as a gauge of progress.
            lastLsn: Math.max(...wals.map((w) => w.lastLsn)),
          },
    changesSinceCheckpoint: ds.reduce((t, d) => t + d.changesSinceCheckpoint, 0),
    lastError: errors[0] ?? null,
  };
}

/** One TrainerStatus per name over the shards holding it (statuses in shard order). */
export function mergeTrainers(statuses: readonly ServerStatus[]): TrainerStatus[] {
  const byName = new Map<string, TrainerStatus[]>();
  for (const s of statuses) for (const t of s.trainers) byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
  return [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => mergeTrainer(byName.get(name)!));
}

function mergeTrainer(ts: readonly TrainerStatus[]): TrainerStatus {
  const decider = ts[0]!;
  const left = [...new Set(ts.flatMap((t) => t.workersLeft))].sort((a, b) => a - b).slice(0, MAX_LISTED);
  return {
    ...decider,
    workersLeft: left,
    // Shards may have seen different workers; a count cannot be unioned, so the most any saw.
    workersSeen: Math.max(...ts.map((t) => t.workersSeen)),
    params: Math.max(...ts.map((t) => t.params)),
    openStep: mergeOpenStep(ts.map((t) => t.openStep)),
  };
}

function mergeOpenStep(opens: ReadonlyArray<OpenStepStatus | null>): OpenStepStatus | null {
  const open = opens.filter((o): o is OpenStepStatus => o !== null);
  if (open.length === 0) return null;
  const waiting = [...new Set(open.flatMap((o) => o.waitingFor))].sort((a, b) => a - b);
  return {
    step: open[0]!.step,
    stepped: Math.max(...open.map((o) => o.stepped)),
    waitingFor: waiting.slice(0, MAX_LISTED),
    waitingCount: Math.max(waiting.length, ...open.map((o) => o.waitingCount)),
    sinceUnixMs: Math.min(...open.map((o) => o.sinceUnixMs)),
    waitedMs: Math.max(...open.map((o) => o.waitedMs)),
    applying: open.every((o) => o.applying),
  };
}
