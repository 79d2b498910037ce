// The data-dir lock (server/durability/lock.ts): a second acquire, in this process or in another
// live one, fails with a message naming the holder; a lock left by a process killed with SIGKILL,
// by a dead pid, by a reused pid (ours) or an unreadable file is taken over; another host's lock
// is honoured, and one from another pid namespace (a container) while it is renewed; release
// deletes only our own lock.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError, LOCK_RENEW_MS, LOCK_STALE_MS } from '../../server/durability/lock';
import { ROOT, useBundledModule } from '../fixtures/bundled-module';

const scratch = useBundledModule('lock', 'server/durability/lock.ts');
const LOCK_TS = scratch.bundle;
const freshDir = scratch.fresh;
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const exited = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

/** A child process that takes the lock and holds it until killed. */
function holder(dir: string): Promise<ChildProcess> {
  const code = `
    const { acquireDataDirLock } = await import(${JSON.stringify(LOCK_TS)});
    await acquireDataDirLock(${JSON.stringify(dir)});
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => s.includes('locked') && resolve(child));
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
}

describe('acquireDataDirLock', () => {
  it('creates LOCK with pid, host and start time; a second acquire in this process fails; release deletes it', async () => {
    const dir = freshDir();
    const lock = await acquireDataDirLock(dir);
    const info = JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(String(info.startedAt)))).toBe(false);
    expect(lock.tookOver).toBeNull();
    await expect(acquireDataDirLock(dir)).rejects.toThrow(/is in use by this process/);
    await lock.release();
    await lock.release(); // idempotent
    expect(readdirSync(dir)).toEqual([]);
    const again = await acquireDataDirLock(dir);
    await again.release();
  });

  it('another live process holding it: a clear error; after that process is killed with SIGKILL the stale lock is taken over', async () => {
    const dir = freshDir();
    const child = await holder(dir);
    const err = (await acquireDataDirLock(dir).catch((e: unknown) => e)) as DataDirLockedError;
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err.holder.pid).toBe(child.pid);
    expect(err.message).toMatch(
      new RegExp(
        `^data dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${child.pid} \\(started \\d{4}-.*\\); stop it or choose another --data-dir$`,
      ),
    );
    child.kill('SIGKILL');
    await exited(child);
    const warned: string[] = [];
    const lock = await acquireDataDirLock(dir, { log: { warn: (_o, m) => void warned.push(m) } });
    expect(lock.tookOver?.pid).toBe(child.pid);
    expect(warned).toEqual(['took over a stale data dir lock']);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual(['LOCK']); // no temp files left
    await lock.release();
  }, 15_000);

  it('takes over locks of a dead pid, of our own pid (reused, e.g. pid 1 in a restarted container), and unreadable ones', async () => {
    const deadPid = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    const stale = [
      { pid: deadPid, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z', nonce: 'x' },
      { pid: process.pid, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z', nonce: 'not-ours' },
      'garbage{',
    ];
    for (const content of stale) {
      const dir = freshDir();
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'LOCK'), typeof content === 'string' ? content : JSON.stringify(content));
      const lock = await acquireDataDirLock(dir);
      expect(JSON.parse(readFileSync(lock.path, 'utf8')).nonce).toBe(lock.info.nonce);
      await lock.release();
      expect(existsSync(lock.path)).toBe(false);
    }
  });

  it.skipIf(process.platform !== 'linux')(
    'a live pid whose start time differs from the lock is a reused pid: stale',
    async () => {
      const dir = freshDir();
      mkdirSync(dir);
      // pid 1 is alive (init), but it did not write this lock.
      writeFileSync(
        path.join(dir, 'LOCK'),
        JSON.stringify({
          pid: 1,
          host: hostname(),
          startedAt: new Date().toISOString(),
          procStart: '123456789012',
          nonce: 'x',
        }),
      );
      const lock = await acquireDataDirLock(dir);
      await lock.release();
    },
  );

  it.skipIf(process.platform !== 'linux')('a lock written before the last reboot is stale', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'LOCK'),
      JSON.stringify({
        pid: 1,
        host: hostname(),
        startedAt: '2020-01-01T00:00:00.000Z',
        bootId: 'another-boot',
        nonce: 'x',
      }),
    );
    const lock = await acquireDataDirLock(dir);
    await lock.release();
  });

  it("another host's lock is honoured (cannot check its pid), and the message says how to clear it", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'LOCK'),
      JSON.stringify({ pid: 42, host: 'elsewhere', startedAt: '2020-01-01T00:00:00.000Z', nonce: 'x' }),
    );
    await expect(acquireDataDirLock(dir)).rejects.toThrow(/in use by process 42 on host elsewhere .*delete .*LOCK/);
  });

  it('a lock from another pid namespace on this host (another container on the volume) is live while renewed, stale once it is not', async () => {
    // Its pid means nothing here (it may even be ours): only the renewal of LOCK's mtime counts.
    const lockOf = (dir: string) => {
      mkdirSync(dir);
      const file = path.join(dir, 'LOCK');
      const info = {
        pid: process.pid,
        host: hostname(),
        startedAt: '2020-01-01T00:00:00.000Z',
        pidNs: 'pid:[1]',
        nonce: 'x',
      };
      writeFileSync(file, JSON.stringify(info));
      return file;
    };
    const renewed = freshDir();
    const file = lockOf(renewed);
    const renew = setInterval(() => utimesSync(file, new Date(), new Date()), LOCK_RENEW_MS);
    try {
      await expect(acquireDataDirLock(renewed)).rejects.toThrow(
        /in use by process \d+ in another container or pid namespace/,
      );
    } finally {
      clearInterval(renew);
    }
    const abandoned = freshDir();
    lockOf(abandoned);
    const started = Date.now();
    const lock = await acquireDataDirLock(abandoned);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOCK_STALE_MS - 500);
    expect(lock.tookOver?.pidNs).toBe('pid:[1]');
    await lock.release();
  });

  it('several processes racing to take over one stale lock: exactly one wins', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'LOCK'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: '2020-01-01T00:00:00.000Z', nonce: 'x' }),
    );
    const code = `
      const { acquireDataDirLock } = await import(${JSON.stringify(LOCK_TS)});
      try { await acquireDataDirLock(${JSON.stringify(dir)}); process.stdout.write('won'); }
      catch (e) { process.stdout.write(e.name); }
      setTimeout(() => process.exit(0), 1500);
    `;
    const outs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.add(child);
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (x: string) => (out += x));
        return exited(child).then(() => out);
      }),
    );
    expect(outs.sort()).toEqual(['DataDirLockedError', 'DataDirLockedError', 'DataDirLockedError', 'won']);
  }, 15_000);

  it('release leaves a lock that is no longer ours alone', async () => {
    const dir = freshDir();
    const lock = await acquireDataDirLock(dir);
    const other = JSON.stringify({
      pid: 42,
      host: 'elsewhere',
      startedAt: '2020-01-01T00:00:00.000Z',
      nonce: 'theirs',
    });
    writeFileSync(lock.path, other);
    await lock.release();
    expect(readFileSync(lock.path, 'utf8')).toBe(other);
  });
});
