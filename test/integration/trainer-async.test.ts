// Async trainers through the real client: each worker's step applies its own gradients at once
// and atomically, so W workers x k concurrent steps lose no update. Plain SGD with integer-valued
// gradients and lr 1 makes the final weight independent of the order the steps ran in, and every
// partial sum exact in float32, so the check is exact.
import { describe, expect, it } from 'vitest';
import { cpu, init } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { useTrainerHarness, expectSameF32, f32t, readAllF32 } from './trainer-helpers';

let ps: ParameterServerClient;
let workers: ParameterServerClient[];

const W = 4;
useTrainerHarness(W, (env) => ({ ps, workers } = env));

describe('async: no lost update', () => {
  it(`${W} workers x 25 concurrent push+step rounds on two parameters (one dense, one row_sparse gradient)`, async () => {
    const k = 25;
    const dense = await ps.parameter('async_dense', { shape: [2, 3], init: init.zero() });
    await dense.initialize({ ctx: [cpu(0), cpu(1)] });
    const emb = await ps.parameter('async_emb', {
      shape: [8, 2],
      init: init.zero(),
      stype: 'row_sparse',
      gradStype: 'row_sparse',
    });
    await emb.initialize({ ctx: [cpu(0)] });
    const trs = await Promise.all(
      workers.map((c, w) =>
        c.trainer(
          'async',
          ['async_dense', 'async_emb'],
          'sgd',
          { learningRate: 1 },
          { mode: 'async', numWorkers: W, workerId: w },
        ),
      ),
    );
    const stepsSeen: number[] = [];
    await Promise.all(
      trs.map(async (tr, w) => {
        for (let i = 0; i < k; i++) {
          // Worker w's gradient is w + 1 everywhere (dense) and on rows w and w + 4 (row_sparse).
          await Promise.all([
            tr.pushGrad('async_dense', f32t([2, 3], new Array(6).fill(w + 1))),
            tr.pushGrad('async_emb', { indices: [w, w + 4], values: f32t([2, 2], new Array(4).fill(w + 1)) }),
          ]);
          const r = await tr.step(1);
          expect(r.workers).toEqual([w]);
          stepsSeen.push(r.step);
        }
      }),
    );
    // Every step got its own number: W * k steps, each applied once.
    expect(stepsSeen.sort((a, b) => a - b)).toEqual(Array.from({ length: W * k }, (_, i) => i + 1));
    expect((await trs[0]!.describe()).step).toBe(W * k);
    // Dense: 0 - k * (1 + 2 + 3 + 4) on every element of every context.
    for (const c of await readAllF32(dense)) expectSameF32(c, new Array(6).fill(-k * 10), 'async_dense');
    // Rows w and w + 4 got -k * (w + 1) each.
    const rows = await emb.rowSparseData([0, 1, 2, 3, 4, 5, 6, 7]);
    const want = [0, 1, 2, 3, 0, 1, 2, 3].flatMap((w) => [-k * (w + 1), -k * (w + 1)]);
    expectSameF32(rows.values.data as Float32Array, want, 'async_emb');
  });

  it("a step applies at once with the worker's own batch size, without waiting for the others", async () => {
    const p = await ps.parameter('async_alone', { shape: [3], init: init.zero() });
    await p.initialize();
    const tr = await workers[2]!.trainer(
      'async_alone',
      ['async_alone'],
      'sgd',
      { learningRate: 1 },
      { mode: 'async', numWorkers: 3, workerId: 2, stepTimeoutMs: 60_000 },
    );
    await tr.pushGrad(p, f32t([3], [4, 8, 12]));
    const t0 = Date.now();
    expect(await tr.step(4)).toMatchObject({ step: 1, workers: [2] });
    expect(Date.now() - t0).toBeLessThan(5000);
    expectSameF32((await readAllF32(p))[0]!, [-1, -2, -3], 'g / batch');
    expect(await tr.describe()).toMatchObject({ mode: 'async', step: 1, waitingFor: [], workersSeen: [2] });
  });
});
