// Tensors as the client sees them, and the conversions between what users pass (a Tensor, a
// bare typed array, nested number arrays) and the raw little-endian bytes the wire carries
// (protos/gluonps/v1/tensor.proto). Pure: no gRPC, so it is unit-tested on its own.
//
// Byte order: the wire is little-endian and typed arrays use the host's order, so bytes are
// viewed in place, never swapped. Every platform Node supports in practice (x86-64, arm64) is
// little-endian; on a big-endian host every conversion refuses with a clear error rather than
// silently scrambling values.
//
// Copies: sending views the caller's typed array (no copy); receiving views the assembled
// buffer (no copy) unless its offset is not a multiple of the element size, which typed arrays
// cannot view; only then are the bytes copied once into a fresh, aligned buffer.
import { status } from '@grpc/grpc-js';
import { GluonPsError, invalidArgument, show } from './errors';

import { DTYPES, dtypeSize, isDType, type DType } from '../common/dtype';
import { fmtShape } from '../common/shape';

export { DTYPES, dtypeSize, isDType } from '../common/dtype';
export type { DType } from '../common/dtype';

/** The typed array holding each dtype; float16 and bfloat16 travel as their raw uint16 bits. */
export interface ArrayTypes {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
}

/** Any array a tensor's data can be. */
export type TypedArray = ArrayTypes[DType];

/**
 * A dense tensor: row-major `data` of `shape` (empty shape = scalar, one element). The type
 * parameter narrows `data` when the dtype is known: `Tensor<'int64'>` has a BigInt64Array.
 */
export interface Tensor<D extends DType = DType> {
  shape: number[];
  dtype: D;
  data: ArrayTypes[D];
}

/** Nested arrays of numbers, e.g. [[1, 2], [3, 4]]; a bare number is a scalar. */
export type NestedNumbers = number | readonly NestedNumbers[];

/** Everything a method that takes a value (setData, constant) accepts. */
export type TensorInput = Tensor | TypedArray | NestedNumbers;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(): void {
  if (!HOST_LITTLE_ENDIAN) {
    throw new GluonPsError(
      status.UNIMPLEMENTED,
      'gluon-ps client: this host is big-endian; tensors travel as little-endian bytes and byte swapping is not implemented',
    );
  }
}

/** Element count of a shape (1 for a scalar); assumes validated dims. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The dtype a typed array stands for, or a message why it stands for none. */
function dtypeOfArray(data: ArrayBufferView): DType | string {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8'; // Buffer included
  if (data instanceof Uint16Array) {
    return (
      'a Uint16Array holds float16 or bfloat16 bits and the client cannot tell which; ' +
      "pass a Tensor { shape, dtype: 'float16' | 'bfloat16', data }"
    );
  }
  return (
    `${data.constructor.name} has no gluon-ps dtype; use Float32Array, Float64Array, Int32Array, ` +
    'BigInt64Array, Int8Array, Uint8Array, or a Tensor with Uint16Array bits for float16/bfloat16'
  );
}

/** Which array type a dtype's data must be, for messages. */
function arrayNameFor(dtype: DType): string {
  switch (dtype) {
    case 'float32':
      return 'Float32Array';
    case 'float64':
      return 'Float64Array';
    case 'float16':
    case 'bfloat16':
      return 'Uint16Array';
    case 'int8':
      return 'Int8Array';
    case 'uint8':
      return 'Uint8Array';
    case 'int32':
      return 'Int32Array';
    case 'int64':
      return 'BigInt64Array';
  }
}

function matchesDType(data: ArrayBufferView, dtype: DType): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float64':
      return data instanceof Float64Array;
    case 'float16':
    case 'bfloat16':
      return data instanceof Uint16Array;
    case 'int8':
      return data instanceof Int8Array;
    case 'uint8':
      return data instanceof Uint8Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'int64':
      return data instanceof BigInt64Array;
  }
}

function isTypedArray(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (isTypedArray(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 32))}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Checks a shape of known dims (a tensor's, not a declared one with unknown dims). */
export function checkTensorShape(who: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw invalidArgument(`${who}: tensor shape must be an array of integers >= 0, got ${show(shape)}`);
  }
  return [...(shape as number[])];
}

export interface ToTensorOptions {
  /** Subject of error messages, e.g. "parameter 'w': value". */
  who: string;
  /** dtype given to nested number arrays (a Tensor or typed array keeps its own). */
  nestedDType: 'float32' | 'float64';
}

/**
 * Normalizes a user value into a validated Tensor. A Tensor keeps its dtype (its data must be
 * the matching typed array with exactly prod(shape) elements); a bare typed array is 1-D with
 * the dtype of its type (Uint16Array is ambiguous and refused); nested numbers become
 * `nestedDType` with their shape inferred (ragged arrays are refused naming the path).
 * Errors are INVALID_ARGUMENT GluonPsErrors; the data is not copied except for nested arrays.
 */
export function toTensor(value: TensorInput, options: ToTensorOptions): Tensor {
  const { who } = options;
  if (typeof value === 'number' || Array.isArray(value))
    return fromNested(value as NestedNumbers, options.nestedDType, who);
  if (isTypedArray(value)) {
    const dtype = dtypeOfArray(value);
    if (!isDType(dtype)) throw invalidArgument(`${who}: ${dtype}`);
    return { shape: [(value as TypedArray).length], dtype, data: value as TypedArray };
  }
  if (typeof value !== 'object' || value === null || !('data' in value) || !('dtype' in value) || !('shape' in value)) {
    throw invalidArgument(
      `${who}: expected a Tensor { shape, dtype, data }, a typed array or nested number arrays, got ${describeValue(value)}`,
    );
  }
  const t = value as { shape: unknown; dtype: unknown; data: unknown };
  if (!isDType(t.dtype)) {
    throw invalidArgument(`${who}: unknown dtype ${show(t.dtype)}, expected one of ${DTYPES.join(', ')}`);
  }
  const shape = checkTensorShape(who, t.shape);
  if (!isTypedArray(t.data) || !matchesDType(t.data, t.dtype)) {
    throw invalidArgument(
      `${who}: a ${t.dtype} tensor needs its data in a ${arrayNameFor(t.dtype)}, got ${describeValue(t.data)}`,
    );
  }
  const data = t.data as TypedArray;
  const expected = shapeSize(shape);
  if (data.length !== expected) {
    throw invalidArgument(`${who}: shape ${fmtShape(shape)} needs ${expected} elements, got ${data.length}`);
  }
  return { shape, dtype: t.dtype, data };
}

/** Infers the shape of nested arrays and flattens them row-major into a new typed array. */
export function fromNested(value: NestedNumbers, dtype: 'float32' | 'float64', who = 'value'): Tensor {
  const shape: number[] = [];
  // The first element at each depth fixes the shape; fill() then checks every other element.
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const data = dtype === 'float32' ? new Float32Array(shapeSize(shape)) : new Float64Array(shapeSize(shape));
  let offset = 0;
  const fill = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') {
        throw invalidArgument(
          `${who}: expected a number at ${path}, got ${describeValue(v)} (nested arrays must be rectangular)`,
        );
      }
      data[offset++] = v;
      return;
    }
    const n = shape[depth]!;
    if (!Array.isArray(v) || v.length !== n) {
      throw invalidArgument(
        `${who}: expected an array of ${n} at ${path}, got ${describeValue(v)} ` +
          `(ragged nested array; the first elements give shape ${fmtShape(shape)})`,
      );
    }
    for (let i = 0; i < n; i++) fill(v[i], depth + 1, `${path}[${i}]`);
  };
  fill(value, 0, 'value');
  return { shape, dtype, data };
}

/** The tensor's bytes as they go on the wire: a view of its data, no copy. */
export function tensorBytes(tensor: Tensor): Uint8Array {
  requireLittleEndian();
  const d = tensor.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** A typed array of `dtype` over `length` elements of `buffer` from `byteOffset` (aligned). */
function view(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    case 'float64':
      return new Float64Array(buffer, byteOffset, length);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'int8':
      return new Int8Array(buffer, byteOffset, length);
    case 'uint8':
      return new Uint8Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, length);
  }
}

/**
 * Wraps received bytes as a Tensor. The data views `bytes` in place when its offset is a
 * multiple of the element size, else it views one aligned copy. A byte count that does not
 * match shape x dtype means a broken peer: INTERNAL.
 */
export function tensorFromBytes(shape: readonly number[], dtype: DType, bytes: Uint8Array): Tensor {
  requireLittleEndian();
  const size = dtypeSize(dtype);
  const length = shapeSize(shape);
  if (bytes.byteLength !== length * size) {
    throw new GluonPsError(
      status.INTERNAL,
      `received ${bytes.byteLength} bytes for a ${dtype} tensor of shape ${fmtShape(shape)}, expected ${length * size}`,
    );
  }
  let source = bytes;
  if (bytes.byteOffset % size !== 0) {
    source = new Uint8Array(bytes.byteLength);
    source.set(bytes);
  }
  return { shape: [...shape], dtype, data: view(dtype, source.buffer, source.byteOffset, length) };
}
