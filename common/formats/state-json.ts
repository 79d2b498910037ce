// state-json.ts: the one JSON encoding of everything the server writes about its state (log
// record metas, checkpoint manifests, optimizer-state snapshot headers), so numbers come back
// exactly. Plain JSON has no NaN, no infinities and no -0 (JSON.stringify writes null for the
// first three and 0 for the last): a constant initializer of -Infinity (an attention mask) or a
// scheduler field of -Infinity would come back as null or a default, a changed state or a
// data dir that no longer starts. Here each such number is written as a tagged object,
// {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}, and read back as the number; every other
// value is plain JSON. Text without a tag parses with plain JSON.parse (the common case), and a
// value without such numbers is written by plain JSON.stringify (found by a walk that allocates
// nothing), so the encoding costs nothing when it is not needed.

/** The key of a tagged number: `{"$number": "-Infinity"}`. */
export const NUMBER_TAG = '$number';
const TAG_TEXT = `"${NUMBER_TAG}"`;
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

/** The tag text of a number plain JSON cannot hold, or null for an ordinary finite number. */
function specialName(x: number): string | null {
  if (Number.isFinite(x)) return Object.is(x, -0) ? '-0' : null;
  return String(x); // 'NaN', 'Infinity', '-Infinity'
}

/** Is there a number plain JSON would change anywhere in `v`? */
function needsTags(v: unknown, depth = 0): boolean {
  if (typeof v === 'number') return specialName(v) !== null;
  if (v === null || typeof v !== 'object' || depth > 512) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (needsTags(x, depth + 1)) return true;
    return false;
  }
  if (ArrayBuffer.isView(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const k in v)
    if (Object.prototype.hasOwnProperty.call(v, k) && needsTags((v as Record<string, unknown>)[k], depth + 1))
      return true;
  return false;
}

function tagNumbers(_key: string, v: unknown): unknown {
  if (typeof v !== 'number') return v;
  const name = specialName(v);
  return name === null ? v : { [NUMBER_TAG]: name };
}

function untagNumbers(_key: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const tag = (v as Record<string, unknown>)[NUMBER_TAG];
  if (tag === undefined || Object.keys(v).length !== 1) return v;
  if (typeof tag !== 'string' || !Object.prototype.hasOwnProperty.call(SPECIAL, tag))
    throw new SyntaxError(`bad tagged number ${JSON.stringify(tag)}`);
  return SPECIAL[tag];
}

/** JSON.stringify with NaN, the infinities and -0 kept as tagged numbers. */
export function stringifyState(value: unknown, space?: number): string {
  // JSON.stringify's result is undefined for undefined or a function: the callers check.
  return needsTags(value) ? JSON.stringify(value, tagNumbers, space) : JSON.stringify(value, null, space);
}

/** JSON.parse that reads tagged numbers back; a malformed tag is a SyntaxError, as bad JSON is. */
export function parseState(text: string): unknown {
  return text.includes(TAG_TEXT) ? JSON.parse(text, untagNumbers) : JSON.parse(text);
}
