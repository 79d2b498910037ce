// proto-enums.ts: the one set of codecs between the gluonps.v1 enums (as proto-loader decodes
// them: their value names) and the names users and the server work with ('float32', 'write',
// 'row_sparse', 'sgd', ...). Both ends translate through these; neither keeps its own table.
// The generated enum types make a renamed or missing proto value a compile error here.
import type { DeviceType__Output as ProtoDeviceType } from '../protos/generated/gluonps/v1/DeviceType';
import type { DType__Output as ProtoDType } from '../protos/generated/gluonps/v1/DType';
import type { GradReq__Output as ProtoGradReq } from '../protos/generated/gluonps/v1/GradReq';
import type { InitializerKind__Output as ProtoInitKind } from '../protos/generated/gluonps/v1/InitializerKind';
import type { OptimizerKind__Output as ProtoOptimizerKind } from '../protos/generated/gluonps/v1/OptimizerKind';
import type { StorageType__Output as ProtoStorageType } from '../protos/generated/gluonps/v1/StorageType';
import type { TimeoutPolicy__Output as ProtoTimeoutPolicy } from '../protos/generated/gluonps/v1/TimeoutPolicy';
import type { TrainerMode__Output as ProtoTrainerMode } from '../protos/generated/gluonps/v1/TrainerMode';
import { DTYPES, DTYPE_INFO, type DType } from './dtype';
import type { InitKind } from './init-spec';
import type { OptimizerName } from './optimizer/optimizer-spec';

/** A two-way table between our names (T) and a proto enum's value names (P). */
export class EnumCodec<T extends string, P extends string> {
  private readonly fromTable: ReadonlyMap<string, T>;

  constructor(
    /** What the enum is, for messages ("dtype", "grad_req"). */
    readonly what: string,
    private readonly toTable: Readonly<Record<T, P>>,
    /** The wire's "not set" value name (proto3's zero value). */
    readonly unspecified: P,
  ) {
    this.fromTable = new Map(Object.entries(toTable).map(([k, v]) => [v as string, k as T]));
  }

  /** Our names, in table order. */
  get names(): T[] {
    return Object.keys(this.toTable) as T[];
  }

  /** The proto value names that mean something (UNSPECIFIED excluded). */
  get protoNames(): P[] {
    return Object.values(this.toTable) as P[];
  }

  toProto(value: T): P {
    return this.toTable[value];
  }

  /** Our name for a received value name; undefined for UNSPECIFIED and for unknown values. */
  fromProto(value: unknown): T | undefined {
    return typeof value === 'string' ? this.fromTable.get(value) : undefined;
  }

  /** Whether a received value is the wire's "not set" (by name, by number 0, or absent). */
  isUnspecified(value: unknown): boolean {
    return value === this.unspecified || value === 0 || value === undefined || value === '';
  }
}

export const DTYPE_CODEC = new EnumCodec<DType, ProtoDType>(
  'dtype',
  Object.fromEntries(DTYPES.map((d) => [d, DTYPE_INFO[d].proto])) as Record<DType, ProtoDType>,
  'DTYPE_UNSPECIFIED',
);

export const GRAD_REQ_CODEC = new EnumCodec<'write' | 'add' | 'null', ProtoGradReq>(
  'grad_req',
  { write: 'GRAD_REQ_WRITE', add: 'GRAD_REQ_ADD', null: 'GRAD_REQ_NULL' },
  'GRAD_REQ_UNSPECIFIED',
);

export const STORAGE_TYPE_CODEC = new EnumCodec<'default' | 'row_sparse', ProtoStorageType>(
  'storage type',
  { default: 'STORAGE_TYPE_DEFAULT', row_sparse: 'STORAGE_TYPE_ROW_SPARSE' },
  'STORAGE_TYPE_UNSPECIFIED',
);

export const DEVICE_TYPE_CODEC = new EnumCodec<'cpu' | 'gpu', ProtoDeviceType>(
  'device type',
  { cpu: 'DEVICE_TYPE_CPU', gpu: 'DEVICE_TYPE_GPU' },
  'DEVICE_TYPE_UNSPECIFIED',
);

export const INIT_KIND_CODEC = new EnumCodec<InitKind, ProtoInitKind>(
  'initializer kind',
  {
    uniform: 'INITIALIZER_KIND_UNIFORM',
    normal: 'INITIALIZER_KIND_NORMAL',
    xavier: 'INITIALIZER_KIND_XAVIER',
    msraprelu: 'INITIALIZER_KIND_MSRAPRELU',
    constant: 'INITIALIZER_KIND_CONSTANT',
    zero: 'INITIALIZER_KIND_ZERO',
    one: 'INITIALIZER_KIND_ONE',
    orthogonal: 'INITIALIZER_KIND_ORTHOGONAL',
  },
  'INITIALIZER_KIND_UNSPECIFIED',
);

export const OPTIMIZER_KIND_CODEC = new EnumCodec<OptimizerName, ProtoOptimizerKind>(
  'optimizer kind',
  {
    sgd: 'OPTIMIZER_KIND_SGD',
    nag: 'OPTIMIZER_KIND_NAG',
    adam: 'OPTIMIZER_KIND_ADAM',
    adamw: 'OPTIMIZER_KIND_ADAMW',
    adagrad: 'OPTIMIZER_KIND_ADAGRAD',
    rmsprop: 'OPTIMIZER_KIND_RMSPROP',
    ftrl: 'OPTIMIZER_KIND_FTRL',
    lamb: 'OPTIMIZER_KIND_LAMB',
  },
  'OPTIMIZER_KIND_UNSPECIFIED',
);

export const TRAINER_MODE_CODEC = new EnumCodec<'sync' | 'async', ProtoTrainerMode>(
  'trainer mode',
  { sync: 'TRAINER_MODE_SYNC', async: 'TRAINER_MODE_ASYNC' },
  'TRAINER_MODE_UNSPECIFIED',
);

export const TIMEOUT_POLICY_CODEC = new EnumCodec<'fail' | 'quorum', ProtoTimeoutPolicy>(
  'timeout policy',
  { fail: 'TIMEOUT_POLICY_FAIL', quorum: 'TIMEOUT_POLICY_QUORUM' },
  'TIMEOUT_POLICY_UNSPECIFIED',
);
