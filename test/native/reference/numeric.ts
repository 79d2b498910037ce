// numeric.ts: a plain TypeScript reference for element conversions (float16/bfloat16 rounding,
// float-to-int casts), written from the IEEE definitions independently of the C++ bit tricks.
import type { DType } from '../../../native/index';

function floorLog2(x: number): number {
  let e = Math.floor(Math.log2(x));
  while (2 ** e > x) e--;
  while (2 ** (e + 1) <= x) e++;
  return e;
}

/** Rounds |x| to a multiple of 2^(e - mantBits) with ties to even; returns the rounded value. */
function roundToFormat(x: number, mantBits: number, minExp: number, maxFinite: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const e = Math.max(floorLog2(a), minExp);
  const quantum = 2 ** (e - mantBits);
  const q = a / quantum; // exact: dividing by a power of two
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const rounded = r * quantum;
  if (rounded > maxFinite) return sign * Infinity;
  return sign * rounded;
}

export function roundHalf(x: number): number {
  return roundToFormat(x, 10, -14, 65504);
}
export function roundBf16(x: number): number {
  return roundToFormat(x, 7, -126, (2 - 2 ** -7) * 2 ** 127);
}

export function halfFromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
export function bf16FromBits(b: number): number {
  const f = new Float32Array(new Uint32Array([b << 16]).buffer);
  return f[0]!;
}
/** Bits of an already representable half value. */
export function halfToBits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = floorLog2(a);
  const mant = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | mant;
}
export function bf16ToBits(v: number): number {
  if (Number.isNaN(v)) return 0x7fc0;
  const u = new Uint32Array(new Float32Array([v]).buffer);
  return u[0]! >>> 16;
}

const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
};

/** The value an element takes when a double `x` is stored in `dtype` (the kernels' cast rule). */
export function storeAs(dtype: DType, x: number): number | bigint {
  switch (dtype) {
    case 'float64':
      return x;
    case 'float32':
      return Math.fround(x);
    case 'float16':
      return roundHalf(x);
    case 'bfloat16':
      return roundBf16(x);
    case 'int64': {
      if (Number.isNaN(x)) return 0n;
      if (x <= -(2 ** 63)) return -(2n ** 63n);
      if (x >= 2 ** 63) return 2n ** 63n - 1n;
      return BigInt(Math.trunc(x));
    }
    default: {
      const [lo, hi] = INT_RANGE[dtype]!;
      if (Number.isNaN(x)) return 0;
      return Math.min(hi, Math.max(lo, Math.trunc(x))) + 0; // + 0: integers have no -0
    }
  }
}

/** Typed-array view class per dtype (16-bit floats as raw Uint16 bits). */
export function viewOf(dtype: DType, bytes: Uint8Array): ArrayLike<number | bigint> & { [i: number]: number | bigint } {
  const b = bytes.buffer,
    o = bytes.byteOffset,
    n = bytes.byteLength;
  switch (dtype) {
    case 'float32':
      return new Float32Array(b, o, n / 4);
    case 'float64':
      return new Float64Array(b, o, n / 8);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(b, o, n / 2);
    case 'int8':
      return new Int8Array(b, o, n);
    case 'uint8':
      return new Uint8Array(b, o, n);
    case 'int32':
      return new Int32Array(b, o, n / 4);
    case 'int64':
      return new BigInt64Array(b, o, n / 8);
  }
}

/** Reads element i as a JS number (decoding 16-bit floats). */
export function readElement(dtype: DType, bytes: Uint8Array, i: number): number {
  const v = viewOf(dtype, bytes)[i]!;
  if (dtype === 'float16') return halfFromBits(Number(v));
  if (dtype === 'bfloat16') return bf16FromBits(Number(v));
  return Number(v);
}

/** Encodes numbers (already representable in dtype) into little-endian bytes. */
export function encode(dtype: DType, values: readonly number[]): Uint8Array {
  const size = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int32: 4, int64: 8 }[dtype];
  const out = new Uint8Array(values.length * size);
  const view = viewOf(dtype, out);
  values.forEach((v, i) => {
    if (dtype === 'float16') view[i] = halfToBits(v);
    else if (dtype === 'bfloat16') view[i] = bf16ToBits(v);
    else if (dtype === 'int64') view[i] = BigInt(Math.trunc(v));
    else view[i] = v;
  });
  return out;
}
