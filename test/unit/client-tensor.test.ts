// Unit tests of the client's tensor conversions (client/tensor.ts) and of how received tensors
// are wrapped (client/parameter.ts readTensor/readRows): nested arrays and their errors, typed
// arrays and Tensors on input, zero-copy views on output, the copy of unaligned buffers,
// float16/bfloat16 bits and int64 values. No network.
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRows, readTensor } from '../../client/parameter';
import { fromNested, tensorBytes, tensorFromBytes, toTensor, type DType, type Tensor } from '../../client/tensor';
import type { TensorHeader__Output } from '../../protos/generated/gluonps/v1/TensorHeader';
import { codeOf } from '../fixtures/thrown';

const opts = { who: "parameter 'w': value", nestedDType: 'float32' } as const;

/** Runs `fn`, expecting a GluonPsError with `code`; returns its message. */
function errorOf(fn: () => unknown, code: number = status.INVALID_ARGUMENT): string {
  const err = codeOf(fn);
  expect(err.code).toBe(code);
  return err.message;
}

describe('nested number arrays', () => {
  it('infers the shape and flattens row-major into float32', () => {
    const t = toTensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      opts,
    );
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6]));
  });

  it('handles scalars, vectors, 3-D and empty arrays', () => {
    expect(toTensor(7, opts)).toEqual({ shape: [], dtype: 'float32', data: Float32Array.from([7]) });
    expect(toTensor([1, 2], opts).shape).toEqual([2]);
    expect(
      toTensor(
        [
          [[1], [2]],
          [[3], [4]],
        ],
        opts,
      ).shape,
    ).toEqual([2, 2, 1]);
    expect(toTensor([], opts)).toEqual({ shape: [0], dtype: 'float32', data: new Float32Array(0) });
    expect(toTensor([[], []], opts).shape).toEqual([2, 0]);
  });

  it('uses float64 when asked, keeping integers above 2^24 exact', () => {
    const t = fromNested([2 ** 40 + 1, 0.1], 'float64');
    expect(t.dtype).toBe('float64');
    expect(Array.from(t.data as Float64Array)).toEqual([2 ** 40 + 1, 0.1]);
  });

  it('rejects ragged arrays naming the path', () => {
    expect(errorOf(() => toTensor([[1, 2], [3]], opts))).toMatch(
      /parameter 'w': value: expected an array of 2 at value\[1\], got an array of 1.*ragged/,
    );
    expect(errorOf(() => toTensor([[1, 2], 3], opts))).toMatch(/expected an array of 2 at value\[1\], got number 3/);
    expect(
      errorOf(() =>
        toTensor(
          [
            [1, [2]],
            [3, 4],
          ],
          opts,
        ),
      ),
    ).toMatch(/expected a number at value\[0\]\[1\], got an array of 1/);
    expect(errorOf(() => toTensor([[], [1]], opts))).toMatch(/value\[1\]/);
  });

  it('rejects non-numbers', () => {
    expect(errorOf(() => toTensor([1, '2'] as never, opts))).toMatch(
      /expected a number at value\[1\], got the string "2"/,
    );
    expect(errorOf(() => toTensor([1n] as never, opts))).toMatch(/value\[0\], got bigint 1/);
    expect(errorOf(() => toTensor('abc' as never, opts))).toMatch(/expected a Tensor/);
  });

  it('round-trips any rectangular array (property)', () => {
    const arb = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 3 }))
      .chain(([a, b, c]) =>
        fc.array(
          fc.array(fc.array(fc.double({ noNaN: true }), { minLength: c, maxLength: c }), {
            minLength: b,
            maxLength: b,
          }),
          { minLength: a, maxLength: a },
        ),
      );
    fc.assert(
      fc.property(arb, (nested) => {
        const t = fromNested(nested, 'float64');
        expect(t.shape).toEqual(
          nested[0]!.length === 0 ? [nested.length, 0] : [nested.length, nested[0]!.length, nested[0]![0]!.length],
        );
        expect(Array.from(t.data as Float64Array)).toEqual(nested.flat(2));
      }),
    );
  });
});

describe('typed arrays and Tensors on input', () => {
  it('takes the dtype of a bare typed array, 1-D, without copying', () => {
    const cases: Array<[ArrayBufferView & { length: number }, DType]> = [
      [new Float32Array(3), 'float32'],
      [new Float64Array(3), 'float64'],
      [new Int32Array(3), 'int32'],
      [new BigInt64Array(3), 'int64'],
      [new Int8Array(3), 'int8'],
      [new Uint8Array(3), 'uint8'],
      [Buffer.alloc(3), 'uint8'],
    ];
    for (const [data, dtype] of cases) {
      const t = toTensor(data as never, opts);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([3]);
      expect(t.data).toBe(data);
    }
  });

  it('refuses a bare Uint16Array (float16 or bfloat16?) and foreign array types', () => {
    expect(errorOf(() => toTensor(new Uint16Array(2), opts))).toMatch(/float16 or bfloat16.*Tensor/);
    expect(errorOf(() => toTensor(new Uint32Array(2) as never, opts))).toMatch(/Uint32Array has no gluon-ps dtype/);
    expect(errorOf(() => toTensor(new DataView(new ArrayBuffer(4)) as never, opts))).toMatch(/expected a Tensor/);
  });

  it('accepts a Tensor whose data matches its dtype and shape', () => {
    const half: Tensor = { shape: [2, 1], dtype: 'float16', data: Uint16Array.from([0x3c00, 0xc000]) };
    expect(toTensor(half, opts)).toEqual(half);
    const bf: Tensor = { shape: [2], dtype: 'bfloat16', data: Uint16Array.from([0x3f80, 0]) };
    expect(toTensor(bf, opts).dtype).toBe('bfloat16');
    const big: Tensor = { shape: [], dtype: 'int64', data: BigInt64Array.from([2n ** 62n]) };
    expect(toTensor(big, opts).data).toBe(big.data);
  });

  it('rejects a Tensor with the wrong array type, length, dtype or shape', () => {
    expect(errorOf(() => toTensor({ shape: [2], dtype: 'float32', data: new Float64Array(2) }, opts))).toMatch(
      /a float32 tensor needs its data in a Float32Array, got a Float64Array/,
    );
    expect(errorOf(() => toTensor({ shape: [2], dtype: 'int64', data: [1, 2] } as never, opts))).toMatch(
      /int64 tensor needs its data in a BigInt64Array, got an array of 2/,
    );
    expect(errorOf(() => toTensor({ shape: [2, 3], dtype: 'float32', data: new Float32Array(5) }, opts))).toMatch(
      /shape \[2,3\] needs 6 elements, got 5/,
    );
    expect(errorOf(() => toTensor({ shape: [2], dtype: 'float8', data: new Float32Array(2) } as never, opts))).toMatch(
      /unknown dtype "float8"/,
    );
    expect(errorOf(() => toTensor({ shape: [-1], dtype: 'float32', data: new Float32Array(0) }, opts))).toMatch(
      /integers >= 0/,
    );
  });
});

describe('bytes on the wire', () => {
  it("sends a view of the caller's data (no copy), honouring its offset", () => {
    const backing = new Float32Array([9, 1, 2, 3]);
    const t: Tensor = { shape: [3], dtype: 'float32', data: backing.subarray(1) };
    const bytes = tensorBytes(t);
    expect(bytes.buffer).toBe(backing.buffer);
    expect(bytes.byteOffset).toBe(4);
    expect(bytes.byteLength).toBe(12);
  });

  it('views aligned received bytes without copying', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const t = tensorFromBytes([2], 'float32', bytes);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.buffer).toBe(bytes.buffer);
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('views int64 as a BigInt64Array over the same bytes', () => {
    const src = BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 5n]);
    const buf = Buffer.allocUnsafeSlow(24);
    buf.set(new Uint8Array(src.buffer));
    const t = tensorFromBytes([3], 'int64', buf);
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(t.data.buffer).toBe(buf.buffer);
    expect(Array.from(t.data as BigInt64Array)).toEqual(Array.from(src));
  });

  it('keeps float16 and bfloat16 as raw uint16 bits', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const bits = Uint16Array.from([0x3c00, 0x7c00, 0xffff]);
      const t = tensorFromBytes([3], dtype, new Uint8Array(bits.buffer));
      expect(t.dtype).toBe(dtype);
      expect(t.data).toEqual(bits);
    }
  });

  it('copies once, into an aligned buffer, when the received bytes are unaligned', () => {
    const values = new Float64Array([0.1, -3, 1e300]);
    const backing = new Uint8Array(1 + values.byteLength);
    backing.set(new Uint8Array(values.buffer), 1);
    const unaligned = backing.subarray(1);
    const t = tensorFromBytes([3], 'float64', unaligned);
    expect(t.data.buffer).not.toBe(backing.buffer);
    expect(t.data.byteOffset % 8).toBe(0);
    expect(Array.from(t.data as Float64Array)).toEqual([0.1, -3, 1e300]);

    const ints = BigInt64Array.from([7n, -7n]);
    const b2 = Buffer.alloc(3 + 16);
    b2.set(new Uint8Array(ints.buffer), 3);
    expect(Array.from(tensorFromBytes([2], 'int64', b2.subarray(3)).data as BigInt64Array)).toEqual([7n, -7n]);
  });

  it('returns plain typed arrays for 1-byte dtypes, also from a Buffer', () => {
    const buf = Buffer.from([0, 255, 128]);
    const u = tensorFromBytes([3], 'uint8', buf);
    expect(Object.getPrototypeOf(u.data)).toBe(Uint8Array.prototype);
    expect(u.data.buffer).toBe(buf.buffer);
    expect(Array.from(tensorFromBytes([3], 'int8', buf).data as Int8Array)).toEqual([0, -1, -128]);
  });

  it('treats a byte count that does not match shape x dtype as INTERNAL', () => {
    expect(errorOf(() => tensorFromBytes([2, 2], 'float32', new Uint8Array(12)), status.INTERNAL)).toMatch(
      /received 12 bytes for a float32 tensor of shape \[2,2\], expected 16/,
    );
  });

  it('round-trips every dtype through bytes', () => {
    const tensors: Tensor[] = [
      { shape: [2], dtype: 'float32', data: Float32Array.from([1, 2]) },
      { shape: [2], dtype: 'float64', data: Float64Array.from([1, 2]) },
      { shape: [2], dtype: 'float16', data: Uint16Array.from([1, 2]) },
      { shape: [2], dtype: 'bfloat16', data: Uint16Array.from([1, 2]) },
      { shape: [2], dtype: 'int8', data: Int8Array.from([-1, 2]) },
      { shape: [2], dtype: 'uint8', data: Uint8Array.from([1, 2]) },
      { shape: [2], dtype: 'int32', data: Int32Array.from([-1, 2]) },
      { shape: [1, 2], dtype: 'int64', data: BigInt64Array.from([-1n, 2n]) },
    ];
    for (const t of tensors) {
      const copy = Buffer.from(tensorBytes(t)); // a pooled Buffer: often unaligned
      expect(tensorFromBytes(t.shape, t.dtype, copy)).toEqual(t);
    }
  });
});

describe('received tensors', () => {
  const header = (over: Partial<TensorHeader__Output>): TensorHeader__Output => ({
    shape: [2],
    dtype: 'DTYPE_FLOAT32',
    byteLength: 8,
    version: 3,
    rowIds: [],
    ctx: { deviceType: 'DEVICE_TYPE_CPU', deviceId: 1 },
    ...over,
  });

  it('carry version and ctx without breaking deep equality with a plain tensor', () => {
    const data = Buffer.from(new Float32Array([1, 2]).buffer);
    const t = readTensor({ name: 'w', header: header({}), data });
    expect(t.version).toBe(3);
    expect(t.ctx).toEqual({ deviceType: 'cpu', deviceId: 1 });
    expect(t).toEqual({ shape: [2], dtype: 'float32', data: Float32Array.from([1, 2]) });
    expect(Object.keys(t)).toEqual(['shape', 'dtype', 'data']);
  });

  it('wraps row_sparse rows with BigInt64Array indices', () => {
    const data = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const rows = readRows({ name: 'emb', header: header({ shape: [2, 2], byteLength: 16, rowIds: [1, 5] }), data });
    expect(rows.indices).toEqual(BigInt64Array.from([1n, 5n]));
    expect(rows.values).toEqual({ shape: [2, 2], dtype: 'float32', data: Float32Array.from([1, 2, 3, 4]) });
    expect(rows.version).toBe(3);
    expect(rows.ctx).toEqual({ deviceType: 'cpu', deviceId: 1 });
    expect(() =>
      readRows({ name: 'emb', header: header({ shape: [2, 2], byteLength: 16, rowIds: [1] }), data }),
    ).toThrow(/1 row ids for 2 rows/);
  });
});
