// In-process reference of the demo's distributed training: the same recipes, shards, batches
// and update rules as the server's sync trainer (summed worker gradients, rescale 1/sum of
// batch sizes; MXNet's sgd_mom_update and lazy Adam), without a server. The unit test runs it
// to check the recipes converge; a real run lands close to it (its initial values come from the
// server's Philox initializers instead of this file's PRNG).
import { epochOrder, gaussian, makeBlobs, makeRatings, rng, stepsPerEpoch } from './data';
import { mfLossAndGrad, uniqueIds } from './models/mf';
import { MLP_PARAM_NAMES, mlpLossAndGrad, mlpParamShapes, mlpZeros, type MlpParams } from './models/mlp';
import { MF_RECIPE, MLP_RECIPE, workerBatch } from './recipes';

/** Mean loss over the whole set before training and after each epoch. */
export interface SimulatedRun {
  losses: number[];
  steps: number;
}

function sgdMom(
  w: Float32Array,
  g: Float32Array,
  mom: Float32Array,
  lr: number,
  momentum: number,
  rescale: number,
): void {
  for (let k = 0; k < w.length; k++) {
    mom[k] = momentum * mom[k]! - lr * (rescale * g[k]!);
    w[k]! += mom[k]!;
  }
}

/** Xavier uniform (avg, magnitude 3) as the server's init.xavier(): U(-s, s), s = sqrt(3 / ((in + out) / 2)). */
function xavier(shape: number[], next: () => number): Float32Array {
  const [out, inp] = shape as [number, number];
  const s = Math.sqrt(3 / ((inp + out) / 2));
  return Float32Array.from({ length: out * inp }, () => (2 * next() - 1) * s);
}

export function simulateMlp(workers: number, epochs: number): SimulatedRun {
  const R = MLP_RECIPE;
  const data = makeBlobs(R.data);
  const shapes = mlpParamShapes(R.shape);
  const next = rng(R.initSeed);
  const p = mlpZeros(R.shape) as MlpParams;
  p.dense0_weight = xavier(shapes.dense0_weight, next);
  p.dense1_weight = xavier(shapes.dense1_weight, next);
  const mom = mlpZeros(R.shape) as MlpParams;
  const all = Uint32Array.from({ length: data.n }, (_, k) => k);
  const loss = (): number => mlpLossAndGrad(R.shape, p, data.x, data.y, all) / data.n;
  const b = workerBatch(R.globalBatch, workers);
  const steps = stepsPerEpoch(data.n, workers, b);
  const losses = [loss()];
  for (let e = 0; e < epochs; e++) {
    const orders = Array.from({ length: workers }, (_, w) => epochOrder(data.n, workers, w, e, R.data.seed));
    for (let s = 0; s < steps; s++) {
      const g = mlpZeros(R.shape) as MlpParams;
      for (const order of orders) mlpLossAndGrad(R.shape, p, data.x, data.y, order.subarray(s * b, (s + 1) * b), g);
      for (const name of MLP_PARAM_NAMES) {
        sgdMom(
          p[name],
          g[name],
          mom[name],
          R.optimizerParams.learningRate,
          R.optimizerParams.momentum,
          1 / (b * workers),
        );
      }
    }
    losses.push(loss());
  }
  return { losses, steps: steps * epochs };
}

/** MXNet Adam (lazy: only the given rows), bias correction folded into the learning rate. */
function adamRows(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  ids: number[],
  g: Float32Array,
  dim: number,
  lr: number,
  t: number,
  rescale: number,
): void {
  const b1 = 0.9;
  const b2 = 0.999;
  const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  for (let r = 0; r < ids.length; r++) {
    for (let d = 0; d < dim; d++) {
      const k = ids[r]! * dim + d;
      const gr = rescale * g[r * dim + d]!;
      m[k] = b1 * m[k]! + (1 - b1) * gr;
      v[k] = b2 * v[k]! + (1 - b2) * gr * gr;
      w[k]! -= (lrT * m[k]!) / (Math.sqrt(v[k]!) + 1e-8);
    }
  }
}

function gather(w: Float32Array, ids: number[], dim: number): Float32Array {
  const out = new Float32Array(ids.length * dim);
  for (let r = 0; r < ids.length; r++) out.set(w.subarray(ids[r]! * dim, (ids[r]! + 1) * dim), r * dim);
  return out;
}

export function simulateMf(workers: number, epochs: number): SimulatedRun {
  const R = MF_RECIPE;
  const data = makeRatings(R.data);
  const g = gaussian(rng(R.initSeed));
  const U = Float32Array.from({ length: data.numUsers * R.dim }, () => R.initSigma * g());
  const V = Float32Array.from({ length: data.numItems * R.dim }, () => R.initSigma * g());
  const state = [U, V].map((w) => ({ m: new Float32Array(w.length), v: new Float32Array(w.length) }));
  const allU = Array.from({ length: data.numUsers }, (_, k) => k);
  const allV = Array.from({ length: data.numItems }, (_, k) => k);
  const all = Uint32Array.from({ length: data.n }, (_, k) => k);
  const loss = (): number =>
    mfLossAndGrad(R.dim, { ids: allU, values: U }, { ids: allV, values: V }, data, all, false).loss / data.n;
  const b = workerBatch(R.globalBatch, workers);
  const steps = stepsPerEpoch(data.n, workers, b);
  const losses = [loss()];
  let t = 0;
  for (let e = 0; e < epochs; e++) {
    const orders = Array.from({ length: workers }, (_, w) => epochOrder(data.n, workers, w, e, R.data.seed));
    for (let s = 0; s < steps; s++) {
      // Sum the workers' row-sparse gradients row by row, as the server does.
      const sumU = new Map<number, Float32Array>();
      const sumV = new Map<number, Float32Array>();
      for (const order of orders) {
        const rows = order.subarray(s * b, (s + 1) * b);
        const uIds = uniqueIds(data.users, rows);
        const iIds = uniqueIds(data.items, rows);
        const r = mfLossAndGrad(
          R.dim,
          { ids: uIds, values: gather(U, uIds, R.dim) },
          { ids: iIds, values: gather(V, iIds, R.dim) },
          data,
          rows,
        );
        for (const [ids, grad, sum] of [
          [uIds, r.userGrad, sumU],
          [iIds, r.itemGrad, sumV],
        ] as const) {
          ids.forEach((id, k) => {
            const acc = sum.get(id) ?? new Float32Array(R.dim);
            for (let d = 0; d < R.dim; d++) acc[d]! += grad[k * R.dim + d]!;
            sum.set(id, acc);
          });
        }
      }
      t++;
      [
        [U, sumU],
        [V, sumV],
      ].forEach(([w, sum], k) => {
        const ids = [...(sum as Map<number, Float32Array>).keys()].sort((x, y) => x - y);
        const grad = new Float32Array(ids.length * R.dim);
        ids.forEach((id, r) => grad.set((sum as Map<number, Float32Array>).get(id)!, r * R.dim));
        adamRows(
          w as Float32Array,
          state[k]!.m,
          state[k]!.v,
          ids,
          grad,
          R.dim,
          R.optimizerParams.learningRate,
          t,
          1 / (b * workers),
        );
      });
    }
    losses.push(loss());
  }
  return { losses, steps: steps * epochs };
}
