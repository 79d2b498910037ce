// safetensors.ts: read and write safetensors (huggingface/safetensors), validating the header
// as the reference Rust reader does (`safetensors/src/tensor.rs`, `read_metadata` and
// `Metadata::validate`), with its error names as FormatError codes:
//   file < 8 bytes → HeaderTooSmall; u64 LE header size N > 100,000,000 → HeaderTooLarge;
//   8 + N past the end → InvalidHeaderLength; header not UTF-8 → InvalidHeader; not starting
//   with '{' → InvalidHeaderStart; not JSON of the expected shape (unknown dtype, shape not
//   u64s, data_offsets not two u64s, `__metadata__` not a str→str map) →
//   InvalidHeaderDeserialization; entries sorted by offsets must be contiguous from 0
//   (begin == previous end, end >= begin) → InvalidOffset; prod(shape) * dtype size overflows
//   u64 → ValidationOverflow; end - begin != that size → TensorInvalidInfo; the last end must
//   be exactly the data size (no holes, no overlaps, no trailing bytes) →
//   MetadataIncompleteBuffer. On top: duplicate keys (JSON.parse would hide them), the
//   FormatLimits, and the dtypes gluon-ps stores.
// Writers follow the reference `serialize`: entries sorted by dtype alignment (descending),
// then name; compact JSON with `__metadata__` first; header space-padded to 8 bytes.
// Files (openSafetensors, SafetensorsWriter) are in safetensors-file.ts.

import {
  ByteBuilder,
  checkTensorsForWrite,
  compareUtf8,
  concatChunks,
  copyBytes,
  decodeUtf8,
  encodeUtf8,
} from './bytes';
import type { JsonValue } from './json';
import { JsonObject, JsonSyntaxError, parseJson } from './json';
import type { FormatLimits } from './limits';
import { resolveLimits, SAFETENSORS_MAX_HEADER_BYTES } from './limits';
import type { DType, Fail, NamedTensor } from './types';
import { failer, fmtShape, q } from './types';

/**
 * Every dtype the reference knows, in its enum order (= alignment order), with its size in
 * bits; the eight gluon-ps stores map to a DType. Sub-byte ones (F4, F6_*) are validated
 * like the reference and then refused as unsupported.
 */
const ST_DTYPES: readonly { st: string; bits: number; dtype?: DType }[] = [
  { st: 'F4', bits: 4 },
  { st: 'F6_E2M3', bits: 6 },
  { st: 'F6_E3M2', bits: 6 },
  { st: 'BOOL', bits: 8 },
  { st: 'U8', bits: 8, dtype: 'uint8' },
  { st: 'I8', bits: 8, dtype: 'int8' },
  { st: 'F8_E5M2', bits: 8 },
  { st: 'F8_E4M3', bits: 8 },
  { st: 'F8_E8M0', bits: 8 },
  { st: 'I16', bits: 16 },
  { st: 'U16', bits: 16 },
  { st: 'F16', bits: 16, dtype: 'float16' },
  { st: 'BF16', bits: 16, dtype: 'bfloat16' },
  { st: 'I32', bits: 32, dtype: 'int32' },
  { st: 'U32', bits: 32 },
  { st: 'F32', bits: 32, dtype: 'float32' },
  { st: 'C64', bits: 64 },
  { st: 'F64', bits: 64, dtype: 'float64' },
  { st: 'I64', bits: 64, dtype: 'int64' },
  { st: 'U64', bits: 64 },
];
const ST_BY_NAME = new Map(ST_DTYPES.map((d, i) => [d.st, { ...d, order: i }]));
const ST_OF: Readonly<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int8: 'I8',
  uint8: 'U8',
  int32: 'I32',
  int64: 'I64',
};
const ORDER_OF = (dtype: DType): number => ST_BY_NAME.get(ST_OF[dtype])!.order;

const U64_MAX = (1n << 64n) - 1n;
const METADATA_KEY = '__metadata__';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** [begin, end) relative to the start of the data section, as in the header. */
  dataOffsets: [number, number];
  /** Absolute file offset of the first byte (8 + header size + begin). */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** In data-offset order (the order of the bytes in the file). */
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string> | null;
  /** N, the JSON header's size in bytes (padding included). */
  headerBytes: number;
  /** 8 + N: where the data section starts. */
  dataStart: number;
  /** The file size the header describes exactly. */
  fileSize: number;
}

export interface SafetensorsReadOptions {
  limits?: Partial<FormatLimits>;
  /** Names the input in error messages (default `<buffer>`, or the path for files). */
  source?: string;
  /** decodeSafetensors: copy each tensor's bytes (default true); false returns views. */
  copy?: boolean;
}

export interface SafetensorsWriteOptions {
  limits?: Partial<FormatLimits>;
  /** Names the output in error messages (default `<writer>`, or the path for files). */
  source?: string;
  /** The `__metadata__` string map (written with keys in UTF-8 byte order). */
  metadata?: Record<string, string> | null;
}

// ---------------------------------------------------------------------------------------------
// Header parsing (shared by the in-memory and the file reader)

/** Steps 1–3 of the reference: the u64 header size against the file size and the limit. */
export function headerSize(first8: Uint8Array, fileSize: number, fail: Fail, limits: FormatLimits): number {
  if (fileSize < 8 || first8.byteLength < 8) {
    fail('HeaderTooSmall', `the file has ${fileSize} bytes, fewer than the 8 of the header size`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const max = Math.min(limits.maxHeaderBytes, SAFETENSORS_MAX_HEADER_BYTES);
  if (n > BigInt(max)) fail('HeaderTooLarge', `header size ${n} is over the limit of ${max} bytes`);
  if (8n + n > BigInt(fileSize)) {
    fail(
      'InvalidHeaderLength',
      `header size ${n} runs past the end of the file (${fileSize} bytes, header ends at ${8n + n})`,
    );
  }
  return Number(n);
}

function deserializationError(fail: Fail, detail: string): never {
  return fail('InvalidHeaderDeserialization', `header JSON: ${detail}`);
}

function asU64(v: JsonValue | undefined, fail: Fail, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
    deserializationError(fail, `${what} must be an unsigned 64-bit integer, found ${describe(v)}`);
  }
  return v;
}

function describe(v: JsonValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return `the string ${q(v)}`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

interface RawInfo {
  name: string;
  st: string;
  bits: number;
  dtype?: DType;
  shape: bigint[];
  begin: bigint;
  end: bigint;
}

/** Steps 4–8 of the reference, then the gluon-ps checks (limits, stored dtypes). */
export function parseHeader(
  headerBytes: Uint8Array,
  n: number,
  fileSize: number,
  fail: Fail,
  limits: FormatLimits,
): SafetensorsHeader {
  const text = decodeUtf8(headerBytes);
  if (text === undefined) fail('InvalidHeader', 'the header is not valid UTF-8');
  if (!text.startsWith('{'))
    fail('InvalidHeaderStart', `the header must start with '{', found ${JSON.stringify(text.slice(0, 1))}`);
  let root: JsonValue;
  try {
    root = parseJson(text, {
      onTopLevelKey: (key, count) => {
        if (count > limits.maxTensors + 1)
          fail('LimitExceeded', `the header has more than the limit of ${limits.maxTensors} tensors`);
        const kb = Buffer.byteLength(key, 'utf8');
        if (key !== METADATA_KEY && kb > limits.maxNameBytes) {
          fail('LimitExceeded', `tensor name ${q(key)} of ${kb} bytes is over the limit of ${limits.maxNameBytes}`);
        }
      },
    });
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      if (e.message.startsWith('duplicate key')) fail('Duplicate', `header JSON: ${e.message}`);
      deserializationError(fail, e.message);
    }
    throw e;
  }
  if (!(root instanceof JsonObject)) deserializationError(fail, `expected an object, found ${describe(root)}`);
  let metadata: Record<string, string> | null = null;
  const infos: RawInfo[] = [];
  for (const [name, value] of root.entries) {
    if (name === METADATA_KEY) {
      if (value === null) continue;
      if (!(value instanceof JsonObject))
        deserializationError(fail, `__metadata__ must be a map of strings, found ${describe(value)}`);
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of value.entries) {
        if (typeof v !== 'string')
          deserializationError(fail, `__metadata__ ${q(k)} must be a string, found ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor ${q(name)}`;
    if (!(value instanceof JsonObject))
      deserializationError(fail, `${where} must be an object, found ${describe(value)}`);
    const dt = value.entries.get('dtype');
    if (typeof dt !== 'string') deserializationError(fail, `${where}: dtype must be a string, found ${describe(dt)}`);
    const info = ST_BY_NAME.get(dt);
    if (info === undefined) deserializationError(fail, `${where}: unknown dtype ${q(dt)}`);
    const shapeV = value.entries.get('shape');
    if (!Array.isArray(shapeV))
      deserializationError(fail, `${where}: shape must be an array, found ${describe(shapeV)}`);
    if (shapeV.length > limits.maxRank)
      fail('LimitExceeded', `${where}: rank ${shapeV.length} is over the limit of ${limits.maxRank}`);
    const shape = shapeV.map((d, k) => asU64(d, fail, `${where}: shape[${k}]`));
    const offV = value.entries.get('data_offsets');
    if (!Array.isArray(offV) || offV.length !== 2) {
      deserializationError(fail, `${where}: data_offsets must be an array of two integers, found ${describe(offV)}`);
    }
    const begin = asU64(offV[0], fail, `${where}: data_offsets[0]`);
    const end = asU64(offV[1], fail, `${where}: data_offsets[1]`);
    infos.push({ name, st: dt, bits: info.bits, dtype: info.dtype, shape, begin, end });
  }

  if (infos.length > limits.maxTensors)
    fail('LimitExceeded', `the header has ${infos.length} tensors, more than the limit of ${limits.maxTensors}`);

  // Metadata::validate: sorted by offsets, contiguous from 0, exact sizes, checked products.
  infos.sort((a, b) =>
    a.begin !== b.begin ? (a.begin < b.begin ? -1 : 1) : a.end < b.end ? -1 : a.end > b.end ? 1 : 0,
  );
  let start = 0n;
  for (const t of infos) {
    if (t.begin !== start || t.end < t.begin) {
      fail(
        'InvalidOffset',
        `tensor ${q(t.name)}: data_offsets [${t.begin}, ${t.end}] do not continue from the previous end ${start} (offsets must be contiguous, without holes or overlaps)`,
      );
    }
    start = t.end;
    let nel = 1n;
    for (const d of t.shape) {
      nel *= d;
      if (nel > U64_MAX)
        fail(
          'ValidationOverflow',
          `tensor ${q(t.name)}: the element count of shape ${fmtShape(t.shape)} overflows u64`,
        );
    }
    const nbits = nel * BigInt(t.bits);
    if (nbits > U64_MAX)
      fail('ValidationOverflow', `tensor ${q(t.name)}: the byte size of ${t.st} ${fmtShape(t.shape)} overflows u64`);
    if (nbits % 8n !== 0n)
      fail('TensorInvalidInfo', `tensor ${q(t.name)}: ${t.st} ${fmtShape(t.shape)} is not a whole number of bytes`);
    const nbytes = nbits / 8n;
    if (t.end - t.begin !== nbytes) {
      fail(
        'TensorInvalidInfo',
        `tensor ${q(t.name)}: data_offsets [${t.begin}, ${t.end}] span ${t.end - t.begin} bytes, expected ${nbytes} for ${t.st} ${fmtShape(t.shape)}`,
      );
    }
  }
  const dataStart = 8 + n;
  if (start + BigInt(dataStart) !== BigInt(fileSize)) {
    fail(
      'MetadataIncompleteBuffer',
      `the tensors cover ${start} data bytes but the file has ${fileSize - dataStart} after the header (${fileSize} in all)`,
    );
  }

  // gluon-ps checks. Offsets are now known to be within the file, so they are safe integers.
  const tensors: SafetensorsTensorInfo[] = [];
  let total = 0;
  for (const t of infos) {
    const where = `tensor ${q(t.name)}`;
    if (t.dtype === undefined) {
      fail(
        'UnsupportedDType',
        `${where}: dtype ${t.st} is not supported; gluon-ps stores F32, F64, F16, BF16, I8, U8, I32 and I64`,
      );
    }
    for (const d of t.shape) {
      if (d > BigInt(Number.MAX_SAFE_INTEGER)) fail('LimitExceeded', `${where}: dimension ${d} is too large`);
    }
    const byteLength = Number(t.end - t.begin);
    if (byteLength > limits.maxTensorBytes) {
      fail(
        'LimitExceeded',
        `${where}: ${byteLength} data bytes are over the per-tensor limit of ${limits.maxTensorBytes}`,
      );
    }
    total += byteLength;
    if (total > limits.maxTotalBytes)
      fail('LimitExceeded', `${where}: total data bytes ${total} are over the limit of ${limits.maxTotalBytes}`);
    tensors.push({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape.map(Number),
      dataOffsets: [Number(t.begin), Number(t.end)],
      byteOffset: dataStart + Number(t.begin),
      byteLength,
    });
  }
  return { tensors, metadata, headerBytes: n, dataStart, fileSize };
}

/** Parses and validates the header of a whole safetensors file held in memory. */
export function parseSafetensorsHeader(bytes: Uint8Array, options: SafetensorsReadOptions = {}): SafetensorsHeader {
  const fail: Fail = failer('safetensors', options.source ?? '<buffer>');
  const limits = resolveLimits(options.limits);
  const n = headerSize(bytes.subarray(0, 8), bytes.byteLength, fail, limits);
  return parseHeader(bytes.subarray(8, 8 + n), n, bytes.byteLength, fail, limits);
}

export interface SafetensorsContent {
  /** In file (data-offset) order. */
  tensors: NamedTensor[];
  metadata: Record<string, string> | null;
}

/** Reads a whole safetensors file held in memory. */
export function decodeSafetensors(bytes: Uint8Array, options: SafetensorsReadOptions = {}): SafetensorsContent {
  const header = parseSafetensorsHeader(bytes, options);
  const copy = options.copy ?? true;
  const tensors = header.tensors.map((t): NamedTensor => {
    const view = bytes.subarray(t.byteOffset, t.byteOffset + t.byteLength);
    return { name: t.name, dtype: t.dtype, shape: t.shape, data: copy ? copyBytes(view) : view, stype: 'default' };
  });
  return { tensors, metadata: header.metadata };
}

// ---------------------------------------------------------------------------------------------
// Writers

export interface SafetensorsTensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface SafetensorsLayout {
  /** The 8-byte size and the padded JSON header: the file's first `dataStart` bytes. */
  header: Uint8Array;
  dataStart: number;
  /** In file order (alignment-descending dtype, then name). */
  tensors: SafetensorsTensorInfo[];
  fileSize: number;
}

/**
 * The header bytes and the offset of every tensor for a file holding `specs`, so a caller
 * can write the file itself: `header` at 0, then each tensor's bytes at its `byteOffset`.
 */
export function safetensorsLayout(
  specs: readonly SafetensorsTensorSpec[],
  options: SafetensorsWriteOptions = {},
): SafetensorsLayout {
  const fail: Fail = failer('safetensors', options.source ?? '<writer>');
  const limits = resolveLimits(options.limits);
  const checked = checkTensorsForWrite(
    specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.shape, stype: 'default', data: new Uint8Array(0) })),
    fail,
    limits,
    { allowRowSparse: false, skipData: true },
  );
  const entries = checked.map((c, i) => {
    const spec = specs[i]!;
    if (spec.name === METADATA_KEY) fail('Invalid', `tensor name ${q(METADATA_KEY)} is reserved for the metadata map`);
    if (c.dataBytes > limits.maxTensorBytes) {
      fail(
        'LimitExceeded',
        `tensor ${q(spec.name)}: ${c.dataBytes} bytes are over the per-tensor limit of ${limits.maxTensorBytes}`,
      );
    }
    return { spec, nameBytes: c.nameBytes, size: c.dataBytes };
  });
  entries.sort((a, b) => ORDER_OF(b.spec.dtype) - ORDER_OF(a.spec.dtype) || compareUtf8(a.nameBytes, b.nameBytes));

  const parts: string[] = [];
  if (options.metadata != null) {
    const meta = options.metadata;
    if (typeof meta !== 'object') fail('Invalid', '__metadata__ must be an object of strings');
    const keys = Object.keys(meta).map((k) => {
      const kb = encodeUtf8(k);
      const v = meta[k];
      if (kb === undefined || typeof v !== 'string' || encodeUtf8(v) === undefined) {
        fail('Invalid', `__metadata__ ${q(k)}: keys and values must be well-formed strings`);
      }
      return { k, kb };
    });
    keys.sort((a, b) => compareUtf8(a.kb, b.kb));
    parts.push(
      `${JSON.stringify(METADATA_KEY)}:{${keys.map(({ k }) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`,
    );
  }
  let offset = 0;
  const placed: { e: (typeof entries)[number]; begin: number; end: number }[] = [];
  for (const e of entries) {
    const begin = offset;
    offset += e.size;
    if (!Number.isSafeInteger(offset)) fail('LimitExceeded', 'the tensors are too large together');
    placed.push({ e, begin, end: offset });
    parts.push(
      `${JSON.stringify(e.spec.name)}:{"dtype":"${ST_OF[e.spec.dtype]}","shape":[${e.spec.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  if (offset > limits.maxTotalBytes)
    fail('LimitExceeded', `total data bytes ${offset} are over the limit of ${limits.maxTotalBytes}`);
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  const n = json.byteLength + pad;
  if (n > SAFETENSORS_MAX_HEADER_BYTES)
    fail(
      'HeaderTooLarge',
      `the header would be ${n} bytes, over the reference limit of ${SAFETENSORS_MAX_HEADER_BYTES}`,
    );
  const header = new ByteBuilder().u64(n).chunk(json).chunk(Buffer.alloc(pad, 0x20)).bytes();
  const dataStart = 8 + n;
  return {
    header,
    dataStart,
    fileSize: dataStart + offset,
    tensors: placed.map(({ e, begin, end }) => ({
      name: e.spec.name,
      dtype: e.spec.dtype,
      shape: [...e.spec.shape],
      dataOffsets: [begin, end],
      byteOffset: dataStart + begin,
      byteLength: end - begin,
    })),
  };
}

/** The file as chunks: the header, then the callers' data buffers in file order (not copied). */
export function encodeSafetensorsChunks(
  tensors: readonly NamedTensor[],
  options: SafetensorsWriteOptions = {},
): Uint8Array[] {
  const fail: Fail = failer('safetensors', options.source ?? '<writer>');
  const limits = resolveLimits(options.limits);
  checkTensorsForWrite(tensors, fail, limits, {
    allowRowSparse: false,
    formatNote: 'safetensors holds dense tensors only; write .params for row_sparse',
  });
  const layout = safetensorsLayout(tensors, options);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return [layout.header, ...layout.tensors.map((t) => byName.get(t.name)!.data).filter((d) => d.byteLength > 0)];
}

/** The whole file in one buffer (for small data; see encodeSafetensorsChunks, writeSafetensorsFile). */
export function encodeSafetensors(tensors: readonly NamedTensor[], options: SafetensorsWriteOptions = {}): Uint8Array {
  return concatChunks(encodeSafetensorsChunks(tensors, options));
}
