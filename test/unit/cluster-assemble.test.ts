// client/cluster/assemble.ts against generated placements: cutting a tensor into its parts'
// rows and joining them back gives the same bytes; row ids routed to the parts and their rows
// merged back give what one server's row read gives (sorted unique ids, their rows); a part of
// the wrong shape is refused naming the shard.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAYOUT_VERSION, place } from '../../common/cluster/placement';
import {
  joinRows,
  mergeRows,
  partShapeOf,
  pickRows,
  routeRows,
  splitRows,
  type Split,
} from '../../client/cluster/assemble';
import type { Tensor } from '../../client/index';

const bytes = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const splitArb = fc
  .record({
    rows: fc.integer({ min: 2, max: 200 }),
    cols: fc.integer({ min: 1, max: 6 }),
    shards: fc.integer({ min: 2, max: 9 }),
    rowSparse: fc.boolean(),
    name: fc.string({ minLength: 1, maxLength: 8 }),
  })
  .map(({ rows, cols, shards, rowSparse, name }) => {
    const shape = [rows, cols];
    const p = place(
      { name, shape, dtype: 'float32', stype: rowSparse ? 'row_sparse' : 'default' },
      { version: LAYOUT_VERSION, shards, sliceBytes: 16 },
    );
    return { shape, p };
  })
  .filter((x): x is { shape: number[]; p: Split } => x.p.kind !== 'whole');

describe('assembling parts', () => {
  it('split then join gives the same bytes; each part has its own shape', () => {
    fc.assert(
      fc.property(splitArb, ({ shape, p }) => {
        const n = shape[0]! * shape[1]!;
        const whole: Tensor = { shape, dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => i) };
        const parts = splitRows(p, shape, whole);
        parts.forEach((t, k) => expect(t.shape).toEqual(partShapeOf(shape, p.parts[k]!)));
        expect(bytes(joinRows('w', p, shape, parts)).equals(bytes(whole))).toBe(true);
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it('routed row reads merge into one server answer: sorted unique ids and their rows', () => {
    fc.assert(
      fc.property(
        splitArb.chain(({ shape, p }) =>
          fc.record({
            shape: fc.constant(shape),
            p: fc.constant(p),
            ids: fc.array(fc.integer({ min: 0, max: shape[0]! - 1 }), { maxLength: 40 }),
          }),
        ),
        ({ shape, p, ids }) => {
          const cols = shape[1]!;
          const whole: Tensor = {
            shape,
            dtype: 'float32',
            data: Float32Array.from({ length: shape[0]! * cols }, (_, i) => i),
          };
          const parts = splitRows(p, shape, whole);
          const routed = routeRows(p, ids);
          // Each part answers as a server: its requested local ids sorted and unique, their rows.
          const reads = p.parts.map((part, k) => {
            const local = [...new Set(routed[k]!.local)].sort((a, b) => a - b);
            return {
              part,
              indices: BigInt64Array.from(local, BigInt),
              values: pickRows(parts[k]!, local),
            };
          });
          const merged = mergeRows(shape, 'float32', reads);
          const want = [...new Set(ids)].sort((a, b) => a - b);
          expect([...merged.indices].map(Number)).toEqual(want);
          expect(bytes(merged.values).equals(bytes(pickRows(whole, want)))).toBe(true);
          // Every id went to exactly one part, in the caller's order.
          expect(routed.flatMap((r) => r.positions).sort((a, b) => a - b)).toEqual(ids.map((_, i) => i));
        },
      ),
      { seed: 4, numRuns: 200 },
    );
  });

  it('refuses a part of the wrong shape, naming the shard', () => {
    const shape = [10, 2];
    const p = place(
      { name: 'w', shape, dtype: 'float32', stype: 'default' },
      { version: LAYOUT_VERSION, shards: 2, sliceBytes: 16 },
    ) as Split;
    const whole: Tensor = { shape, dtype: 'float32', data: new Float32Array(20) };
    const parts = splitRows(p, shape, whole);
    parts[1] = { shape: [3, 2], dtype: 'float32', data: new Float32Array(6) };
    expect(() => joinRows('w', p, shape, parts)).toThrow(
      new RegExp(
        `parameter 'w': shard ${p.parts[1]!.shard} sent float32 \\[3,2\\] for its part, expected float32 \\[5,2\\]`,
      ),
    );
  });
});
