// binding.ts: the one typed contract with the compiled addon, and the only file that loads
// the `.node` binary. Everything else imports the typed API from native/index.ts. On load it
// checks the addon's code tables (dtypes, optimizer kinds, device types, error codes) against
// the enums below, so a binary built from other sources fails at once instead of mislabelling.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** MXNet type flags, used as dtype codes by the addon and the `.params` format. */
export enum DTypeCode {
  Float32 = 0,
  Float64 = 1,
  Float16 = 2,
  Uint8 = 3,
  Int32 = 4,
  Int8 = 5,
  Int64 = 6,
  Bfloat16 = 12,
}

/** MXNet dev_type codes. */
export enum DeviceTypeCode {
  Cpu = 1,
  Gpu = 2,
}

/** A tensor in device memory owned by the addon. dispose() frees it (in-flight kernels keep it). */
export interface NativeTensor {
  readonly dtype: DTypeCode;
  readonly shape: number[];
  readonly deviceType: DeviceTypeCode;
  readonly deviceId: number;
  readonly byteLength: number;
  readonly size: number;
  readonly disposed: boolean;
  dispose(): void;
}

export interface BuildInfo {
  cuda: boolean;
  gpuCount: number;
  kernelThreads: number;
  maxCpuDevices: number;
}

export interface MemoryStats {
  allocated: number;
  peak: number;
  /** -1 when unlimited. */
  budget: number;
}

/** Optimizer kinds as the addon numbers them (native/src/optim.h OptimKind). */
export enum OptimKindCode {
  Sgd = 0,
  Adam = 1,
  AdamW = 2,
  AdaGrad = 3,
  RmsProp = 4,
  Ftrl = 5,
  Lamb = 6,
}

/**
 * The hyperparameters of one optimizer step, as the addon reads them (native/src/kernel_ops.cc
 * ReadOptimParams); omitted fields take MXNet's defaults. native/index.ts re-exports it.
 */
export interface OptimizerSettings {
  lr?: number;
  wd?: number;
  rescaleGrad?: number;
  clipGradient?: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  eta?: number;
  gamma1?: number;
  gamma2?: number;
  centered?: boolean;
  clipWeights?: number;
  lamda1?: number;
  beta?: number;
  lowerBound?: number;
  upperBound?: number;
  biasCorrection?: boolean;
  /** 1-based update count, for bias corrections. */
  t?: number;
}

/** Options of the 'optimizer' op: the settings plus the tensors they update. */
export interface NativeOptimizerOptions extends OptimizerSettings {
  kind: OptimKindCode;
  weight: NativeTensor;
  grad: NativeTensor;
  states: NativeTensor[];
  /** Sorted unique row ids for a lazy row-sparse update; grad then holds one row per id. */
  ids?: BigInt64Array;
}

/**
 * The `code` of every error the addon throws (native/src/errors.h, in its order):
 * EINVAL a malformed argument or option, or a call on the wrong device; EDTYPE an unknown dtype
 * or dtypes that do not fit the op; ESHAPE a bad shape (rank, dims, overflow) or sizes that
 * differ; ERANGE a row id or byte offset outside its tensor; EBUDGET the memory budget would be
 * exceeded; EOOM the allocator failed; ENODEVICE no such device in this build or machine;
 * EDISPOSED a tensor used after dispose(); EDEVICE the CUDA runtime failed a call; EINTERNAL a
 * broken invariant of the addon (also any error that carries no code).
 */
export const KERNEL_ERROR_CODES = [
  'EINVAL',
  'EDTYPE',
  'ESHAPE',
  'ERANGE',
  'EBUDGET',
  'EOOM',
  'ENODEVICE',
  'EDISPOSED',
  'EDEVICE',
  'EINTERNAL',
] as const;
export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number];

/**
 * Optional options of the random fills: the tensor is rows of a bigger one, and draws what those
 * rows draw there (philox.h, CounterMap): local row r is global row first_row + r * row_step of
 * rows of row_elems elements. Absent (or row_elems 0): element i draws counter i.
 */
export interface RowCounters {
  first_row?: number | bigint;
  row_step?: number | bigint;
  row_elems?: number | bigint;
}

/** Every op of run(), with its options and result. */
export interface NativeOps {
  fill: [{ out: NativeTensor; value: number }, undefined];
  copy: [{ out: NativeTensor; src: NativeTensor }, undefined];
  cast: [{ out: NativeTensor; src: NativeTensor }, undefined];
  uniform: [
    { out: NativeTensor; low: number; high: number; seed: number | bigint; offset?: number | bigint } & RowCounters,
    undefined,
  ];
  normal: [
    { out: NativeTensor; mean: number; std: number; seed: number | bigint; offset?: number | bigint } & RowCounters,
    undefined,
  ];
  add_n: [{ out: NativeTensor; srcs: NativeTensor[] }, undefined];
  scale: [{ x: NativeTensor; alpha: number }, undefined];
  axpy: [{ y: NativeTensor; x: NativeTensor; alpha: number }, undefined];
  sum_squares: [{ x: NativeTensor }, number];
  all_finite: [{ x: NativeTensor }, boolean];
  gather_rows: [{ out: NativeTensor; src: NativeTensor; ids: BigInt64Array }, undefined];
  scatter_add_rows: [{ out: NativeTensor; rows: NativeTensor; ids: BigInt64Array }, undefined];
  optimizer: [NativeOptimizerOptions, undefined];
  write: [{ out: NativeTensor; bytes: Uint8Array }, undefined];
  /** budgeted false: counted in the total, never refused by its budget (the server's own copies). */
  read: [{ src: NativeTensor; budgeted?: boolean }, ArrayBuffer];
  /** The write-ahead log's group commit (crc32 + pwritev [+ fdatasync]); resolves to the bytes written. */
  wal_write: [
    {
      fd: number;
      position: number;
      records: Array<{ head: Uint8Array; parts: Array<NativeTensor | Uint8Array> }>;
      sync?: boolean;
      limit?: number;
    },
    number,
  ];
  /** A checkpoint load's read into `target` (pread + crc32 from a pool thread); resolves to the crc32. */
  file_read: [{ fd: number; position: number; target: Uint8Array; offset?: number; length?: number }, number];
}

export interface NativeAddon extends NativeCodeTables {
  buildInfo(): BuildInfo;
  /** Throws unless the device exists in this build and on this machine. */
  checkDevice(deviceType: DeviceTypeCode, deviceId: number): void;
  memoryStats(deviceType: DeviceTypeCode, deviceId: number): MemoryStats;
  /** Staging memory for reads (host copies being sent). */
  memoryStats(): MemoryStats;
  setMemoryBudget(deviceType: DeviceTypeCode, deviceId: number, bytes: number): void;
  /** The total under the one budget (every device, staging, external), and two of its parts. */
  memoryTotals(): { total: MemoryStats; staging: MemoryStats; external: MemoryStats };
  /** The one budget over the total; -1 = none. */
  setTotalMemoryBudget(bytes: number): void;
  /** Counts JS memory held for callers in the total; throws EBUDGET over its budget unless `force`. */
  reserveExternal(bytes: number, force?: boolean): void;
  releaseExternal(bytes: number): void;
  /** A zero-filled tensor, or (uninitialized) one whose bytes the caller overwrites at once. */
  empty(
    deviceType: DeviceTypeCode,
    deviceId: number,
    dtype: DTypeCode,
    shape: number[],
    uninitialized?: boolean,
  ): NativeTensor;
  /** The tensor's host memory, one ArrayBuffer cached per tensor (keeps the memory alive). */
  hostView(tensor: NativeTensor): ArrayBuffer;
  /** Copies `bytes` into a host tensor at byte `offset`, synchronously. */
  writeAt(tensor: NativeTensor, offset: number, bytes: Uint8Array): void;
  run<K extends keyof NativeOps>(op: K, options: NativeOps[K][0]): Promise<NativeOps[K][1]>;
}

/** The addon's own code tables (native/src/addon.cc), checked against this file's enums on load. */
export interface NativeCodeTables {
  /** dtype name -> MXNet type flag, e.g. float32: 0. */
  dtypeCodes: Record<string, number>;
  /** optimizer kind (OptimKindCode's names, lowercased) -> code. */
  optimKindCodes: Record<string, number>;
  /** cpu/gpu -> MXNet dev_type. */
  deviceTypeCodes: Record<string, number>;
  /** Every error code, in errors.h order. */
  errorCodes: string[];
}

/** A TypeScript numeric enum as a name -> code table, names lowercased (Float32 -> float32). */
function enumTable(e: Record<string, string | number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, code] of Object.entries(e)) if (typeof code === 'number') out[name.toLowerCase()] = code;
  return out;
}

function tableMismatches(what: string, native: unknown, ts: Record<string, number>): string[] {
  if (typeof native !== 'object' || native === null) return [`${what} are missing from the addon`];
  const nat = native as Record<string, unknown>;
  const out: string[] = [];
  for (const [name, code] of Object.entries(ts)) {
    if (!(name in nat)) out.push(`${what}: ${name} (${code} in TypeScript) is missing from the addon`);
    else if (nat[name] !== code)
      out.push(`${what}: ${name} is ${String(nat[name])} in the addon but ${code} in TypeScript`);
  }
  for (const [name, code] of Object.entries(nat)) {
    if (!(name in ts)) out.push(`${what}: ${name} (${String(code)} in the addon) is missing from TypeScript`);
  }
  return out;
}

/** Every difference between the addon's code tables and this file's; [] when they agree. */
export function codeTableMismatches(native: Partial<NativeCodeTables>): string[] {
  const errorCodes = native.errorCodes;
  const errorMismatch =
    Array.isArray(errorCodes) && errorCodes.join(',') === KERNEL_ERROR_CODES.join(',')
      ? []
      : [
          `error codes: the addon has ${Array.isArray(errorCodes) ? `[${errorCodes.join(', ')}]` : 'none'}, TypeScript [${KERNEL_ERROR_CODES.join(', ')}]`,
        ];
  return [
    ...tableMismatches('dtype codes', native.dtypeCodes, enumTable(DTypeCode)),
    ...tableMismatches('optimizer kind codes', native.optimKindCodes, enumTable(OptimKindCode)),
    ...tableMismatches('device type codes', native.deviceTypeCodes, enumTable(DeviceTypeCode)),
    ...errorMismatch,
  ];
}

/**
 * Throws, naming every mismatch, unless the addon at `path` numbers dtypes, optimizer kinds,
 * device types and errors exactly as this file does. Runs on every load: a stale or foreign
 * binary would otherwise store float16 bytes as another dtype, or run the wrong optimizer.
 */
export function checkCodeTables(native: Partial<NativeCodeTables>, path: string): void {
  const mismatches = codeTableMismatches(native);
  if (mismatches.length === 0) return;
  throw new Error(
    `gluon-ps native addon at ${path} does not match native/binding.ts (${mismatches.join('; ')}). ` +
      'Rebuild it from this checkout with `npm run build:native` (or `npm run build:cuda`).',
  );
}

const here = dirname(fileURLToPath(import.meta.url));
// GLUONPS_ADDON names a prebuilt binary explicitly (e.g. a CUDA build kept elsewhere).
const candidates = process.env.GLUONPS_ADDON
  ? [process.env.GLUONPS_ADDON]
  : [
      join(here, 'build', 'Release', 'gluonps.node'),
      join(here, 'build', 'Debug', 'gluonps.node'),
      // when bundled into .build/ (npm start, benchmarks)
      join(here, '..', 'native', 'build', 'Release', 'gluonps.node'),
    ];

function load(): NativeAddon {
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      `gluon-ps native addon is not built (looked for ${candidates.join(', ')}). ` +
        'Run `npm ci` (or `npm run build:native`) in the repository root; it needs python3, make and g++.',
    );
  }
  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new Error(
      `gluon-ps native addon at ${path} failed to load (${(err as Error).message}). ` +
        'Rebuild it for this Node.js with `npm run build:native` (or `npm run build:cuda` for a CUDA build).',
    );
  }
  checkCodeTables(loaded, path);
  // A binary older than this file lacks its newer functions: say so now, not at the first call.
  const missing = REQUIRED_FUNCTIONS.filter(
    (f) => typeof (loaded as unknown as Record<string, unknown>)[f] !== 'function',
  );
  if (missing.length > 0) {
    throw new Error(
      `gluon-ps native addon at ${path} is stale: it lacks ${missing.join(', ')}. ` +
        'Rebuild it from this checkout with `npm run build:native` (or `npm run build:cuda`).',
    );
  }
  return loaded;
}

/** Every function of NativeAddon, checked at load. */
const REQUIRED_FUNCTIONS = [
  'buildInfo',
  'checkDevice',
  'memoryStats',
  'setMemoryBudget',
  'memoryTotals',
  'setTotalMemoryBudget',
  'reserveExternal',
  'releaseExternal',
  'empty',
  'hostView',
  'writeAt',
  'run',
] as const satisfies ReadonlyArray<keyof NativeAddon>;

export const addon: NativeAddon = load();
