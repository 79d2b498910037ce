// checks.ts: the GPU checks, shared by the vitest suite (gpu.test.ts) and the standalone runner
// used on a lent GPU machine (run.ts). Each check runs a kernel on gpu(0) and on cpu(0) from the
// same inputs and requires bit-identical bytes (both builds share the per-element code and
// disable FMA contraction).
import assert from 'node:assert/strict';
import * as nk from '../../native/index';
import { cpu, gpu } from '../../native/index';

export interface GpuCheck {
  name: string;
  run: () => Promise<void>;
}

/** Why GPU checks cannot run here, or null when they can. */
export function gpuUnavailableReason(): string | null {
  const info = nk.buildInfo();
  if (!info.cuda) return 'the addon was built without CUDA (build it with `npm run build:cuda`)';
  if (info.gpuCount === 0) return 'the addon has CUDA but this machine has no GPU';
  return null;
}

const FLOATS = ['float32', 'float64', 'float16', 'bfloat16'] as const;

async function pair(dtype: nk.DType, shape: number[], seed: number): Promise<[nk.DeviceTensor, nk.DeviceTensor]> {
  const c = nk.empty(cpu(0), dtype, shape);
  if (nk.isFloatDType(dtype)) await nk.normal(c, 0, 1, seed);
  else await nk.uniform(c, -100, 100, seed);
  const g = nk.empty(gpu(0), dtype, shape);
  await nk.copy(g, c);
  return [c, g];
}

async function same(label: string, c: nk.DeviceTensor, g: nk.DeviceTensor): Promise<void> {
  const a = Buffer.from(await nk.readBytes(c));
  const b = Buffer.from(await nk.readBytes(g));
  assert.equal(a.length, b.length, `${label}: byte length`);
  if (!a.equals(b)) {
    let first = 0;
    while (a[first] === b[first]) first++;
    assert.fail(`${label}: cpu and gpu bytes differ (first at byte ${first} of ${a.length})`);
  }
}

const N = 300_000; // several CPU blocks and many GPU blocks

export const gpuChecks: GpuCheck[] = [
  {
    name: 'devices: gpu(0) exists, a missing GPU is a clear error, memory is accounted',
    run: async () => {
      const count = nk.buildInfo().gpuCount;
      assert.throws(
        () => nk.empty(gpu(count), 'float32', [1]),
        new RegExp(`gpu\\(${count}\\) is not available: no such GPU`),
      );
      const before = nk.memoryStats(gpu(0)).allocated;
      const t = nk.empty(gpu(0), 'float32', [1000]);
      assert.equal(nk.memoryStats(gpu(0)).allocated, before + 4000);
      nk.setMemoryBudget(gpu(0), before + 5000);
      assert.throws(
        () => nk.empty(gpu(0), 'float32', [1000]),
        /gpu\(0\): allocating 4000 bytes would exceed the memory budget/,
      );
      nk.setMemoryBudget(gpu(0), null);
      t.dispose();
      assert.equal(nk.memoryStats(gpu(0)).allocated, before);
      assert.deepEqual([...(await nk.readBytes(nk.empty(gpu(0), 'int8', [3])))], [0, 0, 0]);
    },
  },
  {
    name: 'copy: host -> gpu -> host round trip and gpu -> gpu',
    run: async () => {
      const [c, g] = await pair('float32', [N], 1);
      const g2 = nk.empty(gpu(0), 'float32', [N]);
      await nk.copy(g2, g);
      await same('copy', c, g2);
    },
  },
  {
    name: 'fill and cast between every pair of dtypes',
    run: async () => {
      for (const src of nk.DTYPES) {
        const [c, g] = await pair(src, [N], 2);
        for (const dst of nk.DTYPES) {
          const cd = nk.empty(cpu(0), dst, [N]);
          const gd = nk.empty(gpu(0), dst, [N]);
          await nk.cast(cd, c);
          await nk.cast(gd, g);
          await same(`cast ${src}->${dst}`, cd, gd);
        }
        await nk.fill(c, -2.75);
        await nk.fill(g, -2.75);
        await same(`fill ${src}`, c, g);
      }
    },
  },
  {
    name: 'random uniform and normal are bit-identical to the CPU for every dtype',
    run: async () => {
      for (const dtype of nk.DTYPES) {
        const c = nk.empty(cpu(0), dtype, [N]);
        const g = nk.empty(gpu(0), dtype, [N]);
        await nk.uniform(c, -3, 5, 1234, 9);
        await nk.uniform(g, -3, 5, 1234, 9);
        await same(`uniform ${dtype}`, c, g);
        await nk.normal(c, 1, 2, 1234, 9);
        await nk.normal(g, 1, 2, 1234, 9);
        await same(`normal ${dtype}`, c, g);
      }
      // A shard's rows of a split parameter (every third row from row 2): the counter map.
      const rows = { firstRow: 2, rowStep: 3 };
      const c = nk.empty(cpu(0), 'float32', [N / 8, 8]);
      const g = nk.empty(gpu(0), 'float32', [N / 8, 8]);
      await nk.uniform(c, -3, 5, 1234, 9, rows);
      await nk.uniform(g, -3, 5, 1234, 9, rows);
      await same('uniform of rows 2+3j', c, g);
      await nk.normal(c, 1, 2, 1234, 9, rows);
      await nk.normal(g, 1, 2, 1234, 9, rows);
      await same('normal of rows 2+3j', c, g);
    },
  },
  {
    name: 'add_n, scale, axpy, l2Norm and allFinite',
    run: async () => {
      for (const dtype of nk.DTYPES) {
        const [c1, g1] = await pair(dtype, [N], 3);
        const [c2, g2] = await pair(dtype, [N], 4);
        const [c3, g3] = await pair(dtype, [N], 5);
        await nk.addN(c1, [c1, c2, c3]);
        await nk.addN(g1, [g1, g2, g3]);
        await same(`add_n ${dtype}`, c1, g1);
        await nk.scale(c2, -0.37);
        await nk.scale(g2, -0.37);
        await same(`scale ${dtype}`, c2, g2);
        await nk.axpy(c3, 1.5, c1);
        await nk.axpy(g3, 1.5, g1);
        await same(`axpy ${dtype}`, c3, g3);
        assert.equal(await nk.l2Norm(g3), await nk.l2Norm(c3), `l2Norm ${dtype}`);
        assert.equal(await nk.allFinite(g3), await nk.allFinite(c3), `allFinite ${dtype}`);
      }
      const bad = nk.empty(gpu(0), 'float32', [N]);
      await nk.fill(bad, Number.NaN);
      assert.equal(await nk.allFinite(bad), false);
    },
  },
  {
    name: 'row gather and scatter-add with duplicates, and out-of-range ids rejected',
    run: async () => {
      const rows = 5000,
        width = 33;
      const ids = Array.from({ length: 7000 }, (_, i) => (i * 7919) % rows);
      for (const dtype of nk.DTYPES) {
        const [c, g] = await pair(dtype, [rows, width], 6);
        const co = nk.empty(cpu(0), dtype, [ids.length, width]);
        const go = nk.empty(gpu(0), dtype, [ids.length, width]);
        await nk.gatherRows(co, c, ids);
        await nk.gatherRows(go, g, ids);
        await same(`gather ${dtype}`, co, go);
        await nk.scatterAddRows(c, co, ids);
        await nk.scatterAddRows(g, go, ids);
        await same(`scatter_add ${dtype}`, c, g);
      }
      const g = nk.empty(gpu(0), 'float32', [3, 2]);
      await assert.rejects(
        nk.gatherRows(nk.empty(gpu(0), 'float32', [1, 2]), g, [3]),
        /row id 3 at position 0 is out of range/,
      );
    },
  },
  {
    name: 'every optimizer, dense and lazy, in every float dtype',
    run: async () => {
      const variants: Array<[nk.OptimizerKind, nk.OptimizerSettings]> = [
        ['sgd', { lr: 0.1, wd: 1e-3 }],
        ['sgd', { lr: 0.1, momentum: 0.9, clipGradient: 0.5 }],
        ['sgd', { lr: 0.1, momentum: 0.9, nesterov: true, wd: 1e-3 }],
        ['adam', { lr: 0.01, wd: 1e-3, t: 3 }],
        ['adamw', { lr: 0.01, wd: 0.01, clipGradient: 0.4, t: 2 }],
        ['adagrad', { lr: 0.1 }],
        ['rmsprop', { lr: 0.01, centered: true, clipWeights: 2 }],
        ['rmsprop', { lr: 0.01, wd: 1e-3 }],
        ['ftrl', { lr: 0.1, lamda1: 0.01 }],
        ['lamb', { lr: 0.01, wd: 0.01, t: 2, lowerBound: 0.1, upperBound: 10 }],
      ];
      const rows = 3000,
        width = 40;
      for (const dtype of FLOATS) {
        for (const [kind, settings] of variants) {
          const states = nk.optimizerStateCount(kind, settings);
          const [cw, gw] = await pair(dtype, [rows, width], 7);
          const [cg, gg] = await pair(dtype, [rows, width], 8);
          const cs: nk.DeviceTensor[] = [],
            gs: nk.DeviceTensor[] = [];
          for (let k = 0; k < states; k++) {
            cs.push(nk.empty(cpu(0), dtype, [rows, width]));
            gs.push(nk.empty(gpu(0), dtype, [rows, width]));
          }
          for (let step = 0; step < 2; step++) {
            await nk.optimizerUpdate(kind, settings, cw, cg, cs);
            await nk.optimizerUpdate(kind, settings, gw, gg, gs);
          }
          const label = `${kind} ${JSON.stringify(settings)} ${dtype}`;
          await same(label, cw, gw);
          for (let k = 0; k < states; k++) await same(`${label} state ${k}`, cs[k]!, gs[k]!);
          if (kind === 'lamb') continue;
          const ids = Array.from({ length: 500 }, (_, i) => i * 5 + 2);
          const [crg, grg] = await pair(dtype, [ids.length, width], 9);
          await nk.optimizerUpdate(kind, settings, cw, crg, cs, ids);
          await nk.optimizerUpdate(kind, settings, gw, grg, gs, ids);
          await same(`lazy ${label}`, cw, gw);
        }
      }
    },
  },
];
