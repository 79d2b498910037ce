// rollback.ts: the way back for a cluster whose shards are at different steps after one came
// back from an older checkpoint (--durability checkpoint; docs/cluster.md, "A shard that
// restarts"). On a stopped server's data dir it makes the newest checkpoint in which a trainer
// is at a given step the newest one there is: every newer checkpoint is renamed
// `rolled-back-ckpt-<id>` (no start lists, loads, prunes or removes such a name; delete it once
// you no longer need it), so the next start recovers that step. Run on every shard with the
// same trainer and step, the shards come back at the same step; given every shard's data dir
// at once, rollBackToNewestCommon picks the newest step all of them hold. A data dir with a write-ahead
// log is refused: its records after the checkpoint would be replayed over it, and WAL modes
// bring a restarted shard back at the step its peers are at anyway.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from './fsync';
import { listCheckpoints, type CheckpointInfo } from './checkpoint-dir';
import { acquireDataDirLock } from './lock';

export class RollbackError extends Error {
  override name = 'RollbackError';
}

export interface RollbackResult {
  /** The checkpoint the next start recovers. */
  checkpoint: string;
  /** Newer checkpoints set aside (their new paths). */
  setAside: string[];
}

interface TrainerStep {
  spec: { name: string };
  step: number;
}

/** The step count of `trainer` in a checkpoint, or null when it holds no such trainer. */
function stepIn(c: CheckpointInfo, trainer: string): number | null {
  const trainers = (c.manifest.meta as { trainers?: Array<{ meta: TrainerStep }> }).trainers ?? [];
  return trainers.find((t) => t.meta.spec.name === trainer)?.meta.step ?? null;
}

/** A stopped server's data dir, locked, with its checkpoints newest first. */
interface Opened {
  dataDir: string;
  all: CheckpointInfo[];
  release(): Promise<void>;
}

/**
 * Locks `dataDir` (refused while a server runs there) and lists its checkpoints; refuses a
 * directory that is no data dir and one with a write-ahead log.
 */
async function openDataDir(dataDir: string): Promise<Opened> {
  if (
    !(await stat(join(dataDir, 'checkpoints')).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new RollbackError(`${dataDir} is not a data dir (it has no checkpoints directory)`);
  const lock = await acquireDataDirLock(dataDir);
  try {
    const segments = (await readdir(join(dataDir, 'wal')).catch(() => [] as string[])).filter((f) =>
      /^wal-\d{20}\.log$/.test(f),
    );
    if (segments.length > 0)
      throw new RollbackError(
        `data dir ${dataDir} has a write-ahead log (${segments.join(', ')}): rolling back is for --durability checkpoint, where a restarted shard can come back behind its peers; a WAL mode recovers every acknowledged step`,
      );
    const all = await listCheckpoints(join(dataDir, 'checkpoints'), { verify: 'size' });
    return { dataDir, all, release: () => lock.release() };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** What a data dir's checkpoints hold of `trainer`, newest first. */
function held(d: Opened, trainer: string): string {
  const list = d.all.map((c) => `checkpoint ${c.id}: ${stepIn(c, trainer) ?? 'no such trainer'}`);
  return list.length === 0 ? 'it holds no checkpoint' : `it holds ${list.join('; ')}`;
}

/** Sets aside every checkpoint of `d` newer than the newest one holding `trainer` at `step`. */
async function rollBack(d: Opened, trainer: string, step: number): Promise<RollbackResult> {
  const at = d.all.findIndex((c) => stepIn(c, trainer) === step);
  if (at < 0)
    throw new RollbackError(
      `data dir ${d.dataDir} holds no checkpoint of trainer '${trainer}' at step ${step} (${held(d, trainer)}): roll every shard back to a step all of them hold`,
    );
  const setAside: string[] = [];
  for (const newer of d.all.slice(0, at)) {
    const aside = join(dirname(newer.dir), `rolled-back-${basename(newer.dir)}`);
    await rm(aside, { recursive: true, force: true });
    await rename(newer.dir, aside);
    setAside.push(aside);
  }
  if (setAside.length > 0) await fsyncDir(join(d.dataDir, 'checkpoints'));
  return { checkpoint: d.all[at]!.dir, setAside };
}

/**
 * Makes the newest checkpoint of `dataDir` in which `trainer` is at `step` the newest one
 * (newer ones are set aside). Takes the data dir's lock, so it refuses while a server runs
 * there. Throws RollbackError naming the steps the data dir holds when none is at `step`.
 */
export async function rollBackToStep(dataDir: string, trainer: string, step: number): Promise<RollbackResult> {
  const d = await openDataDir(dataDir);
  try {
    return await rollBack(d, trainer, step);
  } finally {
    await d.release();
  }
}

/**
 * Every shard's data dir (all reachable from here, every server stopped) back to the newest
 * step of `trainer` that all of them hold a checkpoint of: the cluster's way back in one call.
 * Checks every dir before it changes any; throws RollbackError naming what each holds when they
 * hold no step in common.
 */
export async function rollBackToNewestCommon(
  dataDirs: readonly string[],
  trainer: string,
): Promise<{ step: number; results: RollbackResult[] }> {
  const opened: Opened[] = [];
  try {
    for (const dir of dataDirs) opened.push(await openDataDir(dir));
    const sets = opened.map(
      (d) => new Set(d.all.map((c) => stepIn(c, trainer)).filter((x): x is number => x !== null)),
    );
    const common = [...(sets[0] ?? [])].filter((x) => sets.every((set) => set.has(x)));
    if (common.length === 0)
      throw new RollbackError(
        `the data dirs hold no step of trainer '${trainer}' in common (${opened.map((d) => `${d.dataDir}: ${held(d, trainer)}`).join('; ')})`,
      );
    const step = Math.max(...common);
    const results: RollbackResult[] = [];
    for (const d of opened) results.push(await rollBack(d, trainer, step));
    return { step, results };
  } finally {
    for (const d of opened) await d.release();
  }
}
