// bytes.ts: the byte-level helpers the format modules share: a bounds-checked cursor over an
// input (every read states what it reads, so a short input becomes a precise FormatError),
// the one place data-sized buffers are allocated (so tests can prove a hostile length never
// reaches an allocation), strict UTF-8, shape arithmetic with overflow checks, validation of
// the tensors handed to a writer, and a chunked positional file writer.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { FormatLimits } from './limits';
import type { DType, Fail, NamedTensor } from './types';
import { DTYPE_SIZE, fmtShape, isDType, q } from './types';

// ---------------------------------------------------------------------------------------------
// Allocation accounting

/** The largest data-sized allocation made by a reader since the last reset (tests read it). */
export const allocationStats = { largest: 0, count: 0 };

export function resetAllocationStats(): void {
  allocationStats.largest = 0;
  allocationStats.count = 0;
}

function note(n: number): void {
  allocationStats.count += 1;
  if (n > allocationStats.largest) allocationStats.largest = n;
}

/** An unpooled, uninitialised Buffer of n bytes; the caller fills all of it or throws. */
export function allocBytes(n: number): Buffer {
  note(n);
  return Buffer.allocUnsafeSlow(n);
}

/** A fresh copy of `src` (its own ArrayBuffer, offset 0, so typed-array views are aligned). */
export function copyBytes(src: Uint8Array): Uint8Array {
  note(src.byteLength);
  const out = new Uint8Array(src.byteLength);
  out.set(src);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cursor

export class ByteReader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly fail: Fail,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** Fails with 'Truncated' unless n more bytes are there. `n` may be a bigint or huge. */
  need(n: number | bigint, what: string): void {
    if (BigInt(n) > BigInt(this.remaining)) {
      this.fail('Truncated', `${what}: expected ${n} bytes at offset ${this.pos}, found ${this.remaining}`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  take(n: number | bigint, what: string): Uint8Array {
    this.need(n, what);
    const len = Number(n);
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

export function u32At(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16)) >>> 0) + bytes[pos + 3]! * 0x1000000;
}

// ---------------------------------------------------------------------------------------------
// Little-endian builders

export class ByteBuilder {
  private parts: number[] = [];
  private big: Uint8Array[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  i32(v: number): this {
    return this.u32(v >>> 0);
  }
  u64(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++) {
      this.parts.push(Number(x & 0xffn));
      x >>= 8n;
    }
    return this;
  }
  i64(v: number | bigint): this {
    return this.u64(BigInt.asUintN(64, BigInt(v)));
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  /** Ends the current small part; `bytes` becomes its own chunk (not copied). */
  chunk(bytes: Uint8Array): this {
    this.flush();
    if (bytes.byteLength > 0) this.big.push(bytes);
    return this;
  }
  private flush(): void {
    if (this.parts.length > 0) this.big.push(Uint8Array.from(this.parts));
    this.parts = [];
  }
  chunks(): Uint8Array[] {
    this.flush();
    return this.big;
  }
  bytes(): Uint8Array {
    return concatChunks(this.chunks());
  }
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Strict UTF-8 decode; undefined for invalid input. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-8 bytes of a well-formed string; undefined for lone surrogates (not encodable). */
export function encodeUtf8(s: string): Uint8Array | undefined {
  if (LONE_SURROGATE.test(s)) return undefined;
  return utf8Encoder.encode(s);
}

/** Byte-wise order of the UTF-8 encodings (Rust's `String` order). */
export function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** prod(dims) for non-negative safe integers, or undefined when it is not a safe integer. */
export function numelOf(dims: readonly number[]): number | undefined {
  let n = 1;
  for (const d of dims) if (d === 0) return 0;
  for (const d of dims) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** prod(dims) * size as a safe integer, or undefined on overflow past 2^53. */
export function byteSizeOf(dims: readonly number[], elemSize: number): number | undefined {
  const n = numelOf(dims);
  if (n === undefined) return undefined;
  const b = n * elemSize;
  return Number.isSafeInteger(b) ? b : undefined;
}

// ---------------------------------------------------------------------------------------------
// Writer-side validation

export interface CheckedTensor {
  tensor: NamedTensor;
  nameBytes: Uint8Array;
  elemSize: number;
  /** Bytes `data` must have (dense: prod(shape); row_sparse: rows * row bytes). */
  dataBytes: number;
}

/**
 * Validates what a writer was handed: name (well-formed, within the limit, unique), dtype,
 * shape (safe non-negative integers, rank within the limit), data length, and for row_sparse
 * the indices (rank >= 1, strictly increasing, in range). Fails with the tensor's name.
 */
export function checkTensorsForWrite(
  tensors: readonly NamedTensor[],
  fail: Fail,
  limits: FormatLimits,
  opts: { allowRowSparse: boolean; formatNote?: string; skipData?: boolean },
): CheckedTensor[] {
  if (!Array.isArray(tensors)) fail('Invalid', 'expected an array of tensors');
  if (tensors.length > limits.maxTensors) {
    fail('LimitExceeded', `${tensors.length} tensors are more than the limit of ${limits.maxTensors}`);
  }
  const seen = new Set<string>();
  const out: CheckedTensor[] = [];
  tensors.forEach((t, i) => {
    const where = `tensor ${i}${typeof t?.name === 'string' ? ` (${q(t.name)})` : ''}`;
    if (typeof t !== 'object' || t === null) fail('Invalid', `${where}: not a tensor object`);
    if (typeof t.name !== 'string') fail('Invalid', `${where}: name must be a string`);
    const nameBytes = encodeUtf8(t.name);
    if (nameBytes === undefined) fail('Invalid', `${where}: name is not well-formed Unicode (lone surrogate)`);
    if (nameBytes.byteLength > limits.maxNameBytes) {
      fail(
        'LimitExceeded',
        `${where}: name of ${nameBytes.byteLength} bytes is over the limit of ${limits.maxNameBytes}`,
      );
    }
    if (seen.has(t.name)) fail('Duplicate', `${where}: the name appears twice`);
    seen.add(t.name);
    if (!isDType(t.dtype)) fail('UnsupportedDType', `${where}: unknown dtype ${String(t.dtype)}`);
    if (!Array.isArray(t.shape)) fail('Invalid', `${where}: shape must be an array`);
    if (t.shape.length > limits.maxRank) {
      fail('LimitExceeded', `${where}: rank ${t.shape.length} is over the limit of ${limits.maxRank}`);
    }
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0)
        fail('Invalid', `${where}: shape ${fmtShape(t.shape)} has an invalid dimension ${String(d)}`);
    }
    if (!opts.skipData && !(t.data instanceof Uint8Array)) fail('Invalid', `${where}: data must be a Uint8Array`);
    const elemSize = DTYPE_SIZE[t.dtype as DType];
    let dataBytes: number | undefined;
    if (t.stype === 'row_sparse') {
      if (!opts.allowRowSparse) {
        fail(
          'Unsupported',
          `${where}: row_sparse tensors cannot be written${opts.formatNote ? ` (${opts.formatNote})` : ''}`,
        );
      }
      if (t.shape.length < 1) fail('Invalid', `${where}: a row_sparse tensor needs rank >= 1, got shape []`);
      if (!(t.indices instanceof BigInt64Array))
        fail('Invalid', `${where}: a row_sparse tensor needs indices (BigInt64Array)`);
      const rows = t.shape[0]!;
      let prev = -1n;
      for (let k = 0; k < t.indices.length; k++) {
        const r = t.indices[k]!;
        if (r <= prev || r >= BigInt(rows)) {
          fail('Invalid', `${where}: row id ${r} at position ${k} is not strictly increasing within [0, ${rows})`);
        }
        prev = r;
      }
      const rowBytes = byteSizeOf(t.shape.slice(1), elemSize);
      dataBytes = rowBytes === undefined ? undefined : t.indices.length * rowBytes;
    } else if (t.stype === 'default' || t.stype === undefined) {
      if (t.indices !== undefined) fail('Invalid', `${where}: a dense tensor must not have indices`);
      dataBytes = byteSizeOf(t.shape, elemSize);
    } else {
      fail('Invalid', `${where}: unknown storage type ${String(t.stype)}`);
    }
    if (dataBytes === undefined || !Number.isSafeInteger(dataBytes)) {
      fail('LimitExceeded', `${where}: shape ${fmtShape(t.shape)} is too large`);
    }
    if (!opts.skipData && t.data.byteLength !== dataBytes) {
      fail(
        'Invalid',
        `${where}: data has ${t.data.byteLength} bytes, expected ${dataBytes} (${t.dtype} ${fmtShape(t.shape)}${t.stype === 'row_sparse' ? `, ${t.indices!.length} rows` : ''})`,
      );
    }
    out.push({ tensor: t, nameBytes, elemSize, dataBytes });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files

const STAGE_BYTES = 1 << 20;
const MAX_IO_BYTES = 1 << 30;

/** Writes all of `buf` at `position`, looping over short writes and the 2 GiB per-call cap. */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < buf.byteLength) {
    const n = Math.min(buf.byteLength - off, MAX_IO_BYTES);
    const { bytesWritten } = await fh.write(buf, off, n, position + off);
    if (bytesWritten <= 0) throw new Error(`short write at offset ${position + off}`);
    off += bytesWritten;
  }
}

/**
 * Reads exactly `length` bytes at `position` into `target` from `targetOffset`; returns the
 * number of bytes read, less than `length` only if the file ended first.
 */
export async function readFully(
  fh: FileHandle,
  target: Uint8Array,
  targetOffset: number,
  length: number,
  position: number,
): Promise<number> {
  let off = 0;
  while (off < length) {
    const n = Math.min(length - off, MAX_IO_BYTES);
    const { bytesRead } = await fh.read(target, targetOffset + off, n, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

export interface WriteFileOptions {
  /** fsync the file before closing it (default false; atomic rename is the caller's job). */
  fsync?: boolean;
  /** File mode for a new file (default 0o644). */
  mode?: number;
}

/**
 * Writes `chunks` back to back to a new file (truncating any old one) with positional writes:
 * big chunks go straight from the caller's buffers, small ones are staged in 1 MiB so a
 * file of many small records is not one syscall per record. Nothing is concatenated.
 */
export async function writeChunksToFile(
  path: string,
  chunks: Iterable<Uint8Array>,
  options: WriteFileOptions = {},
): Promise<number> {
  const fh = await open(path, 'w', options.mode ?? 0o644);
  try {
    let pos = 0;
    let stage: Buffer | undefined;
    let used = 0;
    const flush = async (): Promise<void> => {
      if (used > 0 && stage) {
        await writeFully(fh, stage.subarray(0, used), pos);
        pos += used;
        used = 0;
      }
    };
    for (const c of chunks) {
      if (c.byteLength >= STAGE_BYTES / 2) {
        await flush();
        await writeFully(fh, c, pos);
        pos += c.byteLength;
      } else {
        if (used + c.byteLength > STAGE_BYTES) await flush();
        stage ??= Buffer.allocUnsafeSlow(STAGE_BYTES);
        stage.set(c, used);
        used += c.byteLength;
      }
    }
    await flush();
    if (options.fsync) await fh.sync();
    return pos;
  } finally {
    await fh.close();
  }
}
