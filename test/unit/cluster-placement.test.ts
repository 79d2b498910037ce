// common/cluster/placement.ts: the parts of every split parameter cover its rows exactly once,
// at most one part per shard, slices as even as rows allow; the rules (what stays whole); and
// the balance bound docs/cluster.md states, over generated models.
//
// The bound is common/cluster/balance.ts's (Bernstein's inequality over the pieces placed by
// hash; a model with uniform hashes breaks it with probability below 1e-6).
// The property runs with a fixed seed, so the test is deterministic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesPerShard,
  DEFAULT_SLICE_BYTES,
  homeShard,
  LAYOUT_VERSION,
  locateRow,
  placementFromPart,
  partOn,
  place,
  shardsOf,
  tensorBytesOf,
  type Layout,
  type PlacementInput,
} from '../../common/cluster/placement';
import { DTYPES } from '../../common/dtype';
import { balanceBound, modelBytesPerShard } from '../../common/cluster/balance';

const layoutOf = (shards: number, sliceBytes = DEFAULT_SLICE_BYTES): Layout => ({
  version: LAYOUT_VERSION,
  shards,
  sliceBytes,
});

// Mostly matrices of a few MiB at most (placed by hash: what the bound is about), with biases,
// big tensors and tables among them.
const tensorArb: fc.Arbitrary<Omit<PlacementInput, 'name'>> = fc.oneof(
  // biases, norms
  {
    weight: 2,
    arbitrary: fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 4096 })),
      dtype: fc.constant('float32' as const),
      stype: fc.constant('default' as const),
    }),
  },
  // matrices up to 4 MiB
  {
    weight: 6,
    arbitrary: fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1, max: 1024 })),
      dtype: fc.constantFrom('float32' as const, 'float16' as const),
      stype: fc.constant('default' as const),
    }),
  },
  // big matrices and embeddings, up to 128 MiB
  {
    weight: 1,
    arbitrary: fc.record({
      shape: fc.tuple(fc.integer({ min: 2, max: 8192 }), fc.integer({ min: 256, max: 4096 })),
      dtype: fc.constantFrom('float32' as const, 'float16' as const),
      stype: fc.constant('default' as const),
    }),
  },
  // row_sparse tables
  {
    weight: 1,
    arbitrary: fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 1, max: 128 })),
      dtype: fc.constant('float32' as const),
      stype: fc.constant('row_sparse' as const),
    }),
  },
);

const modelArb = fc
  .array(fc.tuple(tensorArb, fc.string({ minLength: 1, maxLength: 12 })), { minLength: 1, maxLength: 400, size: 'max' })
  .map((ts) => ts.map(([t, suffix], i) => ({ ...t, name: `layer${i}.${suffix}` })));

describe('placement', () => {
  it('splits every row of a split parameter onto exactly one part, at most one part per shard', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...DTYPES),
        fc.constantFrom('default' as const, 'row_sparse' as const),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 1 << 20 }),
        (name, shape, dtype, stype, shards, sliceBytes) => {
          const layout = layoutOf(shards, sliceBytes);
          const p = place({ name, shape, dtype, stype }, layout);
          expect(p.home).toBe(homeShard(name, shards));
          expect(place({ name, shape, dtype, stype }, layout)).toEqual(p); // pure
          const bytes = bytesPerShard({ name, shape, dtype, stype }, layout);
          expect(bytes.reduce((a, b) => a + b, 0)).toBe(tensorBytesOf(shape, dtype));
          if (p.kind === 'whole') {
            expect(shardsOf(p)).toEqual([p.home]);
            return;
          }
          expect(p.rows).toBe(shape[0]);
          const shardsHolding = p.parts.map((part) => part.shard);
          expect(new Set(shardsHolding).size).toBe(shardsHolding.length);
          // Plain checks in the row loop (expect() per row is slow); one expect on the outcome.
          const owner = new Int32Array(p.rows).fill(-1);
          let bad = '';
          for (const part of p.parts) {
            if (part.rows <= 0 || partOn(p, part.shard) !== part) bad ||= `part ${JSON.stringify(part)}`;
            for (let j = 0; j < part.rows && bad === ''; j++) {
              const row = part.rowStart + j * part.rowStep;
              if (owner[row] !== -1) bad = `row ${row} held twice`;
              owner[row] = part.shard;
              const at = locateRow(p, row);
              if (at.part !== part || at.local !== j) bad = `locateRow(${row}) gives ${JSON.stringify(at)}`;
            }
          }
          expect(bad).toBe('');
          expect(owner.every((s) => s >= 0)).toBe(true);
          const counts = p.parts.map((part) => part.rows);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          if (p.kind === 'slices') {
            // Consecutive shards from the home shard, in row order.
            p.parts.forEach((part, k) => expect(part.shard).toBe((p.home + k) % shards));
            expect(stype).toBe('default');
            expect(p.parts.length).toBe(
              Math.min(shards, shape[0]!, Math.ceil(tensorBytesOf(shape, dtype) / sliceBytes)),
            );
          } else {
            expect(stype).toBe('row_sparse');
            p.parts.forEach((part, i) => expect([part.shard, part.rowStart, part.rowStep]).toEqual([i, i, shards]));
          }
          // Another client rebuilds the same placement from the home shard's part alone.
          const homePart = partOn(p, p.home)!;
          expect(placementFromPart(name, layout, { ...homePart, fullShape: shape, parts: p.parts.length })).toEqual(p);
        },
      ),
      { seed: 13, numRuns: 300 },
    );
  });

  it('keeps whole what must stay whole', () => {
    const big = { name: 'w', shape: [4096, 4096], dtype: 'float32' as const, stype: 'default' as const };
    const three = layoutOf(3);
    expect(place(big, three).kind).toBe('slices');
    expect(place({ ...big, whole: true }, three)).toEqual({ kind: 'whole', home: homeShard('w', 3) });
    expect(place({ ...big, shape: [0, 4096] }, three).kind).toBe('whole'); // deferred: shape unknown
    expect(place({ ...big, shape: null }, three).kind).toBe('whole');
    expect(place({ ...big, shape: [1, 1 << 22] }, three).kind).toBe('whole'); // one row
    expect(place({ ...big, shape: [1024, 1024] }, three).kind).toBe('whole'); // exactly 4 MiB
    expect(place({ ...big, shape: [1025, 1024] }, three).kind).toBe('slices');
    expect(place(big, layoutOf(1)).kind).toBe('whole');
    const table = { name: 'emb', shape: [2, 8], dtype: 'float32' as const, stype: 'row_sparse' as const };
    expect(place(table, three).kind).toBe('whole'); // fewer rows than shards
    expect(place({ ...table, shape: [3, 8] }, three).kind).toBe('rows');
    expect(() => place(big, { ...three, version: 2 })).toThrow(/layout version 2 is not known/);
    expect(placementFromPart('w', three, null)).toEqual({ kind: 'whole', home: homeShard('w', 3) });
    expect(() => placementFromPart('w', three, { fullShape: [4096, 4096], rowStart: 0, rowStep: 4, parts: 4 })).toThrow(
      /which no placement of 3 shards gives/,
    );
  });

  it('spreads home shards of similar names evenly (the hash is mixed)', () => {
    for (const shards of [2, 3, 4, 8, 16]) {
      const counts = new Array<number>(shards).fill(0);
      const names = 4000;
      for (let i = 0; i < names; i++) counts[homeShard(`layer${i}_weight`, shards)]!++;
      // A binomial count's standard deviation is below sqrt(names / shards); 5 of them is far out.
      for (const c of counts) expect(Math.abs(c - names / shards)).toBeLessThan(5 * Math.sqrt(names / shards));
    }
  });

  it('keeps every shard within the stated bound over generated models', () => {
    fc.assert(
      fc.property(modelArb, fc.integer({ min: 2, max: 16 }), fc.constantFrom(1 << 20, 4 << 20), (model, shards, s) => {
        const layout = layoutOf(shards, s);
        expect(Math.max(...modelBytesPerShard(model, layout))).toBeLessThanOrEqual(balanceBound(model, layout));
      }),
      { seed: 20250601, numRuns: 300 },
    );
  });

  it('balances a model of big tensors to within one row per tensor', () => {
    const model = Array.from({ length: 24 }, (_, i) => ({
      name: `block${i}.ffn`,
      shape: [4096 + i, 1024],
      dtype: 'float32' as const,
      stype: 'default' as const,
    }));
    const layout = layoutOf(4);
    const perShard = new Array<number>(4).fill(0);
    for (const t of model) bytesPerShard(t, layout).forEach((b, i) => (perShard[i]! += b));
    const total = perShard.reduce((a, b) => a + b, 0);
    for (const b of perShard) expect(Math.abs(b - total / 4)).toBeLessThanOrEqual(24 * 1024 * 4);
  });
});
