// shape.ts: how a shape is written in every message, on both ends: `[2,3]`, `[]` for a
// scalar, `unknown` for a deferred parameter whose shape is not known yet.

/** `[2,3]` for messages; null (a shape not known yet) is `unknown`. */
export function fmtShape(shape: readonly unknown[] | null): string {
  return shape === null ? 'unknown' : `[${shape.join(',')}]`;
}
