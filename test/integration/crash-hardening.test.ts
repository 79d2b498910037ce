// Crash tests of issue 10's hardening: inputs that once left a data dir that could not start
// again. Each runs the server CLI on a temporary data dir, kills it with SIGKILL and restarts it
// on the same dir and port, then checks the recovered state is the acknowledged one.
import { describe, expect, it } from 'vitest';
import { init, Status } from '../../client/index';
import {
  checkpointEntries,
  checkpointNow,
  connectTo,
  restart,
  sleep,
  startServer,
  tempDir,
  untilAvailable,
  useServerBundle,
} from './crash-harness';
import { numbers, rejectsWith } from './helpers';
import { RawTrainerService, RawWorker, trainerRequest } from './trainer-helpers';

const bundle = useServerBundle('hardening');

const SGD = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 0.1 };

describe('a sync trainer for 2^32 - 1 workers', () => {
  it('is described with bounded lists, and after kill -9 its open step is rebuilt when the worker pushes again', async () => {
    const dataDir = tempDir('workers');
    let srv = await startServer(bundle, {
      dataDir,
      durability: 'wal-batch',
      args: ['--max-workers-per-trainer', '4294967295'],
    });
    let ps = await connectTo(srv.address);
    let raw = new RawTrainerService(srv.address);
    const grad = { shape: [2], dtype: 'float32' as const, data: Float32Array.of(1, 2) };
    try {
      await (await ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await raw.create(trainerRequest('huge', ['w'], SGD, { numWorkers: 0xffff_ffff, stepTimeoutMs: 600_000 }));
      let worker = new RawWorker(raw, 'huge', 3);
      await worker.push('w', grad);
      const stepKey = worker.key();
      void worker.step(1, stepKey).catch(() => undefined); // waits at the barrier until the kill
      await sleep(50);
      const before = await raw.describe('huge');
      expect(before.waitingFor.length).toBe(1024);
      srv = await restart(bundle, srv);
      raw.close();
      await ps.close();
      ps = await connectTo(srv.address);
      raw = new RawTrainerService(srv.address);
      worker = Object.assign(new RawWorker(raw, 'huge', 3, worker.incarnation), { sequence: worker.sequence });
      // The staged push and the barrier are not logged: the open step is gone, and the worker's
      // retried step is told to push again (protos: TrainerService.PushGrad), once.
      expect((await untilAvailable(() => raw.describe('huge'))).waitingFor).toEqual([]);
      await rejectsWith(worker.step(1, stepKey), Status.FAILED_PRECONDITION, /step 0 restarted: push again/);
      await worker.push('w', grad);
      void worker.step(1, stepKey).catch(() => undefined);
      const end = Date.now() + 10_000;
      let after = await raw.describe('huge');
      while (after.waitingFor.length === 0 && Date.now() < end) {
        await sleep(10);
        after = await raw.describe('huge');
      }
      expect(after.waitingFor).toEqual(before.waitingFor);
      expect(after.workersSeen).toEqual([0, 3]);
      expect(srv.running).toBe(true);
    } finally {
      raw.close();
      await ps.close();
      await srv.kill();
    }
  }, 60_000);
});

describe('numbers JSON cannot hold', () => {
  // An attention mask's -Infinity, and a scheduler field of -Infinity (no floor), in the log and
  // in a checkpoint's manifest: both once came back as null (a data dir that would not start, a
  // changed schedule).
  for (const durability of ['wal-batch', 'checkpoint'] as const) {
    it(`keep their value through kill -9 and restart (${durability})`, async () => {
      const dataDir = tempDir('numbers');
      let srv = await startServer(bundle, { dataDir, durability });
      let ps = await connectTo(srv.address);
      let raw = new RawTrainerService(srv.address);
      const scheduler = { kind: 'factor', step: 1, factor: 0.5, stopFactorLr: -Infinity, warmupBeginLr: -0 };
      try {
        await (await ps.parameter('mask', { shape: [3], init: init.constant(-Infinity) })).initialize();
        await raw.create(trainerRequest('sched', ['mask'], { ...SGD, lrScheduler: scheduler }));
        // In a checkpoint's manifest, then in the log after it.
        await checkpointNow(srv.address);
        await (
          await ps.parameter('mask2', { shape: [3], init: init.constant([-Infinity, Infinity, -0]) })
        ).initialize();
        await (
          await ps.constant('c', { shape: [2], dtype: 'float64', data: Float64Array.of(-Infinity, -0) })
        ).initialize();
        const before = await raw.describe('sched');
        expect(before.optimizer?.lrScheduler?.stopFactorLr).toBe(-Infinity);
        if (durability === 'checkpoint') await checkpointNow(srv.address);
        srv = await restart(bundle, srv);
        raw.close();
        await ps.close();
        ps = await connectTo(srv.address);
        raw = new RawTrainerService(srv.address);
        expect(numbers(await untilAvailable(async () => (await ps.get('mask')).data()))).toEqual([
          -Infinity,
          -Infinity,
          -Infinity,
        ]);
        const mask2 = numbers(await (await ps.get('mask2')).data());
        expect(mask2.slice(0, 2)).toEqual([-Infinity, Infinity]);
        expect(Object.is(mask2[2], -0)).toBe(true);
        expect(numbers(await (await ps.get('c')).data())).toEqual([-Infinity, -0]);
        expect(await raw.describe('sched')).toEqual(before);
        // A second restart: the recovered state is written again (folded into a checkpoint).
        await checkpointNow(srv.address);
        srv = await restart(bundle, srv);
        expect(await untilAvailable(() => raw.describe('sched'))).toEqual(before);
      } finally {
        raw.close();
        await ps.close();
        await srv.kill();
      }
    }, 60_000);
  }
});

describe('a checkpoint whose manifest would be over 64 MiB', () => {
  // Constant initializer lists are kept in the manifest (twice: as declared and as resolved):
  // three of 800,000 values (each declaration under the 8 MiB message limit) are over the limit
  // the manifest reader accepts. Such a checkpoint
  // was written, acknowledged (and the log before it dropped), then discarded at the next start.
  it('is refused (RESOURCE_EXHAUSTED) and the log keeps every change through kill -9', async () => {
    const dataDir = tempDir('manifest');
    let srv = await startServer(bundle, { dataDir, durability: 'wal-batch' });
    let ps = await connectTo(srv.address);
    try {
      const n = 800_000;
      const all = ['c0', 'c1', 'c2'];
      for (const name of all) {
        const values = Array.from({ length: n }, (_, i) => Math.sin(i + name.length) / 3);
        await ps.parameter(name, { shape: [n], dtype: 'float64', init: init.constant(values) });
      }
      const before = checkpointEntries(dataDir);
      const err = await checkpointNow(srv.address).then(
        () => null,
        (e: unknown) => e as { code: number; details: string },
      );
      expect(err?.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(err?.details).toMatch(/manifest would be \d+ bytes, over the limit of 67108864 bytes a manifest may have/);
      expect(checkpointEntries(dataDir)).toEqual(before);
      srv = await restart(bundle, srv);
      await ps.close();
      ps = await connectTo(srv.address);
      // One by one: a list() of all three would be over the message limit.
      for (const name of all) expect((await untilAvailable(() => ps.get(name))).name).toBe(name);
      const c2 = await ps.get('c2');
      await c2.initialize();
      expect(numbers(await c2.data()).slice(0, 2)).toEqual([Math.sin(2) / 3, Math.sin(3) / 3]);
    } finally {
      await ps.close();
      await srv.kill();
    }
  }, 120_000);
});
