// Every dtype through the wire both ways, byte for byte (float16/bfloat16 as Uint16Array raw
// bits, int64 as BigInt64Array), for parameters and constants, with the version moving on each
// write; and conversions between dtypes on set_data and cast.
import { describe, expect, it } from 'vitest';
import { cpu, DTYPES, init } from '../../client/index';
import type { DType, ParameterServerClient, Tensor } from '../../client/index';
import { bytesOf, numbers, useHarness } from './helpers';

let ps: ParameterServerClient;
useHarness((h) => ({ ps } = h));

/** Edge values of each dtype, six of them, as the typed array the client uses. */
const SAMPLES: { [D in DType]: Tensor<D>['data'] } = {
  float32: new Float32Array([0, -0, 1.5, -3.4028234663852886e38, 1.401298464324817e-45, Number.NaN]),
  float64: new Float64Array([Number.MAX_VALUE, -Number.MIN_VALUE, -0, 0.1, Number.POSITIVE_INFINITY, -1e-300]),
  // half: 0, -0, 1, 65504 (max), smallest subnormal, +inf
  float16: new Uint16Array([0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00]),
  // bfloat16: 1, -1, max finite, smallest subnormal, -inf, 3.140625
  bfloat16: new Uint16Array([0x3f80, 0xbf80, 0x7f7f, 0x0001, 0xff80, 0x4049]),
  int8: new Int8Array([-128, 127, 0, -1, 1, 42]),
  uint8: new Uint8Array([0, 255, 128, 1, 2, 3]),
  int32: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -1, 123456789, 7]),
  int64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 42n]),
};

const ZEROS: { [D in DType]: () => Tensor<D>['data'] } = {
  float32: () => new Float32Array(6),
  float64: () => new Float64Array(6),
  float16: () => new Uint16Array(6),
  bfloat16: () => new Uint16Array(6),
  int8: () => new Int8Array(6),
  uint8: () => new Uint8Array(6),
  int32: () => new Int32Array(6),
  int64: () => new BigInt64Array(6),
};

describe.each(DTYPES.map((d) => [d]))('%s', (dtype) => {
  it('round-trips set_data -> data / list_data byte for byte on every context, grads are typed zeros', async () => {
    const p = await ps.parameter(`dt_${dtype}`, { shape: [2, 3], dtype, init: init.zero() });
    const d0 = await p.initialize({ ctx: [cpu(0), cpu(1)] });
    expect(d0.dtype).toBe(dtype);
    const value: Tensor = { shape: [2, 3], dtype, data: SAMPLES[dtype] } as Tensor;
    const d1 = await p.setData(value);
    expect(d1.version).toBeGreaterThan(d0.version);
    const got = await p.data(cpu(1));
    expect(got.dtype).toBe(dtype);
    expect(got.shape).toEqual([2, 3]);
    expect(got.data.constructor).toBe(SAMPLES[dtype].constructor);
    expect(bytesOf(got).equals(bytesOf(value))).toBe(true);
    expect(got.version).toBe(d1.version);
    for (const t of await p.listData()) expect(bytesOf(t).equals(bytesOf(value))).toBe(true);
    const g = await p.grad(cpu(0));
    expect(g).toEqual({ shape: [2, 3], dtype, data: ZEROS[dtype]() });
    // A second write moves the version again.
    const d2 = await p.setData({ shape: [2, 3], dtype, data: ZEROS[dtype]() } as Tensor);
    expect(d2.version).toBeGreaterThan(d1.version);
    expect((await p.data()).version).toBe(d2.version);
  });

  it('a constant of this dtype keeps it and its bytes', async () => {
    const c = await ps.constant(`dtc_${dtype}`, { shape: [3, 2], dtype, data: SAMPLES[dtype] } as Tensor);
    expect((await c.describe()).dtype).toBe(dtype);
    await c.initialize();
    const t = await c.data();
    expect(t.shape).toEqual([3, 2]);
    expect(bytesOf(t).equals(bytesOf({ shape: [3, 2], dtype, data: SAMPLES[dtype] } as Tensor))).toBe(true);
  });
});

describe('conversions', () => {
  it('nested numbers convert exactly into int64 and every other dtype', async () => {
    const big = await ps.parameter('conv_i64', { shape: [3], dtype: 'int64', init: init.zero() });
    await big.initialize();
    await big.setData([2 ** 53, -(2 ** 40), 3]);
    expect(await big.data()).toEqual({
      shape: [3],
      dtype: 'int64',
      data: new BigInt64Array([2n ** 53n, -(2n ** 40n), 3n]),
    });
    const i8 = await ps.parameter('conv_i8', { shape: [3], dtype: 'int8', init: init.zero() });
    await i8.initialize();
    await i8.setData([-5, 100, 300]); // integers saturate
    expect(numbers(await i8.data())).toEqual([-5, 100, 127]);
  });

  it('cast walks through every dtype keeping small integers exactly', async () => {
    const p = await ps.parameter('conv_walk', { shape: [4], init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    await p.setData([0, 1, -2, 100]);
    let version = (await p.describe()).version;
    const order: DType[] = ['float64', 'int32', 'int64', 'float16', 'bfloat16', 'int8', 'float32'];
    for (const dtype of order) {
      const d = await p.cast(dtype);
      expect(d.dtype).toBe(dtype);
      expect(d.version).toBeGreaterThan(version);
      version = d.version;
      for (const t of await p.listData()) {
        expect(t.dtype).toBe(dtype);
        if (dtype === 'float16') expect(Array.from(t.data as Uint16Array)).toEqual([0x0000, 0x3c00, 0xc000, 0x5640]);
        else if (dtype === 'bfloat16')
          expect(Array.from(t.data as Uint16Array)).toEqual([0x0000, 0x3f80, 0xc000, 0x42c8]);
        else expect(numbers(t)).toEqual([0, 1, -2, 100]);
      }
    }
    // Negative values saturate to 0 in uint8.
    await p.cast('uint8');
    expect(numbers(await p.data(cpu(1)))).toEqual([0, 1, 0, 100]);
  });
});
