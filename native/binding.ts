// binding.ts: the one typed contract with the compiled addon, and the only file that loads
// the `.node` binary. Everything else imports the typed API from native/index.ts.
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
 * The hyperparameters of one optimizer step, as the addon reads them (native/src/ops.cc
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
  'EINVAL', 'EDTYPE', 'ESHAPE', 'ERANGE', 'EBUDGET', 'EOOM', 'ENODEVICE', 'EDISPOSED', 'EDEVICE', 'EINTERNAL',
] as const;
export type KernelErrorCode = (typeof KERNEL_ERROR_CODES)[number];

/** Every op of run(), with its options and result. */
export interface NativeOps {
  fill: [{ out: NativeTensor; value: number }, undefined];
  copy: [{ out: NativeTensor; src: NativeTensor }, undefined];
  cast: [{ out: NativeTensor; src: NativeTensor }, undefined];
  uniform: [{ out: NativeTensor; low: number; high: number; seed: number | bigint; offset?: number | bigint }, undefined];
  normal: [{ out: NativeTensor; mean: number; std: number; seed: number | bigint; offset?: number | bigint }, undefined];
  add_n: [{ out: NativeTensor; srcs: NativeTensor[] }, undefined];
  scale: [{ x: NativeTensor; alpha: number }, undefined];
  axpy: [{ y: NativeTensor; x: NativeTensor; alpha: number }, undefined];
  sum_squares: [{ x: NativeTensor }, number];
  all_finite: [{ x: NativeTensor }, boolean];
  gather_rows: [{ out: NativeTensor; src: NativeTensor; ids: BigInt64Array }, undefined];
  scatter_add_rows: [{ out: NativeTensor; rows: NativeTensor; ids: BigInt64Array }, undefined];
  optimizer: [NativeOptimizerOptions, undefined];
  write: [{ out: NativeTensor; bytes: Uint8Array }, undefined];
  read: [{ src: NativeTensor }, ArrayBuffer];
}

export interface NativeAddon {
  buildInfo(): BuildInfo;
  /** Throws unless the device exists in this build and on this machine. */
  checkDevice(deviceType: DeviceTypeCode, deviceId: number): void;
  memoryStats(deviceType: DeviceTypeCode, deviceId: number): MemoryStats;
  /** Staging memory for reads (host copies being sent). */
  memoryStats(): MemoryStats;
  setMemoryBudget(deviceType: DeviceTypeCode, deviceId: number, bytes: number): void;
  /** A zero-filled tensor, or (uninitialized) one whose bytes the caller overwrites at once. */
  empty(deviceType: DeviceTypeCode, deviceId: number, dtype: DTypeCode, shape: number[], uninitialized?: boolean): NativeTensor;
  /** The tensor's host memory, one ArrayBuffer cached per tensor (keeps the memory alive). */
  hostView(tensor: NativeTensor): ArrayBuffer;
  /** Copies `bytes` into a host tensor at byte `offset`, synchronously. */
  writeAt(tensor: NativeTensor, offset: number, bytes: Uint8Array): void;
  run<K extends keyof NativeOps>(op: K, options: NativeOps[K][0]): Promise<NativeOps[K][1]>;
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
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new Error(
      `gluon-ps native addon at ${path} failed to load (${(err as Error).message}). ` +
        'Rebuild it for this Node.js with `npm run build:native` (or `npm run build:cuda` for a CUDA build).',
    );
  }
}

export const addon: NativeAddon = load();
