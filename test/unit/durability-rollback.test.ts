// The rollback of a stopped shard's data dir (server/durability/rollback.ts) on real temp dirs:
// the newest checkpoint holding the trainer at the step becomes the newest one (newer ones are
// set aside as rolled-back-ckpt-*, which no listing counts), every shard's dir to the newest step
// all of them hold, and what it refuses: no checkpoint at that step (naming the steps held), no
// step in common (changing nothing), a write-ahead log, and a directory that is no data dir.
// The cluster scenario is test/integration/cluster-restart.test.ts.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints, writeCheckpoint } from '../../server/durability/checkpoint-dir';
import { rollBackToNewestCommon, rollBackToStep, RollbackError } from '../../server/durability/rollback';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A data dir whose checkpoints 1, 2, ... hold trainer 't' at `steps` (and 'u' at step 100 + i). */
async function dataDir(steps: number[]): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-rollback-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'checkpoints'));
  for (const [i, step] of steps.entries()) {
    const meta = {
      lsn: '0',
      entries: [],
      trainers: [
        { meta: { spec: { name: 'u' }, step: 100 + i }, tensors: [] },
        { meta: { spec: { name: 't' }, step }, tensors: [] },
      ],
    };
    await writeCheckpoint(
      path.join(dir, 'checkpoints'),
      BigInt(i + 1),
      [{ name: 'tensors.safetensors', write: (fh) => fh.writeFile('x') }],
      meta,
    );
  }
  return dir;
}

const ids = async (dir: string): Promise<string[]> =>
  (await listCheckpoints(path.join(dir, 'checkpoints'))).map((c) => c.id.toString());

describe('rollBackToStep', () => {
  it('makes the newest checkpoint at the step the newest one, setting newer ones aside', async () => {
    const dir = await dataDir([2, 4, 4, 6, 5]);
    const r = await rollBackToStep(dir, 't', 4);
    expect(path.basename(r.checkpoint)).toBe('ckpt-00000000000000000003');
    expect(r.setAside.map((p) => path.basename(p))).toEqual([
      'rolled-back-ckpt-00000000000000000005',
      'rolled-back-ckpt-00000000000000000004',
    ]);
    expect(await ids(dir)).toEqual(['3', '2', '1']);
    expect(readdirSync(path.join(dir, 'checkpoints')).filter((n) => n.startsWith('rolled-back-'))).toHaveLength(2);
    // Already there: nothing to set aside; the lock was released each time.
    expect((await rollBackToStep(dir, 't', 4)).setAside).toEqual([]);
  });

  it('refuses a step no checkpoint holds, naming the steps held, and changes nothing', async () => {
    const dir = await dataDir([2, 4]);
    await expect(rollBackToStep(dir, 't', 3)).rejects.toThrow(
      new RollbackError(
        `data dir ${dir} holds no checkpoint of trainer 't' at step 3 (it holds checkpoint 2: 4; checkpoint 1: 2): roll every shard back to a step all of them hold`,
      ),
    );
    await expect(rollBackToStep(dir, 'nope', 2)).rejects.toThrow(
      /checkpoint 2: no such trainer; checkpoint 1: no such trainer/,
    );
    expect(await ids(dir)).toEqual(['2', '1']);
  });

  it('refuses a data dir with a write-ahead log, and a directory that is no data dir', async () => {
    const dir = await dataDir([2, 4]);
    mkdirSync(path.join(dir, 'wal'));
    writeFileSync(path.join(dir, 'wal', 'wal-00000000000000000001.log'), '');
    await expect(rollBackToStep(dir, 't', 2)).rejects.toThrow(
      /has a write-ahead log \(wal-00000000000000000001\.log\)/,
    );
    expect(await ids(dir)).toEqual(['2', '1']);
    const empty = mkdtempSync(path.join(tmpdir(), 'gluonps-rollback-'));
    dirs.push(empty);
    await expect(rollBackToStep(empty, 't', 2)).rejects.toThrow(
      /is not a data dir \(it has no checkpoints directory\)/,
    );
  });

  it('takes every shard to the newest step all of them hold, or changes nothing when they hold none in common', async () => {
    const a = await dataDir([2, 4, 6]);
    const b = await dataDir([2, 4]);
    const c = await dataDir([4, 6, 8]);
    const r = await rollBackToNewestCommon([a, b, c], 't');
    expect(r.step).toBe(4);
    expect(r.results.map((x) => x.setAside.length)).toEqual([1, 0, 2]);
    expect([await ids(a), await ids(b), await ids(c)]).toEqual([['2', '1'], ['2', '1'], ['1']]);

    const d = await dataDir([2]);
    const e = await dataDir([3, 5]);
    await expect(rollBackToNewestCommon([d, e], 't')).rejects.toThrow(
      new RollbackError(
        `the data dirs hold no step of trainer 't' in common (${d}: it holds checkpoint 1: 2; ${e}: it holds checkpoint 2: 5; checkpoint 1: 3)`,
      ),
    );
    expect([await ids(d), await ids(e)]).toEqual([['1'], ['2', '1']]);
    // Every lock was released: a second call takes them again.
    expect((await rollBackToNewestCommon([a, b, c], 't')).step).toBe(4);
  });
});
