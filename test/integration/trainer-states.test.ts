// Optimizer state and learning rate of a trainer, through the real client:
// - saveStates / loadStates round trip: after rewinding the weights and loading a snapshot, the
//   same gradients reproduce the same weights bit for bit (so the momentum / Adam moments AND the
//   update counts behind Adam's bias correction were restored), in the same trainer and in a
//   fresh one; a snapshot for another optimizer or not a snapshot at all is INVALID_ARGUMENT;
// - setLearningRate and the learningRate getter; FAILED_PRECONDITION with a scheduler;
// - lr schedulers applied by the trainer: the rate of each update against MXNet's schedule
//   (values written out by hand from lr_scheduler.py), counted once per sync step, not per worker.
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { OptimizerName, OptimizerParams, ParameterServerClient, Trainer } from '../../client/index';
import { rejectsWith } from './helpers';
import type { RefOptimizer } from './trainer-helpers';
import { useTrainerHarness, expectSameF32, f32t, lcg, randomF32, readAllF32, RefParam } from './trainer-helpers';

let ps: ParameterServerClient;
let workers: ParameterServerClient[];
useTrainerHarness(2, (env) => ({ ps, workers } = env));

async function param(name: string, shape: number[], values: Float32Array): Promise<void> {
  const p = await ps.parameter(name, { shape, init: init.zero() });
  await p.initialize({ ctx: [cpu(0), cpu(1)] });
  await p.setData(f32t(shape, values));
}

async function weights(name: string): Promise<Float32Array> {
  const copies = await readAllF32(await ps.get(name));
  expectSameF32(copies[1]!, copies[0]!, `'${name}': both contexts agree`);
  return copies[0]!;
}

describe('saveStates / loadStates', () => {
  const cases: Array<[string, OptimizerName, OptimizerParams]> = [
    ['st_adam', 'adam', { learningRate: 0.05, wd: 1e-3 }],
    ['st_sgd', 'sgd', { learningRate: 0.1, momentum: 0.9 }],
  ];
  for (const [tag, opt, params] of cases) {
    it(`${tag}: rewinding the weights and loading the snapshot reproduces the next steps bit for bit`, async () => {
      const rand = lcg(tag.length * 7 + 1);
      const a = `${tag}_a`;
      const b = `${tag}_b`;
      await param(a, [4, 3], randomF32(rand, 12));
      await param(b, [5], randomF32(rand, 5));
      const trs = await Promise.all(
        workers.map((ws, id) =>
          ws.trainer(tag, [a, b], opt, params, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
        ),
      );
      const grads = Array.from({ length: 6 }, () =>
        [0, 1].map(() => ({ a: randomF32(rand, 12), b: randomF32(rand, 5) })),
      );
      const run = async (list: Trainer[], from: number, to: number): Promise<void> => {
        for (let k = from; k < to; k++) {
          await Promise.all(
            list.map(async (tr, id) => {
              await tr.pushGrad(a, f32t([4, 3], grads[k]![id]!.a));
              // Parameter b gets a gradient only on even steps: its update count lags the trainer's step.
              if (k % 2 === 0) await tr.pushGrad(b, f32t([5], grads[k]![id]!.b));
              return tr.step(2 + id);
            }),
          );
        }
      };
      await run(trs, 0, 3);
      const snapshot = await trs[0]!.saveStates();
      expect(Buffer.isBuffer(snapshot)).toBe(true);
      const at3 = { a: await weights(a), b: await weights(b) };
      await run(trs, 3, 6);
      const at6 = { a: await weights(a), b: await weights(b) };
      expect(Array.from(at6.a)).not.toEqual(Array.from(at3.a));

      // Rewind: weights by setData, optimizer states and step by loadStates.
      await (await ps.get(a)).setData(f32t([4, 3], at3.a));
      await (await ps.get(b)).setData(f32t([5], at3.b));
      await trs[1]!.loadStates(snapshot);
      expect((await trs[0]!.describe()).step).toBe(3);
      // The worker that loaded learned the step; the workers re-attach (as after a restart) and
      // start from the trainer's step.
      expect(trs[1]!.currentStep).toBe(3);
      const again = await Promise.all(
        workers.map((ws, id) =>
          ws.trainer(tag, [a, b], opt, params, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
        ),
      );
      for (const tr of again) expect(tr.currentStep).toBe(3);
      await run(again, 3, 6);
      expectSameF32(await weights(a), at6.a, `${tag}: '${a}' after replaying steps 4-6`);
      expectSameF32(await weights(b), at6.b, `${tag}: '${b}' after replaying steps 4-6`);

      // A fresh trainer over the same parameters, loaded with the snapshot, does the same.
      await (await ps.get(a)).setData(f32t([4, 3], at3.a));
      await (await ps.get(b)).setData(f32t([5], at3.b));
      const fresh = await Promise.all(
        workers.map((ws, id) =>
          ws.trainer(`${tag}_fresh`, [a, b], opt, params, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
        ),
      );
      await fresh[0]!.loadStates(snapshot);
      expect((await fresh[1]!.describe()).step).toBe(3);
      const freshAgain = await Promise.all(
        workers.map((ws, id) =>
          ws.trainer(`${tag}_fresh`, [a, b], opt, params, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
        ),
      );
      await run(freshAgain, 3, 6);
      expectSameF32(await weights(a), at6.a, `${tag}: '${a}' in a fresh trainer`);
      expectSameF32(await weights(b), at6.b, `${tag}: '${b}' in a fresh trainer`);
    });
  }

  it('a snapshot the trainer cannot use is INVALID_ARGUMENT and changes nothing', async () => {
    await param('st_bad', [3], Float32Array.from([1, 2, 3]));
    const sgd = await ps.trainer('st_bad_sgd', ['st_bad'], 'sgd', { learningRate: 1, momentum: 0.5 });
    const adam = await ps.trainer('st_bad_adam', ['st_bad'], 'adam');
    await sgd.pushGrad('st_bad', f32t([3], [1, 1, 1]));
    await sgd.step(1);
    const snapshot = await sgd.saveStates();
    await rejectsWith(
      adam.loadStates(snapshot),
      Status.INVALID_ARGUMENT,
      /trainer 'st_bad_adam': states were saved for optimizer sgd, this trainer uses adam/,
    );
    await rejectsWith(
      adam.loadStates(Buffer.from('not a snapshot at all')),
      Status.INVALID_ARGUMENT,
      /not a saved optimizer-state snapshot/,
    );
    await rejectsWith(
      sgd.loadStates(snapshot.subarray(0, snapshot.length - 4)),
      Status.INVALID_ARGUMENT,
      /not a saved optimizer-state snapshot/,
    );
    expect((await adam.describe()).step).toBe(0);
    expect((await sgd.describe()).step).toBe(1);
  });
});

describe('setLearningRate', () => {
  it('the next step uses the new rate; learningRate and describe() report it', async () => {
    const rand = lcg(3);
    const initial = randomF32(rand, 4);
    await param('lr_set', [4], initial);
    const tr = await ps.trainer('lr_set', ['lr_set'], 'sgd', { learningRate: 0.1, momentum: 0.9 });
    const other = await workers[0]!.trainer('lr_set', ['lr_set'], 'sgd', { learningRate: 0.1, momentum: 0.9 });
    expect(tr.learningRate).toBe(0.1);
    const ref = new RefParam({ kind: 'sgd', learningRate: 0.1, momentum: 0.9 }, initial);
    const g = [randomF32(rand, 4), randomF32(rand, 4), randomF32(rand, 4)];
    await tr.pushGrad('lr_set', f32t([4], g[0]!));
    await tr.step(1);
    ref.step([g[0]!], 1);
    await tr.setLearningRate(0.01);
    expect(tr.learningRate).toBe(0.01);
    const seen = await other.describe();
    expect(seen.learningRate).toBe(0.01);
    expect(seen.optimizer).toEqual({
      name: 'sgd',
      params: expect.objectContaining({ learningRate: 0.01, momentum: 0.9 }),
    });
    expect(other.learningRate).toBe(0.01);
    await tr.pushGrad('lr_set', f32t([4], g[1]!));
    await tr.step(1);
    ref.step([g[1]!], 1, 0.01);
    expectSameF32(await weights('lr_set'), ref.weight, 'after a step at the new rate');
    await tr.setLearningRate(0);
    await tr.pushGrad('lr_set', f32t([4], g[2]!));
    await tr.step(1);
    ref.step([g[2]!], 1, 0);
    expectSameF32(await weights('lr_set'), ref.weight, 'lr 0: momentum only');
    await rejectsWith(tr.setLearningRate(-1), Status.INVALID_ARGUMENT, /learning rate must be a finite number >= 0/);
  });

  it('loadStates restores the learning rate that was set when the snapshot was taken', async () => {
    await param('lr_saved', [2], Float32Array.from([1, 1]));
    const tr = await ps.trainer('lr_saved', ['lr_saved'], 'sgd', { learningRate: 0.1 });
    await tr.setLearningRate(0.03);
    const snapshot = await tr.saveStates();
    await tr.setLearningRate(0.5);
    expect(tr.learningRate).toBe(0.5);
    await tr.loadStates(snapshot);
    expect(tr.learningRate).toBe(0.03);
    expect((await tr.describe()).learningRate).toBe(0.03);
    await tr.pushGrad('lr_saved', f32t([2], [1, 2]));
    await tr.step(1);
    const ref = new RefParam({ kind: 'sgd', learningRate: 0.1 }, [1, 1]);
    ref.step([[1, 2]], 1, 0.03);
    expectSameF32(await weights('lr_saved'), ref.weight, 'a step at the restored rate');
  });

  it('is FAILED_PRECONDITION when the trainer has an lr scheduler', async () => {
    await param('lr_sched_set', [2], Float32Array.from([0, 0]));
    const tr = await ps.trainer('lr_sched_set', ['lr_sched_set'], 'sgd', {
      learningRate: 0.1,
      lrScheduler: { kind: 'factor', step: 1, factor: 0.5 },
    });
    await rejectsWith(
      tr.setLearningRate(0.5),
      Status.FAILED_PRECONDITION,
      /trainer 'lr_sched_set': it has an lr scheduler/,
    );
  });
});

describe('lr schedulers in the trainer', () => {
  /** Steps a 1-worker SGD trainer with gradient g, checking each update's rate against `rates`. */
  async function checkRates(tag: string, params: OptimizerParams, rates: number[], numWorkers = 1): Promise<Trainer> {
    const initial = Float32Array.from([1, -2, 3]);
    await param(tag, [3], initial);
    const trs = await Promise.all(
      Array.from({ length: numWorkers }, (_, id) =>
        (id === 0 ? ps : workers[id - 1]!).trainer(tag, [tag], 'sgd', params, {
          numWorkers,
          workerId: id,
          stepTimeoutMs: 20_000,
        }),
      ),
    );
    const refOpt: RefOptimizer = {
      kind: 'sgd',
      learningRate: params.learningRate!,
      momentum: params.momentum,
      wd: params.wd,
    };
    const ref = new RefParam(refOpt, initial);
    for (const [k, lr] of rates.entries()) {
      // The rate the next step uses, before it runs.
      expect(trs[0]!.learningRate, `${tag}: learningRate before update ${k + 1}`).toBeCloseTo(lr, 14);
      expect((await trs[0]!.describe()).learningRate, `${tag}: describe() before update ${k + 1}`).toBeCloseTo(lr, 14);
      const g = [0.5, 1, -1.5];
      await Promise.all(
        trs.map(async (tr) => {
          await tr.pushGrad(tag, f32t([3], g));
          return tr.step(1);
        }),
      );
      ref.step(
        trs.map(() => g),
        numWorkers,
        lr,
      );
      expectSameF32(await weights(tag), ref.weight, `${tag}: after update ${k + 1} at lr ${lr}`);
    }
    return trs[0]!;
  }

  it('factor: lr * factor every `step` updates (MXNet: changes once num_update > count + step)', async () => {
    const tr = await checkRates(
      'sch_factor',
      { learningRate: 0.4, momentum: 0.9, lrScheduler: { kind: 'factor', step: 2, factor: 0.5 } },
      [0.4, 0.4, 0.2, 0.2, 0.1, 0.1, 0.05],
    );
    // describe(): learningRate is the schedule's next value, the optimizer keeps its base rate and the schedule.
    const d = await tr.describe();
    expect(d.step).toBe(7);
    expect(d.learningRate).toBeCloseTo(0.05, 15);
    expect(d.optimizer.params).toMatchObject({
      learningRate: 0.4,
      lrScheduler: { kind: 'factor', step: 2, factor: 0.5 },
    });
  });

  it('multifactor with linear warm-up (warm-up rates begin + (base - begin) * n / warmupSteps)', async () => {
    await checkRates(
      'sch_multi',
      {
        learningRate: 0.2,
        lrScheduler: { kind: 'multifactor', steps: [4, 6], factor: 0.1, warmupSteps: 3, warmupBeginLr: 0.05 },
      },
      [0.05 + (0.15 * 1) / 3, 0.05 + (0.15 * 2) / 3, 0.2, 0.2, 0.2 * 0.1, 0.2 * 0.1, 0.2 * 0.1 * 0.1],
    );
  });

  it('cosine down to final_lr, then final_lr', async () => {
    const base = 0.3;
    const final = 0.01;
    const cos = (n: number): number => final + ((base - final) * (1 + Math.cos((Math.PI * n) / 4))) / 2;
    await checkRates('sch_cos', { learningRate: base, lrScheduler: { kind: 'cosine', maxUpdate: 4, finalLr: final } }, [
      cos(1),
      cos(2),
      cos(3),
      cos(4),
      final,
      final,
    ]);
  });

  it('with 2 sync workers the schedule advances once per step, not once per worker', async () => {
    await checkRates(
      'sch_sync2',
      { learningRate: 0.8, lrScheduler: { kind: 'factor', step: 1, factor: 0.5 } },
      [0.8, 0.4, 0.2, 0.1],
      2,
    );
  });
});
