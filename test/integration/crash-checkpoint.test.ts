// Crash tests of checkpoints (docs/durability.md): the server CLI is killed by each named
// checkpoint failpoint in turn (while writing the tensor file, before / in the middle of / after
// the manifest, after the rename, while pruning), and restarted on the same data dir: the start
// removes the leftover tmp-* directory, loads the newest complete checkpoint and replays the log
// after it, so the state equals the reference server's (--data-dir none, never crashed).
// And `--durability checkpoint`: after kill -9 the state is exactly the last checkpoint (taken
// on demand with AdminService.Checkpoint, or by --checkpoint-every-steps /
// --checkpoint-every-seconds), nothing from after it; a graceful stop (SIGTERM) checkpoints
// everything.
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cpu, init } from '../../client/index';
import type { ParameterServerClient, Trainer } from '../../client/index';
import {
  useServerBundle,
  captureState,
  checkpointEntries,
  checkpointNow,
  connectTo,
  expectSameState,
  readWalRecords,
  restart,
  RESTART_RETRY,
  settle,
  startServer,
  tempDir,
  untilAvailable,
} from './crash-harness';
import type { ServerProcess, ServerState } from './crash-harness';

const bundle = useServerBundle('ckpt');

interface Side {
  server: ServerProcess;
  ps: ParameterServerClient;
  tr: Trainer;
}

/** A parameter on two contexts, a constant, a deferred parameter, and a sync trainer (sgd with momentum, one worker). */
async function setup(server: ServerProcess): Promise<Side> {
  const ps = await connectTo(server.address);
  const w = await ps.parameter('w', { shape: [3, 4], init: init.xavier() });
  await w.initialize({ seed: 5, ctx: [cpu(0), cpu(1)] });
  await ps.constant('c', { shape: [2], dtype: 'int32', data: Int32Array.from([7, -7]) });
  await (
    await ps.parameter('d', { shape: [0, 2], dtype: 'float64', allowDeferredInit: true, init: init.one() })
  ).initialize({ seed: 6 });
  const tr = await ps.trainer(
    't',
    ['w'],
    'sgd',
    { learningRate: 0.05, momentum: 0.9 },
    { mode: 'sync', numWorkers: 1, stepTimeoutMs: 60_000, retry: RESTART_RETRY },
  );
  await tr.pushGrad('w', grad(0));
  return { server, ps, tr };
}

const grad = (k: number) => ({
  shape: [3, 4],
  dtype: 'float32' as const,
  data: Float32Array.from({ length: 12 }, (_, i) => Math.cos(i + k)),
});

/**
 * Changes of every kind: a value, a trainer step (with the gradient pushed before), a new
 * parameter, and a gradient pushed for the next step and left pending. 4 log records: set_data,
 * the step's commit, the declaration and the initialization; the staged push is not logged
 * (after a crash the client pushes it again when the server says `step k restarted`).
 */
async function round(side: Side, k: number): Promise<void> {
  await (
    await side.ps.get('w')
  ).setData({ shape: [3, 4], dtype: 'float32', data: Float32Array.from({ length: 12 }, (_, i) => i * k * 0.01) });
  await side.tr.step(4);
  await (await side.ps.parameter(`n${k}`, { shape: [2], init: init.constant(k) })).initialize({ seed: k });
  await side.tr.pushGrad('w', grad(k));
}
const RECORDS_PER_ROUND = 4;

const state = (side: Side): Promise<ServerState> => untilAvailable(() => captureState(side.ps, { t: side.tr }));

async function closeSide(side: Side): Promise<void> {
  await side.ps.close();
  await side.server.kill();
}

const ckptName = (id: number | bigint): string => `ckpt-${String(id).padStart(20, '0')}`;

describe('kill -9 during a checkpoint write', () => {
  it('every checkpoint failpoint: the restart removes the leftover and recovers the last good checkpoint plus the log', async () => {
    // Each failpoint fires in the second checkpoint of its process (the first one is good): on
    // hit 2, except the prune point, which the first checkpoint hits twice (keep 1, and the crash
    // before it left two checkpoints).
    const cases: Array<{ fp: string; hit?: number; committed: boolean; leftover: (id: number) => string }> = [
      { fp: 'checkpoint.after-tensor-files', committed: false, leftover: (id) => `tmp-${ckptName(id)}` },
      { fp: 'checkpoint.before-manifest', committed: false, leftover: (id) => `tmp-${ckptName(id)}` },
      { fp: 'checkpoint.mid-manifest', committed: false, leftover: (id) => `tmp-${ckptName(id)}` },
      { fp: 'checkpoint.after-manifest-before-rename', committed: false, leftover: (id) => `tmp-${ckptName(id)}` },
      { fp: 'checkpoint.after-rename-before-dirsync', committed: true, leftover: () => '' },
      { fp: 'checkpoint.after-dirsync', committed: true, leftover: () => '' },
      // keep 1: the new checkpoint is committed, the previous one is renamed to tmp-del-* and then the crash.
      { fp: 'checkpoint.prune-after-rename', hit: 3, committed: true, leftover: (id) => `tmp-del-${ckptName(id - 1)}` },
    ];
    const dir = tempDir('ckpt-fp');
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    let sub = await setup(
      await startServer(bundle, {
        dataDir: dir,
        durability: 'wal-always',
        args: ['--keep-checkpoints', '1'],
        failpoints: `${cases[0]!.fp}=${cases[0]!.hit ?? 2}:kill`,
      }),
    );
    let k = 0;
    try {
      for (const [c, kase] of cases.entries()) {
        const where = kase.fp;
        await round(ref, ++k);
        await round(sub, k);
        const good = Number((await checkpointNow(sub.server.address, 'good')).id);
        expect(checkpointEntries(dir), where).toEqual([ckptName(good)]);
        await round(ref, ++k);
        await round(sub, k);
        const failed = await settle(checkpointNow(sub.server.address, 'doomed'));
        expect(failed.ok, where).toBe(false);
        await sub.server.waitForStderr(
          new RegExp(`failpoint ${kase.fp.replace(/\./g, '\\.')} fired on hit ${kase.hit ?? 2} \\(kill\\)`),
        );
        expect((await sub.server.exited).signal, where).toBe('SIGKILL');
        const entries = checkpointEntries(dir);
        if (kase.leftover(good + 1) !== '') expect(entries, where).toContain(kase.leftover(good + 1));
        if (kase.committed) expect(entries, where).toContain(ckptName(good + 1));
        else expect(entries, where).not.toContain(ckptName(good + 1));

        const next = cases[c + 1];
        sub = {
          ...sub,
          server: await restart(bundle, sub.server, next ? { failpoints: `${next.fp}=${next.hit ?? 2}:kill` } : {}),
        };
        const recovered = sub.server.linesWith('recovered')[0]!;
        // The newest complete checkpoint, and the log after it.
        expect(recovered, where).toMatchObject({
          checkpoint: String(kase.committed ? good + 1 : good),
          replayed: kase.committed ? 0 : RECORDS_PER_ROUND,
        });
        if (kase.leftover(good + 1) !== '') {
          expect(sub.server.linesWith('removed incomplete checkpoints')[0]?.removed, where).toEqual([
            expect.stringContaining(kase.leftover(good + 1)),
          ]);
        }
        expect(
          checkpointEntries(dir).filter((e) => e.startsWith('tmp-')),
          where,
        ).toEqual([]);
        expectSameState(await state(sub), await state(ref), `${where}: after the restart`);
      }
      // The pending gradient, lost by the crash, is pushed again by the client (`step k restarted`):
      // a last step gives the same values.
      for (const side of [ref, sub]) await side.tr.step(1);
      expectSameState(await state(sub), await state(ref), 'after a further step');
    } finally {
      await closeSide(ref);
      await closeSide(sub);
    }
  }, 60_000);
});

describe('a damaged checkpoint', () => {
  // Recovery checks the newest checkpoint while loading it and falls back to the next older one
  // when its files do not match the manifest: bit rot in the tensor bytes (only the checksum
  // tells), or in the safetensors header (parsing fails before any checksum; the files are then
  // checked in full to tell damage from a bug). In a WAL mode that older checkpoint plus the log
  // must give the same state: the log is kept back to the oldest kept checkpoint. The damaged
  // one is set aside as damaged-<name>, so a later --keep-checkpoints prune cannot count it and
  // drop the good one.
  for (const [where, offsetOf] of [
    ['tensor bytes', (size: number) => size - 5],
    ['header', () => 12],
  ] as const) {
    it(`wal-always: a newest checkpoint damaged in its ${where} is set aside for the older one plus the log, losing nothing`, async () => {
      const dir = tempDir('ckpt-bad');
      const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
      let sub = await setup(
        await startServer(bundle, { dataDir: dir, durability: 'wal-always', args: ['--keep-checkpoints', '2'] }),
      );
      try {
        await round(ref, 1);
        await round(sub, 1);
        const older = Number((await checkpointNow(sub.server.address)).id);
        await round(ref, 2);
        await round(sub, 2);
        const newest = Number((await checkpointNow(sub.server.address)).id);
        await round(ref, 3);
        await round(sub, 3);
        await sub.server.kill();
        // Same size: only the contents tell.
        const file = path.join(dir, 'checkpoints', ckptName(newest), 'tensors.safetensors');
        const at = offsetOf(statSync(file).size);
        const fd = openSync(file, 'r+');
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, at);
        b[0] = b[0]! ^ 0x5a;
        writeSync(fd, b, 0, 1, at);
        closeSync(fd);
        sub = {
          ...sub,
          server: await startServer(bundle, { dataDir: dir, durability: 'wal-always', port: sub.server.port }),
        };
        expect(sub.server.linesWith('checkpoint failed its checksum; trying an older one')).toHaveLength(1);
        expect(sub.server.linesWith('recovered')[0]).toMatchObject({ checkpoint: String(older) });
        expectSameState(await state(sub), await state(ref), 'the older checkpoint and the log');
        expect(checkpointEntries(dir)).toEqual(
          expect.arrayContaining([ckptName(older), `damaged-${ckptName(newest)}`]),
        );
        expect(checkpointEntries(dir)).not.toContain(ckptName(newest));
        // With --keep-checkpoints 2 a new checkpoint keeps the good older one.
        const next = Number((await checkpointNow(sub.server.address)).id);
        expect(
          checkpointEntries(dir)
            .filter((e) => e.startsWith('ckpt-'))
            .sort(),
        ).toEqual([ckptName(older), ckptName(next)].sort());
      } finally {
        await closeSide(ref);
        await closeSide(sub);
      }
    });
  }
});

describe('--durability checkpoint', () => {
  it('after kill -9 the state is exactly the last checkpoint taken on demand, nothing from after it', async () => {
    const dir = tempDir('ckpt-mode');
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    let sub = await setup(await startServer(bundle, { dataDir: dir, durability: 'checkpoint' }));
    try {
      for (const k of [1, 2]) {
        await round(ref, k);
        await round(sub, k);
      }
      const { id, dataDir } = await checkpointNow(sub.server.address, 'on demand');
      expect(dataDir).toBe(dir);
      // The reply can overtake the log line on its way through the child's stdout pipe: wait for it.
      await sub.server.waitForLog((l) => l.msg === 'checkpoint written');
      expect(sub.server.linesWith('checkpoint written')).toEqual([
        expect.objectContaining({ id: String(id), reason: 'on demand' }),
      ]);
      const atCheckpoint = await state(ref);
      for (const k of [3, 4]) {
        await round(ref, k);
        await round(sub, k);
      }
      expect(readWalRecords(dir)).toEqual([]); // this mode writes no log
      sub = { ...sub, server: await restart(bundle, sub.server) };
      expect(sub.server.linesWith('recovered')[0]).toMatchObject({
        mode: 'checkpoint',
        checkpoint: String(id),
        replayed: 0,
      });
      const now = await state(sub);
      expectSameState(now, atCheckpoint, 'the last checkpoint');
      expect(isDeepStrictEqual(now, await state(ref))).toBe(false);
      expect(now.params.map((p) => p.desc.name)).toEqual(['w', 'c', 'd', 'n1', 'n2']);
    } finally {
      await closeSide(ref);
      await closeSide(sub);
    }
  });

  it('--checkpoint-every-steps and --checkpoint-every-seconds checkpoint on their own; a graceful stop checkpoints everything', async () => {
    const dir = tempDir('ckpt-steps');
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    let sub = await setup(
      await startServer(bundle, { dataDir: dir, durability: 'checkpoint', args: ['--checkpoint-every-steps', '2'] }),
    );
    try {
      // Two steps: the second triggers a checkpoint once it is applied (nothing else happens meanwhile).
      for (const side of [ref, sub]) {
        await side.tr.step(2);
        await side.tr.pushGrad('w', grad(1));
        await side.tr.step(2);
      }
      const written = await sub.server.waitForLog((l) => l.msg === 'checkpoint written' && l.reason === 'steps');
      const atCheckpoint = await state(ref);
      // More changes and one more step: no checkpoint.
      await round(sub, 3);
      expect(sub.server.linesWith('checkpoint written')).toHaveLength(1);
      sub = { ...sub, server: await restart(bundle, sub.server, { args: ['--checkpoint-every-seconds', '1'] }) };
      expect(sub.server.linesWith('recovered')[0]).toMatchObject({ checkpoint: written.id, replayed: 0 });
      expectSameState(await state(sub), atCheckpoint, 'the checkpoint of step 2');

      // Every second, if anything changed.
      await (await sub.ps.get('w')).setData({ shape: [3, 4], dtype: 'float32', data: new Float32Array(12).fill(0.5) });
      await sub.server.waitForLog((l) => l.msg === 'checkpoint written' && l.reason === 'interval', 5000);
      const afterInterval = await state(sub);
      sub = { ...sub, server: await restart(bundle, sub.server, { args: [] }) };
      expectSameState(await state(sub), afterInterval, 'the interval checkpoint');

      // SIGTERM: the final checkpoint holds every change; the open step's staged gradient is not
      // durable (a restart drops it), and the client pushes it again when its step is refused.
      const tr = await sub.ps.trainer(
        't',
        ['w'],
        'sgd',
        { learningRate: 0.05, momentum: 0.9 },
        { mode: 'sync', numWorkers: 1, stepTimeoutMs: 60_000 },
      );
      await tr.pushGrad('w', grad(9));
      await (await sub.ps.parameter('late', { shape: [1] })).initialize({ seed: 1 });
      const beforeStop = await state(sub);
      expect(await sub.server.stop()).toEqual({ code: 0, signal: null });
      expect(sub.server.linesWith('checkpoint written').map((l) => l.reason)).toEqual(['shutdown']);
      sub = { ...sub, server: await restart(bundle, sub.server) };
      expectSameState(await state(sub), beforeStop, 'after a graceful stop');
      expect(await tr.step(1)).toMatchObject({ step: 3 });
    } finally {
      await closeSide(ref);
      await closeSide(sub);
    }
  });
});
