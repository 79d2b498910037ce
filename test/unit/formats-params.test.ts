// MXNet .params (common/formats/params.ts) against golden files assembled byte by byte from
// MXNet's NDArray::Save/Load layout (src/ndarray/ndarray.cc; docs/formats.md), built by test/fixtures/formats/make_fixtures.py: every record version,
// dtype, storage type and context; the writer reproduces the V2/V3 goldens exactly; round
// trips for arbitrary tensors; limits checked before allocation; mutation fuzzing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NamedTensor } from '../../common/formats/index';
import {
  allocationStats,
  decodeParams,
  encodeParams,
  encodeParamsChunks,
  FormatError,
  resetAllocationStats,
  splitParamPrefix,
} from '../../common/formats/index';
import {
  denseArb,
  essence,
  f32,
  f64,
  fixture,
  fuzzReader,
  FUZZ_LIMITS,
  hex,
  i32,
  i64,
  le,
  rowSparseArb,
  tensorsArb,
  u16,
} from '../fixtures/formats/helpers';

const P = (name: string): Uint8Array => fixture('params', name);

function expectFormatError(fn: () => unknown, code: string, ...fragments: string[]): FormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FormatError);
  const fe = err as FormatError;
  expect(fe.code).toBe(code);
  for (const f of fragments) expect(fe.message).toContain(f);
  return fe;
}

const DENSE_EXPECTED: Record<string, { dtype: string; shape: number[]; data: Uint8Array }> = {
  'features.0.weight': { dtype: 'float32', shape: [2, 3], data: f32(0, 1, 2, 3, 4, 5) },
  'features.0.bias': { dtype: 'float64', shape: [3], data: f64(0, 0.25, 0.5) },
  half: { dtype: 'float16', shape: [2, 2], data: u16(0xbc00, 0x0000, 0x3c00, 0x4000) },
  brain: { dtype: 'bfloat16', shape: [4], data: u16(0x3f80, 0x4000, 0xc040, 0x7f80) },
  i8: { dtype: 'int8', shape: [3], data: Uint8Array.from([0x80, 0, 0x7f]) },
  u8: { dtype: 'uint8', shape: [2, 1, 2], data: Uint8Array.from([0, 1, 254, 255]) },
  i32: { dtype: 'int32', shape: [2], data: i32(-(2 ** 31), 2 ** 31 - 1) },
  step: { dtype: 'int64', shape: [1], data: i64(-(2n ** 63n)) },
};

describe('.params golden files', () => {
  it('reads V2 dense records of every stored dtype with names, values and context', () => {
    const ts = decodeParams(P('dense-v2.params'), { source: 'dense-v2.params' });
    expect(ts.map((t) => t.name)).toEqual(Object.keys(DENSE_EXPECTED));
    for (const t of ts) {
      const e = DENSE_EXPECTED[t.name]!;
      expect({ dtype: t.dtype, shape: t.shape, stype: t.stype, data: hex(t.data) }).toEqual({
        dtype: e.dtype,
        shape: e.shape,
        stype: 'default',
        data: hex(e.data),
      });
      expect(t.context).toEqual({ devType: 'cpu', devId: 0 });
      expect(t.data.byteOffset).toBe(0); // copied: its own, aligned buffer
    }
  });

  it('reads row_sparse records as storage rows plus int64 row ids, including zero stored rows', () => {
    const [rs, dense, empty] = decodeParams(P('rowsparse-v2.params'));
    expect(essence(rs!)).toEqual({
      name: 'embed.weight',
      dtype: 'float32',
      shape: [5, 2],
      stype: 'row_sparse',
      data: hex(f32(1, 2, 3, 4)),
      indices: ['1', '3'],
    });
    expect(essence(dense!)).toEqual({
      name: 'dense',
      dtype: 'float32',
      shape: [2],
      stype: 'default',
      data: hex(f32(0.5, -0.5)),
      indices: undefined,
    });
    expect(essence(empty!)).toEqual({
      name: 'empty_rows',
      dtype: 'float64',
      shape: [4, 3],
      stype: 'row_sparse',
      data: '',
      indices: [],
    });
  });

  it('reads V3 (numpy-shape) records: a 0-d scalar and a zero-size array are real arrays', () => {
    const ts = decodeParams(P('numpy-v3.params'));
    expect(ts.map(essence)).toEqual([
      { name: 'scalar', dtype: 'float64', shape: [], stype: 'default', data: hex(f64(3.25)), indices: undefined },
      { name: 'empty', dtype: 'float16', shape: [0, 3], stype: 'default', data: '', indices: undefined },
      { name: 'ints', dtype: 'int32', shape: [2], stype: 'default', data: hex(i32(7, -7)), indices: undefined },
    ]);
  });

  it("names an unnamed list '0', '1', … by default, or rejects it when asked", () => {
    const ts = decodeParams(P('unnamed-v2.params'));
    expect(ts.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['0', 'float32', [2]],
      ['1', 'int64', [1, 1]],
    ]);
    expectFormatError(
      () => decodeParams(P('unnamed-v2.params'), { unnamed: 'error' }),
      'Invalid',
      'unnamed list of 2 arrays',
    );
  });

  it('keeps the recorded context (gpu(1), cpu_pinned(0))', () => {
    expect(decodeParams(P('gpu-context-v2.params')).map((t) => t.context)).toEqual([
      { devType: 'gpu', devId: 1 },
      { devType: 'cpu_pinned', devId: 0 },
    ]);
  });

  it('keeps arg:/aux: prefixes unless stripPrefixes, and splitParamPrefix splits them', () => {
    expect(decodeParams(P('arg-aux-v2.params')).map((t) => t.name)).toEqual(['arg:fc_weight', 'aux:bn_moving_mean']);
    expect(decodeParams(P('arg-aux-v2.params'), { stripPrefixes: true }).map((t) => t.name)).toEqual([
      'fc_weight',
      'bn_moving_mean',
    ]);
    expect(splitParamPrefix('arg:w')).toEqual({ kind: 'arg', name: 'w' });
    expect(splitParamPrefix('aux:m')).toEqual({ kind: 'aux', name: 'm' });
    expect(splitParamPrefix('dense0.weight')).toEqual({ kind: null, name: 'dense0.weight' });
  });

  it('reads legacy V1 and pre-V1 records, also mixed with V2 in one list', () => {
    expect(decodeParams(P('legacy-v1.params')).map(essence)).toEqual([
      { name: 'a', dtype: 'float32', shape: [2, 2], stype: 'default', data: hex(f32(0, 1, 2, 3)), indices: undefined },
      { name: 'b', dtype: 'int32', shape: [3], stype: 'default', data: hex(i32(0, 1, 2)), indices: undefined },
    ]);
    expect(decodeParams(P('legacy-prev1.params')).map(essence)).toEqual([
      {
        name: 'w',
        dtype: 'float32',
        shape: [2, 3],
        stype: 'default',
        data: hex(f32(0, 1, 2, 3, 4, 5)),
        indices: undefined,
      },
      { name: 'b', dtype: 'float64', shape: [2], stype: 'default', data: hex(f64(0, 1)), indices: undefined },
    ]);
    expect(decodeParams(P('mixed-versions.params')).map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['v2', 'float32', [1]],
      ['v1', 'int32', [3]],
      ['pre', 'float64', [2]],
    ]);
  });

  it('reads an empty list', () => {
    expect(decodeParams(P('empty-list.params'))).toEqual([]);
  });

  it('rejects what gluon-ps cannot store, naming the record and the reason', () => {
    expectFormatError(
      () => decodeParams(P('bad-csr.params'), { source: 'm.params' }),
      'Unsupported',
      'm.params',
      'record 0',
      'csr',
    );
    for (const dt of ['bool', 'int16', 'uint16', 'uint32', 'uint64']) {
      expectFormatError(() => decodeParams(P(`bad-dtype-${dt}.params`)), 'UnsupportedDType', `dtype ${dt}`, 'record 0');
    }
    expectFormatError(() => decodeParams(P('bad-none-v2.params')), 'Unsupported', "'none'", '"nothing"');
    expect(decodeParams(P('bad-none-v2.params'), { skipNone: true })).toEqual([]);
    expectFormatError(() => decodeParams(P('bad-v3-rowsparse.params')), 'Invalid', 'V3', 'row_sparse');
    expectFormatError(() => decodeParams(P('bad-names-count.params')), 'Invalid', 'names count is 1, expected 0 or 2');
    expectFormatError(() => decodeParams(P('bad-trailing.params')), 'TrailingData', '1 unexpected bytes');
    expectFormatError(() => decodeParams(P('bad-rowsparse-order.params')), 'Invalid', 'row id 1 at position 1');
  });

  it('rejects a wrong list magic, a non-zero reserved word and duplicate names', () => {
    const g = P('dense-v2.params').slice();
    g[0] = 0x13;
    expectFormatError(() => decodeParams(g), 'Invalid', 'list magic is 0x113');
    const r = P('dense-v2.params').slice();
    r[8] = 1;
    expectFormatError(() => decodeParams(r), 'Invalid', 'reserved');
    const twice = encodeParams([
      { name: 'arg:w', dtype: 'uint8', shape: [1], data: Uint8Array.of(1), stype: 'default' },
      { name: 'aux:w', dtype: 'uint8', shape: [1], data: Uint8Array.of(2), stype: 'default' },
    ]);
    expectFormatError(() => decodeParams(twice, { stripPrefixes: true }), 'Duplicate', '"w"');
  });
});

describe('.params writer', () => {
  const roundTripGolden = (name: string, opts: Parameters<typeof encodeParams>[1] = {}): void => {
    const golden = P(name);
    const ts = decodeParams(golden);
    expect(hex(encodeParams(ts, opts))).toBe(hex(golden));
  };

  it('reproduces the V2 goldens byte for byte (dense, row_sparse, contexts, prefixes)', () => {
    roundTripGolden('dense-v2.params');
    roundTripGolden('rowsparse-v2.params');
    roundTripGolden('gpu-context-v2.params');
    roundTripGolden('arg-aux-v2.params');
    roundTripGolden('empty-list.params');
  });

  it('reproduces the V3 golden in numpyShape mode and the unnamed list with unnamed', () => {
    roundTripGolden('numpy-v3.params', { numpyShape: true });
    roundTripGolden('unnamed-v2.params', { unnamed: true });
  });

  it('writes cpu(0) unless a tensor or the options give a context', () => {
    const t: NamedTensor = { name: 'x', dtype: 'float32', shape: [1], data: f32(1), stype: 'default' };
    expect(decodeParams(encodeParams([t]))[0]!.context).toEqual({ devType: 'cpu', devId: 0 });
    expect(decodeParams(encodeParams([t], { context: { devType: 'gpu', devId: 3 } }))[0]!.context).toEqual({
      devType: 'gpu',
      devId: 3,
    });
    expect(decodeParams(encodeParams([{ ...t, context: { devType: 'cpu_shared', devId: 0 } }]))[0]!.context).toEqual({
      devType: 'cpu_shared',
      devId: 0,
    });
  });

  it('returns the callers’ data buffers as chunks, uncopied', () => {
    const data = f32(1, 2, 3);
    const chunks = encodeParamsChunks([{ name: 'x', dtype: 'float32', shape: [3], data, stype: 'default' }]);
    expect(chunks).toContain(data);
  });

  it('refuses what the format cannot express, naming the tensor', () => {
    const scalar: NamedTensor = { name: 's', dtype: 'float64', shape: [], data: f64(1), stype: 'default' };
    expectFormatError(() => encodeParams([scalar]), 'Unsupported', '"s"', 'numpyShape');
    const rs: NamedTensor = {
      name: 'r',
      dtype: 'float32',
      shape: [3],
      data: f32(1),
      stype: 'row_sparse',
      indices: BigInt64Array.of(2n),
    };
    expectFormatError(() => encodeParams([rs], { numpyShape: true }), 'Unsupported', '"r"', 'V3');
    expectFormatError(() => encodeParams([{ ...rs, indices: BigInt64Array.of(3n) }]), 'Invalid', 'row id 3');
    expectFormatError(() => encodeParams([{ ...rs, data: f32(1, 2) }]), 'Invalid', 'data has 8 bytes, expected 4');
    expectFormatError(() => encodeParams([scalar, scalar], { numpyShape: true }), 'Duplicate', '"s"');
    expectFormatError(
      () => encodeParams([{ ...scalar, shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }], { numpyShape: true }),
      'LimitExceeded',
      'rank 9',
    );
    expectFormatError(
      () => encodeParams([{ ...scalar, context: { devType: 'tpu' as never, devId: 0 } }], { numpyShape: true }),
      'Invalid',
      'context',
    );
    expectFormatError(
      () => encodeParams([{ ...scalar, name: 'a\uD800' }], { numpyShape: true }),
      'Invalid',
      'lone surrogate',
    );
  });
});

describe('.params round trips', () => {
  it('V2: arbitrary dense (rank >= 1) and row_sparse tensors of every dtype come back identical', () => {
    fc.assert(
      fc.property(tensorsArb(fc.oneof(denseArb({ minRank: 1 }), rowSparseArb), 6), (ts) => {
        const back = decodeParams(encodeParams(ts));
        expect(back.map(essence)).toEqual(ts.map(essence));
        expect(back.every((t) => t.context?.devType === 'cpu')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('V3: arbitrary dense tensors, scalars and zero-size dims included', () => {
    fc.assert(
      fc.property(tensorsArb(denseArb(), 6), (ts) => {
        expect(decodeParams(encodeParams(ts, { numpyShape: true })).map(essence)).toEqual(ts.map(essence));
      }),
      { numRuns: 300 },
    );
  });
});

describe('.params hostile input', () => {
  /** A V2 file of one float32 record whose fields we then overwrite. */
  const base = (): Uint8Array =>
    encodeParams([{ name: 'w', dtype: 'float32', shape: [2, 3], data: f32(0, 1, 2, 3, 4, 5), stype: 'default' }]);
  const setU64 = (b: Uint8Array, at: number, v: bigint): Uint8Array => {
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(at, v, true);
    return out;
  };
  const setI64 = (b: Uint8Array, at: number, v: bigint): Uint8Array => {
    const out = b.slice();
    new DataView(out.buffer).setBigInt64(at, v, true);
    return out;
  };
  // Offsets in base(): 0 magic, 8 reserved, 16 N, 24 record magic, 28 stype, 32 ndim,
  // 36 dim0, 44 dim1, 52 dev_type, 56 dev_id, 60 flag, 64 data (24 bytes), 88 M, 96 len, 104 'w'.

  it('rejects huge declared counts and lengths before allocating anything of that size', () => {
    const cases: [Uint8Array, string, string][] = [
      [setU64(base(), 16, 2n ** 62n), 'LimitExceeded', 'declares 4611686018427387904 tensors'],
      [setU64(base(), 16, 1000n), 'Truncated', 'declares 1000 arrays'],
      [setI64(base(), 36, 2n ** 40n), 'LimitExceeded', 'over the per-tensor limit'],
      [setI64(base(), 36, 2n ** 50n), 'LimitExceeded', 'too large'],
      [setI64(base(), 36, 1000n), 'Truncated', 'data: expected 12000 bytes'],
      [setI64(base(), 36, -5n), 'Invalid', 'dimension 0 is -5'],
      [setU64(base(), 96, 2n ** 63n), 'LimitExceeded', 'name of 9223372036854775808 bytes'],
      [setU64(base(), 96, 200n), 'Truncated', 'name 0: bytes'],
      [setU64(base(), 88, 7n), 'Invalid', 'names count is 7'],
    ];
    for (const [bytes, code, text] of cases) {
      resetAllocationStats();
      expectFormatError(() => decodeParams(bytes, { limits: { maxTensorBytes: 1 << 20 } }), code, text);
      expect(allocationStats.largest).toBeLessThanOrEqual(bytes.byteLength);
    }
    const rank = base().slice();
    new DataView(rank.buffer).setInt32(32, 1000, true);
    expectFormatError(() => decodeParams(rank), 'LimitExceeded', 'rank 1000 is over the limit of 8');
    const magic = base().slice();
    new DataView(magic.buffer).setUint32(24, 0xdeadbeef, true);
    expectFormatError(() => decodeParams(magic), 'Invalid', 'magic 0xdeadbeef is not a V1/V2/V3 record magic');
  });

  it('applies every configurable limit', () => {
    const two = encodeParams([
      { name: 'a', dtype: 'uint8', shape: [4], data: new Uint8Array(4), stype: 'default' },
      { name: 'bb', dtype: 'uint8', shape: [4], data: new Uint8Array(4), stype: 'default' },
    ]);
    expectFormatError(() => decodeParams(two, { limits: { maxTensors: 1 } }), 'LimitExceeded', 'declares 2 tensors');
    expectFormatError(() => decodeParams(two, { limits: { maxTensorBytes: 3 } }), 'LimitExceeded', 'record 0');
    expectFormatError(() => decodeParams(two, { limits: { maxTotalBytes: 7 } }), 'LimitExceeded', 'total data bytes 8');
    expectFormatError(() => decodeParams(two, { limits: { maxNameBytes: 1 } }), 'LimitExceeded', 'name of 2 bytes');
    expectFormatError(() => decodeParams(two, { limits: { maxRank: 0 } }), 'LimitExceeded', 'rank 1');
    expect(() => decodeParams(two, { limits: { maxTensors: -1 } })).toThrow(RangeError);
  });

  it('returns views into the input with copy: false', () => {
    const b = base();
    const [t] = decodeParams(b, { copy: false });
    expect(t!.data.buffer).toBe(b.buffer);
    expect(hex(t!.data)).toBe(hex(f32(0, 1, 2, 3, 4, 5)));
  });

  it('fuzz: mutated golden files give valid tensors or a FormatError, never a crash or a big allocation', () => {
    const goldens = [
      'dense-v2.params',
      'rowsparse-v2.params',
      'numpy-v3.params',
      'unnamed-v2.params',
      'legacy-v1.params',
      'legacy-prev1.params',
      'mixed-versions.params',
      'gpu-context-v2.params',
      'bad-csr.params',
    ].map(P);
    fuzzReader(goldens, (b) => decodeParams(b, { limits: FUZZ_LIMITS }), 3000);
  });
});

describe('le helper sanity', () => {
  it('is little-endian', () => {
    expect(hex(le(new Uint32Array([1])))).toBe('01000000');
  });
});
