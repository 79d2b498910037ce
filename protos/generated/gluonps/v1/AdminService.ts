// Original file: protos/gluonps/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CheckpointRequest as _gluonps_v1_CheckpointRequest, CheckpointRequest__Output as _gluonps_v1_CheckpointRequest__Output } from '../../gluonps/v1/CheckpointRequest';
import type { CheckpointResponse as _gluonps_v1_CheckpointResponse, CheckpointResponse__Output as _gluonps_v1_CheckpointResponse__Output } from '../../gluonps/v1/CheckpointResponse';
import type { GetStatusRequest as _gluonps_v1_GetStatusRequest, GetStatusRequest__Output as _gluonps_v1_GetStatusRequest__Output } from '../../gluonps/v1/GetStatusRequest';
import type { ListTrainersRequest as _gluonps_v1_ListTrainersRequest, ListTrainersRequest__Output as _gluonps_v1_ListTrainersRequest__Output } from '../../gluonps/v1/ListTrainersRequest';
import type { ListTrainersResponse as _gluonps_v1_ListTrainersResponse, ListTrainersResponse__Output as _gluonps_v1_ListTrainersResponse__Output } from '../../gluonps/v1/ListTrainersResponse';
import type { ServerStatus as _gluonps_v1_ServerStatus, ServerStatus__Output as _gluonps_v1_ServerStatus__Output } from '../../gluonps/v1/ServerStatus';

/**
 * Administration of a running server. Every method needs a full-access token when tokens are
 * set.
 */
export interface AdminServiceClient extends grpc.Client {
  /**
   * Writes a checkpoint of every parameter, trainer and optimizer state now; FAILED_PRECONDITION
   * when the server runs without a data directory.
   */
  Checkpoint(argument: _gluonps_v1_CheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _gluonps_v1_CheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _gluonps_v1_CheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _gluonps_v1_CheckpointRequest, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Writes a checkpoint of every parameter, trainer and optimizer state now; FAILED_PRECONDITION
   * when the server runs without a data directory.
   */
  checkpoint(argument: _gluonps_v1_CheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _gluonps_v1_CheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _gluonps_v1_CheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _gluonps_v1_CheckpointRequest, callback: grpc.requestCallback<_gluonps_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A snapshot of the server: health, version, memory, durability, trainers, recent warnings.
   * Answered while the server recovers or after its log failed too (health says why).
   */
  GetStatus(argument: _gluonps_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _gluonps_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _gluonps_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _gluonps_v1_GetStatusRequest, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  /**
   * A snapshot of the server: health, version, memory, durability, trainers, recent warnings.
   * Answered while the server recovers or after its log failed too (health says why).
   */
  getStatus(argument: _gluonps_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _gluonps_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _gluonps_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _gluonps_v1_GetStatusRequest, callback: grpc.requestCallback<_gluonps_v1_ServerStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * Every trainer's name and a one-line description.
   */
  ListTrainers(argument: _gluonps_v1_ListTrainersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  ListTrainers(argument: _gluonps_v1_ListTrainersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  ListTrainers(argument: _gluonps_v1_ListTrainersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  ListTrainers(argument: _gluonps_v1_ListTrainersRequest, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Every trainer's name and a one-line description.
   */
  listTrainers(argument: _gluonps_v1_ListTrainersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  listTrainers(argument: _gluonps_v1_ListTrainersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  listTrainers(argument: _gluonps_v1_ListTrainersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  listTrainers(argument: _gluonps_v1_ListTrainersRequest, callback: grpc.requestCallback<_gluonps_v1_ListTrainersResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Administration of a running server. Every method needs a full-access token when tokens are
 * set.
 */
export interface AdminServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Writes a checkpoint of every parameter, trainer and optimizer state now; FAILED_PRECONDITION
   * when the server runs without a data directory.
   */
  Checkpoint: grpc.handleUnaryCall<_gluonps_v1_CheckpointRequest__Output, _gluonps_v1_CheckpointResponse>;
  
  /**
   * A snapshot of the server: health, version, memory, durability, trainers, recent warnings.
   * Answered while the server recovers or after its log failed too (health says why).
   */
  GetStatus: grpc.handleUnaryCall<_gluonps_v1_GetStatusRequest__Output, _gluonps_v1_ServerStatus>;
  
  /**
   * Every trainer's name and a one-line description.
   */
  ListTrainers: grpc.handleUnaryCall<_gluonps_v1_ListTrainersRequest__Output, _gluonps_v1_ListTrainersResponse>;
  
}

export interface AdminServiceDefinition extends grpc.ServiceDefinition {
  Checkpoint: MethodDefinition<_gluonps_v1_CheckpointRequest, _gluonps_v1_CheckpointResponse, _gluonps_v1_CheckpointRequest__Output, _gluonps_v1_CheckpointResponse__Output>
  GetStatus: MethodDefinition<_gluonps_v1_GetStatusRequest, _gluonps_v1_ServerStatus, _gluonps_v1_GetStatusRequest__Output, _gluonps_v1_ServerStatus__Output>
  ListTrainers: MethodDefinition<_gluonps_v1_ListTrainersRequest, _gluonps_v1_ListTrainersResponse, _gluonps_v1_ListTrainersRequest__Output, _gluonps_v1_ListTrainersResponse__Output>
}
