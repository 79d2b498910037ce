// The gluon-ps client: what users import. A Gluon-like API (connect, parameter handles, init.*,
// cpu/gpu contexts) over the gluonps.v1 gRPC service; the contract is
// docs/api.md. Everything async rejects with a GluonPsError whose
// numeric `code` is a gRPC status (compare with `Status.NOT_FOUND` etc.).
export { connect } from './connect';
export { ParameterServerClient } from './client';
export type { CheckpointResult } from './client';
export type {
  CheckpointStatus,
  DeviceMemory,
  DurabilityStatus,
  LogEvent,
  MemoryByKind,
  MemoryStatus,
  OpenStepStatus,
  ParametersStatus,
  ServerStatus,
  ShardStatus,
  TrainerStatus,
  TrainerSummary,
  WalStatus,
} from '../common/status';
export type { ConnectOptions, TlsOptions } from './channel';
export type { ClusterConnectOptions } from './cluster/shards';
export type { EtcdClusterConnectOptions } from './cluster/etcd-membership';
export type { EtcdConnectOptions } from './cluster/etcd-security';
export type { ClusterDescription, ShardDescription } from './cluster/types';
export { cpu, gpu } from './convert';
export type { Context, DeviceType, GradReq, ParameterDescriptor, ParameterSpec, StorageType } from './convert';
export { GluonPsError, Status } from './errors';
export type { ErrorReason } from './errors';
export { init, INIT_KINDS } from './init';
export type { FactorType, InitKind, InitName, InitSpec, OrthogonalRandType, XavierRndType } from './init';
export { Parameter } from './parameter';
export type { InitializeOptions, ReadTensor, RowSparseTensor, SymbolVar } from './parameter';
export { DTYPES } from './tensor';
export { Trainer } from './trainer';
export { OPTIMIZER_NAMES } from './trainer-types';
export type {
  GradInput,
  LrSchedulerSpec,
  OptimizerName,
  OptimizerParams,
  RowSparseGrad,
  StepResult,
  TimeoutPolicy,
  TrainerDescriptor,
  TrainerMode,
  TrainerOptions,
} from './trainer-types';
export { LOAD_FORMATS, SAVE_FORMATS } from './persist';
export type {
  LoadFormat,
  LoadParametersOptions,
  LoadParametersResult,
  PersistProgress,
  SaveFormat,
  SaveParametersOptions,
  SaveParametersResult,
} from './persist';
export type { RetryOptions } from './retry';
export type { ArrayTypes, DType, NestedNumbers, Tensor, TensorInput, TypedArray } from './tensor';
