// fuzz-mutations.ts: how the fuzzers damage valid bytes (tools/fuzz-readers.ts): bit flips,
// inserted and deleted bytes, integers overwritten with huge or boundary values, truncations, and
// token edits of a JSON region (they keep the text parseable often enough to reach the checks
// behind the parser). Deterministic for a given fast-check seed.
import fc from 'fast-check';

const HUGE = [
  0n,
  1n,
  0x7fn,
  0xffn,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  1n << 40n,
  (1n << 63n) - 1n,
];

export type Mutation =
  | { kind: 'flip'; pos: number; xor: number }
  | { kind: 'insert'; pos: number; bytes: Uint8Array }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'overwrite'; pos: number; width: 1 | 2 | 4 | 8; value: bigint }
  | { kind: 'truncate'; pos: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      pos: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('overwrite' as const),
      pos: fc.nat(),
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      value: fc.oneof(fc.constantFrom(...HUGE), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }) },
);

export function mutate(src: Uint8Array, m: Mutation): Buffer {
  const len = src.byteLength;
  const b = Buffer.from(src);
  if (len === 0) return m.kind === 'insert' ? Buffer.from(m.bytes) : b;
  switch (m.kind) {
    case 'flip':
      b[m.pos % len]! ^= m.xor;
      return b;
    case 'insert': {
      const p = m.pos % (len + 1);
      return Buffer.concat([b.subarray(0, p), m.bytes, b.subarray(p)]);
    }
    case 'delete': {
      const p = m.pos % len;
      return Buffer.concat([b.subarray(0, p), b.subarray(p + m.len)]);
    }
    case 'overwrite': {
      const p = m.pos % len;
      let v = m.value;
      for (let k = 0; k < m.width && p + k < len; k++) {
        b[p + k] = Number(v & 0xffn);
        v >>= 8n;
      }
      return b;
    }
    case 'truncate':
      return b.subarray(0, m.pos % len);
  }
}

/** Token edits of JSON text: they keep it parseable often enough to reach the checks behind the parser. */
const TOKENS = [
  '0',
  '-1',
  '1.5',
  '1e400',
  '9007199254740993',
  '4294967296',
  'null',
  'true',
  '""',
  '[]',
  '{}',
  '"x"',
  ',',
  ':',
  '{"$number":"NaN"}',
];
const textEditsArb = fc.array(
  fc.record({
    op: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const),
    pos: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 3 })),
  }),
  { minLength: 1, maxLength: 3 },
);
type TextEdits = typeof textEditsArb extends fc.Arbitrary<infer T> ? T : never;

function editText(src: string, edits: TextEdits): string {
  let s = src;
  for (const e of edits) {
    const p = s.length === 0 ? 0 : e.pos % (s.length + (e.op === 'insert' ? 1 : 0));
    if (e.op === 'insert') s = s.slice(0, p) + e.text + s.slice(p);
    else if (e.op === 'delete') s = s.slice(0, p) + s.slice(p + Math.max(1, e.text.length));
    else s = s.slice(0, p) + e.text + s.slice(p + Math.max(1, e.text.length));
  }
  return s;
}

/** Damage: byte mutations, or token edits of the JSON part between `jsonStart` and `jsonEnd`. */
export const damageArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      ms: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('json' as const), edits: textEditsArb }) },
);
export type Damage = typeof damageArb extends fc.Arbitrary<infer T> ? T : never;

export function damage(
  src: Uint8Array,
  d: Damage,
  json?: { start: number; end: number; fix?: (b: Buffer) => void },
): Buffer {
  if (d.kind === 'bytes') return d.ms.reduce<Buffer>((b, m) => mutate(b, m), Buffer.from(src));
  const start = json?.start ?? 0;
  const end = json?.end ?? src.byteLength;
  const text = Buffer.from(editText(Buffer.from(src.subarray(start, end)).toString('utf8'), d.edits), 'utf8');
  const out = Buffer.concat([Buffer.from(src.subarray(0, start)), text, Buffer.from(src.subarray(end))]);
  json?.fix?.(out);
  return out;
}
