// Exactly-once pushes and steps: every PushGrad and Step carries an idempotency key (worker id,
// incarnation, sequence); a call sent again with the SAME key (a retry after a lost reply) gets
// the first call's answer and is applied once. These tests drive the generated TrainerService
// stub directly, so they control the keys and step indices and do not depend on the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import type { Harness } from './helpers';
import { rejectsWith, startHarness } from './helpers';
import {
  expectSameF32,
  f32t,
  RawTrainerService,
  RawWorker,
  readF32,
  RefParam,
  trainerRequest,
} from './trainer-helpers';

let h: Harness;
let ps: ParameterServerClient;
const conns: RawTrainerService[] = [];

/**
 * A raw connection reaching the trainer over `param`. On a cluster: the parameter's home shard
 * (routed); every parameter here is at most 16 bytes, so placed whole there, and the shard's
 * trainer is the whole trainer.
 */
function conn(param: string): RawTrainerService {
  const t = h.rawTarget(param);
  const c = new RawTrainerService(t.address, t.options);
  conns.push(c);
  return c;
}

beforeAll(async () => {
  h = await startHarness();
  ps = h.ps;
});
afterAll(async () => {
  for (const c of conns) c.close();
  await h?.close();
});

const SGD = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 1 };

async function zeroParam(name: string, n: number): Promise<void> {
  const p = await ps.parameter(name, { shape: [n], init: init.zero() });
  await p.initialize({ ctx: [cpu(0), cpu(1)] });
}

describe('sync: the same key is applied once', () => {
  it('a retried push and a retried step (same keys) change the weight once and answer alike', async () => {
    await zeroParam('idem_w', 4);
    const svc = conn('idem_w');
    await svc.create(trainerRequest('idem_sync1', ['idem_w'], SGD, { numWorkers: 1 }));
    const w = new RawWorker(svc, 'idem_sync1', 0);
    const g = f32t([4], [1, 2, 3, 4]);
    const pushKey = w.key();
    const r1 = await w.push('idem_w', g, undefined, pushKey);
    // Without the key this would be "already pushed a gradient for 'idem_w' in step 0".
    const r2 = await w.push('idem_w', g, undefined, pushKey);
    expect(r2).toEqual(r1);
    const stepKey = w.key();
    const s1 = await svc.step({ trainer: 'idem_sync1', key: stepKey, step: 0, batchSize: 2 });
    expect(s1.step).toBe(1);
    const s2 = await svc.step({ trainer: 'idem_sync1', key: stepKey, step: 0, batchSize: 2 });
    expect(s2).toEqual(s1);
    // w = 0 - lr * g / batch, once.
    const p = await ps.get('idem_w');
    for (const ctx of [cpu(0), cpu(1)])
      expectSameF32(await readF32(p, ctx), [-0.5, -1, -1.5, -2], `ctx ${ctx.deviceId}`);
    expect((await svc.describe('idem_sync1')).step).toBe(1);
    // The same push replayed after the step closed still gets its first answer (not "closed")...
    expect(await w.push('idem_w', g, undefined, pushKey)).toEqual(r1);
    // ... while a NEW push for the closed step 0 is refused, naming the step.
    await rejectsWith(
      svc.push({ trainer: 'idem_sync1', param: 'idem_w', key: w.key(), step: 0, tensor: g }),
      Status.FAILED_PRECONDITION,
      /trainer 'idem_sync1': step 0 is closed \(1 steps applied\); push for step 1/,
    );
    expectSameF32(await readF32(p), [-0.5, -1, -1.5, -2], 'unchanged by the replays');
  });

  it('duplicates sent concurrently (both in flight) are applied once', async () => {
    await zeroParam('idem_cc', 3);
    const svc = conn('idem_cc');
    const svc2 = conn('idem_cc'); // the retry travels on another connection, as after a reconnect
    await svc.create(trainerRequest('idem_cc', ['idem_cc'], SGD, { numWorkers: 1 }));
    const w = new RawWorker(svc, 'idem_cc', 0);
    const g = f32t([3], [1, 1, 1]);
    const pk = w.key();
    const [a, b] = await Promise.all([
      svc.push({ trainer: 'idem_cc', param: 'idem_cc', key: pk, step: 0, tensor: g }),
      svc2.push({ trainer: 'idem_cc', param: 'idem_cc', key: pk, step: 0, tensor: g }),
    ]);
    expect(a).toEqual(b);
    const sk = w.key();
    const [s, t] = await Promise.all([
      svc.step({ trainer: 'idem_cc', key: sk, step: 0, batchSize: 1 }),
      svc2.step({ trainer: 'idem_cc', key: sk, step: 0, batchSize: 1 }),
    ]);
    expect(s).toEqual(t);
    expect(s.step).toBe(1);
    expectSameF32(await readF32(await ps.get('idem_cc')), [-1, -1, -1], 'one update');
    expect((await svc.describe('idem_cc')).step).toBe(1);
  });

  it('with 2 workers, a step retried while it waits at the barrier resolves once, with the first call', async () => {
    await zeroParam('idem_bar', 2);
    const a = conn('idem_bar');
    const b = conn('idem_bar');
    const retry = conn('idem_bar');
    const req = trainerRequest('idem_bar', ['idem_bar'], SGD, { numWorkers: 2, stepTimeoutMs: 20_000 });
    await a.create({ ...req, workerId: 0 });
    await b.create({ ...req, workerId: 1 });
    const w0 = new RawWorker(a, 'idem_bar', 0);
    const w1 = new RawWorker(b, 'idem_bar', 1);
    await w0.push('idem_bar', f32t([2], [1, 2]));
    await w1.push('idem_bar', f32t([2], [3, 4]));
    const k0 = w0.key();
    const first = a.step({ trainer: 'idem_bar', key: k0, step: 0, batchSize: 1 });
    // Worker 0 "lost the reply" and sends the same step again on a new connection.
    const again = retry.step({ trainer: 'idem_bar', key: k0, step: 0, batchSize: 1 });
    // The barrier still waits for worker 1 only (the retry did not count as a second step).
    expect((await a.describe('idem_bar')).waitingFor).toEqual([1]);
    const r1 = await w1.step(1);
    const [r0, r0b] = await Promise.all([first, again]);
    expect(r0).toEqual(r1);
    expect(r0b).toEqual(r1);
    expect(r1.workers).toEqual([0, 1]);
    // One update with the sum of both gradients and rescale 1/(1+1).
    const ref = new RefParam({ kind: 'sgd', learningRate: 1 }, [0, 0]);
    ref.step(
      [
        [1, 2],
        [3, 4],
      ],
      2,
    );
    expectSameF32(await readF32(await ps.get('idem_bar')), ref.weight, 'idem_bar');
    expectSameF32(ref.weight, [-2, -3], 'reference sanity');
  });

  it('a failed call is forgotten: the same key may be sent again and then succeeds', async () => {
    await zeroParam('idem_fail', 2);
    const svc = conn('idem_fail');
    await svc.create(trainerRequest('idem_fail', ['idem_fail'], SGD, { numWorkers: 1 }));
    const w = new RawWorker(svc, 'idem_fail', 0);
    const k = w.key();
    await rejectsWith(
      w.push('idem_fail', f32t([3], [1, 1, 1]), undefined, k),
      Status.INVALID_ARGUMENT,
      /gradient for 'idem_fail' has shape \[3\], expected \[2\]/,
    );
    await w.push('idem_fail', f32t([2], [2, 4]), undefined, k);
    await w.step(2);
    expectSameF32(await readF32(await ps.get('idem_fail')), [-1, -2], 'idem_fail');
  });
});

describe('async: the same key is applied once', () => {
  it('a retried step applies the gradient once; a new incarnation with the same sequence is a new call', async () => {
    await zeroParam('idem_async', 2);
    const svc = conn('idem_async');
    const req = trainerRequest('idem_async', ['idem_async'], SGD, { mode: 'TRAINER_MODE_ASYNC', numWorkers: 2 });
    await svc.create(req);
    const w = new RawWorker(svc, 'idem_async', 0, 7);
    await w.push('idem_async', f32t([2], [1, 1]), undefined, w.key(1));
    const s1 = await w.step(1, w.key(2));
    const s2 = await svc.step({ trainer: 'idem_async', key: w.key(2), step: 0, batchSize: 1 });
    expect(s2).toEqual(s1);
    expect(s1.step).toBe(1);
    const p = await ps.get('idem_async');
    expectSameF32(await readF32(p), [-1, -1], 'after a retried step');
    // Worker 0 restarts: a new incarnation numbers its calls from 1 again; they are new calls.
    const again = new RawWorker(svc, 'idem_async', 0, 8);
    await again.push('idem_async', f32t([2], [1, 1]), undefined, again.key(1));
    const s3 = await again.step(1, again.key(2));
    expect(s3.step).toBe(2);
    expectSameF32(await readF32(p), [-2, -2], 'after the restarted worker stepped');
    // Another worker's sequence 1 and 2 are its own keys, not worker 0's.
    const other = new RawWorker(svc, 'idem_async', 1, 7);
    await other.push('idem_async', f32t([2], [1, 1]), undefined, other.key(1));
    expect((await other.step(1, other.key(2))).step).toBe(3);
    expectSameF32(await readF32(p), [-3, -3], 'after worker 1 stepped');
    expect((await svc.describe('idem_async')).step).toBe(3);
  });
});

describe('keys the server refuses', () => {
  it('a call without a key, or naming a worker outside [0, num_workers), is INVALID_ARGUMENT', async () => {
    await zeroParam('idem_badkey', 2);
    const svc = conn('idem_badkey');
    await svc.create(trainerRequest('idem_badkey', ['idem_badkey'], SGD, { numWorkers: 2 }));
    await rejectsWith(
      svc.create(trainerRequest('idem_badkey', ['idem_badkey'], SGD, { numWorkers: 2, workerId: 2 })),
      Status.INVALID_ARGUMENT,
      /worker id 2 is out of range \[0, 2\)/,
    );
    await rejectsWith(
      svc.step({ trainer: 'idem_badkey', key: null as never, step: 0, batchSize: 1 }),
      Status.INVALID_ARGUMENT,
      /has no idempotency key/,
    );
    await rejectsWith(
      svc.push({
        trainer: 'idem_badkey',
        param: 'idem_badkey',
        key: { workerId: 5, incarnation: 1, sequence: 1 },
        step: 0,
        tensor: f32t([2], [1, 1]),
      }),
      Status.INVALID_ARGUMENT,
      /worker id 5 is out of range \[0, 2\)/,
    );
    await rejectsWith(
      svc.step({ trainer: 'idem_badkey', key: { workerId: 0, incarnation: 1, sequence: 1 }, step: 0, batchSize: 0 }),
      Status.INVALID_ARGUMENT,
      /batch_size must be an integer >= 1, got 0/,
    );
    await rejectsWith(
      svc.push({
        trainer: 'idem_badkey',
        param: 'idem_badkey',
        key: { workerId: 0, incarnation: 1, sequence: 2 },
        step: 1,
        tensor: f32t([2], [1, 1]),
      }),
      Status.FAILED_PRECONDITION,
      /step 1 is not open yet; the trainer is at step 0/,
    );
    expect((await svc.describe('idem_badkey')).step).toBe(0);
  });
});
