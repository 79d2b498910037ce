// .npz (common/formats/npz.ts, zip.ts) against archives written by numpy.savez (stored,
// forced zip64 local headers), numpy.savez_compressed (deflate), Python's zipfile with a
// fixed timestamp (the writer's golden, also with zip64 records) and a non-seekable stream
// (data descriptors); zip hazards (bombs, overlaps, CRC, methods, stray bytes) refused
// before allocation; round trips; mutation fuzzing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NamedTensor } from '../../common/formats/index';
import {
  allocationStats,
  decodeNpz,
  encodeNpz,
  encodeNpzChunks,
  FormatError,
  resetAllocationStats,
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
  i64,
  tensorsArb,
  u16,
} from '../fixtures/formats/helpers';
import { thrownBy } from '../fixtures/thrown';

const Z = (name: string): Uint8Array => fixture('npz', name);

const errorOf = (fn: () => unknown): FormatError => thrownBy(fn, FormatError);

const EXPECTED: NamedTensor[] = [
  { name: 'weight', dtype: 'float32', shape: [2, 3], data: f32(0, 1, 2, 3, 4, 5), stype: 'default' },
  { name: 'bias', dtype: 'float32', shape: [3], data: f32(0.5, -1, 2), stype: 'default' },
  { name: 'step', dtype: 'int64', shape: [], data: i64(7n), stype: 'default' },
  { name: 'brain', dtype: 'bfloat16', shape: [4], data: u16(0x3f80, 0x4000, 0xc040, 0x7f80), stype: 'default' },
  { name: 'empty', dtype: 'float64', shape: [0, 2], data: f64(), stype: 'default' },
  { name: 'ünï/cöde', dtype: 'uint8', shape: [2], data: Uint8Array.of(1, 2), stype: 'default' },
];

/** Offsets of the central-directory entries of an archive (by signature scan). */
function centralEntries(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p + 4 <= b.byteLength; p++)
    if (b[p] === 0x50 && b[p + 1] === 0x4b && b[p + 2] === 1 && b[p + 3] === 2) out.push(p);
  return out;
}

describe('.npz golden archives', () => {
  it('reads numpy.savez, numpy.savez_compressed, zipfile and data-descriptor archives', () => {
    for (const file of ['numpy-savez.npz', 'numpy-savez-compressed.npz', 'zipfile-canonical.npz']) {
      expect(decodeNpz(Z(file)).map(essence), file).toEqual(EXPECTED.map(essence));
    }
    expect(decodeNpz(Z('zipfile-zip64.npz')).map(essence)).toEqual(EXPECTED.slice(0, 3).map(essence));
    expect(decodeNpz(Z('data-descriptor.npz')).map(essence)).toEqual(EXPECTED.slice(0, 2).map(essence));
    expect(decodeNpz(Z('numpy-savez-empty.npz'))).toEqual([]);
  });

  it('writes exactly what Python’s zipfile wrote, zip64 records included', () => {
    expect(hex(encodeNpz(EXPECTED))).toBe(hex(Z('zipfile-canonical.npz')));
    expect(hex(encodeNpz(EXPECTED.slice(0, 3), { zip64Limit: 100 }))).toBe(hex(Z('zipfile-zip64.npz')));
    expect(hex(encodeNpz([]))).toBe(hex(Z('numpy-savez-empty.npz')));
  });

  it('refuses other compression methods, bad CRCs and members that are not .npy', () => {
    expect(errorOf(() => decodeNpz(Z('bad-bzip2.npz'))).message).toContain('compression method 12');
    const crc = errorOf(() => decodeNpz(Z('bad-crc.npz'), { source: 'x.npz' }));
    expect([crc.code, crc.message.startsWith('x.npz: .npz: member "weight.npy": CRC-32')]).toEqual(['Checksum', true]);
    expect(errorOf(() => decodeNpz(Z('bad-empty-member.npz'))).message).toContain('member "obj.npy": magic');
  });
});

describe('.npz hostile archives', () => {
  it('a deflated member that inflates past its declared size is stopped at that size (zip bomb)', () => {
    const b = Z('numpy-savez-compressed.npz').slice();
    const cd = centralEntries(b)[0]!;
    new DataView(b.buffer).setUint32(cd + 24, 10, true); // declared size 10, real 152
    resetAllocationStats();
    expect(errorOf(() => decodeNpz(b)).message).toContain('inflates to more than the declared 10 bytes');
  });

  it('a huge declared size (zip64, 5 GiB) is refused before inflating or allocating', () => {
    const b = Z('zipfile-zip64.npz').slice();
    const cd = centralEntries(b)[0]!;
    const nameLen = new DataView(b.buffer).getUint16(cd + 28, true);
    new DataView(b.buffer).setBigUint64(cd + 46 + nameLen + 4, 5n * 2n ** 30n, true); // zip64 size
    resetAllocationStats();
    const e = errorOf(() => decodeNpz(b));
    expect(e.code).toBe('LimitExceeded');
    expect(e.message).toContain('5368709120 uncompressed bytes');
    expect(allocationStats.largest).toBe(0);
  });

  it('refuses overlapping members, stray bytes, duplicate names, directories and too many members', () => {
    const over = Z('numpy-savez-compressed.npz').slice();
    const cd = centralEntries(over)[0]!;
    const dv = new DataView(over.buffer);
    dv.setUint32(cd + 20, dv.getUint32(cd + 20, true) + 40, true);
    expect(errorOf(() => decodeNpz(over)).message).toMatch(/overlap|run past/);

    const good = Z('zipfile-canonical.npz');
    const trailing = new Uint8Array([...good, 0]);
    expect(errorOf(() => decodeNpz(trailing)).message).toContain('no end-of-central-directory record');
    const prepended = new Uint8Array([0, ...good]);
    expect(errorOf(() => decodeNpz(prepended)).message).toContain('does not end at the end record');

    const t: NamedTensor = { name: 'a', dtype: 'uint8', shape: [1], data: Uint8Array.of(1), stype: 'default' };
    // 'a' and 'a.npy' are the distinct members 'a.npy' and 'a.npy.npy'.
    expect(decodeNpz(encodeNpz([t, { ...t, name: 'a.npy' }])).map((x) => x.name)).toEqual(['a', 'a.npy']);
    // Rename member 'b.npy' to 'a.npy' in its local header and the directory: a duplicate.
    const patched = Buffer.from(encodeNpz([t, { ...t, name: 'b' }]));
    for (let at = patched.indexOf('b.npy'); at >= 0; at = patched.indexOf('b.npy', at + 1)) patched.write('a', at);
    expect(errorOf(() => decodeNpz(new Uint8Array(patched))).code).toBe('Duplicate');
    const dirEntry = Buffer.from(encodeNpz([{ ...t, name: 'd' }]));
    for (let at = dirEntry.indexOf('d.npy'); at >= 0; at = dirEntry.indexOf('d.npy', at + 1))
      dirEntry.write('d.np/', at);
    expect(errorOf(() => decodeNpz(new Uint8Array(dirEntry))).message).toContain('member "d.np/": a directory entry');
    expect(
      errorOf(() => decodeNpz(encodeNpz([t, { ...t, name: 'b' }]), { limits: { maxTensors: 1 } })).message,
    ).toContain('declares 2 members');
  });

  it('fuzz: mutated archives give valid arrays or a FormatError, never a crash or a big allocation', () => {
    const goldens = [
      'zipfile-canonical.npz',
      'numpy-savez.npz',
      'numpy-savez-compressed.npz',
      'zipfile-zip64.npz',
      'data-descriptor.npz',
    ].map(Z);
    fuzzReader(goldens, (b) => decodeNpz(b, { limits: FUZZ_LIMITS }), 3000);
  });
});

describe('.npz writer', () => {
  it('round trip: arbitrary dense arrays of every dtype and unicode names', () => {
    fc.assert(
      fc.property(tensorsArb(denseArb(), 6), (ts) => {
        expect(decodeNpz(encodeNpz(ts)).map(essence)).toEqual(ts.map(essence));
      }),
      { numRuns: 300 },
    );
  });

  it('round trip with zip64 records forced on every member and offset', () => {
    fc.assert(
      fc.property(tensorsArb(denseArb(), 4), (ts) => {
        expect(decodeNpz(encodeNpz(ts, { zip64Limit: 0 })).map(essence)).toEqual(ts.map(essence));
      }),
      { numRuns: 100 },
    );
  });

  it('returns the callers’ buffers uncopied and refuses row_sparse and duplicate names', () => {
    const data = f32(1, 2);
    const t: NamedTensor = { name: 'x', dtype: 'float32', shape: [2], data, stype: 'default' };
    expect(encodeNpzChunks([t])).toContain(data);
    expect(errorOf(() => encodeNpz([{ ...t, stype: 'row_sparse', indices: BigInt64Array.of(0n, 1n) }])).code).toBe(
      'Unsupported',
    );
    expect(errorOf(() => encodeNpz([t, t])).code).toBe('Duplicate');
    expect(errorOf(() => encodeNpz([{ ...t, dtype: 'bfloat16', data: u16(1, 2) }], { bfloat16: 'reject' })).code).toBe(
      'UnsupportedDType',
    );
  });
});
