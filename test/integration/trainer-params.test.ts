// What a trainer does to each kind of parameter, through the real client:
// - constants and grad_req='null' parameters are never changed, even with weight decay over
//   many steps; a gradient pushed for one is FAILED_PRECONDITION naming it; setData still works;
// - a row_sparse gradient updates lazily only the pushed rows, and only their optimizer state
//   (checked bit-exactly against the lazy reference over steps that touch different rows: a row
//   whose momentum/moments had been touched while it was not pushed would diverge);
//   lazyUpdate: false applies the same rows densely;
// - setData on a trained parameter takes effect at the next step (optimizer state kept).
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { rejectsWith } from './helpers';
import type { RefOptimizer } from './trainer-helpers';
import { useTrainerHarness, expectSameF32, f32t, lcg, randomF32, readAllF32, RefParam } from './trainer-helpers';

let ps: ParameterServerClient;
let workers: ParameterServerClient[];
useTrainerHarness(2, (env) => ({ ps, workers } = env));

describe('constants and grad_req null', () => {
  it('are untouched after many steps with weight decay; pushing a gradient for one is FAILED_PRECONDITION naming it', async () => {
    const w = await ps.parameter('cn_w', { shape: [4], init: init.one() });
    await w.initialize({ ctx: [cpu(0), cpu(1)] });
    const c = await ps.constant('cn_const', [
      [1, 2],
      [3, 4],
    ]);
    await c.initialize({ ctx: [cpu(0), cpu(1)] });
    const n = await ps.parameter('cn_null', { shape: [3], gradReq: 'null', init: init.constant(7) });
    await n.initialize({ ctx: [cpu(0), cpu(1)] });
    const versions = { c: (await c.describe()).version, n: (await n.describe()).version };
    // Momentum and a large weight decay: any update of c or n would move them.
    const opt = { learningRate: 0.1, momentum: 0.9, wd: 0.5 };
    const trs = await Promise.all(
      workers.map((ws, id) =>
        ws.trainer('cn', [w, c, n], 'sgd', opt, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
      ),
    );
    const ref = new RefParam({ kind: 'sgd', ...opt }, [1, 1, 1, 1]);
    for (let k = 0; k < 30; k++) {
      const r = await Promise.all(
        trs.map(async (tr, id) => {
          await tr.pushGrad(w, f32t([4], [id + 1, 0, -1, 2]));
          return tr.step(2);
        }),
      );
      // Versions in trainer order [w, c, n]: only w's moves.
      expect(r[0]!.versions.slice(1)).toEqual([versions.c, versions.n]);
      ref.step(
        [
          [1, 0, -1, 2],
          [2, 0, -1, 2],
        ],
        4,
      );
    }
    for (const copy of await readAllF32(w)) expectSameF32(copy, ref.weight, 'the trained parameter');
    for (const copy of await readAllF32(c)) expectSameF32(copy, [1, 2, 3, 4], 'the constant');
    for (const copy of await readAllF32(n)) expectSameF32(copy, [7, 7, 7], "the grad_req='null' parameter");
    expect((await c.describe()).version).toBe(versions.c);
    expect((await n.describe()).version).toBe(versions.n);
    // Gradients for them are refused, naming them; the worker's step is unaffected.
    await rejectsWith(
      trs[0]!.pushGrad(c, f32t([2, 2], [1, 1, 1, 1])),
      Status.FAILED_PRECONDITION,
      /trainer 'cn': constant 'cn_const' takes no gradient/,
    );
    await rejectsWith(
      trs[0]!.pushGrad('cn_null', f32t([3], [1, 1, 1])),
      Status.FAILED_PRECONDITION,
      /trainer 'cn': parameter 'cn_null' takes no gradient because grad_req='null'/,
    );
    // The same refusal in async mode.
    const asyncTr = await workers[0]!.trainer('cn_async', [w, c, n], 'sgd', opt, { mode: 'async' });
    await rejectsWith(
      asyncTr.pushGrad(c, f32t([2, 2], [1, 1, 1, 1])),
      Status.FAILED_PRECONDITION,
      /constant 'cn_const'/,
    );
    await rejectsWith(
      asyncTr.pushGrad(n, f32t([3], [1, 1, 1])),
      Status.FAILED_PRECONDITION,
      /'cn_null'.*grad_req='null'/,
    );
    // setData on the constant still works, and the trainer leaves the new value alone too.
    await c.setData([
      [5, 6],
      [7, 8],
    ]);
    await Promise.all(
      trs.map(async (tr) => {
        await tr.pushGrad(w, f32t([4], [0, 0, 0, 0]));
        return tr.step(1);
      }),
    );
    for (const copy of await readAllF32(c)) expectSameF32(copy, [5, 6, 7, 8], 'the constant after setData and a step');
    expect((await trs[0]!.describe()).step).toBe(31);
  });

  it('a gradient for a parameter the trainer does not hold is INVALID_ARGUMENT naming it', async () => {
    const a = await ps.parameter('cn_a', { shape: [2], init: init.zero() });
    await a.initialize();
    await (await ps.parameter('cn_other', { shape: [2], init: init.zero() })).initialize();
    const tr = await ps.trainer('cn_only_a', [a], 'sgd');
    await rejectsWith(
      tr.pushGrad('cn_other', f32t([2], [1, 1])),
      Status.INVALID_ARGUMENT,
      /parameter 'cn_other' is not one of its parameters \[cn_a\]/,
    );
  });
});

describe('row_sparse gradients', () => {
  const ROWS = 10;
  const WIDTH = 3;
  const cases: Array<[string, 'sgd' | 'adam', RefOptimizer]> = [
    ['rs_sgd', 'sgd', { kind: 'sgd', learningRate: 0.1, momentum: 0.9, wd: 0.01 }],
    ['rs_adam', 'adam', { kind: 'adam', learningRate: 0.05, wd: 0.01 }],
  ];
  for (const [tag, opt, refOpt] of cases) {
    it(`${tag}: a lazy update touches only the pushed rows and their optimizer state (2 workers, overlapping and duplicate ids)`, async () => {
      const rand = lcg(tag.length * 31);
      const initial = randomF32(rand, ROWS * WIDTH);
      const emb = await ps.parameter(tag, {
        shape: [ROWS, WIDTH],
        stype: 'row_sparse',
        gradStype: 'row_sparse',
        init: init.zero(),
      });
      await emb.initialize({ ctx: [cpu(0), cpu(1)] });
      await emb.setData(f32t([ROWS, WIDTH], initial));
      const { kind: _k, ...params } = refOpt;
      const trs = await Promise.all(
        workers.map((ws, id) =>
          ws.trainer(tag, [tag], opt, params, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
        ),
      );
      const ref = new RefParam(refOpt, initial);
      const everTouched = new Set<number>();
      // Per step and worker, the row ids pushed (duplicates are summed, order is free).
      const plan: number[][][] = [
        [
          [1, 5],
          [5, 8],
        ],
        [[2], [8, 2, 8]],
        [[5], [1]],
        [[0, 9], [3]],
      ];
      for (const [k, ids] of plan.entries()) {
        const contribs = ids.map((list) => ({ ids: list, rows: randomF32(rand, list.length * WIDTH, 2) }));
        const results = await Promise.all(
          trs.map(async (tr, id) => {
            const c = contribs[id]!;
            await tr.pushGrad(tag, { indices: c.ids, values: f32t([c.ids.length, WIDTH], c.rows) });
            return tr.step(id + 1);
          }),
        );
        expect(results[0]).toMatchObject({ step: k + 1, workers: [0, 1] });
        const touched = ref.stepRows(contribs, WIDTH, 3);
        touched.forEach((r) => everTouched.add(r));
        const all = await emb.listRowSparseData(Array.from({ length: ROWS }, (_, i) => i));
        expect(all.length).toBe(2);
        for (const [i, copy] of all.entries()) {
          expectSameF32(copy.values.data as Float32Array, ref.weight, `${tag} step ${k + 1} cpu(${i})`);
          for (let r = 0; r < ROWS; r++) {
            if (everTouched.has(r)) continue;
            expectSameF32(
              (copy.values.data as Float32Array).subarray(r * WIDTH, (r + 1) * WIDTH),
              initial.subarray(r * WIDTH, (r + 1) * WIDTH),
              `${tag}: row ${r} was never pushed`,
            );
          }
        }
      }
      // Rows 4, 6 and 7 were never pushed: bit-identical to their initial value despite wd.
      expect([...everTouched].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 5, 8, 9]);
    });
  }

  it('lazyUpdate: false applies a row_sparse gradient densely (weight decay and momentum reach every row)', async () => {
    const rand = lcg(2024);
    const initial = randomF32(rand, ROWS * WIDTH);
    const emb = await ps.parameter('rs_dense', {
      shape: [ROWS, WIDTH],
      stype: 'row_sparse',
      gradStype: 'row_sparse',
      init: init.zero(),
    });
    await emb.initialize();
    await emb.setData(f32t([ROWS, WIDTH], initial));
    const opt = { learningRate: 0.1, momentum: 0.9, wd: 0.01 };
    const tr = await ps.trainer('rs_dense', [emb], 'sgd', { ...opt, lazyUpdate: false });
    const ref = new RefParam({ kind: 'sgd', ...opt }, initial);
    for (const ids of [
      [1, 5],
      [2, 7],
    ]) {
      const rows = randomF32(rand, ids.length * WIDTH);
      await tr.pushGrad(emb, { indices: ids, values: f32t([ids.length, WIDTH], rows) });
      await tr.step(2);
      const dense = new Float64Array(ROWS * WIDTH);
      ids.forEach((id, k) => dense.set(rows.subarray(k * WIDTH, (k + 1) * WIDTH), id * WIDTH));
      ref.step([dense], 2);
    }
    const all = await emb.rowSparseData(Array.from({ length: ROWS }, (_, i) => i));
    expectSameF32(all.values.data as Float32Array, ref.weight, 'dense application of row gradients');
    // Row 0 was never pushed, yet weight decay moved it.
    expect(Array.from((all.values.data as Float32Array).subarray(0, WIDTH))).not.toEqual(
      Array.from(initial.subarray(0, WIDTH)),
    );
  });

  it('bad row ids and row shapes are INVALID_ARGUMENT naming the parameter', async () => {
    const emb = await ps.parameter('rs_bad', {
      shape: [4, 2],
      stype: 'row_sparse',
      gradStype: 'row_sparse',
      init: init.zero(),
    });
    await emb.initialize();
    const tr = await ps.trainer('rs_bad', [emb], 'sgd', { learningRate: 1 });
    await rejectsWith(
      tr.pushGrad(emb, { indices: [1, 4], values: f32t([2, 2], [1, 1, 1, 1]) }),
      Status.INVALID_ARGUMENT,
      /'rs_bad'.*(row id 4|out of range)/,
    );
    await rejectsWith(
      tr.pushGrad(emb, { indices: [1], values: f32t([1, 3], [1, 1, 1]) }),
      Status.INVALID_ARGUMENT,
      /row_sparse gradient for 'rs_bad' has shape \[1,3\], expected \[1,2\]/,
    );
    // Nothing was recorded: a valid push for the same step is accepted and applied.
    await tr.pushGrad(emb, { indices: [3], values: f32t([1, 2], [2, 4]) });
    await tr.step(2);
    const all = await emb.rowSparseData([0, 1, 2, 3]);
    expectSameF32(all.values.data as Float32Array, [0, 0, 0, 0, 0, 0, -1, -2], 'rs_bad');
  });
});

describe('gradient dtypes', () => {
  it("a gradient in another float dtype (nested numbers travel as float64) is converted to the parameter's dtype first", async () => {
    const p = await ps.parameter('gd_w', { shape: [3], init: init.zero() });
    await p.initialize();
    const trs = await Promise.all(
      workers.map((ws, id) =>
        ws.trainer(
          'gd',
          ['gd_w'],
          'sgd',
          { learningRate: 0.5, momentum: 0.5 },
          { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 },
        ),
      ),
    );
    const g64 = [0.1, 1 / 3, -2.7];
    const g32 = Float32Array.from([0.2, 0.7, 1e-3]);
    await Promise.all([
      trs[0]!.pushGrad(p, g64).then(() => trs[0]!.step(2)),
      trs[1]!.pushGrad(p, f32t([3], g32)).then(() => trs[1]!.step(3)),
    ]);
    const ref = new RefParam({ kind: 'sgd', learningRate: 0.5, momentum: 0.5 }, [0, 0, 0]);
    ref.step([g64.map(Math.fround), g32], 5);
    expectSameF32((await readAllF32(p))[0]!, ref.weight, 'float64 + float32 gradients');
    await rejectsWith(
      trs[0]!.pushGrad(p, { shape: [3], dtype: 'int32', data: Int32Array.from([1, 2, 3]) }),
      Status.INVALID_ARGUMENT,
      /gradient for 'gd_w' must be a float tensor, got int32/,
    );
  });
});

describe('setData on a trained parameter', () => {
  it('takes effect at the next step; the optimizer state is kept', async () => {
    const rand = lcg(77);
    const initial = randomF32(rand, 6);
    const p = await ps.parameter('sd_w', { shape: [2, 3], init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    await p.setData(f32t([2, 3], initial));
    const opt = { learningRate: 0.05, momentum: 0.9, wd: 1e-3 };
    const trs = await Promise.all(
      workers.map((ws, id) =>
        ws.trainer('sd', ['sd_w'], 'sgd', opt, { numWorkers: 2, workerId: id, stepTimeoutMs: 20_000 }),
      ),
    );
    const ref = new RefParam({ kind: 'sgd', ...opt }, initial);
    const round = async (): Promise<number> => {
      const g = [randomF32(rand, 6), randomF32(rand, 6)];
      const r = await Promise.all(
        trs.map(async (tr, id) => {
          await tr.pushGrad('sd_w', f32t([2, 3], g[id]!));
          return tr.step(3);
        }),
      );
      ref.step(g, 6);
      return r[0]!.version;
    };
    await round();
    const v2 = await round();
    for (const c of await readAllF32(p)) expectSameF32(c, ref.weight, 'before setData');
    // Overwrite the trained weight; the next step must start from it (with the momentum built so far).
    const fresh = randomF32(rand, 6, 5);
    const d = await p.setData(f32t([2, 3], fresh));
    expect(d.version).toBeGreaterThan(v2);
    for (const c of await readAllF32(p)) expectSameF32(c, fresh, 'right after setData');
    ref.setWeight(fresh);
    const v3 = await round();
    expect(v3).toBeGreaterThan(d.version);
    for (const c of await readAllF32(p)) expectSameF32(c, ref.weight, 'the step after setData');
    await round();
    for (const c of await readAllF32(p)) expectSameF32(c, ref.weight, 'two steps after setData');
  });
});
