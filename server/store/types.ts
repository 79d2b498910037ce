// types.ts: the data the parameter store holds and hands out: a parameter's live entry, host
// tensors and read snapshots, descriptors, and the store's and initialize()'s options.
import type { DType, Device, DeviceTensor } from '../../native/index';
import type { Mutex } from './mutex';
import type { InitSpec, ParameterSpec, PartSpec } from './spec';

/** Bytes of a tensor on the host, as received from or sent to a client. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

export interface TensorSnapshot extends HostTensor {
  ctx: Device;
  version: bigint;
  /** Ends the read (the bytes may be a zero-copy view of the live tensor); call once sent. */
  release: () => void;
}

export interface RowSparseSnapshot extends TensorSnapshot {
  /** Sorted unique row ids; `shape` is [indices.length, ...rowShape]. */
  indices: BigInt64Array;
}

export interface Descriptor {
  name: string;
  shape: number[] | null;
  dtype: DType;
  gradReq: ParameterSpec['gradReq'];
  stype: ParameterSpec['stype'];
  gradStype: ParameterSpec['gradStype'];
  lrMult: number;
  wdMult: number;
  differentiable: boolean;
  allowDeferredInit: boolean;
  init: InitSpec | null;
  initialized: boolean;
  deferred: boolean;
  ctx: Device[];
  version: bigint;
  isConstant: boolean;
  /** Its place in the declaration order (order.ts). */
  order: number;
  /** On a shard: the part of a split parameter this is. */
  part?: PartSpec;
}

export interface InitializeOptions {
  init?: InitSpec | null;
  ctx?: Device[] | null;
  defaultInit?: InitSpec | null;
  forceReinit?: boolean;
  structuralName?: string;
  /** Philox seed; a random one when absent. */
  seed?: bigint | number | null;
}

export interface StoreOptions {
  /** Largest tensor accepted, in bytes (default 1 GiB). */
  maxTensorBytes?: number;
  /** cpu(i) contexts allowed are 0 <= i < maxCpuContexts (default 8). */
  maxCpuContexts?: number;
  /** Parameters (constants apart) the store may hold; more is RESOURCE_EXHAUSTED (default 100000). */
  maxParameters?: number;
  /** Constants the store may hold (default 10000). */
  maxConstants?: number;
  /** Declared bytes (one copy) of every parameter and constant together; null or absent = no limit. */
  maxDeclaredBytes?: number | null;
  /** Called for events worth a log line (e.g. initialize ignored). */
  onEvent?: (event: string, fields: Record<string, unknown>) => void;
  /** Why a device may not hold parameters on this server (null = allowed); all allowed by default. */
  deviceRefusal?: (device: Device) => string | null;
}

export interface Deferred {
  init: InitSpec;
  ctx: Device[];
  seed: bigint;
}

/** One parameter's live state. Only touched under `lock`. */
export interface ParameterEntry {
  readonly declared: ParameterSpec;
  spec: ParameterSpec;
  readonly isConstant: boolean;
  readonly constantValue: HostTensor | null;
  ctx: Device[] | null;
  data: DeviceTensor[] | null;
  grad: DeviceTensor[] | null;
  deferred: Deferred | null;
  version: bigint;
  /** Its place in the declaration order (order.ts); 0 in a restored entry that had none. */
  order: number;
  readonly lock: Mutex;
}
