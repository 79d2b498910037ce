// Unit tests of the demo's TypeScript models and plumbing (demo/), no server: the hand-written
// gradients of the MLP and of matrix factorisation against central finite differences in
// float64, the data shards, the loss bookkeeping and formatting, and that the demo's recipes
// converge in an in-process reference of the sync trainer (so a recipe change that breaks
// `npm run demo` fails here first).
import { describe, expect, it } from 'vitest';
import { converged, LossTable } from '../../demo/collect';
import { epochOrder, gaussian, makeBlobs, makeRatings, rng, shardIndices, stepsPerEpoch } from '../../demo/data';
import { mfLossAndGrad, uniqueIds } from '../../demo/models/mf';
import { MLP_PARAM_NAMES, mlpLossAndGrad, mlpZeros, type MlpParams, type MlpShape } from '../../demo/models/mlp';
import { EpochProgress, formatBar, formatEpochLine } from '../../demo/progress';
import { DEFAULT_EPOCHS, MF_RECIPE, MLP_RECIPE, workerBatch } from '../../demo/recipes';
import { simulateMf, simulateMlp } from '../../demo/simulate';

const H = 1e-6;

/** max |a - b| / max(1e-4, |a|, |b|) */
function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++)
    worst = Math.max(worst, Math.abs(a[k]! - b[k]!) / Math.max(1e-4, Math.abs(a[k]!), Math.abs(b[k]!)));
  return worst;
}

/** Central differences of f with respect to every element of `w` (restored afterwards). */
function numericGrad(w: Float64Array, f: () => number): Float64Array {
  const g = new Float64Array(w.length);
  for (let k = 0; k < w.length; k++) {
    const keep = w[k]!;
    w[k] = keep + H;
    const up = f();
    w[k] = keep - H;
    const down = f();
    w[k] = keep;
    g[k] = (up - down) / (2 * H);
  }
  return g;
}

describe('MLP (dense -> tanh -> dense -> softmax cross-entropy)', () => {
  const shape: MlpShape = { inputs: 5, hidden: 7, classes: 3 };
  const g = gaussian(rng(1));
  const params = (): MlpParams<Float64Array> => {
    const p = mlpZeros(shape, (n) => new Float64Array(n)) as MlpParams<Float64Array>;
    for (const name of MLP_PARAM_NAMES) for (let k = 0; k < p[name].length; k++) p[name][k] = 0.7 * g();
    return p;
  };
  const n = 6;
  const x = Float64Array.from({ length: n * shape.inputs }, () => g());
  const y = Int32Array.from({ length: n }, (_, k) => k % shape.classes);
  const rows = [0, 1, 2, 3, 4, 5, 2]; // a repeated row counts twice

  it('analytic gradients match central finite differences (float64)', () => {
    const p = params();
    const grads = mlpZeros(shape, (m) => new Float64Array(m)) as MlpParams<Float64Array>;
    mlpLossAndGrad(shape, p, x, y, rows, grads);
    for (const name of MLP_PARAM_NAMES) {
      const numeric = numericGrad(p[name], () => mlpLossAndGrad(shape, p, x, y, rows));
      expect(maxRelErr(grads[name], numeric), name).toBeLessThan(1e-6);
    }
  });

  it('loss and gradients are sums over the batch (the trainer divides by the batch size)', () => {
    const p = params();
    const whole = mlpZeros(shape, (m) => new Float64Array(m)) as MlpParams<Float64Array>;
    const parts = mlpZeros(shape, (m) => new Float64Array(m)) as MlpParams<Float64Array>;
    const total = mlpLossAndGrad(shape, p, x, y, rows, whole);
    let sum = 0;
    for (const r of rows) sum += mlpLossAndGrad(shape, p, x, y, [r], parts);
    expect(total).toBeCloseTo(sum, 12);
    for (const name of MLP_PARAM_NAMES) expect(maxRelErr(whole[name], parts[name])).toBeLessThan(1e-12);
  });

  it('with zero weights the loss is ln(classes) per sample', () => {
    const p = mlpZeros(shape, (m) => new Float64Array(m));
    expect(mlpLossAndGrad(shape, p, x, y, rows) / rows.length).toBeCloseTo(Math.log(shape.classes), 12);
  });

  it('float32 parameters give the float64 result to float32 precision', () => {
    const p = params();
    const p32 = Object.fromEntries(MLP_PARAM_NAMES.map((k) => [k, Float32Array.from(p[k])])) as unknown as MlpParams;
    const p64 = Object.fromEntries(
      MLP_PARAM_NAMES.map((k) => [k, Float64Array.from(p32[k])]),
    ) as unknown as MlpParams<Float64Array>;
    const a = mlpLossAndGrad(shape, p32, Float32Array.from(x), y, rows);
    const b = mlpLossAndGrad(shape, p64, Float64Array.from(Float32Array.from(x)), y, rows);
    expect(Math.abs(a - b) / b).toBeLessThan(1e-12); // the arithmetic is double either way
  });
});

describe('matrix factorisation over row sets', () => {
  const dim = 4;
  const g = gaussian(rng(2));
  const data = {
    users: Int32Array.from([3, 0, 3, 7, 0]),
    items: Int32Array.from([1, 1, 5, 2, 9]),
    ratings: Float64Array.from([0.5, -1, 2, 0.25, 1.5]),
  };
  const rows = [0, 1, 2, 3, 4, 2];

  it('uniqueIds gives the sorted unique ids a batch touches', () => {
    expect(uniqueIds(data.users, rows)).toEqual([0, 3, 7]);
    expect(uniqueIds(data.items, [1, 4])).toEqual([1, 9]);
  });

  it('analytic row gradients match central finite differences; rows the batch misses get zero', () => {
    const userIds = [0, 3, 4, 7]; // 4 is not in the batch
    const itemIds = uniqueIds(data.items, rows);
    const users = { ids: userIds, values: Float64Array.from({ length: userIds.length * dim }, () => g()) };
    const items = { ids: itemIds, values: Float64Array.from({ length: itemIds.length * dim }, () => g()) };
    const r = mfLossAndGrad(dim, users, items, data, rows);
    const loss = (): number => mfLossAndGrad(dim, users, items, data, rows, false).loss;
    expect(maxRelErr(r.userGrad, numericGrad(users.values, loss))).toBeLessThan(1e-6);
    expect(maxRelErr(r.itemGrad, numericGrad(items.values, loss))).toBeLessThan(1e-6);
    expect(Array.from(r.userGrad.subarray(2 * dim, 3 * dim))).toEqual([0, 0, 0, 0]);
    let expected = 0;
    for (const k of rows) {
      const u = userIds.indexOf(data.users[k]!);
      const i = itemIds.indexOf(data.items[k]!);
      let pred = 0;
      for (let d = 0; d < dim; d++) pred += users.values[u * dim + d]! * items.values[i * dim + d]!;
      expected += 0.5 * (pred - data.ratings[k]!) ** 2;
    }
    expect(r.loss).toBeCloseTo(expected, 12);
    expect(r.userGrad).toBeInstanceOf(Float64Array);
  });

  it('names the missing row when a batch uses one that was not read', () => {
    const users = { ids: [0], values: new Float32Array(dim) };
    const items = { ids: [1], values: new Float32Array(dim) };
    expect(() => mfLossAndGrad(dim, users, items, data, [0])).toThrow(/user 3/);
  });
});

describe('data', () => {
  it('is a pure function of the seed', () => {
    expect(makeBlobs(MLP_RECIPE.data).x).toEqual(makeBlobs(MLP_RECIPE.data).x);
    const a = makeRatings(MF_RECIPE.data);
    const b = makeRatings({ ...MF_RECIPE.data, seed: MF_RECIPE.data.seed + 1 });
    expect(a.ratings).toEqual(makeRatings(MF_RECIPE.data).ratings);
    expect(a.ratings).not.toEqual(b.ratings);
  });

  it('ratings are distinct (user, item) pairs in range', () => {
    const r = makeRatings(MF_RECIPE.data);
    const cells = new Set<number>();
    let outOfRange = 0;
    for (let k = 0; k < r.n; k++) {
      if (!(r.users[k]! < r.numUsers && r.items[k]! < r.numItems)) outOfRange++;
      cells.add(r.users[k]! * r.numItems + r.items[k]!);
    }
    expect(outOfRange).toBe(0);
    expect(cells.size).toBe(r.n);
  });

  it.each([1, 2, 3, 5])(
    '%i shards partition the set, and every worker has the same number of full batches',
    (workers) => {
      const n = 4097;
      const seen = new Uint8Array(n);
      const b = workerBatch(MLP_RECIPE.globalBatch, workers);
      const steps = stepsPerEpoch(n, workers, b);
      for (let w = 0; w < workers; w++) {
        const shard = shardIndices(n, workers, w);
        for (const k of shard) seen[k]!++;
        expect(steps * b).toBeLessThanOrEqual(shard.length);
        const order = epochOrder(n, workers, w, 3, 42);
        expect(Array.from(order).sort((p, q) => p - q)).toEqual(Array.from(shard));
        expect(order).not.toEqual(epochOrder(n, workers, w, 4, 42));
      }
      expect(seen.every((c) => c === 1)).toBe(true);
    },
  );
});

describe('loss bookkeeping and output', () => {
  it('an epoch is complete when every worker reported; its loss is the mean over all rows', () => {
    const t = new LossTable(2);
    expect(t.add('mlp', 0, { worker: 1, lossSum: 30, count: 10, step: 0, accuracy: 0.5 })).toBeNull();
    const r = t.add('mlp', 0, { worker: 0, lossSum: 10, count: 30, step: 0, accuracy: 1 });
    expect(r).toEqual({ model: 'mlp', epoch: 0, loss: 1, step: 0, accuracy: 0.875 });
    expect(() => t.add('mlp', 1, { worker: 0, lossSum: 1, count: 1, step: 1 })).not.toThrow();
    expect(() => t.add('mlp', 1, { worker: 0, lossSum: 1, count: 1, step: 1 })).toThrow(/twice/);
    expect(t.results('mlp').map((x) => x.epoch)).toEqual([0]);
    expect(t.results('mf')).toEqual([]);
  });

  it('converged() is final <= 0.2 x initial, and never for NaN', () => {
    expect(converged(1, 0.2)).toBe(true);
    expect(converged(1, 0.21)).toBe(false);
    expect(converged(1, NaN)).toBe(false);
  });

  it('formats bars and epoch lines', () => {
    expect(formatBar(0.5, 10)).toBe('[#####.....]');
    expect(formatBar(2, 4)).toBe('[####]');
    expect(formatBar(NaN, 4)).toBe('[....]');
    expect(formatEpochLine({ model: 'mf', epoch: 3, epochs: 10, loss: 0.5, extra: { steps: 96 } })).toBe(
      'mf   epoch  3/10  loss 0.500000  steps 96',
    );
  });

  it('prints one line per epoch off a terminal, a redrawn bar on one', () => {
    let text = '';
    const sink = { write: (s: string) => (text += s) };
    const plain = new EpochProgress(sink, false);
    plain.update('mlp', 1, 2, 5, 10, 0.3);
    plain.epochDone({ model: 'mlp', epoch: 1, epochs: 2, loss: 0.25 });
    expect(text).toBe('mlp  epoch 1/2  loss 0.250000\n');
    text = '';
    const tty = new EpochProgress(sink, true);
    tty.update('mlp', 1, 2, 10, 10, 0.3);
    expect(text).toContain('[########################] 10/10');
    tty.epochDone({ model: 'mlp', epoch: 1, epochs: 2, loss: 0.25 });
    expect(text.endsWith('\r\x1b[Kmlp  epoch 1/2  loss 0.250000\n')).toBe(true);
  });
});

describe("the demo's recipes converge in an in-process reference of the sync trainer", () => {
  it.each([2, 3])('%i workers: each model reaches <= 0.2 x its initial loss', (workers) => {
    for (const run of [simulateMlp(workers, DEFAULT_EPOCHS), simulateMf(workers, DEFAULT_EPOCHS)]) {
      expect(run.losses).toHaveLength(DEFAULT_EPOCHS + 1);
      expect(run.losses.at(-1)!).toBeLessThanOrEqual(0.2 * run.losses[0]!);
    }
  });
});
