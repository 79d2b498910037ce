// Sync trainers through the real client and an in-process server, several client connections
// playing the workers:
// - equivalence with a single-process reference over several steps (SGD with momentum, Adam;
//   2 and 3 workers; two parameters with lr_mult / wd_mult; every context copy): step k applies
//   once, with the sum of the workers' gradients and rescale_grad / (sum of their batch sizes);
// - the barrier's deadline (fail policy) naming the missing workers, the quorum policy, and a
//   worker leaving.
//
// Precision: the comparisons are BIT-EXACT. The reference (trainer-helpers.ts RefParam) sums the
// workers' float32 gradients in float64 in worker order and rounds the sum to float32 (what the
// native add_n does), then runs the bit-exact TypeScript optimizer reference in float32, so
// there is no tolerance to choose.
import { describe, expect, it } from 'vitest';
import { cpu, Status } from '../../client/index';
import type { OptimizerName, OptimizerParams, ParameterServerClient, StepResult, Trainer } from '../../client/index';
import { rejectsWith } from './helpers';
import type { RefOptimizer } from './trainer-helpers';
import {
  useTrainerHarness,
  expectSameF32,
  f32t,
  lcg,
  randomF32,
  readAllF32,
  RefParam,
  settle,
} from './trainer-helpers';

let ps: ParameterServerClient;
let workers: ParameterServerClient[];
useTrainerHarness(3, (env) => ({ ps, workers } = env));

/** Declares a float32 parameter on cpu(0) and cpu(1) holding `values`. */
async function param(
  name: string,
  shape: number[],
  values: Float32Array,
  extra: { lrMult?: number; wdMult?: number } = {},
): Promise<void> {
  const p = await ps.parameter(name, { shape, ...extra });
  await p.initialize({ ctx: [cpu(0), cpu(1)], seed: 1 });
  await p.setData(f32t(shape, values));
}

/** Every context copy of `name` equals the reference, bit for bit. */
async function expectParam(name: string, ref: RefParam, label: string): Promise<void> {
  const copies = await readAllF32(await ps.get(name));
  expect(copies.length).toBe(2);
  copies.forEach((c, i) => expectSameF32(c, ref.weight, `${label}: '${name}' on cpu(${i})`));
}

async function trainers(
  name: string,
  n: number,
  optimizer: OptimizerName,
  params: OptimizerParams,
  names: string[],
  extra: object = {},
): Promise<Trainer[]> {
  const out: Trainer[] = [];
  for (let w = 0; w < n; w++) {
    out.push(
      await workers[w]!.trainer(name, names, optimizer, params, {
        mode: 'sync',
        numWorkers: n,
        workerId: w,
        stepTimeoutMs: 20_000,
        ...extra,
      }),
    );
  }
  return out;
}

const EQUIVALENCE: Array<[string, number, OptimizerName, OptimizerParams, RefOptimizer]> = [
  [
    'sgd_mom_w2',
    2,
    'sgd',
    { learningRate: 0.1, momentum: 0.9, wd: 1e-3 },
    { kind: 'sgd', learningRate: 0.1, momentum: 0.9, wd: 1e-3 },
  ],
  [
    'sgd_mom_w3',
    3,
    'sgd',
    { learningRate: 0.05, momentum: 0.8, wd: 1e-2, rescaleGrad: 2 },
    { kind: 'sgd', learningRate: 0.05, momentum: 0.8, wd: 1e-2, rescaleGrad: 2 },
  ],
  ['adam_w2', 2, 'adam', { learningRate: 0.01, wd: 1e-3 }, { kind: 'adam', learningRate: 0.01, wd: 1e-3 }],
  [
    'adam_w3',
    3,
    'adam',
    { learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, clipGradient: 0.5 },
    { kind: 'adam', learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, clipGradient: 0.5 },
  ],
];

describe('sync equivalence with a single-process reference', () => {
  for (const [tag, W, optimizer, params, refOpt] of EQUIVALENCE) {
    it(`${tag}: ${W} workers, ${optimizer}, 5 steps, bit-exact on every context`, async () => {
      const rand = lcg(tag.length * 977 + W);
      const a = `${tag}_a`;
      const b = `${tag}_b`;
      const initA = randomF32(rand, 15);
      const initB = randomF32(rand, 7);
      await param(a, [3, 5], initA);
      await param(b, [7], initB, { lrMult: 0.5, wdMult: 2 });
      const refA = new RefParam(refOpt, initA);
      const refB = new RefParam(refOpt, initB, { lrMult: 0.5, wdMult: 2 });
      const trs = await trainers(tag, W, optimizer, params, [a, b]);
      let lastVersions: number[] = [0, 0];
      for (let k = 0; k < 5; k++) {
        const gA = Array.from({ length: W }, () => randomF32(rand, 15, 3));
        const gB = Array.from({ length: W }, () => randomF32(rand, 7, 3));
        const batch = Array.from({ length: W }, (_, w) => 1 + ((w + k) % 3) * 4);
        const results = await Promise.all(
          trs.map(async (tr, w) => {
            expect(tr.currentStep).toBe(k);
            await Promise.all([tr.pushGrad(a, f32t([3, 5], gA[w]!)), tr.pushGrad(b, f32t([7], gB[w]!))]);
            return tr.step(batch[w]!);
          }),
        );
        // Every worker gets the one result of the one apply.
        for (const r of results) expect(r).toEqual(results[0]);
        const r0 = results[0] as StepResult;
        expect(r0.step).toBe(k + 1);
        expect(r0.workers).toEqual(Array.from({ length: W }, (_, w) => w));
        expect(r0.versions.length).toBe(2);
        r0.versions.forEach((v, i) => expect(v).toBeGreaterThan(lastVersions[i]!));
        lastVersions = r0.versions;
        const total = batch.reduce((x, y) => x + y, 0);
        refA.step(gA, total);
        refB.step(gB, total);
        await expectParam(a, refA, `${tag} step ${k + 1}`);
        await expectParam(b, refB, `${tag} step ${k + 1}`);
      }
      expect((await trs[0]!.describe()).step).toBe(5);
      // A sanity check on the reference itself: the update is not a no-op.
      expect(Array.from(refA.weight)).not.toEqual(Array.from(initA));
    });
  }

  it('the same result as ONE worker stepping with the concatenated batch (summed gradient)', async () => {
    const rand = lcg(4242);
    const init = randomF32(rand, 6);
    await param('concat_2w', [6], init);
    await param('concat_1w', [6], init);
    const opt: OptimizerParams = { learningRate: 0.1, momentum: 0.9 };
    const two = await trainers('concat_2w', 2, 'sgd', opt, ['concat_2w']);
    const one = await workers[2]!.trainer('concat_1w', ['concat_1w'], 'sgd', opt, { numWorkers: 1 });
    for (let k = 0; k < 3; k++) {
      // Gradients that are exact multiples of 1/64, so their float64 sum is exact in float32.
      const g0 = Float32Array.from({ length: 6 }, () => Math.round(rand() * 256 - 128) / 64);
      const g1 = Float32Array.from({ length: 6 }, () => Math.round(rand() * 256 - 128) / 64);
      await Promise.all(
        two.map(async (tr, w) => {
          await tr.pushGrad('concat_2w', f32t([6], w === 0 ? g0 : g1));
          return tr.step(w === 0 ? 3 : 5);
        }),
      );
      await one.pushGrad(
        'concat_1w',
        f32t(
          [6],
          g0.map((x, i) => x + g1[i]!),
        ),
      );
      await one.step(8);
    }
    const [x] = await readAllF32(await ps.get('concat_2w'));
    const [y] = await readAllF32(await ps.get('concat_1w'));
    expectSameF32(x!, y!, 'two workers vs one worker with the whole batch');
  });
});

describe('the barrier deadline (fail policy)', () => {
  it('a missing worker: the step fails for the waiting worker naming it, nothing is applied, then the step can be redone', async () => {
    const init = Float32Array.from([1, 2, 3, 4]);
    await param('bar_fail', [4], init);
    const trs = await trainers('bar_fail', 2, 'sgd', { learningRate: 1 }, ['bar_fail'], { stepTimeoutMs: 800 });
    const before = (await (await ps.get('bar_fail')).describe()).version;
    await trs[0]!.pushGrad('bar_fail', f32t([4], [1, 1, 1, 1]));
    const t0 = Date.now();
    const pending = settle(trs[0]!.step(1));
    await new Promise((r) => setTimeout(r, 100));
    const waiting = await trs[1]!.describe();
    expect(waiting).toMatchObject({ step: 0, waitingFor: [1], workersSeen: [0, 1] });
    const out = await pending;
    const elapsed = Date.now() - t0;
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect([Status.DEADLINE_EXCEEDED, Status.ABORTED]).toContain(out.error.code);
    expect(out.error.message).toMatch(/trainer 'bar_fail': step 0 timed out after 800 ms waiting for worker 1\b/);
    expect(out.error.message).toMatch(/not applied/);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(10_000);
    // Nothing applied: same values, same version, step count 0, no open step.
    const p = await ps.get('bar_fail');
    for (const c of await readAllF32(p)) expectSameF32(c, init, 'after the failed step');
    expect((await p.describe()).version).toBe(before);
    expect(await trs[0]!.describe()).toMatchObject({ step: 0, waitingFor: [] });
    expect(trs[0]!.currentStep).toBe(0);
    // The failed step's gradients were dropped: both workers push again and step 0 succeeds.
    const results = await Promise.all(
      trs.map(async (tr, w) => {
        await tr.pushGrad('bar_fail', f32t([4], w === 0 ? [1, 1, 1, 1] : [3, 3, 3, 3]));
        return tr.step(2);
      }),
    );
    expect(results[0]).toMatchObject({ step: 1, workers: [0, 1] });
    const ref = new RefParam({ kind: 'sgd', learningRate: 1 }, init);
    ref.step(
      [
        [1, 1, 1, 1],
        [3, 3, 3, 3],
      ],
      4,
    );
    await expectParam('bar_fail', ref, 'redone step');
    expectSameF32(ref.weight, [0, 1, 2, 3], 'reference sanity');
  });

  it('with 3 workers: every waiting worker fails, and the message names all the missing ones', async () => {
    await param('bar_fail3', [2], Float32Array.from([0, 0]));
    const trs = await trainers('bar_fail3', 3, 'sgd', { learningRate: 1 }, ['bar_fail3'], { stepTimeoutMs: 500 });
    // Worker 0 alone: workers 1 and 2 missing.
    await trs[0]!.pushGrad('bar_fail3', f32t([2], [1, 1]));
    await rejectsWith(trs[0]!.step(1), Status.DEADLINE_EXCEEDED, /waiting for workers 1, 2\b/);
    // Workers 0 and 1 waiting, worker 2 missing: both fail with the same message.
    const outs = await Promise.all(
      [0, 1].map(async (w) => {
        await trs[w]!.pushGrad('bar_fail3', f32t([2], [1, 1]));
        return settle(trs[w]!.step(1));
      }),
    );
    for (const o of outs) {
      expect(o.ok).toBe(false);
      if (!o.ok) {
        expect(o.error.code).toBe(Status.DEADLINE_EXCEEDED);
        expect(o.error.message).toMatch(/step 0 timed out after 500 ms waiting for worker 2\b/);
      }
    }
    for (const c of await readAllF32(await ps.get('bar_fail3'))) expectSameF32(c, [0, 0], 'nothing applied');
    expect((await trs[2]!.describe()).step).toBe(0);
  });
});

describe('the barrier deadline and a worker that pushed but had not stepped yet', () => {
  it('a timed-out step must not silently drop the gradient of a worker that was never told the step failed', async () => {
    // Worker 1 pushes its gradient early, then is slow to call step(). Worker 0's step times out
    // (worker 1 had not stepped), worker 0 pushes again and steps again; worker 1 then steps. Worker
    // 1 never got an error, so its gradient for step 0 must either be part of the step, or its
    // step must be refused so it pushes again. Applying the step with worker 1's batch size but
    // without its gradient is a silently wrong update.
    await param('bar_pushed', [2], Float32Array.from([0, 0]));
    const trs = await trainers('bar_pushed', 2, 'sgd', { learningRate: 1 }, ['bar_pushed'], { stepTimeoutMs: 600 });
    await trs[1]!.pushGrad('bar_pushed', f32t([2], [3, 3]));
    await trs[0]!.pushGrad('bar_pushed', f32t([2], [1, 1]));
    await rejectsWith(trs[0]!.step(1), Status.DEADLINE_EXCEEDED, /waiting for worker 1\b/);
    await trs[0]!.pushGrad('bar_pushed', f32t([2], [1, 1]));
    const redo = trs[0]!.step(1);
    const late = await settle(trs[1]!.step(1));
    const applied = await settle(redo);
    const copies = await readAllF32(await ps.get('bar_pushed'));
    if (late.ok) {
      expect(applied.ok).toBe(true);
      // (1 + 3) / (1 + 1) = 2 per element.
      for (const c of copies) expectSameF32(c, [-2, -2], "both workers' gradients over both batches");
    } else {
      expect(late.error.code).toBe(Status.FAILED_PRECONDITION);
      for (const c of copies) expectSameF32(c, [0, 0], 'nothing applied with a missing gradient');
    }
  });
});

describe('the quorum policy', () => {
  it('at the deadline the step is applied with the workers that stepped (>= quorum); the late worker is told its step closed', async () => {
    // Its parameter (20 bytes) is split on the suites' cluster: the quorum is decided on the lowest shard.
    const rand = lcg(99);
    const init = randomF32(rand, 5);
    await param('quorum', [5], init);
    const opt: OptimizerParams = { learningRate: 0.2, momentum: 0.5 };
    const trs = await trainers('quorum', 3, 'sgd', opt, ['quorum'], {
      stepTimeoutMs: 800,
      timeoutPolicy: 'quorum',
      quorum: 2,
    });
    expect(await trs[0]!.describe()).toMatchObject({
      timeoutPolicy: 'quorum',
      quorum: 2,
      stepTimeoutMs: 800,
      numWorkers: 3,
      mode: 'sync',
    });
    const ref = new RefParam({ kind: 'sgd', learningRate: 0.2, momentum: 0.5 }, init);
    const g = [randomF32(rand, 5), randomF32(rand, 5), randomF32(rand, 5)];
    const t0 = Date.now();
    const results = await Promise.all(
      [0, 1].map(async (w) => {
        await trs[w]!.pushGrad('quorum', f32t([5], g[w]!));
        return trs[w]!.step(w + 1);
      }),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    for (const r of results) expect(r).toMatchObject({ step: 1, workers: [0, 1] });
    ref.step([g[0]!, g[1]!], 1 + 2);
    await expectParam('quorum', ref, 'quorum step');
    // Worker 2 was late: its push for step 0 is refused as closed, naming the step.
    await rejectsWith(
      trs[2]!.pushGrad('quorum', f32t([5], g[2]!)),
      Status.FAILED_PRECONDITION,
      /trainer 'quorum': step 0 is closed \(1 steps applied\); push for step 1/,
    );
    // The client caught up with the trainer, so worker 2 joins step 1 with everyone.
    expect(trs[2]!.currentStep).toBe(1);
    const g1 = [randomF32(rand, 5), randomF32(rand, 5), randomF32(rand, 5)];
    const all = await Promise.all(
      trs.map(async (tr, w) => {
        await tr.pushGrad('quorum', f32t([5], g1[w]!));
        return tr.step(2);
      }),
    );
    for (const r of all) expect(r).toMatchObject({ step: 2, workers: [0, 1, 2] });
    ref.step(g1, 6);
    await expectParam('quorum', ref, 'full step after the quorum step');
  });

  it('below the quorum at the deadline the step fails like the fail policy, naming the missing workers', async () => {
    await param('quorum_low', [2], Float32Array.from([5, 5]));
    const trs = await trainers('quorum_low', 3, 'sgd', { learningRate: 1 }, ['quorum_low'], {
      stepTimeoutMs: 300,
      timeoutPolicy: 'quorum',
      quorum: 2,
    });
    await trs[1]!.pushGrad('quorum_low', f32t([2], [1, 1]));
    await rejectsWith(
      trs[1]!.step(1),
      Status.DEADLINE_EXCEEDED,
      /step 0 timed out after 300 ms waiting for workers 0, 2\b/,
    );
    for (const c of await readAllF32(await ps.get('quorum_low'))) expectSameF32(c, [5, 5], 'nothing applied');
    expect((await trs[0]!.describe()).step).toBe(0);
  });

  it('a quorum outside [1, numWorkers] is INVALID_ARGUMENT', async () => {
    await param('quorum_bad', [1], Float32Array.from([0]));
    await rejectsWith(
      ps.trainer('quorum_bad', ['quorum_bad'], 'sgd', {}, { numWorkers: 2, timeoutPolicy: 'quorum', quorum: 0 }),
      Status.INVALID_ARGUMENT,
      /quorum must be between 1 and num_workers \(2\), got 0/,
    );
  });
});

describe('a worker leaving', () => {
  it('the others continue without it; its later pushes are refused; its batch no longer counts', async () => {
    const rand = lcg(5150);
    const init = randomF32(rand, 4);
    await param('leave', [4], init);
    const opt: OptimizerParams = { learningRate: 0.1, momentum: 0.9 };
    const ref = new RefParam({ kind: 'sgd', learningRate: 0.1, momentum: 0.9 }, init);
    // A long deadline: if the barrier waited for the worker that left, the test would time out.
    const trs = await trainers('leave', 3, 'sgd', opt, ['leave'], { stepTimeoutMs: 60_000 });
    const round = async (active: number[], k: number): Promise<StepResult[]> => {
      const g = active.map(() => randomF32(rand, 4));
      const batch = active.map((w) => w + 2);
      const out = await Promise.all(
        active.map(async (w, i) => {
          await trs[w]!.pushGrad('leave', f32t([4], g[i]!));
          return trs[w]!.step(batch[i]!);
        }),
      );
      ref.step(
        g,
        batch.reduce((x, y) => x + y, 0),
      );
      await expectParam('leave', ref, `step ${k}`);
      return out;
    };
    await round([0, 1, 2], 1);
    const d = await trs[2]!.leave();
    expect(d).toMatchObject({ workersLeft: [2], workersSeen: [0, 1, 2] });
    const t0 = Date.now();
    const r2 = await round([0, 1], 2);
    expect(r2[0]).toMatchObject({ step: 2, workers: [0, 1] });
    await round([0, 1], 3);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await rejectsWith(
      trs[2]!.pushGrad('leave', f32t([4], [1, 1, 1, 1])),
      Status.FAILED_PRECONDITION,
      /trainer 'leave': worker 2 has left the trainer/,
    );
    await rejectsWith(trs[2]!.step(1), Status.FAILED_PRECONDITION, /worker 2 has left/);
    expect((await trs[0]!.describe()).step).toBe(3);
  });

  it('a worker leaving while the others wait at the barrier releases them; a gradient it pushed without stepping is dropped', async () => {
    const init = Float32Array.from([0, 0, 0]);
    await param('leave_wait', [3], init);
    const trs = await trainers('leave_wait', 2, 'sgd', { learningRate: 1 }, ['leave_wait'], { stepTimeoutMs: 60_000 });
    await trs[1]!.pushGrad('leave_wait', f32t([3], [100, 100, 100]));
    await trs[0]!.pushGrad('leave_wait', f32t([3], [1, 2, 3]));
    const pending = trs[0]!.step(1);
    await new Promise((r) => setTimeout(r, 100));
    expect((await trs[0]!.describe()).waitingFor).toEqual([1]);
    await trs[1]!.leave();
    const r = await pending;
    expect(r).toMatchObject({ step: 1, workers: [0] });
    for (const c of await readAllF32(await ps.get('leave_wait')))
      expectSameF32(c, [-1, -2, -3], 'only worker 0 applied');
    // The remaining worker now steps alone.
    await trs[0]!.pushGrad('leave_wait', f32t([3], [1, 1, 1]));
    expect(await trs[0]!.step(1)).toMatchObject({ step: 2, workers: [0] });
    for (const c of await readAllF32(await ps.get('leave_wait'))) expectSameF32(c, [-2, -3, -4], 'worker 0 alone');
  });

  it('a worker that already stepped and then leaves keeps its gradient AND its batch size in the open step', async () => {
    // Trainer.leave(): "A step it already made stays part of the open step". Its gradient must
    // stay too, or the step divides by a batch that includes samples whose gradient is missing.
    await param('leave_stepped', [2], Float32Array.from([0, 0]));
    const trs = await trainers('leave_stepped', 3, 'sgd', { learningRate: 1 }, ['leave_stepped'], {
      stepTimeoutMs: 60_000,
    });
    await trs[0]!.pushGrad('leave_stepped', f32t([2], [1, 1]));
    await trs[1]!.pushGrad('leave_stepped', f32t([2], [2, 2]));
    const p0 = trs[0]!.step(1);
    const p1 = trs[1]!.step(1);
    await new Promise((r) => setTimeout(r, 100));
    expect((await trs[0]!.describe()).waitingFor).toEqual([2]);
    await trs[1]!.leave();
    await trs[2]!.pushGrad('leave_stepped', f32t([2], [3, 3]));
    const [r0, r1, r2] = await Promise.all([p0, p1, trs[2]!.step(2)]);
    expect(r0).toMatchObject({ step: 1, workers: [0, 1, 2] });
    expect(r1).toEqual(r0);
    expect(r2).toEqual(r0);
    // (1 + 2 + 3) / (1 + 1 + 2) = 1.5 per element.
    for (const c of await readAllF32(await ps.get('leave_stepped')))
      expectSameF32(c, [-1.5, -1.5], 'all three gradients over all three batches');
  });
});
