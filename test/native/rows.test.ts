// Row gather and scatter-add (row_sparse data and gradients) against a TypeScript reference:
// duplicates, unsorted ids, empty id lists, and out-of-range ids rejected with nothing written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu } from '../../native/index';

async function f32(values: number[], shape: number[]): Promise<nk.DeviceTensor> {
  return nk.fromBytes(cpu(0), 'float32', shape, new Uint8Array(new Float32Array(values).buffer));
}
async function read(t: nk.DeviceTensor): Promise<number[]> {
  return [...new Float32Array((await nk.readBytes(t)).slice().buffer)];
}

describe('gatherRows', () => {
  it('gathers duplicate and unsorted ids', async () => {
    const src = await f32([0, 1, 10, 11, 20, 21, 30, 31], [4, 2]);
    const out = nk.empty(cpu(0), 'float32', [4, 2]);
    await nk.gatherRows(out, src, [3, 0, 3, 1]);
    expect(await read(out)).toEqual([30, 31, 0, 1, 30, 31, 10, 11]);
  });

  it('rejects out-of-range ids before writing anything', async () => {
    const src = await f32([1, 2, 3], [3, 1]);
    const out = await f32([9, 9], [2, 1]);
    await expect(nk.gatherRows(out, src, [0, 3])).rejects.toThrow(/row id 3 at position 1 is out of range \[0, 3\)/);
    await expect(nk.gatherRows(out, src, [-1, 0])).rejects.toThrow(/row id -1 at position 0 is out of range/);
    expect(await read(out)).toEqual([9, 9]);
  });

  it('rejects a rows tensor of the wrong shape', async () => {
    const src = await f32([1, 2, 3, 4], [2, 2]);
    await expect(nk.gatherRows(nk.empty(cpu(0), 'float32', [2, 3]), src, [0, 1])).rejects.toThrow(
      /row shape of \[2,3\] does not match \[2,2\]/,
    );
    await expect(nk.gatherRows(nk.empty(cpu(0), 'float32', [3, 2]), src, [0, 1])).rejects.toThrow(/must have 2 rows/);
  });

  it('handles empty id lists and large gathers across threads', async () => {
    const src = await f32([1, 2], [2, 1]);
    await nk.gatherRows(nk.empty(cpu(0), 'float32', [0, 1]), src, []);
    const rows = 70_000,
      width = 8;
    const big = await f32(
      Array.from({ length: rows * width }, (_, i) => i),
      [rows, width],
    );
    const ids = Array.from({ length: rows }, (_, i) => (i * 7919) % rows);
    const out = nk.empty(cpu(0), 'float32', [rows, width]);
    await nk.gatherRows(out, big, ids);
    const got = await read(out);
    for (const r of [0, 1, 12345, rows - 1]) expect(got[r * width + 3]).toBe(ids[r]! * width + 3);
  });
});

describe('scatterAddRows', () => {
  it('matches a reference for random ids with duplicates (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (numRows, width, rawIds) => {
          const ids = rawIds.map((v) => v % numRows);
          const base = Array.from({ length: numRows * width }, (_, i) => i * 0.5);
          const rows = Array.from({ length: ids.length * width }, (_, i) => (i % 5) - 1.25);
          const out = await f32(base, [numRows, width]);
          await nk.scatterAddRows(out, await f32(rows, [ids.length, width]), ids);
          const want = Float32Array.from(base);
          ids.forEach((id, k) => {
            for (let j = 0; j < width; j++)
              want[id * width + j] = Math.fround(want[id * width + j]! + rows[k * width + j]!);
          });
          expect(await read(out)).toEqual([...want]);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('works for integer dtypes and rejects bad ids without writing', async () => {
    const out = await nk.fromBytes(cpu(0), 'int64', [3], new Uint8Array(new BigInt64Array([1n, 2n, 3n]).buffer));
    const rows = await nk.fromBytes(cpu(0), 'int64', [3], new Uint8Array(new BigInt64Array([10n, 20n, 30n]).buffer));
    await nk.scatterAddRows(out, rows, [2, 0, 2]);
    expect([...new BigInt64Array((await nk.readBytes(out)).buffer)]).toEqual([21n, 2n, 43n]);
    await expect(nk.scatterAddRows(out, rows, [0, 1, 5])).rejects.toThrow(
      /row id 5 at position 2 is out of range \[0, 3\)/,
    );
    expect([...new BigInt64Array((await nk.readBytes(out)).buffer)]).toEqual([21n, 2n, 43n]);
    expect(() => nk.toIds([1.5])).toThrow(/row id 1.5 at position 0 is not an integer/);
  });
});
