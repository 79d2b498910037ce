// npy.ts: NumPy's `.npy` format (numpy.lib.format), versions 1.0, 2.0 and 3.0.
//   \x93NUMPY | u8 major | u8 minor | u16 (v1) or u32 (v2, v3) header length | header | data
// The header is a Python dict literal {'descr': …, 'fortran_order': …, 'shape': (…)}, parsed
// here by a small strict literal parser (never eval): strings, integers, booleans, tuples
// and lists only, bounded depth. Object dtypes ('O', pickles) and every dtype gluon-ps does
// not store are refused by name; big-endian data is byte-swapped and Fortran-order data is
// reordered to C order, so the result is always little-endian C-order bytes.
// Writing follows `numpy.save` byte for byte (numpy 2.x `_write_array_header`): sorted keys,
// repr() values, growth-axis spaces, space padding and '\n' so the data starts on a 64-byte
// boundary, version 1.0 unless the header needs 2.0. bfloat16 (not a NumPy dtype) is written
// as MXNet 2.x does (src/serialization/cnpy.cc): the structured descr [('bfloat16', '<u2')],
// which numpy.load reads as a record array of uint16 and MXNet reads back as bfloat16.
import {
  ByteBuilder,
  ByteReader,
  allocBytes,
  byteSizeOf,
  checkTensorsForWrite,
  concatChunks,
  copyBytes,
  decodeUtf8,
} from './bytes';
import type { FormatLimits } from './limits';
import { LimitTracker, resolveLimits } from './limits';
import type { DType, Fail, NamedTensor } from './types';
import { DTYPE_SIZE, failer, fmtShape, q } from './types';

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const MAX_LITERAL_DEPTH = 16;

export const NPY_DESCR: Readonly<Record<DType, string>> = {
  float32: '<f4',
  float64: '<f8',
  float16: '<f2',
  int8: '|i1',
  uint8: '|u1',
  int32: '<i4',
  int64: '<i8',
  bfloat16: "[('bfloat16', '<u2')]",
};

export interface NpyReadOptions {
  limits?: Partial<FormatLimits>;
  /** Names the input in error messages (default `<buffer>`). */
  source?: string;
  /** The tensor's name (default 'array'; readTensorFile uses the file name without `.npy`). */
  name?: string;
  /** Copy the data out of the input (default true); false returns a view when no reorder is needed. */
  copy?: boolean;
}

export interface NpyWriteOptions {
  limits?: Partial<FormatLimits>;
  source?: string;
  /** How to write bfloat16: 'mxnet' (default) as [('bfloat16', '<u2')]; 'reject' fails. */
  bfloat16?: 'mxnet' | 'reject';
}

// ---------------------------------------------------------------------------------------------
// Python literal subset

type Py =
  | { t: 'str'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'tuple'; v: Py[] }
  | { t: 'list'; v: Py[] }
  | { t: 'dict'; v: Map<string, Py> };

class LiteralError extends Error {}

function parsePyLiteral(text: string): Py {
  let pos = 0;
  const err = (msg: string): never => {
    throw new LiteralError(`${msg} at character ${pos}`);
  };
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r\f\v'.includes(text[pos]!)) pos++;
  };
  const str = (): Py => {
    const quote = text[pos]!;
    pos++;
    let out = '';
    for (;;) {
      if (pos >= text.length) err('unterminated string');
      const c = text[pos]!;
      if (c === quote) {
        pos++;
        return { t: 'str', v: out };
      }
      if (c === '\n' || c === '\r') err('newline in string');
      if (c === '\\') {
        const e = text[pos + 1];
        const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          pos += 2;
          continue;
        }
        if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(pos + 2, pos + 4))) {
          out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 4), 16));
          pos += 4;
          continue;
        }
        err('unsupported escape in string');
      }
      out += c;
      pos++;
    }
  };
  const value = (depth: number): Py => {
    if (depth > MAX_LITERAL_DEPTH) err('nesting too deep');
    ws();
    const c = text[pos];
    if (c === undefined) return err('unexpected end');
    if (c === "'" || c === '"') return str();
    if (c === '{') {
      pos++;
      const map = new Map<string, Py>();
      for (;;) {
        ws();
        if (text[pos] === '}') {
          pos++;
          return { t: 'dict', v: map };
        }
        const k = value(depth + 1);
        if (k.t !== 'str') err('dict key is not a string');
        const key = (k as { v: string }).v;
        if (map.has(key)) err(`duplicate key '${key}'`);
        ws();
        if (text[pos] !== ':') err("expected ':'");
        pos++;
        map.set(key, value(depth + 1));
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') err("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      pos++;
      const items: Py[] = [];
      let trailingComma = false;
      for (;;) {
        ws();
        if (text[pos] === close) {
          pos++;
          // Python: (x) is x itself; a one-element tuple needs its comma.
          if (c === '(' && items.length === 1 && !trailingComma) return items[0]!;
          return { t: c === '(' ? 'tuple' : 'list', v: items };
        }
        items.push(value(depth + 1));
        ws();
        trailingComma = false;
        if (text[pos] === ',') {
          pos++;
          trailingComma = true;
        } else if (text[pos] !== close) {
          err(`expected ',' or '${close}'`);
        }
      }
    }
    if (text.startsWith('True', pos)) {
      pos += 4;
      return { t: 'bool', v: true };
    }
    if (text.startsWith('False', pos)) {
      pos += 5;
      return { t: 'bool', v: false };
    }
    if (text.startsWith('None', pos)) {
      pos += 4;
      return { t: 'none' };
    }
    const m = /^[-+]?[0-9]+/.exec(text.slice(pos, pos + 64));
    if (m) {
      pos += m[0].length;
      if (text[pos] === 'L' || text[pos] === 'l') pos++; // Python 2 long, as numpy's _filter_header allows
      const digits = m[0].replace(/^[-+]/, '');
      if (digits.length > 20) return { t: 'int', v: m[0].startsWith('-') ? -(1n << 64n) : 1n << 64n };
      return { t: 'int', v: BigInt(m[0]) };
    }
    return err('unexpected character');
  };
  const v = value(0);
  ws();
  if (pos !== text.length) err('trailing characters');
  return v;
}

// ---------------------------------------------------------------------------------------------
// descr

const UNSUPPORTED_KIND: Record<string, string> = {
  b: 'bool',
  '?': 'bool',
  c: 'complex',
  O: 'object (pickled Python objects are never loaded)',
  S: 'bytes string',
  a: 'bytes string',
  U: 'unicode string',
  V: 'void/raw (an ml_dtypes bfloat16 saved by numpy looks like this)',
  M: 'datetime64',
  m: 'timedelta64',
};

function descrToDType(descr: Py, fail: Fail, where: string): { dtype: DType; bigEndian: boolean } {
  if (descr.t === 'list') {
    const f = descr.v[0];
    if (
      descr.v.length === 1 &&
      f?.t === 'tuple' &&
      f.v.length === 2 &&
      f.v[0]!.t === 'str' &&
      f.v[0]!.v === 'bfloat16' &&
      f.v[1]!.t === 'str'
    ) {
      const inner = f.v[1]!.v;
      if (inner === '<u2' || inner === '=u2') return { dtype: 'bfloat16', bigEndian: false };
      if (inner === '>u2') return { dtype: 'bfloat16', bigEndian: true };
    }
    fail(
      'UnsupportedDType',
      `${where}: structured dtype descr is not supported (only MXNet's bfloat16 [('bfloat16', '<u2')])`,
    );
  }
  if (descr.t !== 'str') return fail('Invalid', `${where}: descr is not a string`);
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)(\[.*\])?$/.exec(descr.v);
  if (!m) return fail('UnsupportedDType', `${where}: descr ${q(descr.v)} is not a dtype gluon-ps knows`);
  const [, order, kind, digits, unit] = m as unknown as [string, string, string, string, string | undefined];
  const key = `${kind}${digits}`;
  const table: Record<string, DType> = {
    f2: 'float16',
    f4: 'float32',
    f8: 'float64',
    i1: 'int8',
    u1: 'uint8',
    i4: 'int32',
    i8: 'int64',
  };
  const dtype = unit === undefined ? table[key] : undefined;
  if (dtype === undefined) {
    const named: Record<string, string> = {
      i2: 'int16',
      u2: 'uint16',
      u4: 'uint32',
      u8: 'uint64',
      b1: 'bool',
      f16: 'longdouble',
      f12: 'longdouble',
    };
    const what = named[key] ?? UNSUPPORTED_KIND[kind] ?? 'unknown';
    return fail(
      'UnsupportedDType',
      `${where}: dtype ${q(descr.v)} (${what}) is not supported; gluon-ps stores <f4 <f8 <f2 |i1 |u1 <i4 <i8 and bfloat16 as [('bfloat16', '<u2')]`,
    );
  }
  return { dtype, bigEndian: order === '>' };
}

// ---------------------------------------------------------------------------------------------
// Reader

function swapBytes(src: Uint8Array, size: number): Uint8Array {
  const out = allocBytes(src.byteLength);
  for (let i = 0; i < src.byteLength; i += size) for (let k = 0; k < size; k++) out[i + k] = src[i + size - 1 - k]!;
  return out;
}

/** Reorders Fortran-order (column-major) element bytes to C order. */
function fortranToC(src: Uint8Array, shape: readonly number[], size: number): Uint8Array {
  const rank = shape.length;
  const out = allocBytes(src.byteLength);
  const numel = src.byteLength / size;
  if (numel === 0) return out;
  const fstride: number[] = [];
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fstride.push(s);
    s *= shape[d]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < numel; c++) {
    out.set(src.subarray(f * size, f * size + size), c * size);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]! += 1;
      f += fstride[d]!;
      if (idx[d]! < shape[d]!) break;
      f -= fstride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Parses one `.npy` (a whole file, or an npz member): `where` prefixes every message.
 * The data must be exactly prod(shape) elements: no missing and no trailing bytes.
 */
export function parseNpy(
  bytes: Uint8Array,
  name: string,
  fail: Fail,
  tracker: LimitTracker,
  where: string,
  copy: boolean,
): NamedTensor {
  const r = new ByteReader(bytes, fail);
  const magic = r.take(6, `${where}magic`);
  if (Buffer.compare(magic, NPY_MAGIC) !== 0)
    fail('Invalid', `${where}magic is ${Buffer.from(magic).toString('hex')}, expected 934e554d5059 (\\x93NUMPY)`);
  const major = r.u8(`${where}major version`);
  const minor = r.u8(`${where}minor version`);
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    fail('Unsupported', `${where}format version ${major}.${minor} is not supported (1.0, 2.0 or 3.0)`);
  }
  const hlen = major === 1 ? r.u16(`${where}header length`) : r.u32(`${where}header length`);
  if (hlen > tracker.limits.maxNpyHeaderBytes) {
    fail('LimitExceeded', `${where}header of ${hlen} bytes is over the limit of ${tracker.limits.maxNpyHeaderBytes}`);
  }
  const raw = r.take(hlen, `${where}header`);
  const text = major === 3 ? decodeUtf8(raw) : Buffer.from(raw).toString('latin1');
  if (text === undefined) fail('Invalid', `${where}version 3.0 header is not valid UTF-8`);
  let dict: Py;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (e instanceof LiteralError) fail('Invalid', `${where}header is not a Python literal: ${e.message}`);
    throw e;
  }
  if (dict.t !== 'dict') return fail('Invalid', `${where}header is not a dict`);
  const keys = [...dict.v.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    fail('Invalid', `${where}header keys are ${JSON.stringify(keys)}, expected descr, fortran_order and shape`);
  }
  const shapeV = dict.v.get('shape')!;
  if (shapeV.t !== 'tuple' || shapeV.v.some((d) => d.t !== 'int'))
    fail('Invalid', `${where}shape is not a tuple of integers`);
  const dimsBig = (shapeV as { v: { v: bigint }[] }).v.map((d) => d.v);
  tracker.rank(dimsBig.length, `${where}shape`);
  for (const d of dimsBig) {
    if (d < 0n) fail('Invalid', `${where}shape ${fmtShape(dimsBig)} has a negative dimension`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) fail('LimitExceeded', `${where}dimension ${d} is too large`);
  }
  const shape = dimsBig.map(Number);
  const fo = dict.v.get('fortran_order')!;
  if (fo.t !== 'bool') return fail('Invalid', `${where}fortran_order is not True or False`);
  const { dtype, bigEndian } = descrToDType(dict.v.get('descr')!, fail, `${where}descr`);
  const size = DTYPE_SIZE[dtype];
  const nbytes = byteSizeOf(shape, size);
  if (nbytes === undefined) return fail('LimitExceeded', `${where}shape ${fmtShape(shape)} is too large`);
  tracker.bytes(nbytes, `${where}data`);
  if (r.remaining < nbytes)
    fail(
      'Truncated',
      `${where}data: expected ${nbytes} bytes (${dtype} ${fmtShape(shape)}) at offset ${r.pos}, found ${r.remaining}`,
    );
  if (r.remaining > nbytes)
    fail('TrailingData', `${where}${r.remaining - nbytes} unexpected bytes after the ${nbytes} data bytes`);
  let data = r.take(nbytes, `${where}data`);
  let owned = false;
  if (bigEndian && size > 1) {
    data = swapBytes(data, size);
    owned = true;
  }
  if (fo.v && shape.length > 1) {
    data = fortranToC(data, shape, size);
    owned = true;
  }
  if (!owned && copy) data = copyBytes(data);
  return { name, dtype, shape, data, stype: 'default' };
}

/** Reads a whole `.npy` file held in memory. */
export function decodeNpy(bytes: Uint8Array, options: NpyReadOptions = {}): NamedTensor {
  const fail: Fail = failer('npy', options.source ?? '<buffer>');
  const tracker = new LimitTracker(resolveLimits(options.limits), fail);
  tracker.tensor('array');
  return parseNpy(bytes, options.name ?? 'array', fail, tracker, '', options.copy ?? true);
}

// ---------------------------------------------------------------------------------------------
// Writer

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The `.npy` header numpy.save writes for a C-order array of `dtype` and `shape`. */
export function npyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  const descr = NPY_DESCR[dtype];
  const descrRepr = descr.startsWith('[') ? descr : `'${descr}'`;
  let dict = `{'descr': ${descrRepr}, 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const hlen = dict.length + 1;
  let prefix = 10;
  let pad = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
  let major = 1;
  if (hlen + pad > 0xffff) {
    major = 2;
    prefix = 12;
    pad = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
  }
  const b = new ByteBuilder().raw(NPY_MAGIC).u8(major).u8(0);
  if (major === 1) b.u16(hlen + pad);
  else b.u32(hlen + pad);
  return b.chunk(Buffer.from(`${dict}${' '.repeat(pad)}\n`, 'latin1')).bytes();
}

export function checkNpyTensor(t: NamedTensor, fail: Fail, options: NpyWriteOptions): void {
  checkTensorsForWrite([t], fail, resolveLimits(options.limits), {
    allowRowSparse: false,
    formatNote: '.npy holds dense arrays only; write .params for row_sparse',
  });
  if (t.dtype === 'bfloat16' && options.bfloat16 === 'reject') {
    fail(
      'UnsupportedDType',
      `tensor ${q(t.name)}: NumPy has no bfloat16 (write safetensors, or allow MXNet's [('bfloat16', '<u2')] descr)`,
    );
  }
}

/** The `.npy` file as chunks: the header, then the caller's data buffer (not copied). */
export function encodeNpyChunks(tensor: NamedTensor, options: NpyWriteOptions = {}): Uint8Array[] {
  checkNpyTensor(tensor, failer('npy', options.source ?? '<writer>'), options);
  return tensor.data.byteLength > 0
    ? [npyHeader(tensor.dtype, tensor.shape), tensor.data]
    : [npyHeader(tensor.dtype, tensor.shape)];
}

export function encodeNpy(tensor: NamedTensor, options: NpyWriteOptions = {}): Uint8Array {
  return concatChunks(encodeNpyChunks(tensor, options));
}
