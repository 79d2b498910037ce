// The state encoding (common/formats/state-json.ts): every double, NaN, the infinities and -0
// included, comes back exactly from the log's and the manifest's JSON; plain values stay plain
// JSON; a malformed tag is a parse error, never a silently different value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseState, stringifyState } from '../../common/formats/state-json';
import { fmtValue } from '../../server/errors';

describe('state-json', () => {
  it('round-trips every double exactly, nested anywhere', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().map((j) => ({ j })),
        fc.array(fc.double()),
        fc.double(),
        (o, xs, x) => {
          const value = { ...o, xs, x, nested: [{ v: x }, [xs]] };
          const back = parseState(stringifyState(value)) as typeof value;
          expect(Object.is(back.x, x)).toBe(true);
          back.xs.forEach((v, i) => expect(Object.is(v, xs[i])).toBe(true));
          expect(Object.is((back.nested[0] as { v: number }).v, x)).toBe(true);
          expect(back).toEqual(value);
        },
      ),
      { seed: 10, numRuns: 500 },
    );
  });

  it('writes plain JSON when nothing needs a tag, and tags exactly the special numbers', () => {
    expect(stringifyState({ a: [1, 2.5, 'x'], b: null })).toBe(JSON.stringify({ a: [1, 2.5, 'x'], b: null }));
    expect(stringifyState({ v: [-Infinity, 0, -0, NaN] })).toBe(
      '{"v":[{"$number":"-Infinity"},0,{"$number":"-0"},{"$number":"NaN"}]}',
    );
    expect(parseState('{"v":{"$number":"Infinity"}}')).toEqual({ v: Infinity });
  });

  it('refuses a malformed tag', () => {
    expect(() => parseState('{"v":{"$number":"1e999"}}')).toThrow(SyntaxError);
    expect(() => parseState('{"v":{"$number":1}}')).toThrow(SyntaxError);
    // Another key beside the tag: an ordinary object.
    expect(parseState('{"v":{"$number":"NaN","x":1}}')).toEqual({ v: { $number: 'NaN', x: 1 } });
  });

  it('shows numbers in messages as JavaScript writes them', () => {
    expect(fmtValue(NaN)).toBe('NaN');
    expect(fmtValue([1, -Infinity, -0])).toBe('[1,-Infinity,-0]');
    expect(fmtValue('a')).toBe('"a"');
  });
});
