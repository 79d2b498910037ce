// index.ts: the typed TypeScript API over the addon: dtype and device names, DeviceTensor,
// byte transfer in and out, and every kernel as an async function. It caps how many kernel
// jobs run at once so the libuv pool (shared with grpc-js DNS, fs and zlib) never starves.
import { addon, DeviceTypeCode, DTypeCode, KERNEL_ERROR_CODES, OptimKindCode } from './binding';
import type { KernelErrorCode, MemoryStats, NativeOps, NativeTensor, OptimizerSettings } from './binding';
import { DTYPES, DTYPE_INFO, isDType, type DType } from '../common/dtype';

export { KERNEL_ERROR_CODES, OptimKindCode } from './binding';
export type { KernelErrorCode, MemoryStats, OptimizerSettings } from './binding';

// The dtype table is common/dtype.ts; the addon's dtype codes are its MXNet type flags.
export { DTYPES, dtypeSize, isDType, isFloatDType } from '../common/dtype';
export type { DType } from '../common/dtype';

const NAME_OF = new Map<number, DType>(DTYPES.map((d) => [DTYPE_INFO[d].mxnetFlag, d]));
// The binding's DTypeCode enum and the shared table must name the same codes; a mismatch would
// make every tensor the wrong type, so it stops the load.
for (const d of DTYPES) {
  const enumCode = DTypeCode[(d[0]!.toUpperCase() + d.slice(1)) as keyof typeof DTypeCode];
  if (enumCode !== DTYPE_INFO[d].mxnetFlag) {
    throw new Error(
      `gluon-ps native: dtype ${d} has code ${String(enumCode)} in native/binding.ts but ${DTYPE_INFO[d].mxnetFlag} in common/dtype.ts`,
    );
  }
}

export const MAX_RANK = 8;

export function dtypeCode(dtype: DType): DTypeCode {
  return DTYPE_INFO[dtype].mxnetFlag;
}

export interface Device {
  readonly type: 'cpu' | 'gpu';
  readonly id: number;
}
export function cpu(id = 0): Device {
  return { type: 'cpu', id };
}
export function gpu(id = 0): Device {
  return { type: 'gpu', id };
}
export function sameDevice(a: Device, b: Device): boolean {
  return a.type === b.type && a.id === b.id;
}
function typeCode(d: Device): DeviceTypeCode {
  return d.type === 'cpu' ? DeviceTypeCode.Cpu : DeviceTypeCode.Gpu;
}

/**
 * A failed kernel or allocation: the message says what was expected (for people), `code` which
 * kind of failure it is (for programs: switch on it, never on the message).
 */
export class KernelError extends Error {
  override name = 'KernelError';
  constructor(
    readonly code: KernelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function isKernelErrorCode(value: unknown): value is KernelErrorCode {
  return typeof value === 'string' && (KERNEL_ERROR_CODES as readonly string[]).includes(value);
}

function rethrow(err: unknown): never {
  if (err instanceof KernelError) throw err;
  // The addon sets `code` on every error it makes; one without (a JS exception met inside a
  // native call) is not the caller's fault.
  const code = (err as { code?: unknown } | null)?.code;
  throw new KernelError(isKernelErrorCode(code) ? code : 'EINTERNAL', err instanceof Error ? err.message : String(err));
}

/** Element count of a shape, checked: integer dims >= 0, rank <= 8, no overflow past 2^53. */
export function shapeSize(shape: readonly number[]): number {
  if (shape.length > MAX_RANK)
    throw new KernelError('ESHAPE', `rank ${shape.length} exceeds the maximum of ${MAX_RANK}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new KernelError('ESHAPE', `shape dims must be integers >= 0, got ${JSON.stringify(shape)}`);
    n *= d;
    if (!Number.isSafeInteger(n))
      throw new KernelError('ESHAPE', `shape ${JSON.stringify(shape)} has too many elements`);
  }
  return n;
}

/** A tensor in device memory. Explicit ownership: call dispose() when done. */
export class DeviceTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly device: Device;
  constructor(readonly native: NativeTensor) {
    this.dtype = NAME_OF.get(native.dtype) as DType;
    this.shape = Object.freeze(native.shape);
    this.device = Object.freeze({
      type: native.deviceType === DeviceTypeCode.Cpu ? 'cpu' : 'gpu',
      id: native.deviceId,
    });
  }
  get size(): number {
    return this.native.size;
  }
  get byteLength(): number {
    return this.native.byteLength;
  }
  get disposed(): boolean {
    return this.native.disposed;
  }
  dispose(): void {
    this.native.dispose();
  }
}

// --- Concurrency cap -------------------------------------------------------------------------
// Kernels run on the libuv pool (UV_THREADPOOL_SIZE, default 4), which grpc-js (DNS), fs and
// zlib share. At most poolSize - 2 kernel jobs are outstanding (at least 1); large kernels split
// across cores themselves, so more concurrency would not add throughput.
const poolSize = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '4', 10) || 4;
export const MAX_CONCURRENT_KERNELS = Math.max(1, poolSize - 2);
let running = 0;
const waiting: Array<() => void> = [];

async function schedule<K extends keyof NativeOps>(op: K, options: NativeOps[K][0]): Promise<NativeOps[K][1]> {
  if (running >= MAX_CONCURRENT_KERNELS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await addon.run(op, options);
  } catch (err) {
    rethrow(err);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

// --- Devices and memory ----------------------------------------------------------------------
export function buildInfo(): { cuda: boolean; gpuCount: number; kernelThreads: number; maxCpuDevices: number } {
  return addon.buildInfo();
}
export function checkDevice(device: Device): void {
  try {
    addon.checkDevice(typeCode(device), device.id);
  } catch (err) {
    rethrow(err);
  }
}
export function memoryStats(device?: Device): MemoryStats {
  return device === undefined ? addon.memoryStats() : addon.memoryStats(typeCode(device), device.id);
}
/**
 * The total under the one memory budget (every device's tensors, staging copies and external
 * bytes), and the staging and external parts of it.
 */
export function memoryTotals(): { total: MemoryStats; staging: MemoryStats; external: MemoryStats } {
  return addon.memoryTotals();
}

/** Caps the total (every device, staging, external); null removes the cap. */
export function setTotalMemoryBudget(bytes: number | null): void {
  try {
    addon.setTotalMemoryBudget(bytes === null ? -1 : bytes);
  } catch (err) {
    rethrow(err);
  }
}

/**
 * Counts `bytes` of JS memory held for callers (a constant's value, an upload buffer) in the
 * total until the returned function is called (once; later calls do nothing). Throws EBUDGET
 * when they do not fit the total's budget, unless `force` (state recovered from disk).
 */
export function reserveExternal(bytes: number, force = false): () => void {
  try {
    addon.reserveExternal(bytes, force);
  } catch (err) {
    rethrow(err);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    addon.releaseExternal(bytes);
  };
}

/** Caps the bytes that tensors on `device` may hold; null removes the cap. */
export function setMemoryBudget(device: Device, bytes: number | null): void {
  try {
    addon.setMemoryBudget(typeCode(device), device.id, bytes === null ? -1 : bytes);
  } catch (err) {
    rethrow(err);
  }
}

// --- Tensors and bytes -----------------------------------------------------------------------
/** A zero-filled tensor. */
export function empty(device: Device, dtype: DType, shape: readonly number[]): DeviceTensor {
  return allocate(device, dtype, shape, false);
}

/**
 * A tensor with unspecified contents, for a caller that overwrites every byte before anyone
 * reads it (e.g. an upload received straight into it): skips the zero-fill.
 */
export function emptyUninitialized(device: Device, dtype: DType, shape: readonly number[]): DeviceTensor {
  return allocate(device, dtype, shape, true);
}

function allocate(device: Device, dtype: DType, shape: readonly number[], uninitialized: boolean): DeviceTensor {
  if (!isDType(dtype))
    throw new KernelError('EDTYPE', `unknown dtype '${String(dtype)}', expected one of ${DTYPES.join(', ')}`);
  shapeSize(shape);
  try {
    return new DeviceTensor(addon.empty(typeCode(device), device.id, dtypeCode(dtype), [...shape], uninitialized));
  } catch (err) {
    rethrow(err);
  }
}

/** Copies little-endian bytes (exactly byteLength of the tensor) into device memory, once. */
export async function write(out: DeviceTensor, bytes: Uint8Array): Promise<void> {
  await schedule('write', { out: out.native, bytes });
}

/** A new tensor holding `bytes`; the bytes are copied once into device memory. */
export async function fromBytes(
  device: Device,
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
): Promise<DeviceTensor> {
  const t = emptyUninitialized(device, dtype, shape); // write() checks the length and fills it all
  try {
    await write(t, bytes);
    return t;
  } catch (err) {
    t.dispose();
    throw err;
  }
}

/**
 * A host copy of the tensor's bytes (one copy), safe to keep while the tensor changes. It counts
 * in the memory total until it is garbage collected; `budgeted: false` (the server's own copies:
 * checkpoints, log records) is counted but never refused by the budget.
 */
export async function readBytes(src: DeviceTensor, options: { budgeted?: boolean } = {}): Promise<Uint8Array> {
  const budgeted = options.budgeted ?? true;
  return new Uint8Array(await schedule('read', budgeted ? { src: src.native } : { src: src.native, budgeted }));
}

/** One write-ahead log record for walWrite: its head (crc filled in there) and its payload parts. */
export interface WalWriteRecord {
  head: Uint8Array;
  parts: Array<DeviceTensor | Uint8Array>;
}

/**
 * Writes log records at `position` of file `fd` from a pool thread: each record's crc32 over
 * bytes [8, total) is computed there and stored in its head, host tensors are read in place (no
 * JS copy, no ArrayBuffer over them), then fdatasync when `sync`. Not counted against the
 * kernel cap: it is I/O, and the step's update kernels run beside it. `limit` stops after that
 * many bytes (a torn record, for the failpoint). Resolves to the bytes written.
 */
export async function walWrite(
  fd: number,
  position: number,
  records: WalWriteRecord[],
  options: { sync?: boolean; limit?: number } = {},
): Promise<number> {
  try {
    return await addon.run('wal_write', {
      fd,
      position,
      records: records.map((r) => ({
        head: r.head,
        parts: r.parts.map((p) => (p instanceof Uint8Array ? p : p.native)),
      })),
      ...(options.sync === undefined ? {} : { sync: options.sync }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
  } catch (err) {
    rethrow(err);
  }
}

/**
 * Reads `length` bytes at `position` of file `fd` into `target` at `offset` from a pool thread,
 * checksumming each piece as it arrives; resolves to the crc32 (zlib / IEEE) of those bytes.
 * Like walWrite it is I/O, not counted against the kernel cap; the caller bounds how many run at
 * once. The target must not be touched until it settles. A file that ends early rejects.
 */
export async function fileRead(
  fd: number,
  position: number,
  target: Uint8Array,
  offset = 0,
  length = target.byteLength - offset,
): Promise<number> {
  try {
    return await addon.run('file_read', { fd, position, target, offset, length });
  } catch (err) {
    rethrow(err);
  }
}

/**
 * The bytes of a host tensor without copying. Every call returns a view of one ArrayBuffer
 * cached with the tensor, so repeated reads add no GC work. The view keeps the memory alive
 * after dispose(); the caller must ensure nothing writes the tensor while the view is in use.
 */
export function hostView(src: DeviceTensor): Uint8Array {
  try {
    return new Uint8Array(addon.hostView(src.native));
  } catch (err) {
    rethrow(err);
  }
}

/**
 * Copies `bytes` into host tensor `dest` at byte `offset`, synchronously (meant for chunks of at
 * most 1 MiB, e.g. an upload landing in place without a view of the whole tensor).
 */
export function writeAt(dest: DeviceTensor, offset: number, bytes: Uint8Array): void {
  try {
    addon.writeAt(dest.native, offset, bytes);
  } catch (err) {
    rethrow(err);
  }
}

// --- Kernels ---------------------------------------------------------------------------------
/** Converts row ids to the BigInt64Array the addon reads. */
export function toIds(ids: ArrayLike<number | bigint> | BigInt64Array): BigInt64Array {
  if (ids instanceof BigInt64Array) return ids;
  const out = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (typeof v === 'number' && !Number.isSafeInteger(v))
      throw new KernelError('EINVAL', `row id ${v} at position ${i} is not an integer`);
    out[i] = BigInt(v);
  }
  return out;
}

export async function fill(out: DeviceTensor, value: number): Promise<void> {
  await schedule('fill', { out: out.native, value });
}
/** Copies src into out: same dtype and element count, any two devices. */
export async function copy(out: DeviceTensor, src: DeviceTensor): Promise<void> {
  await schedule('copy', { out: out.native, src: src.native });
}
/** Converts src into out's dtype (same device, same element count). Float to int truncates toward
 * zero and saturates, NaN becomes 0; into float16/bfloat16 rounds to nearest even. */
export async function cast(out: DeviceTensor, src: DeviceTensor): Promise<void> {
  await schedule('cast', { out: out.native, src: src.native });
}
/**
 * `out` holds rows of a bigger tensor (a shard's part of a split parameter): its row r is row
 * firstRow + r * rowStep of the whole, whose rows have out's row length. A random fill with it
 * writes exactly what those rows hold after the same fill of the whole tensor.
 */
export interface RowsOf {
  firstRow: number;
  rowStep: number;
}

function rowCounters(out: DeviceTensor, rows: RowsOf | undefined): Record<string, number> {
  if (rows === undefined) return {};
  const rowElems = out.shape.slice(1).reduce((a, b) => a * b, 1);
  for (const [k, v] of [
    ['firstRow', rows.firstRow],
    ['rowStep', rows.rowStep],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new KernelError('EINVAL', `${k} must be a non-negative integer, got ${v}`);
  }
  if (out.shape.length === 0) throw new KernelError('EINVAL', 'a scalar has no rows');
  return { first_row: rows.firstRow, row_step: rows.rowStep, row_elems: rowElems };
}

/** Fills with U[low, high) from Philox(seed); element i uses counter (i, offset) (see RowsOf for `rows`). */
export async function uniform(
  out: DeviceTensor,
  low: number,
  high: number,
  seed: number | bigint,
  offset: number | bigint = 0,
  rows?: RowsOf,
): Promise<void> {
  await schedule('uniform', { out: out.native, low, high, seed, offset, ...rowCounters(out, rows) });
}
/** Fills with N(mean, std^2) from Philox(seed) by Box-Muller; element i uses counter (i, offset) (see RowsOf for `rows`). */
export async function normal(
  out: DeviceTensor,
  mean: number,
  std: number,
  seed: number | bigint,
  offset: number | bigint = 0,
  rows?: RowsOf,
): Promise<void> {
  await schedule('normal', { out: out.native, mean, std, seed, offset, ...rowCounters(out, rows) });
}
/** out = sum of srcs (out may be one of them). */
export async function addN(out: DeviceTensor, srcs: readonly DeviceTensor[]): Promise<void> {
  await schedule('add_n', { out: out.native, srcs: srcs.map((s) => s.native) });
}
/** x *= alpha */
export async function scale(x: DeviceTensor, alpha: number): Promise<void> {
  await schedule('scale', { x: x.native, alpha });
}
/** y += alpha * x */
export async function axpy(y: DeviceTensor, alpha: number, x: DeviceTensor): Promise<void> {
  await schedule('axpy', { y: y.native, x: x.native, alpha });
}
/** The L2 norm, accumulated in float64 in a fixed order (deterministic). */
export async function l2Norm(x: DeviceTensor): Promise<number> {
  return Math.sqrt(await schedule('sum_squares', { x: x.native }));
}
/** True when no element is NaN or infinite (always true for integer dtypes). */
export async function allFinite(x: DeviceTensor): Promise<boolean> {
  return schedule('all_finite', { x: x.native });
}
/** out[i] = src[ids[i]] for rows (the first dim); ids may repeat and be in any order. */
export async function gatherRows(
  out: DeviceTensor,
  src: DeviceTensor,
  ids: ArrayLike<number | bigint> | BigInt64Array,
): Promise<void> {
  await schedule('gather_rows', { out: out.native, src: src.native, ids: toIds(ids) });
}
/** out[ids[i]] += rows[i]; duplicate ids accumulate in their given order. */
export async function scatterAddRows(
  out: DeviceTensor,
  rows: DeviceTensor,
  ids: ArrayLike<number | bigint> | BigInt64Array,
): Promise<void> {
  await schedule('scatter_add_rows', { out: out.native, rows: rows.native, ids: toIds(ids) });
}

export const OPTIMIZER_KINDS = ['sgd', 'adam', 'adamw', 'adagrad', 'rmsprop', 'ftrl', 'lamb'] as const;
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];
const OPTIM_CODE: Record<OptimizerKind, OptimKindCode> = {
  sgd: OptimKindCode.Sgd,
  adam: OptimKindCode.Adam,
  adamw: OptimKindCode.AdamW,
  adagrad: OptimKindCode.AdaGrad,
  rmsprop: OptimKindCode.RmsProp,
  ftrl: OptimKindCode.Ftrl,
  lamb: OptimKindCode.Lamb,
};

/** How many state tensors (shaped like the weight) an optimizer keeps with these settings. */
export function optimizerStateCount(kind: OptimizerKind, settings: OptimizerSettings = {}): number {
  switch (kind) {
    case 'sgd':
      return (settings.momentum ?? 0) !== 0 ? 1 : 0;
    case 'adagrad':
      return 1;
    case 'rmsprop':
      return settings.centered ? 3 : 1;
    default:
      return 2;
  }
}

/**
 * One fused optimizer step in place over weight and states. With `rowIds` (sorted, unique) the
 * update is lazy: grad holds one row per id and only those rows of weight and states change.
 */
export async function optimizerUpdate(
  kind: OptimizerKind,
  settings: OptimizerSettings,
  weight: DeviceTensor,
  grad: DeviceTensor,
  states: readonly DeviceTensor[],
  rowIds?: ArrayLike<number | bigint> | BigInt64Array,
): Promise<void> {
  const options: NativeOps['optimizer'][0] = {
    ...settings,
    kind: OPTIM_CODE[kind],
    weight: weight.native,
    grad: grad.native,
    states: states.map((s) => s.native),
  };
  if (rowIds !== undefined) options.ids = toIds(rowIds);
  await schedule('optimizer', options);
}
