// Original file: protos/gluonps/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CheckpointRequest as _gluonps_v1_CheckpointRequest, CheckpointRequest__Output as _gluonps_v1_CheckpointRequest__Output } from '../../gluonps/v1/CheckpointRequest';
import type { CheckpointResponse as _gluonps_v1_CheckpointResponse, CheckpointResponse__Output as _gluonps_v1_CheckpointResponse__Output } from '../../gluonps/v1/CheckpointResponse';

/**
 * Administration of a running server.
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
  
}

/**
 * Administration of a running server.
 */
export interface AdminServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Writes a checkpoint of every parameter, trainer and optimizer state now; FAILED_PRECONDITION
   * when the server runs without a data directory.
   */
  Checkpoint: grpc.handleUnaryCall<_gluonps_v1_CheckpointRequest__Output, _gluonps_v1_CheckpointResponse>;
  
}

export interface AdminServiceDefinition extends grpc.ServiceDefinition {
  Checkpoint: MethodDefinition<_gluonps_v1_CheckpointRequest, _gluonps_v1_CheckpointResponse, _gluonps_v1_CheckpointRequest__Output, _gluonps_v1_CheckpointResponse__Output>
}
