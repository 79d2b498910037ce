// index.ts: the entry point of the tensor-file formats: format detection from content,
// readTensorFile / writeTensorFile for whole files, and in-memory decode/encode by format.
// The modules below it (params, safetensors, npy, npz) expose the format-specific APIs,
// including the streaming safetensors reader and writer for big checkpoints.
import { basename } from 'node:path';
import { open } from 'node:fs/promises';
import { allocBytes, concatChunks, readFully, writeChunksToFile } from './bytes';
import type { WriteFileOptions } from './bytes';
import type { FormatLimits } from './limits';
import { resolveLimits, SAFETENSORS_MAX_HEADER_BYTES } from './limits';
import { decodeNpy, encodeNpyChunks, NPY_MAGIC } from './npy';
import type { NpyWriteOptions } from './npy';
import { decodeNpz, encodeNpzChunks } from './npz';
import { decodeParams, encodeParamsChunks, PARAMS_LIST_MAGIC } from './params';
import type { ParamsReadOptions, ParamsWriteOptions } from './params';
import { decodeSafetensors, encodeSafetensorsChunks } from './safetensors';
import { openSafetensors } from './safetensors-file';
import type { NamedTensor, TensorFormat } from './types';
import { FormatError, failer } from './types';

export * from './types';
export { DEFAULT_LIMITS, MAX_BUFFER_BYTES, resolveLimits } from './limits';
export type { FormatLimits } from './limits';
export { allocationStats, resetAllocationStats, writeChunksToFile } from './bytes';
export type { WriteFileOptions } from './bytes';
export * from './params';
export * from './safetensors';
export * from './safetensors-file';
export { decodeNpy, encodeNpy, encodeNpyChunks, npyHeader, NPY_DESCR } from './npy';
export type { NpyReadOptions, NpyWriteOptions } from './npy';
export * from './npz';
export { ZIP64_LIMIT } from './zip';

export const TENSOR_FORMATS: readonly TensorFormat[] = ['params', 'safetensors', 'npy', 'npz'];

const HEAD_BYTES = 16;

function detectFromHead(head: Uint8Array, size: number, source: string): TensorFormat {
  const starts = (sig: readonly number[]): boolean => sig.every((b, i) => head[i] === b);
  if (starts([...NPY_MAGIC])) return 'npy';
  // Local file header, or the end record of an empty archive.
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) return 'npz';
  if (head.byteLength >= 16) {
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const first = dv.getBigUint64(0, true);
    if (first === BigInt(PARAMS_LIST_MAGIC) && dv.getBigUint64(8, true) === 0n) return 'params';
  }
  if (head.byteLength >= 9) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    if (head[8] === 0x7b && n <= BigInt(SAFETENSORS_MAX_HEADER_BYTES) && 8n + n <= BigInt(size)) return 'safetensors';
  }
  const hex = Buffer.from(head.subarray(0, HEAD_BYTES)).toString('hex');
  return failer('unknown', source)(
    'Invalid',
    `not a recognised tensor file: the first bytes ${hex || '(none)'} match none of MXNet .params (u64 0x112, 0), safetensors (u64 header size, '{'), .npy (\\x93NUMPY) or .npz (PK zip)`,
  );
}

/** The format of a file's content (not its extension); a FormatError if none matches. */
export function detectFormat(bytes: Uint8Array): TensorFormat;
export function detectFormat(path: string): Promise<TensorFormat>;
export function detectFormat(input: Uint8Array | string): TensorFormat | Promise<TensorFormat> {
  if (typeof input !== 'string') return detectFromHead(input.subarray(0, HEAD_BYTES), input.byteLength, '<buffer>');
  return (async () => {
    const fh = await open(input, 'r');
    try {
      const { size } = await fh.stat();
      const head = new Uint8Array(Math.min(HEAD_BYTES, size));
      const got = await readFully(fh, head, 0, head.byteLength, 0);
      return detectFromHead(head.subarray(0, got), size, input);
    } finally {
      await fh.close();
    }
  })();
}

export interface ReadOptions {
  limits?: Partial<FormatLimits>;
  /** Copy tensor bytes out of the file buffer (default true); false returns views into it. */
  copy?: boolean;
  /** .params: see ParamsReadOptions. */
  unnamed?: ParamsReadOptions['unnamed'];
  stripPrefixes?: boolean;
  skipNone?: boolean;
  /** .npy: the tensor's name (default: the file name without `.npy`). */
  name?: string;
}

/** Decodes in-memory bytes of a given (or detected) format. */
export function decodeTensors(
  bytes: Uint8Array,
  format?: TensorFormat,
  options: ReadOptions & { source?: string } = {},
): NamedTensor[] {
  const fmt = format ?? detectFormat(bytes);
  const common = { limits: options.limits, source: options.source, copy: options.copy };
  switch (fmt) {
    case 'params':
      return decodeParams(bytes, {
        ...common,
        unnamed: options.unnamed,
        stripPrefixes: options.stripPrefixes,
        skipNone: options.skipNone,
      });
    case 'safetensors':
      return decodeSafetensors(bytes, common).tensors;
    case 'npy':
      return [decodeNpy(bytes, { ...common, name: options.name })];
    case 'npz':
      return decodeNpz(bytes, common);
    default:
      throw new RangeError(`unknown tensor format ${String(fmt)}`);
  }
}

/** The whole file in a fresh buffer, after checking its size against maxFileBytes. */
async function readWholeFile(path: string, format: TensorFormat, maxFileBytes: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > maxFileBytes) {
      throw new FormatError(
        format,
        path,
        'LimitExceeded',
        `the file has ${size} bytes, over the limit of ${maxFileBytes} for formats read whole (use safetensors for bigger data)`,
      );
    }
    const buf = allocBytes(size);
    const got = await readFully(fh, buf, 0, size, 0);
    if (got !== size)
      throw new FormatError(format, path, 'Truncated', `the file shrank while being read (${got} of ${size} bytes)`);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * Reads every tensor of a file. safetensors is read header first, then tensor by tensor;
 * the other formats are read whole (within limits.maxFileBytes) and parsed in memory.
 * I/O errors (ENOENT…) are thrown as they are; content problems are FormatErrors.
 */
export async function readTensorFile(
  path: string,
  format?: TensorFormat,
  options: ReadOptions = {},
): Promise<NamedTensor[]> {
  const fmt = format ?? (await detectFormat(path));
  if (fmt === 'safetensors') {
    const file = await openSafetensors(path, { limits: options.limits });
    try {
      const out: NamedTensor[] = [];
      for (const t of file.tensors) out.push(await file.readTensor(t.name));
      return out;
    } finally {
      await file.close();
    }
  }
  const limits = resolveLimits(options.limits);
  const bytes = await readWholeFile(path, fmt, limits.maxFileBytes);
  const name = options.name ?? basename(path).replace(/\.npy$/i, '');
  // The buffer is ours: views into it are safe unless the caller wants copies.
  return decodeTensors(bytes, fmt, { ...options, name, source: path });
}

export interface WriteOptions extends WriteFileOptions {
  limits?: Partial<FormatLimits>;
  /** .params: V3 records (numpy-shape mode); see ParamsWriteOptions. */
  numpyShape?: boolean;
  unnamed?: boolean;
  context?: ParamsWriteOptions['context'];
  /** safetensors: the `__metadata__` map. */
  metadata?: Record<string, string> | null;
  /** .npy/.npz: bfloat16 policy (default 'mxnet'). */
  bfloat16?: NpyWriteOptions['bfloat16'];
}

/** The file's bytes as chunks (headers plus the callers' buffers, nothing concatenated). */
export function encodeTensorChunks(
  format: TensorFormat,
  tensors: readonly NamedTensor[],
  options: WriteOptions & { source?: string } = {},
): Uint8Array[] {
  const source = options.source ?? '<writer>';
  switch (format) {
    case 'params':
      return encodeParamsChunks(tensors, {
        limits: options.limits,
        source,
        numpyShape: options.numpyShape,
        unnamed: options.unnamed,
        context: options.context,
      });
    case 'safetensors':
      return encodeSafetensorsChunks(tensors, { limits: options.limits, source, metadata: options.metadata });
    case 'npy':
      if (tensors.length !== 1)
        failer('npy', source)(
          'Invalid',
          `a .npy file holds exactly one array, got ${tensors.length} (write .npz for several)`,
        );
      return encodeNpyChunks(tensors[0]!, { limits: options.limits, source, bfloat16: options.bfloat16 });
    case 'npz':
      return encodeNpzChunks(tensors, { limits: options.limits, source, bfloat16: options.bfloat16 });
    default:
      throw new RangeError(`unknown tensor format ${String(format)}`);
  }
}

/** The whole file in one buffer (small data). */
export function encodeTensors(
  format: TensorFormat,
  tensors: readonly NamedTensor[],
  options: WriteOptions & { source?: string } = {},
): Uint8Array {
  return concatChunks(encodeTensorChunks(format, tensors, options));
}

/**
 * Writes `tensors` to `path` (created or truncated) in `format` with positional writes from
 * the callers' buffers. Not atomic: write to a temporary name and rename for that. Returns
 * the number of bytes written.
 */
export async function writeTensorFile(
  path: string,
  format: TensorFormat,
  tensors: readonly NamedTensor[],
  options: WriteOptions = {},
): Promise<number> {
  const chunks = encodeTensorChunks(format, tensors, { ...options, source: path });
  return writeChunksToFile(path, chunks, { fsync: options.fsync, mode: options.mode });
}
