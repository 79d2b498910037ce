// Elementwise kernels, casts and reductions against the TypeScript reference
// (reference/numeric.ts), for every dtype, with stated tolerances.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu } from '../../native/index';
import { encode, halfToBits, readElement, roundBf16, roundHalf, storeAs, bf16ToBits } from './reference/numeric';

async function tensorOf(dtype: nk.DType, values: number[], shape = [values.length]): Promise<nk.DeviceTensor> {
  return nk.fromBytes(
    cpu(0),
    dtype,
    shape,
    encode(
      dtype,
      values.map((v) => Number(storeAs(dtype, v))),
    ),
  );
}
async function valuesOf(t: nk.DeviceTensor): Promise<number[]> {
  const bytes = await nk.readBytes(t);
  return Array.from({ length: t.size }, (_, i) => readElement(t.dtype, bytes, i));
}

const SPECIAL = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e-8,
  -3.75,
  65504,
  65519.99,
  65520,
  70000,
  3.4e38,
  -3.4e38,
  1e-45,
  255.9,
  -128.5,
  300,
  -300,
  2 ** 31,
  -(2 ** 31) - 1,
  1 / 3,
  Math.PI,
];

describe('fill', () => {
  it('writes the value stored as each dtype', async () => {
    for (const dtype of nk.DTYPES) {
      for (const v of [0, 1.5, -2.25, 1e10, NaN]) {
        const t = nk.empty(cpu(0), dtype, [5]);
        await nk.fill(t, v);
        const expected = Number(storeAs(dtype, v));
        for (const got of await valuesOf(t)) {
          if (Number.isNaN(expected)) expect(got).toBeNaN();
          else expect(got).toBe(expected);
        }
      }
    }
  });
});

describe('cast', () => {
  it('converts between every pair of dtypes like the reference', async () => {
    const finiteInputs = SPECIAL.concat([NaN, Infinity, -Infinity]);
    for (const src of nk.DTYPES) {
      const srcVals = finiteInputs.map((v) => Number(storeAs(src, v)));
      const s = await tensorOf(src, srcVals);
      const stored = await valuesOf(s);
      for (const dst of nk.DTYPES) {
        const d = nk.empty(cpu(0), dst, [srcVals.length]);
        await nk.cast(d, s);
        const got = await valuesOf(d);
        stored.forEach((x, i) => {
          const want = Number(storeAs(dst, x));
          if (Number.isNaN(want)) expect(got[i], `${src}->${dst} of ${x}`).toBeNaN();
          else expect(got[i], `${src}->${dst} of ${x}`).toBe(want);
        });
      }
    }
  });

  it('rounds float32 to float16 and bfloat16 to nearest even at the tricky points', async () => {
    const cases = [
      1 + 2 ** -11, // tie between 1 and 1+2^-10 -> 1 (even)
      1 + 3 * 2 ** -11, // tie -> 1 + 2^-9 (even mantissa)
      1 + 2 ** -11 + 2 ** -20, // just above the tie -> up
      65504,
      65519,
      65520, // largest half, below and at the overflow threshold
      2 ** -24,
      2 ** -25,
      3 * 2 ** -26, // smallest subnormal, tie to zero, above tie
      2 ** -14 - 2 ** -25, // rounds up into the smallest normal
      1 + 2 ** -8,
      1 + 3 * 2 ** -8, // bf16 ties
      3.3895313892515355e38, // rounds past the largest bf16 -> inf
    ];
    const f32 = cases.map((v) => Math.fround(v));
    const s = await tensorOf('float32', f32);
    const h = nk.empty(cpu(0), 'float16', [f32.length]);
    const b = nk.empty(cpu(0), 'bfloat16', [f32.length]);
    await nk.cast(h, s);
    await nk.cast(b, s);
    const hb = new Uint16Array((await nk.readBytes(h)).buffer);
    const bb = new Uint16Array((await nk.readBytes(b)).buffer);
    f32.forEach((v, i) => {
      expect(hb[i], `float16 of ${v}`).toBe(halfToBits(roundHalf(v)));
      expect(bb[i], `bfloat16 of ${v}`).toBe(bf16ToBits(roundBf16(v)));
    });
    expect(hb[0]).toBe(0x3c00);
    expect(hb[5]).toBe(0x7c00);
    expect(hb[6]).toBe(0x0001);
    expect(hb[7]).toBe(0x0000);
  });

  it('rounds float64 straight to float16 without double rounding', async () => {
    // 1 + 2^-11 + 2^-40 rounds up directly, but float64->float32->float16 would hit a tie.
    const v = 1 + 2 ** -11 + 2 ** -40;
    const s = await tensorOf('float64', [v]);
    const h = nk.empty(cpu(0), 'float16', [1]);
    await nk.cast(h, s);
    expect(new Uint16Array((await nk.readBytes(h)).buffer)[0]).toBe(0x3c01);
  });

  it('agrees with the reference on random float64 inputs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 64 }),
        fc.constantFrom(...nk.DTYPES),
        async (xs, dst) => {
          const s = await tensorOf('float64', xs);
          const d = nk.empty(cpu(0), dst, [xs.length]);
          await nk.cast(d, s);
          const got = await valuesOf(d);
          xs.forEach((x, i) => expect(got[i]).toBe(Number(storeAs(dst, x))));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects size mismatches without writing', async () => {
    const s = await tensorOf('float32', [1, 2, 3]);
    const d = await tensorOf('int32', [7, 7]);
    await expect(nk.cast(d, s)).rejects.toThrow(/cast: size 3 \[3\] does not match 2 \[2\]/);
    expect(await valuesOf(d)).toEqual([7, 7]);
  });
});

describe('copy', () => {
  it('copies same-dtype tensors of equal size and rejects mismatches', async () => {
    const a = await tensorOf('float64', [1, 2, 3, 4], [2, 2]);
    const b = nk.empty(cpu(3), 'float64', [4]);
    await nk.copy(b, a);
    expect(await valuesOf(b)).toEqual([1, 2, 3, 4]);
    await expect(nk.copy(nk.empty(cpu(0), 'float32', [4]), a)).rejects.toThrow(
      /copy: dtype float64 does not match float32/,
    );
  });
});

describe('arithmetic', () => {
  const floatTol: Record<string, number> = { float64: 1e-12, float32: 1e-6, float16: 2e-3, bfloat16: 1e-2 };

  it('add_n, scale and axpy match the reference for every dtype', async () => {
    for (const dtype of nk.DTYPES) {
      const a = [1, 2, -3, 4, 100, -7];
      const b = [0.5, -1, 2, 8, 27, 3];
      const c = [2, 2, 2, 2, 2, 2];
      const ta = await tensorOf(dtype, a),
        tb = await tensorOf(dtype, b),
        tc = await tensorOf(dtype, c);
      const sa = await valuesOf(ta),
        sb = await valuesOf(tb),
        sc = await valuesOf(tc);
      const out = nk.empty(cpu(0), dtype, [6]);
      await nk.addN(out, [ta, tb, tc]);
      expect(await valuesOf(out)).toEqual(sa.map((x, i) => Number(storeAs(dtype, x + sb[i]! + sc[i]!))));
      await nk.scale(ta, -1.5);
      expect(await valuesOf(ta)).toEqual(sa.map((x) => Number(storeAs(dtype, x * -1.5))));
      await nk.axpy(tb, 0.25, tc);
      expect(await valuesOf(tb)).toEqual(sb.map((x, i) => Number(storeAs(dtype, x + 0.25 * sc[i]!))));
    }
  });

  it('add_n of any number of sources equals the double sum from 0.0 rounded once, for every bit pattern', async () => {
    // Two float32 sources take a float fast path; it must match the double sum (and CUDA)
    // bit for bit, including -0, subnormals, far-apart exponents, infinities and NaN.
    const special = [
      0,
      -0,
      1e-45,
      -1e-45,
      1.1754942e-38,
      3.4028235e38,
      -3.4028235e38,
      Infinity,
      -Infinity,
      NaN,
      1,
      2 ** 24,
      2 ** -30,
    ];
    const n = 200_000 + 7; // crosses the parallel and block splits
    const pick = (i: number, salt: number): number => {
      const r = Math.sin(i * 12.9898 + salt) * 43758.5453;
      const f = r - Math.floor(r);
      if (i % 17 === 0) return special[(i * salt) % special.length]!;
      return Math.fround((f - 0.5) * 2 ** Math.floor(f * 80 - 40));
    };
    for (const count of [1, 2, 3]) {
      const srcs = Array.from({ length: count }, (_, k) => Array.from({ length: n }, (_, i) => pick(i, k + 1)));
      const tensors = await Promise.all(srcs.map((xs) => tensorOf('float32', xs)));
      const out = nk.empty(cpu(0), 'float32', [n]);
      await nk.addN(out, tensors);
      const got = new Uint32Array(new Float32Array(await valuesOf(out)).buffer);
      const want = new Uint32Array(
        Float32Array.from({ length: n }, (_, i) => srcs.reduce((acc, xs) => acc + xs[i]!, 0)).buffer,
      );
      const bad = got.findIndex(
        (g, i) =>
          g !== want[i] &&
          !(Number.isNaN(new Float32Array(got.buffer)[i]) && Number.isNaN(new Float32Array(want.buffer)[i])),
      );
      expect(bad, `${count} sources: first mismatch at ${bad}`).toBe(-1);
    }
    const negZero = await tensorOf('float32', [-0, -0]);
    const sum = nk.empty(cpu(0), 'float32', [2]);
    await nk.addN(sum, [negZero, negZero]);
    expect((await valuesOf(sum)).map((x) => Object.is(x, 0))).toEqual([true, true]); // 0.0 + -0 + -0 = +0
  });

  it('add_n accepts the output as one of its sources', async () => {
    const a = await tensorOf('float32', [1, 2]);
    const b = await tensorOf('float32', [10, 20]);
    await nk.addN(a, [a, b]);
    expect(await valuesOf(a)).toEqual([11, 22]);
  });

  it('l2Norm and allFinite match the reference; results do not depend on size splits', async () => {
    for (const dtype of ['float64', 'float32', 'float16', 'bfloat16'] as const) {
      const n = 300_000; // crosses the parallel block size
      const xs = Array.from({ length: n }, (_, i) => Number(storeAs(dtype, Math.sin(i) * 3)));
      const t = await tensorOf(dtype, xs);
      const want = Math.sqrt(xs.reduce((acc, x) => acc + x * x, 0));
      expect(Math.abs((await nk.l2Norm(t)) - want) / want).toBeLessThan(floatTol.float64!);
      expect(await nk.allFinite(t)).toBe(true);
    }
    const bad = await tensorOf('float32', [1, NaN, 2]);
    expect(await nk.allFinite(bad)).toBe(false);
    const inf = await tensorOf('float16', [1, 70000]);
    expect(await nk.allFinite(inf)).toBe(false);
    expect(await nk.allFinite(await tensorOf('int32', [1, 2]))).toBe(true);
    expect(await nk.l2Norm(await tensorOf('int64', [3, 4]))).toBe(5);
  });

  it('rejects mismatched operands with the expected and received values', async () => {
    const a = await tensorOf('float32', [1, 2]);
    await expect(nk.axpy(a, 1, await tensorOf('float32', [1, 2, 3]))).rejects.toThrow(
      /axpy: size 3 \[3\] does not match 2 \[2\]/,
    );
    await expect(nk.addN(a, [await tensorOf('float64', [1, 2])])).rejects.toThrow(
      /add_n: dtype float64 does not match float32/,
    );
    await expect(nk.addN(a, [])).rejects.toThrow(/at least one source/);
  });
});
