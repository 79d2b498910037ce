// client/cluster/states.ts against simple references over generated placements: a state
// tensor's rows cut into the parts and joined back (cutRowBytes / joinRowBytes) give what
// picking rows rowStart + j * rowStep gives; a whole snapshot cut into every shard's and
// assembled again is the same snapshot, with each shard's parts in its own shape and layout;
// the checks a snapshot goes through before any shard is sent one give one server's words; and
// shards whose copies differ make no snapshot.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LAYOUT_VERSION, place, type Placement } from '../../common/cluster/placement';
import { readStates, writeStates, type SavedStates } from '../../common/formats/states';
import {
  assembleStates,
  checkStates,
  cutRowBytes,
  cutStates,
  joinRowBytes,
  readClusterBundle,
  type LoadTarget,
  type ParamTarget,
} from '../../client/cluster/states';
import type { Split } from '../../client/cluster/assemble';
import type { Resolved } from '../../client/cluster/shards';
import type { ParameterDescriptor } from '../../client/convert';
import { cpu } from '../../client/index';

const splitArb = fc
  .record({
    rows: fc.integer({ min: 2, max: 60 }),
    rowBytes: fc.integer({ min: 1, max: 12 }),
    shards: fc.integer({ min: 2, max: 7 }),
    rowSparse: fc.boolean(),
    name: fc.string({ minLength: 1, maxLength: 8 }),
  })
  .map(({ rows, rowBytes, shards, rowSparse, name }) => ({
    rows,
    rowBytes,
    p: place(
      { name, shape: [rows, rowBytes], dtype: 'uint8', stype: rowSparse ? 'row_sparse' : 'default' },
      { version: LAYOUT_VERSION, shards, sliceBytes: 8 },
    ),
  }))
  .filter((x): x is { rows: number; rowBytes: number; p: Split } => x.p.kind !== 'whole');

/** The reference: rows rowStart + j * rowStep of `whole`, one after the other. */
function refCut(whole: Uint8Array, rowBytes: number, part: Split['parts'][number]): number[] {
  const out: number[] = [];
  for (let j = 0; j < part.rows; j++) {
    const r = part.rowStart + j * part.rowStep;
    out.push(...whole.subarray(r * rowBytes, (r + 1) * rowBytes));
  }
  return out;
}

const bytesArb = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

describe('cutting and joining state rows', () => {
  it('each part gets its rows as the reference picks them; the parts join back into the whole', () => {
    fc.assert(
      fc.property(
        splitArb.chain((s) => bytesArb(s.rows * s.rowBytes).map((whole) => ({ ...s, whole }))),
        ({ rows, rowBytes, p, whole }) => {
          const parts = p.parts.map((part) => cutRowBytes(whole, rowBytes, part));
          parts.forEach((b, k) => expect([...b]).toEqual(refCut(whole, rowBytes, p.parts[k]!)));
          // Every row is in exactly one part.
          expect(parts.reduce((a, b) => a + b.byteLength, 0)).toBe(rows * rowBytes);
          expect(Buffer.from(joinRowBytes(p, rowBytes, parts)).equals(Buffer.from(whole))).toBe(true);
        },
      ),
    );
  });
});

// --- Whole snapshots --------------------------------------------------------------------------

const CTX = [cpu(0), cpu(1)];

function descriptor(name: string, shape: number[], initialized = true): ParameterDescriptor {
  return { name, shape, dtype: 'float32', ctx: CTX, initialized } as unknown as ParameterDescriptor;
}

/** A trainer over `params` placed on `shards` shards (16-byte slices), every part described. */
function target(params: Array<{ name: string; shape: number[]; rowSparse?: boolean }>, shards: number): LoadTarget {
  const targets = new Map<string, ParamTarget>();
  const holding = new Set<number>();
  for (const q of params) {
    const placement: Placement = place(
      { name: q.name, shape: q.shape, dtype: 'float32', stype: q.rowSparse ? 'row_sparse' : 'default' },
      { version: LAYOUT_VERSION, shards, sliceBytes: 16 },
    );
    const resolved: Resolved = {
      placement,
      fullShape: placement.kind === 'whole' ? null : q.shape,
      isConstant: false,
    };
    const parts = new Map<number, ParameterDescriptor>();
    if (placement.kind === 'whole') parts.set(placement.home, descriptor(q.name, q.shape));
    else
      for (const part of placement.parts) parts.set(part.shard, descriptor(q.name, [part.rows, ...q.shape.slice(1)]));
    for (const s of parts.keys()) holding.add(s);
    targets.set(q.name, { name: q.name, resolved, parts });
  }
  return {
    who: "trainer 't'",
    name: 't',
    params: params.map((q) => q.name),
    optimizer: { name: 'adam', params: {} },
    targets,
    shards: [...holding].sort((a, b) => a - b),
  };
}

const PARAMS = [
  { name: 'w', shape: [12, 3] }, // sliced
  { name: 'b', shape: [3] }, // whole
  { name: 'emb', shape: [10, 2], rowSparse: true }, // rows r mod N
];

/** One server's snapshot of PARAMS (adam: two states per copy) with random bytes, in `order`. */
function snapshot(rand: () => number, order = PARAMS): SavedStates {
  return {
    trainer: 't',
    optimizer: 'adam',
    step: 7,
    learningRate: 0.01,
    params: order.map((q) => {
      const n = q.shape.reduce((a, b) => a * b, 1) * 4;
      return {
        name: q.name,
        layout: `cpu(0),cpu(1)|float32|${q.shape.join(',')}`,
        count: 7,
        dtype: 'float32',
        shape: q.shape,
        tensors: CTX.map(() => [0, 1].map(() => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)))),
      };
    }),
  };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const plansOf = (t: LoadTarget): Map<string, Resolved> => new Map([...t.targets].map(([n, p]) => [n, p.resolved]));

describe('whole snapshots and the shards’ own', () => {
  for (const shards of [1, 2, 3, 5]) {
    it(`${shards} shard(s): cut into every shard's snapshot and assembled again, the same bytes`, () => {
      const t = target(PARAMS, shards);
      const saved = snapshot(lcg(shards));
      const bytes = writeStates(saved);
      const cut = cutStates(t, checkStates(t, bytes));
      expect([...cut.keys()]).toEqual(t.shards);
      for (const [shard, s] of cut) {
        expect(s.step).toBe(7);
        for (const p of s.params) {
          // A part is described as the shard holds it: its own rows, its own layout.
          const d = t.targets.get(p.name)!.parts.get(shard)!;
          expect(p.shape).toEqual(d.shape);
          expect(p.layout).toBe(`cpu(0),cpu(1)|float32|${d.shape!.join(',')}`);
        }
      }
      // Each shard's snapshot goes through the format, as it does on the wire.
      const back = new Map([...cut].map(([s, x]) => [s, readStates('shard', writeStates(x))]));
      expect(Buffer.from(writeStates(assembleStates("trainer 't'", t.params, plansOf(t), back))).equals(bytes)).toBe(
        true,
      );
    });
  }

  it("a snapshot in another order is cut and assembled in the trainer's order", () => {
    const t = target(PARAMS, 3);
    const saved = snapshot(lcg(9), [PARAMS[2]!, PARAMS[0]!, PARAMS[1]!]);
    const cut = cutStates(t, checkStates(t, writeStates(saved)));
    const again = assembleStates("trainer 't'", t.params, plansOf(t), cut);
    expect(again.params.map((p) => p.name)).toEqual(['w', 'b', 'emb']);
  });

  it("shards whose copies differ (steps, update counts, a part's states missing) make no snapshot", () => {
    const t = target(PARAMS, 3);
    const cut = cutStates(t, checkStates(t, writeStates(snapshot(lcg(3)))));
    const w = t.targets.get('w')!.resolved.placement as Split;
    const [first, second] = [w.parts[0]!.shard, w.parts[1]!.shard];
    const change = (shard: number, edit: (s: SavedStates) => void): Map<number, SavedStates> => {
      const copy = new Map(cut);
      const s = structuredClone(cut.get(shard)!);
      edit(s);
      copy.set(shard, s);
      return copy;
    };
    const assemble = (m: Map<number, SavedStates>): unknown => assembleStates("trainer 't'", t.params, plansOf(t), m);
    expect(() => assemble(change(2, (s) => void (s.step = 8)))).toThrow(
      /^trainer 't': the shards' copies of this trainer differ \(shard 0: adam at step 7, learning rate 0.01; shard 2: adam at step 8, learning rate 0.01\)/,
    );
    expect(() => assemble(change(second, (s) => void (s.params.find((p) => p.name === 'w')!.count = 6)))).toThrow(
      new RegExp(`parameter 'w' on shard ${first} and on shard ${second}: 7 and 6 updates`),
    );
    expect(() => assemble(change(second, (s) => void (s.params = s.params.filter((p) => p.name !== 'w'))))).toThrow(
      /parameter 'w' has optimizer states on shards? .* but not on /,
    );
  });
});

describe("checks before any shard is sent a snapshot (one server's words)", () => {
  const t = target(PARAMS, 3);
  const good = snapshot(lcg(5));
  const refuse = (s: SavedStates | Uint8Array): string => {
    try {
      checkStates(t, s instanceof Uint8Array ? s : writeStates(s));
    } catch (err) {
      return `${(err as { code: number }).code} ${(err as Error).message}`;
    }
    return 'accepted';
  };
  it('accepts a good one', () => expect(refuse(good)).toBe('accepted'));
  it('refuses what is not a snapshot, or is cut short', () => {
    expect(refuse(Buffer.from('nope'))).toBe(
      "3 trainer 't': not a saved optimizer-state snapshot: missing the GPSSTAT1 magic",
    );
    const bytes = writeStates(good);
    expect(refuse(bytes.subarray(0, bytes.length - 1))).toMatch(
      /^3 trainer 't': not a saved optimizer-state snapshot: /,
    );
    expect(refuse(Buffer.concat([bytes, Buffer.alloc(1 << 14)]))).toMatch(
      /^3 trainer 't': a states snapshot of \d+ bytes is larger than its optimizer states can be \(at most \d+ bytes for its initialized parameters\)$/,
    );
  });
  it('refuses another optimizer, parameter, shape or tensor size', () => {
    expect(refuse({ ...good, optimizer: 'sgd' })).toBe(
      "3 trainer 't': states were saved for optimizer sgd, this trainer uses adam",
    );
    const edit = (f: (s: SavedStates) => void): SavedStates => {
      const s = structuredClone(good);
      f(s);
      return s;
    };
    expect(refuse(edit((s) => void (s.params[1]!.name = 'x')))).toBe(
      "3 trainer 't': states name parameter 'x', which is not one of its parameters",
    );
    expect(refuse(edit((s) => void (s.params[0]!.layout = 'cpu(0)|float32|12,3')))).toBe(
      "3 trainer 't': states of 'w' were saved for cpu(0)|float32|12,3, the parameter is now cpu(0),cpu(1)|float32|12,3",
    );
    expect(refuse(edit((s) => void s.params[1]!.tensors[0]!.pop()))).toBe(
      "3 trainer 't': states of 'b' hold tensors of [[12],[12,12]] bytes, this optimizer keeps [[12,12],[12,12]]",
    );
  });
  it('refuses a parameter not initialized on one of its shards', () => {
    const part = [...t.targets.get('emb')!.parts.keys()][1]!;
    const d = t.targets.get('emb')!.parts.get(part)!;
    (t.targets.get('emb')!.parts as Map<number, ParameterDescriptor>).set(part, { ...d, initialized: false });
    try {
      expect(refuse(good)).toBe(
        "9 trainer 't': parameter 'emb' must be initialized before loading its optimizer states",
      );
    } finally {
      (t.targets.get('emb')!.parts as Map<number, ParameterDescriptor>).set(part, d);
    }
  });
});

describe('damaged snapshots', () => {
  it('are refused INVALID_ARGUMENT naming the trainer, or, when still a snapshot of this trainer, cut and assembled back', () => {
    const t = target(PARAMS, 3);
    const good = writeStates(snapshot(lcg(11)));
    const damageArb = fc.oneof(
      fc.record({ at: fc.nat(good.length - 1), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => {
        const b = Buffer.from(good);
        b[at] = byte;
        return b;
      }),
      fc.nat(good.length).map((n) => good.subarray(0, n)),
      fc.uint8Array({ maxLength: 64 }).map((extra) => Buffer.concat([good, extra])),
    );
    fc.assert(
      fc.property(damageArb, (bytes) => {
        let saved: SavedStates;
        try {
          saved = checkStates(t, bytes);
        } catch (err) {
          expect((err as { code?: unknown }).code).toBe(3);
          expect((err as Error).message).toMatch(/^trainer 't': /);
          return;
        }
        const again = assembleStates("trainer 't'", t.params, plansOf(t), cutStates(t, saved));
        const order = new Map(t.params.map((n, i) => [n, i]));
        // One server reads neither a parameter's dtype nor its shape field (the layout says both).
        const shapes = new Map(PARAMS.map((q) => [q.name, q.shape]));
        const sorted = {
          ...saved,
          trainer: 't', // each shard's snapshot names its own trainer
          params: [...saved.params]
            .sort((a, b) => order.get(a.name)! - order.get(b.name)!)
            .map((p) => ({ ...p, dtype: 'float32', shape: shapes.get(p.name)! })),
        };
        expect(Buffer.from(writeStates(again)).equals(writeStates(sorted))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('old cluster snapshots (GPSCLUS1)', () => {
  const bundle = (shards: number[], blobs: Buffer[]): Buffer => {
    const header = Buffer.from(
      JSON.stringify({ trainer: 't', shards: shards.map((index, i) => ({ index, bytes: blobs[i]!.length })) }),
    );
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    return Buffer.concat([Buffer.from('GPSCLUS1'), length, header, ...blobs]);
  };
  it('give each shard its own snapshot on the same shards; elsewhere say to save again', () => {
    const blobs = [Buffer.from('a'), Buffer.from('bc')];
    const got = readClusterBundle("trainer 't'", bundle([0, 1], blobs), [0, 1]);
    expect([...got].map(([s, b]) => [s, Buffer.from(b).toString()])).toEqual([
      [0, 'a'],
      [1, 'bc'],
    ]);
    expect(() => readClusterBundle("trainer 't'", bundle([0, 1], blobs), [0, 1, 2])).toThrow(
      /saved on shards \[0, 1\] loads only into a trainer on the same shards, and this one lives on shards \[0, 1, 2\]; load it where it was saved and save it again/,
    );
    const cutShort = bundle([0, 1], blobs);
    expect(() => readClusterBundle("trainer 't'", cutShort.subarray(0, cutShort.length - 1), [0, 1])).toThrow(
      /^trainer 't': not a saved optimizer-state snapshot: an old cluster \(GPSCLUS1\) snapshot is cut short$/,
    );
  });
});
