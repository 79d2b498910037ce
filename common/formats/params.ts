// params.ts: MXNet's `.params` / `mx.nd.save` list format (MXNet src/ndarray/ndarray.cc NDArray::Save / Load; docs/formats.md).
// Reads V2 and V3 records, legacy V1 and pre-V1 records, dense and row_sparse, named and
// unnamed lists; writes V2 records (V3 in numpy-shape mode). Every count, rank, dimension and
// payload length is checked against the remaining input and the limits before it is used.
//
// Layout: u64 0x112 | u64 0 | u64 N | N records | u64 M (0 or N) | M × (u64 len, bytes).
// V2/V3 record: u32 magic | i32 stype | [sparse: storage TShape] | TShape | i32 dev_type |
// i32 dev_id | i32 type flag | [sparse: per aux: i32 type, TShape] | data | [sparse: aux data].
// TShape = i32 ndim + ndim × i64. V1: u32 magic | TShape | ctx | flag | data. Pre-V1: the
// first u32 is ndim, then ndim × u32 dims | ctx | flag | data.
import {
  ByteBuilder,
  ByteReader,
  byteSizeOf,
  checkTensorsForWrite,
  concatChunks,
  copyBytes,
  decodeUtf8,
} from './bytes';
import type { FormatLimits } from './limits';
import { LimitTracker, resolveLimits } from './limits';
import type { DType, Fail, NamedTensor, TensorContext } from './types';
import { failer, fmtShape, q } from './types';
import { DTYPE_INFO } from '../dtype';

export const PARAMS_LIST_MAGIC = 0x112;
export const NDARRAY_V1_MAGIC = 0xf993fac8;
export const NDARRAY_V2_MAGIC = 0xf993fac9;
export const NDARRAY_V3_MAGIC = 0xf993faca;

/** mshadow type flags: the ones gluon-ps stores map to a DType, the rest only have a name. */
const TYPE_FLAGS: readonly { name: string; dtype?: DType; size: number }[] = [
  { name: 'float32', dtype: 'float32', size: 4 },
  { name: 'float64', dtype: 'float64', size: 8 },
  { name: 'float16', dtype: 'float16', size: 2 },
  { name: 'uint8', dtype: 'uint8', size: 1 },
  { name: 'int32', dtype: 'int32', size: 4 },
  { name: 'int8', dtype: 'int8', size: 1 },
  { name: 'int64', dtype: 'int64', size: 8 },
  { name: 'bool', size: 1 },
  { name: 'int16', size: 2 },
  { name: 'uint16', size: 2 },
  { name: 'uint32', size: 4 },
  { name: 'uint64', size: 8 },
  { name: 'bfloat16', dtype: 'bfloat16', size: 2 },
];
// The flags of the dtypes gluon-ps stores are the shared table's (common/dtype.ts).
const FLAG_OF = (dtype: DType): number => DTYPE_INFO[dtype].mxnetFlag;
const INT64_FLAG = DTYPE_INFO.int64.mxnetFlag;

const DEV_TYPES: Readonly<Record<number, TensorContext['devType']>> = {
  1: 'cpu',
  2: 'gpu',
  3: 'cpu_pinned',
  5: 'cpu_shared',
};
const DEV_CODE: Readonly<Record<TensorContext['devType'], number>> = { cpu: 1, gpu: 2, cpu_pinned: 3, cpu_shared: 5 };

/** The smallest possible record (a pre-V1 'none' record: one u32). */
const MIN_RECORD_BYTES = 4;

export interface ParamsReadOptions {
  limits?: Partial<FormatLimits>;
  /** Names the input in error messages (default `<buffer>`). */
  source?: string;
  /**
   * An unnamed list (names count M = 0, as `mx.nd.save` writes for a list): 'index' (the
   * default) names the arrays '0', '1', … like Python list indices; 'error' rejects it.
   */
  unnamed?: 'index' | 'error';
  /** Strip Module-API `arg:` / `aux:` name prefixes (as Gluon's load_parameters does). */
  stripPrefixes?: boolean;
  /** Drop 'none' (empty-handle) arrays instead of failing on them (default false). */
  skipNone?: boolean;
  /** Copy each tensor's bytes out of the input (default true); false returns views into it. */
  copy?: boolean;
}

export interface ParamsWriteOptions {
  limits?: Partial<FormatLimits>;
  /** Names the output in error messages (default `<writer>`). */
  source?: string;
  /** Write V3 records (MXNet numpy-shape semantics): scalars allowed, dense only. */
  numpyShape?: boolean;
  /** Write M = 0 (an unnamed list, what `mx.nd.save(list)` writes). Default false. */
  unnamed?: boolean;
  /** Context recorded for tensors that carry none (default cpu(0)). */
  context?: TensorContext;
}

interface Shape {
  /** ndim -1, or a dimension of -1: MXNet's "unknown" (a 'none' array under np-shape). */
  unknown: boolean;
  dims: number[];
}

interface RawRecord {
  version: 0 | 1 | 2 | 3;
  none: boolean;
  tensor?: Omit<NamedTensor, 'name'>;
}

/** `arg:x` → { kind: 'arg', name: 'x' }; a name without a prefix has kind null. */
export function splitParamPrefix(name: string): { kind: 'arg' | 'aux' | null; name: string } {
  if (name.startsWith('arg:')) return { kind: 'arg', name: name.slice(4) };
  if (name.startsWith('aux:')) return { kind: 'aux', name: name.slice(4) };
  return { kind: null, name };
}

// ---------------------------------------------------------------------------------------------
// Reader

class RecordParser {
  constructor(
    private readonly r: ByteReader,
    private readonly fail: Fail,
    private readonly tracker: LimitTracker,
    private readonly copy: boolean,
  ) {}

  private readTShape(where: string): Shape {
    const ndim = this.r.i32(`${where}: ndim`);
    if (ndim === -1) return { unknown: true, dims: [] };
    if (ndim < -1) this.fail('Invalid', `${where}: ndim ${ndim} is negative`);
    this.tracker.rank(ndim, where);
    this.r.need(ndim * 8, `${where}: ${ndim} dimensions`);
    const dims: number[] = [];
    let unknown = false;
    for (let k = 0; k < ndim; k++) {
      const d = this.r.i64(`${where}: dimension ${k}`);
      if (d === -1n) {
        unknown = true;
        dims.push(-1);
      } else if (d < 0n) {
        this.fail('Invalid', `${where}: dimension ${k} is ${d}, expected >= 0 (or -1 for unknown)`);
      } else if (d > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.fail('LimitExceeded', `${where}: dimension ${k} is ${d}, too large`);
      } else {
        dims.push(Number(d));
      }
    }
    return { unknown, dims };
  }

  private readLegacyShape(ndim: number, where: string, magic: number): Shape {
    if (ndim > this.tracker.limits.maxRank) {
      this.fail(
        'Invalid',
        `${where}: magic 0x${magic.toString(16)} is not a V1/V2/V3 record magic, and read as a pre-V1 ndim it is over the rank limit of ${this.tracker.limits.maxRank}`,
      );
    }
    this.r.need(ndim * 4, `${where}: pre-V1 shape of ${ndim} u32 dimensions`);
    const dims: number[] = [];
    for (let k = 0; k < ndim; k++) dims.push(this.r.u32(`${where}: dimension ${k}`));
    return { unknown: false, dims };
  }

  private readContext(where: string): TensorContext {
    const devType = this.r.i32(`${where}: context dev_type`);
    const devId = this.r.i32(`${where}: context dev_id`);
    const name = DEV_TYPES[devType];
    if (name === undefined) {
      this.fail(
        'Invalid',
        `${where}: context dev_type ${devType}, expected 1 (cpu), 2 (gpu), 3 (cpu_pinned) or 5 (cpu_shared)`,
      );
    }
    if (devId < 0) this.fail('Invalid', `${where}: context dev_id ${devId} is negative`);
    return { devType: name, devId };
  }

  private readTypeFlag(where: string, what = 'type flag'): { dtype: DType; size: number } {
    const flag = this.r.i32(`${where}: ${what}`);
    const info = TYPE_FLAGS[flag];
    if (info === undefined || flag < 0)
      this.fail('Invalid', `${where}: unknown ${what} ${flag} (mshadow flags are 0..12)`);
    if (info.dtype === undefined) {
      this.fail(
        'UnsupportedDType',
        `${where}: dtype ${info.name} (type flag ${flag}) is not supported; gluon-ps stores float32, float64, float16, bfloat16, int8, uint8, int32 and int64`,
      );
    }
    return { dtype: info.dtype, size: info.size };
  }

  private payload(bytes: number, where: string): Uint8Array {
    this.tracker.bytes(bytes, where);
    const view = this.r.take(bytes, `${where}: data`);
    return this.copy ? copyBytes(view) : view;
  }

  private bytesOf(dims: number[], size: number, where: string): number {
    const b = byteSizeOf(dims, size);
    if (b === undefined) this.fail('LimitExceeded', `${where}: shape ${fmtShape(dims)} is too large`);
    return b;
  }

  record(i: number): RawRecord {
    const where = `record ${i}`;
    this.tracker.tensor(where);
    const magic = this.r.u32(`${where}: magic`);
    if (magic === NDARRAY_V2_MAGIC || magic === NDARRAY_V3_MAGIC)
      return this.modern(magic === NDARRAY_V3_MAGIC ? 3 : 2, where);
    let shape: Shape;
    let version: 0 | 1;
    if (magic === NDARRAY_V1_MAGIC) {
      version = 1;
      shape = this.readTShape(`${where} (V1): shape`);
    } else {
      version = 0;
      shape = this.readLegacyShape(magic, `${where} (pre-V1)`, magic);
    }
    if (shape.unknown || shape.dims.length === 0) return { version, none: true };
    const context = this.readContext(where);
    const { dtype, size } = this.readTypeFlag(where);
    const data = this.payload(this.bytesOf(shape.dims, size, where), where);
    return { version, none: false, tensor: { dtype, shape: shape.dims, data, stype: 'default', context } };
  }

  private modern(version: 2 | 3, where: string): RawRecord {
    const tag = `${where} (V${version})`;
    const stype = this.r.i32(`${tag}: stype`);
    if (stype === 2) this.fail('Unsupported', `${tag}: csr storage is not supported (only default and row_sparse)`);
    if (stype !== 0 && stype !== 1) {
      this.fail('Invalid', `${tag}: stype ${stype}, expected 0 (default), 1 (row_sparse) or 2 (csr)`);
    }
    if (version === 3 && stype !== 0) {
      this.fail('Invalid', `${tag}: stype row_sparse in a V3 (numpy-shape) record; V3 allows only the default storage`);
    }
    const sparse = stype === 1;
    const sshape = sparse ? this.readTShape(`${tag}: storage shape`) : undefined;
    const shape = this.readTShape(`${tag}: shape`);
    // V3 (np-shape): unknown means none and ndim 0 is a scalar; V2 (legacy): ndim 0 is none.
    if (shape.unknown || (version === 2 && shape.dims.length === 0)) return { version, none: true };
    const context = this.readContext(tag);
    const { dtype, size } = this.readTypeFlag(tag);
    if (!sparse) {
      const data = this.payload(this.bytesOf(shape.dims, size, tag), tag);
      return { version, none: false, tensor: { dtype, shape: shape.dims, data, stype: 'default', context } };
    }
    // row_sparse: storage shape (nnr, *shape[1:]), one aux array idx: int64 (nnr,).
    const s = sshape!;
    if (shape.dims.length < 1) this.fail('Invalid', `${tag}: row_sparse shape must have rank >= 1, got []`);
    if (s.unknown || s.dims.length !== shape.dims.length || s.dims.slice(1).some((d, k) => d !== shape.dims[k + 1])) {
      this.fail(
        'Invalid',
        `${tag}: row_sparse storage shape ${fmtShape(s.dims)} does not match shape ${fmtShape(shape.dims)} (expected (nnr, *shape[1:]))`,
      );
    }
    const nnr = s.dims[0]!;
    if (nnr > shape.dims[0]!)
      this.fail('Invalid', `${tag}: row_sparse stores ${nnr} rows but the shape has ${shape.dims[0]}`);
    const auxFlag = this.r.i32(`${tag}: aux idx type flag`);
    if (auxFlag !== INT64_FLAG)
      this.fail('Invalid', `${tag}: row_sparse aux idx type flag ${auxFlag}, expected 6 (int64)`);
    const aux = this.readTShape(`${tag}: aux idx shape`);
    if (aux.unknown || aux.dims.length !== 1 || aux.dims[0] !== nnr) {
      this.fail('Invalid', `${tag}: row_sparse aux idx shape ${fmtShape(aux.dims)}, expected [${nnr}]`);
    }
    const data = this.payload(this.bytesOf(s.dims, size, tag), tag);
    this.tracker.bytes(nnr * 8, `${tag}: row ids`);
    const raw = this.r.take(nnr * 8, `${tag}: ${nnr} int64 row ids`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const indices = new BigInt64Array(nnr);
    let prev = -1n;
    const rows = BigInt(shape.dims[0]!);
    for (let k = 0; k < nnr; k++) {
      const id = dv.getBigInt64(k * 8, true);
      if (id <= prev || id >= rows) {
        this.fail('Invalid', `${tag}: row id ${id} at position ${k} is not strictly increasing within [0, ${rows})`);
      }
      indices[k] = id;
      prev = id;
    }
    return { version, none: false, tensor: { dtype, shape: shape.dims, data, stype: 'row_sparse', indices, context } };
  }
}

/** Parses a whole `.params` file. The tensors keep the file's order. */
export function decodeParams(bytes: Uint8Array, options: ParamsReadOptions = {}): NamedTensor[] {
  const fail: Fail = failer('params', options.source ?? '<buffer>');
  const limits = resolveLimits(options.limits);
  const tracker = new LimitTracker(limits, fail);
  const r = new ByteReader(bytes, fail);
  r.need(24, 'file header (magic, reserved, count)');
  const magic = r.u64('list magic');
  if (magic !== BigInt(PARAMS_LIST_MAGIC)) {
    fail('Invalid', `list magic is 0x${magic.toString(16)}, expected 0x112 (not an MXNet NDArray list file)`);
  }
  const reserved = r.u64('reserved');
  if (reserved !== 0n) fail('Invalid', `reserved header word is ${reserved}, expected 0`);
  const n64 = r.u64('array count');
  const n = tracker.declaredCount(n64, 'array count');
  if (BigInt(n) * BigInt(MIN_RECORD_BYTES) + 8n > BigInt(r.remaining)) {
    fail(
      'Truncated',
      `array count: declares ${n} arrays but only ${r.remaining} bytes remain (each needs at least ${MIN_RECORD_BYTES}, plus 8 for the names count)`,
    );
  }
  const parser = new RecordParser(r, fail, tracker, options.copy ?? true);
  const records: RawRecord[] = [];
  for (let i = 0; i < n; i++) records.push(parser.record(i));
  const m64 = r.u64('names count');
  if (m64 !== 0n && m64 !== BigInt(n))
    fail('Invalid', `names count is ${m64}, expected 0 or ${n} (the number of arrays)`);
  const m = Number(m64);
  r.need(m * 8, `names list of ${m} entries`);
  const names: string[] = [];
  for (let i = 0; i < m; i++) {
    const where = `name ${i}`;
    const len = r.u64(`${where}: length`);
    tracker.nameBytes(len, where);
    const raw = r.take(len, `${where}: bytes`);
    const name = decodeUtf8(raw);
    if (name === undefined) fail('Invalid', `${where}: not valid UTF-8`);
    names.push(name);
  }
  if (r.remaining > 0) fail('TrailingData', `${r.remaining} unexpected bytes after the names list at offset ${r.pos}`);
  if (m === 0 && n > 0 && options.unnamed === 'error') fail('Invalid', `the file holds an unnamed list of ${n} arrays`);

  const out: NamedTensor[] = [];
  const seen = new Set<string>();
  records.forEach((rec, i) => {
    let name = m === 0 ? String(i) : names[i]!;
    if (options.stripPrefixes) name = splitParamPrefix(name).name;
    const where = `record ${i} (${q(name)})`;
    if (rec.none) {
      if (options.skipNone) return;
      fail(
        'Unsupported',
        `${where}: an empty ('none') NDArray, which gluon-ps cannot store (pass skipNone to drop it)`,
      );
    }
    if (seen.has(name))
      fail(
        'Duplicate',
        `${where}: the name appears twice${options.stripPrefixes ? ' (after stripping arg:/aux:)' : ''}`,
      );
    seen.add(name);
    out.push({ name, ...rec.tensor! });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * The file as chunks: small header chunks and the callers' own data buffers (not copied).
 * Concatenate them, or hand them to writeChunksToFile, for the bytes of the file.
 */
export function encodeParamsChunks(tensors: readonly NamedTensor[], options: ParamsWriteOptions = {}): Uint8Array[] {
  const fail: Fail = failer('params', options.source ?? '<writer>');
  const limits = resolveLimits(options.limits);
  const checked = checkTensorsForWrite(tensors, fail, limits, {
    allowRowSparse: !options.numpyShape,
    formatNote: 'V3 (numpy-shape) records allow only the default storage',
  });
  const b = new ByteBuilder();
  b.u64(PARAMS_LIST_MAGIC).u64(0).u64(checked.length);
  const tshape = (dims: readonly number[]): void => {
    b.i32(dims.length);
    for (const d of dims) b.i64(d);
  };
  for (const { tensor: t } of checked) {
    const where = `tensor ${q(t.name)}`;
    const ctx = t.context ?? options.context ?? { devType: 'cpu', devId: 0 };
    const devCode = DEV_CODE[ctx.devType];
    if (devCode === undefined || !Number.isInteger(ctx.devId) || ctx.devId < 0 || ctx.devId > 0x7fffffff) {
      fail('Invalid', `${where}: invalid context ${JSON.stringify(ctx)}`);
    }
    if (options.numpyShape) {
      b.u32(NDARRAY_V3_MAGIC).i32(0);
      tshape(t.shape);
    } else {
      if (t.shape.length === 0) {
        fail(
          'Unsupported',
          `${where}: a scalar (shape []) cannot be written in a V2 record, where ndim 0 means 'none'; write with numpyShape (V3 records)`,
        );
      }
      b.u32(NDARRAY_V2_MAGIC);
      if (t.stype === 'row_sparse') {
        b.i32(1);
        tshape([t.indices!.length, ...t.shape.slice(1)]);
      } else {
        b.i32(0);
      }
      tshape(t.shape);
    }
    b.i32(devCode).i32(ctx.devId).i32(FLAG_OF(t.dtype));
    if (t.stype === 'row_sparse') {
      b.i32(INT64_FLAG);
      tshape([t.indices!.length]);
      b.chunk(t.data);
      const idx = new Uint8Array(t.indices!.length * 8);
      const dv = new DataView(idx.buffer);
      t.indices!.forEach((v, k) => dv.setBigInt64(k * 8, v, true));
      b.chunk(idx);
    } else {
      b.chunk(t.data);
    }
  }
  if (options.unnamed) {
    b.u64(0);
  } else {
    b.u64(checked.length);
    for (const c of checked) b.u64(c.nameBytes.byteLength).raw(c.nameBytes);
  }
  return b.chunks();
}

/** The whole `.params` file in one buffer (for small data; see encodeParamsChunks). */
export function encodeParams(tensors: readonly NamedTensor[], options: ParamsWriteOptions = {}): Uint8Array {
  return concatChunks(encodeParamsChunks(tensors, options));
}
