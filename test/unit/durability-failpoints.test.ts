// Failpoints (server/durability/failpoints.ts) and the fsync helpers (server/durability/fsync.ts):
// the GLUONPS_FAILPOINTS grammar, firing on exactly the N-th hit, `throw` in-process and `kill`
// (SIGKILL, as kill -9) in a child process, misspelt names refused (in the variable, at start;
// in the code, by the compiler); writeFileDurable replacing a file atomically.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FAILPOINTS,
  FailpointError,
  configureFailpoints,
  failpoint,
  failpointHit,
  failpointsActive,
  parseFailpoints,
} from '../../server/durability/failpoints';
import { fsyncDir, fsyncFile, mkdirDurable, writeFileDurable } from '../../server/durability/fsync';
import { runChild, useBundledModule } from '../fixtures/bundled-module';

const scratch = useBundledModule('fp', 'server/durability/failpoints.ts');
const { base } = scratch;
const FP_TS = scratch.bundle;
afterEach(() => configureFailpoints(undefined));

describe('failpoints', () => {
  it('is inactive without configuration', () => {
    configureFailpoints(undefined);
    expect(failpointsActive()).toBe(false);
    for (const name of FAILPOINTS) expect(() => failpoint(name)).not.toThrow();
  });

  it('parses name, name=N and name=N:action; rejects malformed lists', () => {
    const m = parseFailpoints(' wal.mid-record , checkpoint.before-manifest=3, step.after-apply-before-log=2:throw,');
    expect([...m.entries()].map(([k, v]) => [k, v.at, v.action])).toEqual([
      ['wal.mid-record', 1, 'kill'],
      ['checkpoint.before-manifest', 3, 'kill'],
      ['step.after-apply-before-log', 2, 'throw'],
    ]);
    for (const bad of ['x=0', 'x=1:explode', 'x=-1', 'a b', 'x=1:'])
      expect(() => parseFailpoints(bad)).toThrow(/GLUONPS_FAILPOINTS/);
  });

  it('refuses a misspelt name, listing the known points, and keeps the previous configuration', () => {
    const known = new RegExp(`the known points are ${FAILPOINTS.join(', ').replace(/\./g, '\\.')}$`);
    expect(() => parseFailpoints('wal.before-write=2,wal.befor-write=1:throw')).toThrow(
      /^GLUONPS_FAILPOINTS: unknown failpoint 'wal.befor-write'; /,
    );
    expect(() => parseFailpoints('wal.befor-write')).toThrow(known);
    configureFailpoints('wal.before-write=1:throw');
    expect(() => configureFailpoints('checkpoint.before-manifests=1:throw')).toThrow(known);
    expect(failpointsActive()).toBe(true);
    expect(() => failpoint('wal.before-write')).toThrow(FailpointError);
  });

  it('names are a typed union: a misspelt call site does not compile', () => {
    configureFailpoints(undefined);
    // @ts-expect-error 'wal.befor-write' is not a FailpointName (tsc --noEmit checks this line)
    failpoint('wal.befor-write');
    // @ts-expect-error likewise for the two-step form used for torn writes
    expect(failpointHit('checkpoint.mid-manfest')).toBeNull();
  });

  it('fires on exactly the N-th hit, per name', () => {
    configureFailpoints('checkpoint.before-manifest=3:throw,wal.before-write=1:throw');
    expect(failpointsActive()).toBe(true);
    failpoint('checkpoint.before-manifest');
    failpoint('checkpoint.before-manifest');
    expect(() => failpoint('wal.before-write')).toThrow(FailpointError);
    const err = (() => {
      try {
        failpoint('checkpoint.before-manifest');
      } catch (e) {
        return e as FailpointError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(FailpointError);
    expect(err).toMatchObject({ failpoint: 'checkpoint.before-manifest', hit: 3 });
    failpoint('checkpoint.before-manifest'); // only the N-th
    failpoint('wal.after-fsync-before-ack'); // not configured
    expect(failpointHit('wal.before-write')).toBeNull();
  });

  it('kill: the process dies by SIGKILL at the point, with one line on stderr', async () => {
    const code = `
      const { failpoint } = await import(${JSON.stringify(FP_TS)});
      for (let i = 1; i <= 5; i++) { process.stdout.write('before ' + i + '\\n'); failpoint('step.after-apply-before-log'); }
      process.stdout.write('survived\\n');
    `;
    const run = await runChild(code, { GLUONPS_FAILPOINTS: 'step.after-apply-before-log=3' });
    expect(run.signal).toBe('SIGKILL');
    expect(run.stdout.trim().split('\n')).toEqual(['before 1', 'before 2', 'before 3']);
    expect(run.stderr).toContain('failpoint step.after-apply-before-log fired on hit 3 (kill)');
  });

  it('a misspelt name in GLUONPS_FAILPOINTS stops the process at start instead of never firing', async () => {
    const code = `
      try { await import(${JSON.stringify(FP_TS)}); process.stdout.write('started\\n'); }
      catch (err) { process.stdout.write(err.message + '\\n'); process.exit(3); }
    `;
    const run = await runChild(code, {
      GLUONPS_FAILPOINTS: 'step.after-apply-before-log=3,step.after-aply-before-log=1',
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toContain(
      "GLUONPS_FAILPOINTS: unknown failpoint 'step.after-aply-before-log'; the known points are wal.before-write, ",
    );
  });
});

describe('fsync helpers', () => {
  it('writeFileDurable replaces the file and leaves no temp file; fsyncFile/fsyncDir work', async () => {
    const dir = path.join(base, 'state');
    await mkdirDurable(dir);
    const p = path.join(dir, 'state.json');
    await writeFileDurable(p, '{"v":1}');
    await writeFileDurable(p, Buffer.from('{"v":2}'));
    expect(readFileSync(p, 'utf8')).toBe('{"v":2}');
    expect(readdirSync(dir)).toEqual(['state.json']);
    await fsyncFile(p);
    await fsyncDir(dir);
    await expect(writeFileDurable(path.join(base, 'missing-dir', 'x'), 'x')).rejects.toThrow(/ENOENT/);
  });

  it('mkdirDurable creates every missing level and says whether it created any', async () => {
    const deep = path.join(base, 'a', 'b', 'c');
    expect(await mkdirDurable(deep)).toBe(true);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(await mkdirDurable(deep)).toBe(false);
  });
});
