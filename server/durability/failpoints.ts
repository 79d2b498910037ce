// failpoints.ts: named crash sites for the crash tests. The env var GLUONPS_FAILPOINTS is a comma
// list of `name`, `name=N` or `name=N:action`: the point fires on its N-th hit (1-based, default
// 1) and only then. Actions: `kill` (default) sends SIGKILL to this process, so it dies as under
// `kill -9` (no exit handlers, no flushing); `throw` throws a FailpointError at the call site.
// The variable is read once when this module loads; when it is unset, failpoint() is one
// boolean test. Tests running in-process may call configureFailpoints() instead. Names are the
// FailpointName union at the call sites and are checked against FAILPOINTS in the variable, so a
// misspelt point fails to compile or to start instead of silently never firing.
import { writeSync } from 'node:fs';

/** Every named point the product calls. Hits are counted per name, per process. */
export const FAILPOINTS = [
  // -- write-ahead log (server/durability/wal.ts) --
  'wal.before-write', // once per write batch, before its writev: nothing of the batch is in the file
  'wal.mid-record', // once per record: the batch is written up to half of this record, then the action (a torn tail)
  'wal.after-write-before-fsync', // once per write batch: the batch is in the page cache, not yet fsynced
  'wal.after-fsync-before-ack', // once per fsync: records are durable, their `durable` promises not yet resolved
  'wal.after-segment-create', // once per new segment file: created and its directory fsynced, nothing written
  // -- checkpoints (server/durability/checkpoint-dir.ts) --
  'checkpoint.after-tensor-files', // once per checkpoint: every file written by its writer, none fsynced yet
  'checkpoint.before-manifest', // once per checkpoint: files fsynced, manifest.json not yet created
  'checkpoint.mid-manifest', // once per checkpoint: half of manifest.json written (a torn manifest), then the action
  'checkpoint.after-manifest-before-rename', // once per checkpoint: tmp dir complete and fsynced, not renamed
  'checkpoint.after-rename-before-dirsync', // once per checkpoint: renamed to ckpt-<id>, root dir not yet fsynced
  'checkpoint.after-dirsync', // once per checkpoint: committed, before writeCheckpoint returns
  'checkpoint.prune-after-rename', // once per pruned checkpoint: renamed to tmp-del-*, not yet deleted
  // -- integration call sites (server store / trainer) --
  'step.after-apply-before-log', // a step is applied in memory, its log record not yet appended
  'step.after-log-before-ack', // a step is applied and its record written, its workers not yet answered
  'step.staged-before-step', // a worker's pushes are staged (answered), its step() not yet received
] as const;

export type FailpointName = (typeof FAILPOINTS)[number];
export type FailpointAction = 'kill' | 'throw';

export class FailpointError extends Error {
  override name = 'FailpointError';
  constructor(
    readonly failpoint: FailpointName,
    readonly hit: number,
  ) {
    super(`failpoint ${failpoint} fired on hit ${hit}`);
  }
}

interface Spec {
  readonly at: number;
  readonly action: FailpointAction;
  hits: number;
}

let active = false;
let specs = new Map<FailpointName, Spec>();

function isFailpointName(name: string): name is FailpointName {
  return (FAILPOINTS as readonly string[]).includes(name);
}

/**
 * Parses `name[=N[:action]]` items; throws on a malformed list or an unknown name (a typo must
 * not go unnoticed: the crash test would pass without ever crashing).
 */
export function parseFailpoints(list: string): Map<FailpointName, Spec> {
  const out = new Map<FailpointName, Spec>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([A-Za-z0-9_.-]+)(?:=(\d+)(?::(kill|throw))?)?$/.exec(item);
    if (m === null) {
      throw new Error(`GLUONPS_FAILPOINTS: cannot parse '${item}'; expected name, name=N or name=N:kill|throw`);
    }
    const name = m[1]!;
    if (!isFailpointName(name)) {
      throw new Error(`GLUONPS_FAILPOINTS: unknown failpoint '${name}'; the known points are ${FAILPOINTS.join(', ')}`);
    }
    const at = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isSafeInteger(at) || at < 1) throw new Error(`GLUONPS_FAILPOINTS: '${item}': N must be >= 1`);
    out.set(name, { at, action: (m[3] as FailpointAction | undefined) ?? 'kill', hits: 0 });
  }
  return out;
}

/**
 * Replaces the configuration (and resets hit counts); undefined or '' turns every point off.
 * Throws on a list parseFailpoints refuses, leaving the previous configuration in place.
 */
export function configureFailpoints(list: string | undefined): void {
  specs = list === undefined || list.trim() === '' ? new Map() : parseFailpoints(list);
  active = specs.size > 0;
}

configureFailpoints(process.env.GLUONPS_FAILPOINTS);

/** True when any failpoint is configured (callers may skip preparing a failpoint's side work). */
export function failpointsActive(): boolean {
  return active;
}

/**
 * Counts a hit of `name` and returns the action if this hit is the one that fires, without
 * performing it: for points that must do something first (write half a record). Then call
 * triggerFailpoint(name, action).
 */
export function failpointHit(name: FailpointName): FailpointAction | null {
  if (!active) return null;
  const spec = specs.get(name);
  if (spec === undefined) return null;
  spec.hits += 1;
  return spec.hits === spec.at ? spec.action : null;
}

/** Performs a fired point's action: SIGKILL this process, or throw a FailpointError. */
export function triggerFailpoint(name: FailpointName, action: FailpointAction): void {
  const hit = specs.get(name)?.hits ?? 0;
  // One synchronous line on stderr so a crash harness can tell a failpoint death from a bug.
  writeSync(2, `gluonps: failpoint ${name} fired on hit ${hit} (${action})\n`);
  if (action === 'throw') throw new FailpointError(name, hit);
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before kill() returns for the calling process; never continue.
  throw new FailpointError(name, hit);
}

/** A named crash site: does nothing unless GLUONPS_FAILPOINTS names it and this is the N-th hit. */
export function failpoint(name: FailpointName): void {
  if (!active) return;
  const action = failpointHit(name);
  if (action !== null) triggerFailpoint(name, action);
}
