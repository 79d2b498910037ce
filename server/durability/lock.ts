// lock.ts: one server per data dir. `dir/LOCK` holds JSON {pid, host, startedAt, bootId,
// procStart, nonce}; it is created exclusively (a complete, fsynced temp file hard-linked to the
// name, so nobody ever reads a half-written lock; `open(..., 'wx')` where links are not
// supported). An existing lock is honoured when its process is alive on this host, and taken
// over when it is stale: the holder died (kill -9 leaves the file behind), the machine rebooted
// since (boot id differs), or its pid now belongs to another process (start time differs, e.g.
// pid 1 in a restarted container). A lock written on another host cannot be checked from here
// and is honoured; the error says to delete the file if that server is gone.
// A lock written from another pid namespace on this host (another container sharing the data
// volume, even one with the same host name) names a pid that means nothing here, so its holder
// renews the file's mtime every LOCK_RENEW_MS and such a lock counts as live until it has gone
// LOCK_STALE_MS without renewal: a starter waits that long before taking it over, and refuses
// if it was renewed meanwhile.
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fsyncDir, mkdirDurable, tempPathFor, type DurabilityLog } from './fsync';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** Linux boot id (/proc/sys/kernel/random/boot_id) when the lock was taken, if known. */
  bootId?: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22), if known. */
  procStart?: string;
  /** The holder's pid namespace (readlink /proc/self/ns/pid), if known: its pid means nothing in another. */
  pidNs?: string;
  /** Random per acquisition; tells our lock from a successor's. */
  nonce: string;
}

/** How often a holder renews LOCK's mtime (read only by starters in another pid namespace). */
export const LOCK_RENEW_MS = 1000;
/** A lock from another pid namespace not renewed for this long is stale. */
export const LOCK_STALE_MS = 5000;

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  readonly code = 'EDATADIRLOCKED';
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
    message: string,
  ) {
    super(message);
  }
}

export interface DataDirLock {
  readonly dir: string;
  readonly path: string;
  readonly info: LockInfo;
  /** The stale lock this acquisition replaced, if any. */
  readonly tookOver: LockInfo | null;
  /** Deletes LOCK if it is still ours (idempotent). */
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  log?: DurabilityLog;
  /** Overrides os.hostname() (tests). */
  host?: string;
}

/** Locks held by this process, by lock path → nonce (a second acquire in-process must fail too). */
const held = new Map<string, string>();

function readProcFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readProcFile('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or null off Linux / when the process is gone. */
function procStartTicks(pid: number | 'self'): string | null {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null; // rest[0] is field 3 (state)
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(raw: string): LockInfo | null {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo> | null;
    if (v === null || typeof v !== 'object') return null;
    if (
      !Number.isSafeInteger(v.pid) ||
      typeof v.host !== 'string' ||
      typeof v.startedAt !== 'string' ||
      typeof v.nonce !== 'string'
    )
      return null;
    return v as LockInfo;
  } catch {
    return null;
  }
}

type Verdict =
  | { kind: 'live'; reason: string }
  | { kind: 'foreign' }
  | { kind: 'elsewhere' } // this host, another pid namespace: judged by renewal
  | { kind: 'stale'; reason: string };

function judge(info: LockInfo, host: string, path: string): Verdict {
  if (info.host !== host) return { kind: 'foreign' };
  const ns = pidNamespace();
  const boot = bootId();
  if (info.bootId !== undefined && boot !== undefined && info.bootId !== boot)
    return { kind: 'stale', reason: 'written before the last reboot' };
  if (info.pidNs !== undefined && ns !== undefined && info.pidNs !== ns) return { kind: 'elsewhere' };
  if (info.pid === process.pid) {
    return held.get(path) === info.nonce
      ? { kind: 'live', reason: 'held by this process' }
      : { kind: 'stale', reason: 'its pid is this process (pid reused)' };
  }
  if (info.pid <= 0) return { kind: 'stale', reason: 'invalid pid' };
  if (!pidAlive(info.pid)) return { kind: 'stale', reason: `process ${info.pid} is not running` };
  if (info.procStart !== undefined) {
    const now = procStartTicks(info.pid);
    if (now !== null && now !== info.procStart)
      return { kind: 'stale', reason: `pid ${info.pid} now belongs to another process` };
  }
  return { kind: 'live', reason: 'process is running' };
}

async function writeTemp(path: string, text: string): Promise<string> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/** Creates `path` with `text` only if it does not exist; false on EEXIST. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const tmp = await writeTemp(path, text);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // No hard links here (some FUSE / network filesystems): plain exclusive create.
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function readRaw(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * A lock held from another pid namespace: renewed within LOCK_STALE_MS ('live'), or not
 * ('stale'); waits until the current mtime would be stale and looks again. 'changed': the file
 * was replaced or removed meanwhile (judge it anew).
 */
async function renewal(path: string, raw: string): Promise<'live' | 'stale' | 'changed'> {
  const first = await mtimeMs(path);
  if (first === null) return 'changed';
  const age = Date.now() - first;
  if (age >= LOCK_STALE_MS) return 'stale';
  await sleep(LOCK_STALE_MS - age + 100);
  if ((await readRaw(path)) !== raw) return 'changed';
  const now = await mtimeMs(path);
  if (now === null) return 'changed';
  return now > first ? 'live' : 'stale';
}

/**
 * Locks `dir` (created if missing) for this process. Throws DataDirLockedError when another live
 * process holds it. A stale lock is replaced (temp file renamed over it), then re-read after a
 * short pause to confirm that no concurrent starter replaced it in turn; the loser of such a race
 * sees the winner's live lock and fails.
 */
export async function acquireDataDirLock(dir: string, options: AcquireLockOptions = {}): Promise<DataDirLock> {
  const absDir = resolve(dir);
  await mkdirDurable(absDir);
  const path = join(absDir, 'LOCK');
  const host = options.host ?? hostname();
  const info: LockInfo = {
    pid: process.pid,
    host,
    startedAt: new Date().toISOString(),
    nonce: randomBytes(12).toString('hex'),
  };
  const boot = bootId();
  const start = procStartTicks('self');
  if (boot !== undefined) info.bootId = boot;
  if (start !== null) info.procStart = start;
  const ns = pidNamespace();
  if (ns !== undefined) info.pidNs = ns;
  const text = `${JSON.stringify(info)}\n`;
  let tookOver: LockInfo | null = null;

  for (let attempt = 0; ; attempt++) {
    if (attempt >= 20)
      throw new Error(
        `could not lock data dir ${absDir}: LOCK keeps changing (another server starting at the same time?)`,
      );
    if (await createExclusive(path, text)) break;
    const raw = await readRaw(path);
    if (raw === null) continue; // released meanwhile: try again
    const holder = parseLock(raw);
    let reason = 'unreadable lock file';
    if (holder !== null) {
      const verdict = judge(holder, host, path);
      if (verdict.kind === 'elsewhere') {
        const r = await renewal(path, raw);
        if (r === 'changed') continue;
        if (r === 'live')
          throw new DataDirLockedError(
            absDir,
            holder,
            `data dir ${absDir} is in use by process ${holder.pid} in another container or pid namespace on this host (started ${holder.startedAt}, lock renewed within ${LOCK_STALE_MS / 1000} s); stop it or choose another --data-dir`,
          );
        reason = `not renewed for ${LOCK_STALE_MS / 1000} s by its holder in another pid namespace`;
      } else if (verdict.kind === 'live') {
        const who = holder.pid === process.pid ? 'this process' : `process ${holder.pid}`;
        throw new DataDirLockedError(
          absDir,
          holder,
          `data dir ${absDir} is in use by ${who} (started ${holder.startedAt}); stop it or choose another --data-dir`,
        );
      } else if (verdict.kind === 'foreign') {
        throw new DataDirLockedError(
          absDir,
          holder,
          `data dir ${absDir} is in use by process ${holder.pid} on host ${holder.host} (started ${holder.startedAt}); stop it or choose another --data-dir (if no server runs there any more, delete ${path})`,
        );
      } else reason = verdict.reason;
    }
    // Stale: replace it, unless it changed since we judged it.
    const tmp = await writeTemp(path, text);
    try {
      if ((await readRaw(path)) !== raw) continue;
      await rename(tmp, path);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await fsyncDir(absDir);
    await sleep(25);
    const now = await readRaw(path);
    if (now === null || parseLock(now)?.nonce !== info.nonce) continue;
    tookOver = holder;
    options.log?.warn({ dir: absDir, stale: holder ?? raw.slice(0, 200), reason }, 'took over a stale data dir lock');
    break;
  }
  await fsyncDir(absDir);
  held.set(path, info.nonce);
  // Renewal for starters in other pid namespaces (a failed touch is retried at the next tick).
  const renew = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, LOCK_RENEW_MS);
  renew.unref();

  let released = false;
  return {
    dir: absDir,
    path,
    info,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      clearInterval(renew);
      if (held.get(path) === info.nonce) held.delete(path);
      const raw = await readRaw(path);
      if (raw === null || parseLock(raw)?.nonce !== info.nonce) return;
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await fsyncDir(absDir);
    },
  };
}
