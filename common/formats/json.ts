// json.ts: a strict JSON parser for the safetensors header. JSON.parse cannot be used there:
// it silently keeps the last of duplicate keys, turns integers past 2^53 into inexact
// doubles (the reference reader's overflow checks need exact u64 values), and has no depth
// bound. This parser is linear in its input, keeps integers exact (bigint), rejects duplicate
// keys, lone surrogate escapes and raw control characters, and stops at a nesting depth.

export type JsonValue = null | boolean | string | bigint | number | JsonValue[] | JsonObject;

/** An object, its keys in document order. */
export class JsonObject {
  readonly entries = new Map<string, JsonValue>();
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
  }
}

const MAX_DEPTH = 128;
/** Integers with more digits than this are outside u64 whatever they are; kept as 2^64. */
const MAX_INT_DIGITS = 20;
export const JSON_INT_TOO_LARGE = 1n << 64n;

export interface JsonParseOptions {
  /** Called for each key of the top-level object as it is added (to enforce count limits). */
  onTopLevelKey?: (key: string, count: number) => void;
}

export function parseJson(text: string, options: JsonParseOptions = {}): JsonValue {
  let pos = 0;
  const len = text.length;

  const fail = (msg: string, at = pos): never => {
    throw new JsonSyntaxError(msg, at);
  };
  const ws = (): void => {
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else break;
    }
  };

  const parseString = (): string => {
    // at opening quote
    pos++;
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= len) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail('raw control character in string');
      if (c === 0x5c) {
        out += text.slice(start, pos);
        pos++;
        if (pos >= len) fail('unterminated escape');
        const e = text[pos]!;
        pos++;
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex4 = (): number => {
              const h = text.slice(pos, pos + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\u escape');
              pos += 4;
              return parseInt(h, 16);
            };
            const u = hex4();
            if (u >= 0xd800 && u <= 0xdbff) {
              if (text[pos] !== '\\' || text[pos + 1] !== 'u') fail('lone leading surrogate in \\u escape');
              pos += 2;
              const lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) fail('invalid trailing surrogate in \\u escape');
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
              fail('lone trailing surrogate in \\u escape');
            } else {
              out += String.fromCharCode(u);
            }
            break;
          }
          default:
            fail(`invalid escape \\${e}`, pos - 1);
        }
        start = pos;
        continue;
      }
      pos++;
    }
  };

  const parseNumber = (): bigint | number => {
    const start = pos;
    if (text[pos] === '-') pos++;
    const intStart = pos;
    if (text[pos] === '0') {
      pos++;
    } else if (pos < len && text.charCodeAt(pos) >= 0x31 && text.charCodeAt(pos) <= 0x39) {
      while (pos < len && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
    } else {
      fail('invalid number');
    }
    const intDigits = pos - intStart;
    let isInt = true;
    if (text[pos] === '.') {
      isInt = false;
      pos++;
      const f = pos;
      while (pos < len && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
      if (pos === f) fail('invalid number');
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      isInt = false;
      pos++;
      if (text[pos] === '+' || text[pos] === '-') pos++;
      const f = pos;
      while (pos < len && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
      if (pos === f) fail('invalid number');
    }
    const lit = text.slice(start, pos);
    if (!isInt) return Number(lit);
    if (intDigits > MAX_INT_DIGITS) return lit.startsWith('-') ? -JSON_INT_TOO_LARGE : JSON_INT_TOO_LARGE;
    return BigInt(lit);
  };

  const parseLiteral = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail('invalid literal');
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    if (pos >= len) fail('unexpected end of input');
    const c = text[pos]!;
    if (c === '{') {
      pos++;
      const obj = new JsonObject();
      ws();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a string key');
        const keyAt = pos;
        const key = parseString();
        if (obj.entries.has(key))
          fail(`duplicate key ${JSON.stringify(key.length > 120 ? `${key.slice(0, 117)}...` : key)}`, keyAt);
        ws();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        const v = parseValue(depth + 1);
        obj.entries.set(key, v);
        if (depth === 0) options.onTopLevelKey?.(key, obj.entries.size);
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr: JsonValue[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (c === 't') return parseLiteral('true', true);
    if (c === 'f') return parseLiteral('false', false);
    if (c === 'n') return parseLiteral('null', null);
    return parseNumber();
  };

  const value = parseValue(0);
  ws();
  if (pos !== len) fail('trailing characters after the JSON value');
  return value;
}
