// A shard's part of a split parameter (spec.part, docs/cluster.md) over the CPU addon: every
// initializer fills a part with exactly the bytes its rows hold when one store initializes the
// whole parameter (contiguous slices and rows r = i mod N alike), constants carry their part,
// and a part that is not rows of the whole is refused.
import { describe, expect, it } from 'vitest';
import type { DType } from '../../native/index';
import { Status } from '../../server/errors';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import { createLogger } from '../../server/log';
import { ParameterStore } from '../../server/store/parameter-store';
import { TrainerRegistry } from '../../server/trainer/registry';
import type { InitSpec, PartSpec } from '../../server/store/spec';

/** The parts of a [rows, ...] tensor: three contiguous slices, then rows r mod 3. */
function partsOf(rows: number): PartSpec[][] {
  const cut = [0, Math.floor(rows / 3), Math.floor((2 * rows) / 3), rows];
  const slices = [0, 1, 2].map((k) => ({ rowStart: cut[k]!, rowStep: 1, rows: cut[k + 1]! - cut[k]! }));
  const mod = [0, 1, 2].map((i) => ({ rowStart: i, rowStep: 3, rows: Math.ceil((rows - i) / 3) }));
  return [slices, mod].map((set) =>
    set.map(({ rowStart, rowStep }) => ({ fullShape: [], rowStart, rowStep, parts: 3 })),
  );
}

/** The bytes of rows rowStart + j * rowStep (j < count) of `whole`. */
function rowsOf(whole: Uint8Array, rowBytes: number, part: PartSpec, count: number): Buffer {
  const out = Buffer.alloc(count * rowBytes);
  for (let j = 0; j < count; j++) {
    const from = (part.rowStart + j * part.rowStep) * rowBytes;
    out.set(whole.subarray(from, from + rowBytes), j * rowBytes);
  }
  return out;
}

const INITS: InitSpec[] = [
  { kind: 'uniform', scale: 0.5 },
  { kind: 'normal', sigma: 2 },
  { kind: 'xavier' },
  { kind: 'xavier', rndType: 'gaussian', factorType: 'in', magnitude: 2 },
  { kind: 'msraprelu', factorType: 'out' },
  { kind: 'zero' },
  { kind: 'one' },
  { kind: 'constant', value: 1.5 },
  { kind: 'orthogonal' },
  { kind: 'orthogonal', randType: 'normal', scale: 0.5 },
];

describe('parts of split parameters', () => {
  for (const shape of [
    [10, 6],
    [11, 3, 2],
    [20, 4],
  ]) {
    for (const dtype of ['float32', 'float16'] as DType[]) {
      it(`initialize ${dtype} ${JSON.stringify(shape)} with exactly the whole's rows, for every initializer`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const inits: InitSpec[] = [
          ...INITS,
          { kind: 'constant', value: Array.from({ length: size }, (_, i) => i * 0.25 - 3) },
        ];
        const rowBytes = (size / shape[0]!) * (dtype === 'float32' ? 4 : 2);
        for (const init of inits) {
          const whole = new ParameterStore();
          await whole.declare({ name: 'w', shape, dtype, init });
          await whole.initialize('w', { seed: 41 });
          const want = (await whole.data('w')).bytes;
          for (const parts of partsOf(shape[0]!)) {
            for (const p of parts) {
              const part = { ...p, fullShape: shape };
              const rows = Math.ceil((shape[0]! - p.rowStart) / p.rowStep);
              const count = p.rowStep === 1 ? (parts[parts.indexOf(p) + 1]?.rowStart ?? shape[0]!) - p.rowStart : rows;
              const shard = new ParameterStore();
              await shard.declare({ name: 'w', shape: [count, ...shape.slice(1)], dtype, init, part });
              await shard.initialize('w', { seed: 41 });
              const got = Buffer.from((await shard.data('w')).bytes);
              expect(
                got.equals(rowsOf(want, rowBytes, part, count)),
                `${init.kind} ${JSON.stringify(init)} rows ${p.rowStart}+${p.rowStep}j`,
              ).toBe(true);
              expect(shard.describe('w').part).toEqual(part);
            }
          }
        }
      });
    }
  }

  it('refuse a part that is not rows of the whole, naming the parameter', async () => {
    const store = new ParameterStore();
    const bad: Array<[number[], PartSpec, RegExp]> = [
      [[4, 3], { fullShape: [10, 4], rowStart: 0, rowStep: 1, parts: 2 }, /dims after the first/],
      [[4, 3], { fullShape: [10], rowStart: 0, rowStep: 1, parts: 2 }, /same rank/],
      [[4, 3], { fullShape: [10, 3], rowStart: 7, rowStep: 1, parts: 2 }, /reach row 10, past the full shape \[10,3\]/],
      [[4, 3], { fullShape: [10, 3], rowStart: 1, rowStep: 3, parts: 2 }, /reach row 10/],
      [[4, 3], { fullShape: [10, 3], rowStart: 0, rowStep: 0, parts: 2 }, /row step must be >= 1/],
      [[4, 3], { fullShape: [10, 3], rowStart: 0, rowStep: 1, parts: 1 }, /2 to 10 parts/],
      [[0, 3], { fullShape: [10, 3], rowStart: 0, rowStep: 1, parts: 2 }, /fully known/],
    ];
    for (const [shape, part, message] of bad) {
      await expect(store.declare({ name: 'w', shape, part })).rejects.toMatchObject({
        code: Status.INVALID_ARGUMENT,
        message: expect.stringMatching(/^parameter 'w': part of a split parameter: /),
      });
      await expect(store.declare({ name: 'w', shape, part })).rejects.toThrow(message);
    }
    // A part is part of the spec: re-declaring another part of the same name is ALREADY_EXISTS.
    await store.declare({ name: 'w', shape: [4, 3], part: { fullShape: [10, 3], rowStart: 0, rowStep: 1, parts: 2 } });
    await expect(
      store.declare({ name: 'w', shape: [4, 3], part: { fullShape: [10, 3], rowStart: 1, rowStep: 1, parts: 2 } }),
    ).rejects.toMatchObject({
      code: Status.ALREADY_EXISTS,
      message: expect.stringMatching(
        /this shard's part rows 1\+1j \(4 of 2 parts\) differs from the existing rows 0\+1j/,
      ),
    });
    // Another whole shape is named by the whole shapes, not by the parts' own.
    await expect(
      store.declare({ name: 'w', shape: [4, 3], part: { fullShape: [12, 3], rowStart: 0, rowStep: 1, parts: 3 } }),
    ).rejects.toThrow(/shape \[12,3\] differs from the existing \[10,3\]/);
  });

  it("keep a constant's part; the same value as another part is ALREADY_EXISTS", async () => {
    const store = new ParameterStore();
    const value = {
      dtype: 'float32' as const,
      shape: [2, 2],
      bytes: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer),
    };
    const part = { fullShape: [5, 2], rowStart: 1, rowStep: 2, parts: 2 };
    const d = await store.declareConstant('c', value, part);
    expect(d.part).toEqual(part);
    expect(d.isConstant).toBe(true);
    expect((await store.declareConstant('c', value, part)).part).toEqual(part);
    await expect(store.declareConstant('c', value, null)).rejects.toMatchObject({ code: Status.ALREADY_EXISTS });
  });

  it('refuse a LAMB trainer over a part (it needs whole-tensor norms); the elementwise optimizers take it', async () => {
    const store = new ParameterStore();
    const part = { fullShape: [10, 3], rowStart: 0, rowStep: 1, parts: 2 };
    await store.declare({ name: 'w', shape: [5, 3], part, init: { kind: 'one' } });
    await store.initialize('w');
    const trainers = new TrainerRegistry(store, createLogger('silent'));
    const spec = (name: 'lamb' | 'adam') => ({
      name: `t_${name}`,
      params: ['w'],
      optimizer: buildOptimizer('t', name, {}),
      mode: 'sync' as const,
      numWorkers: 1,
      stepTimeoutMs: 1000,
      timeoutPolicy: 'fail' as const,
      quorum: 0,
    });
    await expect(trainers.create(spec('lamb'), 0)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringMatching(
        /^trainer 't_lamb': lamb needs norms of whole tensors, but this shard holds only rows 0\+1j of parameter 'w' \(full shape \[10,3\]\)/,
      ),
    });
    expect((await trainers.create(spec('adam'), 0)).spec.params).toEqual(['w']);
    trainers.closeAll();
  });
});
