// Fused optimizer kernels against the TypeScript reference (reference/optim.ts, written from
// MXNet's kernels): bit-identical in float32 and float64, and for 16-bit storage after rounding
// weight and states to the storage type; lazy row-sparse updates touch only the given rows.
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu } from '../../native/index';
import { roundBf16, roundHalf, encode, readElement } from './reference/numeric';
import {
  defaultOptimParams,
  optimStateCount,
  referenceLamb,
  referenceLazyUpdate,
  referenceUpdate,
} from './reference/optim';
import type { OptimKindTS, OptimParamsTS } from './reference/optim';

/** A small deterministic generator so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type FloatDType = 'float32' | 'float64' | 'float16' | 'bfloat16';
const storageRound: Record<FloatDType, (x: number) => number> = {
  float32: Math.fround,
  float64: (x) => x,
  float16: roundHalf,
  bfloat16: roundBf16,
};

async function upload(dtype: FloatDType, values: Float64Array, shape: number[]): Promise<nk.DeviceTensor> {
  return nk.fromBytes(cpu(0), dtype, shape, encode(dtype, [...values]));
}
async function download(t: nk.DeviceTensor): Promise<Float64Array> {
  const bytes = await nk.readBytes(t);
  return Float64Array.from({ length: t.size }, (_, i) => readElement(t.dtype, bytes, i));
}

function settingsOf(p: OptimParamsTS): nk.OptimizerSettings {
  const { kind: _kind, ...rest } = p;
  return rest;
}

const VARIANTS: Array<[OptimKindTS, Partial<OptimParamsTS>]> = [
  ['sgd', {}],
  ['sgd', { wd: 0.01, clipGradient: 0.5 }],
  ['sgd', { momentum: 0.9, wd: 1e-3, rescaleGrad: 0.25 }],
  ['sgd', { momentum: 0.9, clipGradient: 0.3 }],
  ['sgd', { momentum: 0.9, nesterov: true, wd: 1e-3 }],
  ['sgd', { momentum: 0.8, nesterov: true, clipGradient: 0.2 }],
  ['adam', { wd: 1e-3 }],
  ['adam', { clipGradient: 0.4, rescaleGrad: 0.5 }],
  ['adamw', { wd: 0.01 }],
  ['adamw', { clipGradient: 0.4, eta: 0.5 }],
  ['adamw', { rescaleGrad: 0 }],
  ['adagrad', { wd: 1e-3 }],
  ['adagrad', { clipGradient: 0.3 }],
  ['rmsprop', { wd: 1e-3 }],
  ['rmsprop', { clipGradient: 0.3, clipWeights: 0.9 }],
  ['rmsprop', { centered: true, gamma2: 0.8 }],
  ['rmsprop', { centered: true, clipWeights: 0.5, clipGradient: 0.2 }],
  ['ftrl', { wd: 1e-3 }],
  ['ftrl', { clipGradient: 0.2, lamda1: 0.05 }],
  ['lamb', { wd: 0.01 }],
  ['lamb', { clipGradient: 0.3, lowerBound: 0.1, upperBound: 5, biasCorrection: false }],
];

/** The kernels' norm: float64 sum of squares in 4096-element chunks, chunks added in order. */
function chunkedNorm(x: Float64Array): number {
  let total = 0;
  for (let s = 0; s < x.length; s += 4096) {
    let acc = 0;
    for (let i = s; i < Math.min(x.length, s + 4096); i++) acc += x[i]! * x[i]!;
    total += acc;
  }
  return Math.sqrt(total);
}

describe('optimizer kernels', () => {
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    it(`match the reference bit for bit over 3 steps (${dtype})`, async () => {
      const round = storageRound[dtype];
      const compute = dtype === 'float64' ? 'float64' : 'float32';
      for (const [kind, overrides] of VARIANTS) {
        const rand = lcg(kind.length * 131 + Object.keys(overrides).length);
        const n = 5000; // crosses the 4096-element norm chunk
        const p: OptimParamsTS = { ...defaultOptimParams(kind), lr: 0.05, ...overrides };
        const w = Float64Array.from({ length: n }, () => round(rand() * 2 - 1));
        const states = Array.from({ length: optimStateCount(p) }, () =>
          Float64Array.from({ length: n }, () => (kind === 'ftrl' || kind === 'adagrad' ? 0 : round(rand() * 0.1))),
        );
        const wT = await upload(dtype, w, [n]);
        const sT = await Promise.all(states.map((s) => upload(dtype, s, [n])));
        for (let step = 1; step <= 3; step++) {
          const g = Float64Array.from({ length: n }, () => round(rand() * 4 - 2));
          const params = { ...p, t: step };
          await nk.optimizerUpdate(kind, settingsOf(params), wT, await upload(dtype, g, [n]), sT);
          if (kind === 'lamb') referenceLamb(params, w, g, states, { compute, norm: chunkedNorm });
          else referenceUpdate(params, w, g, states, { compute });
          for (const arr of [w, ...states]) for (let i = 0; i < n; i++) arr[i] = round(arr[i]!);
        }
        const label = `${kind} ${JSON.stringify(overrides)} ${dtype}`;
        expect([...(await download(wT))], label).toEqual([...w]);
        for (let k = 0; k < states.length; k++)
          expect([...(await download(sT[k]!))], `${label} state ${k}`).toEqual([...states[k]!]);
      }
    });
  }

  it('lazy row-sparse updates touch only the given rows, like the reference', async () => {
    for (const [kind, overrides] of VARIANTS.filter(([k]) => k !== 'lamb')) {
      const rand = lcg(7 + kind.length);
      const rows = 40,
        width = 6,
        n = rows * width;
      const p: OptimParamsTS = { ...defaultOptimParams(kind), lr: 0.05, ...overrides };
      const w = Float64Array.from({ length: n }, () => Math.fround(rand() - 0.5));
      const states = Array.from({ length: optimStateCount(p) }, () =>
        Float64Array.from({ length: n }, () => (kind === 'ftrl' || kind === 'adagrad' ? 0 : Math.fround(rand() * 0.1))),
      );
      const wT = await upload('float32', w, [rows, width]);
      const sT = await Promise.all(states.map((s) => upload('float32', s, [rows, width])));
      const ids = [1, 4, 5, 17, 39];
      const g = Float64Array.from({ length: ids.length * width }, () => Math.fround(rand() * 2 - 1));
      const before = Float64Array.from(w);
      await nk.optimizerUpdate(kind, settingsOf(p), wT, await upload('float32', g, [ids.length, width]), sT, ids);
      referenceLazyUpdate(p, w, ids, g, states, width);
      const got = await download(wT);
      expect([...got], `${kind} ${JSON.stringify(overrides)}`).toEqual([...w]);
      for (let r = 0; r < rows; r++) {
        if (ids.includes(r)) continue;
        expect([...got.subarray(r * width, (r + 1) * width)]).toEqual([...before.subarray(r * width, (r + 1) * width)]);
      }
      for (let k = 0; k < states.length; k++) expect([...(await download(sT[k]!))]).toEqual([...states[k]!]);
    }
  });

  it('rejects bad inputs with clear errors and writes nothing', async () => {
    const w = await upload('float32', Float64Array.from([1, 2, 3, 4]), [2, 2]);
    const g = await upload('float32', Float64Array.from([1, 1, 1, 1]), [2, 2]);
    const m = nk.empty(cpu(0), 'float32', [2, 2]);
    await expect(nk.optimizerUpdate('sgd', { momentum: 0.9 }, w, g, [])).rejects.toThrow(
      /optimizer: needs 1 state tensors for these settings, got 0/,
    );
    await expect(nk.optimizerUpdate('adam', {}, w, g, [m])).rejects.toThrow(/needs 2 state tensors/);
    await expect(
      nk.optimizerUpdate('sgd', {}, w, await upload('float32', Float64Array.from([1, 2]), [2]), []),
    ).rejects.toThrow(/shape \[2\] does not match \[2,2\]/);
    const rowGrad = await upload('float32', Float64Array.from([1, 1, 1, 1]), [2, 2]);
    await expect(nk.optimizerUpdate('sgd', {}, w, rowGrad, [], [1, 0])).rejects.toThrow(
      /row ids must be sorted and unique/,
    );
    await expect(nk.optimizerUpdate('sgd', {}, w, rowGrad, [], [0, 2])).rejects.toThrow(
      /row id 2 at position 1 is out of range \[0, 2\)/,
    );
    await expect(
      nk.optimizerUpdate('lamb', {}, w, rowGrad, [m, nk.empty(cpu(0), 'float32', [2, 2])], [0, 1]),
    ).rejects.toThrow(/lamb has no lazy row-sparse update/);
    const wi = nk.empty(cpu(0), 'int32', [4]);
    await expect(nk.optimizerUpdate('sgd', {}, wi, nk.empty(cpu(0), 'int32', [4]), [])).rejects.toThrow(
      /needs a floating-point tensor, got int32/,
    );
    await expect(nk.optimizerUpdate('adam', { t: 0 }, w, g, [m, m])).rejects.toThrow(/'t' must be an integer >= 1/);
    expect([...(await download(w))]).toEqual([1, 2, 3, 4]);
  });
});
