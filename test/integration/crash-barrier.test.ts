// Crash tests around the sync barrier (docs/durability.md, "What survives a crash"): the server
// CLI is killed with SIGKILL while a worker waits at the barrier, or by a failpoint: after a
// push was staged but before it was answered (step.staged-before-step), after a step was applied
// in memory but before its log record (step.after-apply-before-log), after its record was written
// but before it was answered (step.after-log-before-ack), or after a worker left the barrier; the workers' step calls are retried by the client with the
// same idempotency keys against the restarted server (same data dir, same port). A reference
// server (--data-dir none) runs the same calls without crashing; after every restart the two
// must agree exactly: parameter bytes on every context, versions, trainer step, and the
// optimizer states (saveStates bytes), and a further step must give the same values.
import { describe, expect, it } from 'vitest';
import { connect, init } from '../../client/index';
import { startServer as startInProcess } from '../../server/index';
import type { ParameterServerClient, Trainer } from '../../client/index';
import {
  useServerBundle,
  captureState,
  connectTo,
  readWalRecords,
  restart,
  RESTART_RETRY,
  sleep,
  startServer,
  tempDir,
  untilAvailable,
} from './crash-harness';
import type { ServerProcess } from './crash-harness';

const bundle = useServerBundle('barrier');

const W = [2, 3];
const B = [3];

/** Worker `w`'s gradients of step `k` (deterministic, different per worker and step). */
function grads(w: number, k: number): { w: Float32Array; b: Float32Array } {
  const g = (n: number, salt: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(1 + i * 0.7 + w * 3.1 + k * 1.3 + salt) * 0.5);
  return { w: g(6, 0), b: g(3, 10) };
}

interface Side {
  server: ServerProcess;
  ps: ParameterServerClient[];
  tr: Trainer[];
}

/** Two workers' connections, the parameters and the sync trainer (sgd with momentum) on `server`. */
async function setup(server: ServerProcess, optimizer: 'sgd' | 'adam' = 'sgd'): Promise<Side> {
  const ps = [await connectTo(server.address), await connectTo(server.address)];
  const w = await ps[0]!.parameter('w', { shape: W, init: init.uniform({ scale: 1 }) });
  const b = await ps[0]!.parameter('b', { shape: B, init: init.zero() });
  await w.initialize({ seed: 11 });
  await b.initialize({ seed: 12 });
  const params = optimizer === 'sgd' ? { learningRate: 0.1, momentum: 0.9, wd: 0.01 } : { learningRate: 0.05 };
  const tr: Trainer[] = [];
  for (const id of [0, 1]) {
    tr.push(
      await ps[id]!.trainer('sync', ['w', 'b'], optimizer, params, {
        mode: 'sync',
        numWorkers: 2,
        workerId: id,
        stepTimeoutMs: 60_000,
        incarnation: 100 + id,
        retry: RESTART_RETRY,
      }),
    );
  }
  return { server, ps, tr };
}

/** A reference side (no data dir) and a wal-always subject that dies at `failpoints`, both training with adam. */
async function referenceAndSubject(tag: string, failpoints: string): Promise<{ ref: Side; sub: Side; dir: string }> {
  const ref = await setup(await startServer(bundle, { dataDir: 'none' }), 'adam');
  const dir = tempDir(tag);
  const sub = await setup(await startServer(bundle, { dataDir: dir, durability: 'wal-always', failpoints }), 'adam');
  return { ref, sub, dir };
}

async function push(side: Side, w: number, k: number): Promise<void> {
  const g = grads(w, k);
  await side.tr[w]!.pushGrad('w', { shape: W, dtype: 'float32', data: g.w });
  await side.tr[w]!.pushGrad('b', { shape: B, dtype: 'float32', data: g.b });
}

/** A whole sync step k: both workers push, both step. */
async function fullStep(side: Side, k: number): Promise<void> {
  await push(side, 0, k);
  await push(side, 1, k);
  const [r0, r1] = await Promise.all([side.tr[0]!.step(2), side.tr[1]!.step(3)]);
  expect(r0).toEqual(r1);
  expect(r0.step).toBe(k + 1);
}

const state = (side: Side) => untilAvailable(() => captureState(side.ps[0]!, { sync: side.tr[0]! }));

async function closeSide(side: Side): Promise<void> {
  for (const p of side.ps) await p.close();
  await side.server.kill();
}

/** Polls the trainer until its open step waits for exactly `workers`. */
async function waitingFor(side: Side, workers: number[]): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const d = await untilAvailable(() => side.tr[1]!.describe());
    if (JSON.stringify(d.waitingFor) === JSON.stringify(workers)) return;
    if (Date.now() > end)
      throw new Error(`the open step waits for [${d.waitingFor.join(',')}], expected [${workers.join(',')}]`);
    await sleep(5);
  }
}

describe('crash during a sync barrier', () => {
  it('kill -9 while worker 0 waits: its step is retried with the same key and applies exactly once, with both gradients', async () => {
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    const dir = tempDir('barrier');
    let sub = await setup(await startServer(bundle, { dataDir: dir, durability: 'wal-always' }));

    for (const side of [ref, sub]) await fullStep(side, 0);

    // Reference: step 1 without a crash.
    await push(ref, 0, 1);
    await push(ref, 1, 1);
    const [want0, want1] = await Promise.all([ref.tr[0]!.step(2), ref.tr[1]!.step(3)]);

    // Subject: worker 0 pushes and steps, and waits at the barrier; the server dies.
    await push(sub, 0, 1);
    const waiting = sub.tr[0]!.step(2);
    await waitingFor(sub, [1]);
    const server = await restart(bundle, sub.server);
    sub = { ...sub, server };
    expect(server.linesWith('recovered')[0]).toMatchObject({ mode: 'wal-always', tornTail: false });
    // The restart lost the open step's staged pushes: it waits for both workers again. Each
    // worker's next call is told "restarted: push again", and its client pushes again (worker 0
    // retries its step with the same key), invisibly to the caller: it waits for worker 1 again.
    await waitingFor(sub, [1]);
    await push(sub, 1, 1);
    const got1 = await sub.tr[1]!.step(3);
    const got0 = await waiting; // the retried call, answered from the same open step
    expect(got0).toEqual(want0);
    expect(got1).toEqual(want1);
    expect(got0.workers).toEqual([0, 1]);
    expect(got0.step).toBe(2);

    expect(await state(sub)).toEqual(await state(ref));
    // Exactly one apply record per step in the log.
    const applies = readWalRecords(dir)
      .filter((r) => r.meta.op === 'trainer.commit')
      .map((r) => r.meta.step);
    expect(applies).toEqual([0, 1]);

    // The optimizer states survived too: one more step gives the same values.
    for (const side of [ref, sub]) await fullStep(side, 2);
    expect(await state(sub)).toEqual(await state(ref));
    await closeSide(ref);
    await closeSide(sub);
  });

  it('step.after-apply-before-log: a step applied in memory but not logged is applied exactly once after the restart', async () => {
    // The second step applied dies between the in-memory update and its log record.
    const pair = await referenceAndSubject('apply-log', 'step.after-apply-before-log=2:kill');
    const { ref, dir } = pair;
    let { sub } = pair;

    for (const side of [ref, sub]) await fullStep(side, 0);
    for (const side of [ref]) await fullStep(side, 1);

    await push(sub, 0, 1);
    await push(sub, 1, 1);
    const steps = Promise.all([sub.tr[0]!.step(2), sub.tr[1]!.step(3)]);
    await sub.server.waitForStderr(/failpoint step\.after-apply-before-log fired on hit 2 \(kill\)/);
    expect((await sub.server.exited).signal).toBe('SIGKILL');
    expect(
      readWalRecords(dir)
        .filter((r) => r.meta.op === 'trainer.commit')
        .map((r) => r.meta.step),
    ).toEqual([0]);
    const server = await restart(bundle, sub.server);
    sub = { ...sub, server };
    // Both workers retry their step with the same keys; the step is applied once.
    const [r0, r1] = await steps;
    expect(r0).toEqual(r1);
    expect(r0.step).toBe(2);
    expect(await state(sub)).toEqual(await state(ref));
    await sleep(50);
    expect(
      readWalRecords(dir)
        .filter((r) => r.meta.op === 'trainer.commit')
        .map((r) => r.meta.step),
    ).toEqual([0, 1]);

    // Go on, crash again (between calls) and recover from the log that now holds the apply.
    for (const side of [ref, sub]) await fullStep(side, 2);
    sub = { ...sub, server: await restart(bundle, sub.server) };
    expect(await state(sub)).toEqual(await state(ref));
    for (const side of [ref, sub]) await fullStep(side, 3);
    expect(await state(sub)).toEqual(await state(ref));
    await closeSide(ref);
    await closeSide(sub);
  });

  it('step.staged-before-step: a push staged but not answered is pushed again after the restart, and the step applies once', async () => {
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    const dir = tempDir('staged');
    // Hits 1-4 are step 0's pushes; hit 6 is worker 0's second push of step 1 (its 'b'),
    // staged in memory and never answered.
    let sub = await setup(
      await startServer(bundle, {
        dataDir: dir,
        durability: 'wal-always',
        failpoints: 'step.staged-before-step=6:kill',
      }),
    );
    for (const side of [ref, sub]) await fullStep(side, 0);
    await push(ref, 0, 1);
    await push(ref, 1, 1);
    const [want0, want1] = await Promise.all([ref.tr[0]!.step(2), ref.tr[1]!.step(3)]);

    const pushed = push(sub, 0, 1);
    await sub.server.waitForStderr(/failpoint step\.staged-before-step fired on hit 6 \(kill\)/);
    expect((await sub.server.exited).signal).toBe('SIGKILL');
    // Pushes are not logged: the log holds step 0's commit and nothing of step 1.
    const ops = readWalRecords(dir).map((r) => String(r.meta.op));
    expect(ops.filter((op) => op.startsWith('trainer.') && op !== 'trainer.create')).toEqual(['trainer.commit']);
    sub = { ...sub, server: await restart(bundle, sub.server) };
    // The push's retry is told `step 1 restarted: push again`; the client pushes both kept
    // gradients of step 1 again and the call resolves, invisibly to the caller.
    await pushed;
    await push(sub, 1, 1);
    const [got0, got1] = await Promise.all([sub.tr[0]!.step(2), sub.tr[1]!.step(3)]);
    expect(got0).toEqual(want0);
    expect(got1).toEqual(want1);
    expect(await state(sub)).toEqual(await state(ref));
    expect(
      readWalRecords(dir)
        .filter((r) => r.meta.op === 'trainer.commit')
        .map((r) => r.meta.step),
    ).toEqual([0, 1]);

    for (const side of [ref, sub]) await fullStep(side, 2);
    expect(await state(sub)).toEqual(await state(ref));
    await closeSide(ref);
    await closeSide(sub);
  });

  it('a second restart while the kept gradients are pushed again: they are pushed once more and the step applies once', async () => {
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    const dir = tempDir('repush');
    let sub = await setup(await startServer(bundle, { dataDir: dir, durability: 'wal-always' }));
    for (const side of [ref, sub]) await fullStep(side, 0);
    await push(ref, 0, 1);
    await push(ref, 1, 1);
    const [want0, want1] = await Promise.all([ref.tr[0]!.step(2), ref.tr[1]!.step(3)]);

    // Worker 0's 'w' of step 1 is staged, then lost by a restart; the restarted server dies as
    // soon as the first re-pushed gradient is staged (hit 1: worker 0's 'b' is refused with
    // "restarted" before anything is staged).
    const g = grads(0, 1);
    await sub.tr[0]!.pushGrad('w', { shape: W, dtype: 'float32', data: g.w });
    sub = { ...sub, server: await restart(bundle, sub.server, { failpoints: 'step.staged-before-step=1:kill' }) };
    const pushed = sub.tr[0]!.pushGrad('b', { shape: B, dtype: 'float32', data: g.b });
    await sub.server.waitForStderr(/failpoint step\.staged-before-step fired on hit 1 \(kill\)/);
    expect((await sub.server.exited).signal).toBe('SIGKILL');
    sub = { ...sub, server: await restart(bundle, sub.server) };
    // The third server tells the re-pushes "restarted" again: the client pushes both once more.
    await expect(pushed).resolves.toEqual({ step: 1 });
    await push(sub, 1, 1);
    const [got0, got1] = await Promise.all([sub.tr[0]!.step(2), sub.tr[1]!.step(3)]);
    expect(got0).toEqual(want0);
    expect(got1).toEqual(want1);
    expect(await state(sub)).toEqual(await state(ref));

    for (const side of [ref, sub]) await fullStep(side, 2);
    expect(await state(sub)).toEqual(await state(ref));
    await closeSide(ref);
    await closeSide(sub);
  });

  it('step.after-log-before-ack: a step logged but not answered is answered from the log after the restart, not applied again', async () => {
    // The second step applied dies once its record is durable, before its workers are answered.
    const pair = await referenceAndSubject('log-ack', 'step.after-log-before-ack=2:kill');
    const { ref, dir } = pair;
    let { sub } = pair;
    for (const side of [ref, sub]) await fullStep(side, 0);
    await push(ref, 0, 1);
    await push(ref, 1, 1);
    const [want0, want1] = await Promise.all([ref.tr[0]!.step(2), ref.tr[1]!.step(3)]);

    await push(sub, 0, 1);
    await push(sub, 1, 1);
    const steps = Promise.all([sub.tr[0]!.step(2), sub.tr[1]!.step(3)]);
    await sub.server.waitForStderr(/failpoint step\.after-log-before-ack fired on hit 2 \(kill\)/);
    expect((await sub.server.exited).signal).toBe('SIGKILL');
    const commits = () =>
      readWalRecords(dir)
        .filter((r) => r.meta.op === 'trainer.commit')
        .map((r) => r.meta.step);
    expect(commits()).toEqual([0, 1]);
    sub = { ...sub, server: await restart(bundle, sub.server) };
    // Both workers retry their step with the same keys: the replayed commit answers them.
    const [got0, got1] = await steps;
    expect(got0).toEqual(want0);
    expect(got1).toEqual(want1);
    expect(await state(sub)).toEqual(await state(ref));
    expect(commits()).toEqual([0, 1]);

    for (const side of [ref, sub]) await fullStep(side, 2);
    expect(await state(sub)).toEqual(await state(ref));
    expect(commits()).toEqual([0, 1, 2]);
    await closeSide(ref);
    await closeSide(sub);
  });

  it('a worker leaves while the other waits at the barrier (the step applies without it), then kill -9: replay applies it once', async () => {
    const ref = await setup(await startServer(bundle, { dataDir: 'none' }));
    const dir = tempDir('leave');
    let sub = await setup(await startServer(bundle, { dataDir: dir, durability: 'wal-always' }));

    for (const side of [ref, sub]) {
      await fullStep(side, 0);
      await push(side, 0, 1);
      const waiting = side.tr[0]!.step(2);
      await waitingFor(side, [1]);
      await side.tr[1]!.leave();
      const r = await waiting;
      expect(r).toMatchObject({ step: 2, workers: [0] });
    }
    sub = { ...sub, server: await restart(bundle, sub.server) };
    expect(await state(sub)).toEqual(await state(ref));
    // Worker 0 trains on alone.
    for (const side of [ref, sub]) {
      await push(side, 0, 2);
      expect(await side.tr[0]!.step(4)).toMatchObject({ step: 3, workers: [0] });
    }
    expect(await state(sub)).toEqual(await state(ref));
    await closeSide(ref);
    await closeSide(sub);
  });

  // In-process, because the window is too narrow to hit from outside: a checkpoint that takes the
  // state gate after the last worker stepped but before the step's apply got the gate (the apply
  // is marked `applying` and waits). The checkpoint must keep that step open; it used to drop it,
  // and the restart then failed on the step's 'trainer.apply' record ("journal applies step 0,
  // but the open step is none"). The trainer's applyOpen and the gate are wrapped to force that
  // order; the crash is the durability layer closed without its shutdown checkpoint (log and
  // checkpoints stay as kill -9 leaves them).
  it('a checkpoint taken while a sync step waits to be applied keeps the step open (restart replays its commit)', async () => {
    const dir = tempDir('ckpt-apply');
    const server = await startInProcess({ port: 0, logLevel: 'silent', dataDir: dir, durability: 'wal-always' });
    const ps = await connect(server.address);
    const w = await ps.parameter('w', { shape: W, init: init.one() });
    await w.initialize({ seed: 1 });
    const tr: Trainer[] = [];
    for (const id of [0, 1])
      tr.push(
        await ps.trainer(
          'sync',
          ['w'],
          'sgd',
          { learningRate: 0.1, momentum: 0.5 },
          { numWorkers: 2, workerId: id, stepTimeoutMs: 60_000 },
        ),
      );
    for (const id of [0, 1]) await tr[id]!.pushGrad('w', { shape: W, dtype: 'float32', data: grads(id, 0).w });
    const s0 = tr[0]!.step(1);
    while ((await tr[1]!.describe()).waitingFor.length !== 1) await sleep(5);

    const d = server.durability!;
    const t = server.trainers.get('sync');
    const gate = server.store.gate;
    let gateHeld!: () => void;
    const gateHeldP = new Promise<void>((r) => (gateHeld = r));
    let stepped!: () => void;
    const steppedP = new Promise<void>((r) => (stepped = r));
    const applyOpen = t.applyOpen.bind(t);
    // Worker 1 stepped (registered under the shared gate); the apply starts only once the
    // checkpoint holds the gate, so it marks the step `applying` and waits for the gate.
    t.applyOpen = async (open, only) => {
      stepped();
      await gateHeldP;
      return applyOpen(open, only);
    };
    const exclusive = gate.exclusive.bind(gate);
    let applyingAtSnapshot: boolean | undefined;
    // The checkpoint snapshots only once the step's apply is waiting for the gate.
    gate.exclusive = <T>(fn: () => Promise<T> | T): Promise<T> =>
      exclusive(async () => {
        gateHeld();
        for (const end = Date.now() + 5000; t.open?.applying !== true && Date.now() < end; ) await sleep(1);
        applyingAtSnapshot = t.open?.applying;
        return fn();
      });
    const s1 = tr[1]!.step(1);
    await steppedP;
    await d.checkpoint('while a step waits to be applied');
    gate.exclusive = exclusive;
    t.applyOpen = applyOpen;
    expect(applyingAtSnapshot).toBe(true);
    const [r0, r1] = await Promise.all([s0, s1]);
    expect(r0).toEqual(r1);
    expect(r0.step).toBe(1);
    const before = (await w.data()).data;

    await d.close({ checkpoint: false });
    await ps.close();
    await server.close(100);
    const again = await startInProcess({ port: 0, logLevel: 'silent', dataDir: dir, durability: 'wal-always' });
    try {
      expect(again.trainers.get('sync').state()).toMatchObject({ step: 1, waitingFor: [] });
      const ps2 = await connect(again.address);
      expect((await (await ps2.get('w')).data()).data).toEqual(before);
      await ps2.close();
    } finally {
      await again.close(100);
    }
  });
});
