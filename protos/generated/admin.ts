import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminServiceClient as _gluonps_v1_AdminServiceClient, AdminServiceDefinition as _gluonps_v1_AdminServiceDefinition } from './gluonps/v1/AdminService';
import type { CheckpointRequest as _gluonps_v1_CheckpointRequest, CheckpointRequest__Output as _gluonps_v1_CheckpointRequest__Output } from './gluonps/v1/CheckpointRequest';
import type { CheckpointResponse as _gluonps_v1_CheckpointResponse, CheckpointResponse__Output as _gluonps_v1_CheckpointResponse__Output } from './gluonps/v1/CheckpointResponse';
import type { CheckpointStatus as _gluonps_v1_CheckpointStatus, CheckpointStatus__Output as _gluonps_v1_CheckpointStatus__Output } from './gluonps/v1/CheckpointStatus';
import type { DeviceMemory as _gluonps_v1_DeviceMemory, DeviceMemory__Output as _gluonps_v1_DeviceMemory__Output } from './gluonps/v1/DeviceMemory';
import type { DurabilityStatus as _gluonps_v1_DurabilityStatus, DurabilityStatus__Output as _gluonps_v1_DurabilityStatus__Output } from './gluonps/v1/DurabilityStatus';
import type { ErrorStatus as _gluonps_v1_ErrorStatus, ErrorStatus__Output as _gluonps_v1_ErrorStatus__Output } from './gluonps/v1/ErrorStatus';
import type { GetStatusRequest as _gluonps_v1_GetStatusRequest, GetStatusRequest__Output as _gluonps_v1_GetStatusRequest__Output } from './gluonps/v1/GetStatusRequest';
import type { HealthStatus as _gluonps_v1_HealthStatus, HealthStatus__Output as _gluonps_v1_HealthStatus__Output } from './gluonps/v1/HealthStatus';
import type { ListTrainersRequest as _gluonps_v1_ListTrainersRequest, ListTrainersRequest__Output as _gluonps_v1_ListTrainersRequest__Output } from './gluonps/v1/ListTrainersRequest';
import type { ListTrainersResponse as _gluonps_v1_ListTrainersResponse, ListTrainersResponse__Output as _gluonps_v1_ListTrainersResponse__Output } from './gluonps/v1/ListTrainersResponse';
import type { LogEvent as _gluonps_v1_LogEvent, LogEvent__Output as _gluonps_v1_LogEvent__Output } from './gluonps/v1/LogEvent';
import type { MemoryByKind as _gluonps_v1_MemoryByKind, MemoryByKind__Output as _gluonps_v1_MemoryByKind__Output } from './gluonps/v1/MemoryByKind';
import type { MemoryStatus as _gluonps_v1_MemoryStatus, MemoryStatus__Output as _gluonps_v1_MemoryStatus__Output } from './gluonps/v1/MemoryStatus';
import type { OpenStepStatus as _gluonps_v1_OpenStepStatus, OpenStepStatus__Output as _gluonps_v1_OpenStepStatus__Output } from './gluonps/v1/OpenStepStatus';
import type { ParametersStatus as _gluonps_v1_ParametersStatus, ParametersStatus__Output as _gluonps_v1_ParametersStatus__Output } from './gluonps/v1/ParametersStatus';
import type { SecurityStatus as _gluonps_v1_SecurityStatus, SecurityStatus__Output as _gluonps_v1_SecurityStatus__Output } from './gluonps/v1/SecurityStatus';
import type { ServerStatus as _gluonps_v1_ServerStatus, ServerStatus__Output as _gluonps_v1_ServerStatus__Output } from './gluonps/v1/ServerStatus';
import type { TrainerStatus as _gluonps_v1_TrainerStatus, TrainerStatus__Output as _gluonps_v1_TrainerStatus__Output } from './gluonps/v1/TrainerStatus';
import type { TrainerStep as _gluonps_v1_TrainerStep, TrainerStep__Output as _gluonps_v1_TrainerStep__Output } from './gluonps/v1/TrainerStep';
import type { TrainerSummary as _gluonps_v1_TrainerSummary, TrainerSummary__Output as _gluonps_v1_TrainerSummary__Output } from './gluonps/v1/TrainerSummary';
import type { WalStatus as _gluonps_v1_WalStatus, WalStatus__Output as _gluonps_v1_WalStatus__Output } from './gluonps/v1/WalStatus';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gluonps: {
    v1: {
      /**
       * Administration of a running server. Every method needs a full-access token when tokens are
       * set.
       */
      AdminService: SubtypeConstructor<typeof grpc.Client, _gluonps_v1_AdminServiceClient> & { service: _gluonps_v1_AdminServiceDefinition }
      CheckpointRequest: MessageTypeDefinition<_gluonps_v1_CheckpointRequest, _gluonps_v1_CheckpointRequest__Output>
      CheckpointResponse: MessageTypeDefinition<_gluonps_v1_CheckpointResponse, _gluonps_v1_CheckpointResponse__Output>
      CheckpointStatus: MessageTypeDefinition<_gluonps_v1_CheckpointStatus, _gluonps_v1_CheckpointStatus__Output>
      DeviceMemory: MessageTypeDefinition<_gluonps_v1_DeviceMemory, _gluonps_v1_DeviceMemory__Output>
      DurabilityStatus: MessageTypeDefinition<_gluonps_v1_DurabilityStatus, _gluonps_v1_DurabilityStatus__Output>
      ErrorStatus: MessageTypeDefinition<_gluonps_v1_ErrorStatus, _gluonps_v1_ErrorStatus__Output>
      GetStatusRequest: MessageTypeDefinition<_gluonps_v1_GetStatusRequest, _gluonps_v1_GetStatusRequest__Output>
      HealthStatus: MessageTypeDefinition<_gluonps_v1_HealthStatus, _gluonps_v1_HealthStatus__Output>
      ListTrainersRequest: MessageTypeDefinition<_gluonps_v1_ListTrainersRequest, _gluonps_v1_ListTrainersRequest__Output>
      ListTrainersResponse: MessageTypeDefinition<_gluonps_v1_ListTrainersResponse, _gluonps_v1_ListTrainersResponse__Output>
      LogEvent: MessageTypeDefinition<_gluonps_v1_LogEvent, _gluonps_v1_LogEvent__Output>
      MemoryByKind: MessageTypeDefinition<_gluonps_v1_MemoryByKind, _gluonps_v1_MemoryByKind__Output>
      MemoryStatus: MessageTypeDefinition<_gluonps_v1_MemoryStatus, _gluonps_v1_MemoryStatus__Output>
      OpenStepStatus: MessageTypeDefinition<_gluonps_v1_OpenStepStatus, _gluonps_v1_OpenStepStatus__Output>
      ParametersStatus: MessageTypeDefinition<_gluonps_v1_ParametersStatus, _gluonps_v1_ParametersStatus__Output>
      SecurityStatus: MessageTypeDefinition<_gluonps_v1_SecurityStatus, _gluonps_v1_SecurityStatus__Output>
      ServerStatus: MessageTypeDefinition<_gluonps_v1_ServerStatus, _gluonps_v1_ServerStatus__Output>
      TrainerStatus: MessageTypeDefinition<_gluonps_v1_TrainerStatus, _gluonps_v1_TrainerStatus__Output>
      TrainerStep: MessageTypeDefinition<_gluonps_v1_TrainerStep, _gluonps_v1_TrainerStep__Output>
      TrainerSummary: MessageTypeDefinition<_gluonps_v1_TrainerSummary, _gluonps_v1_TrainerSummary__Output>
      WalStatus: MessageTypeDefinition<_gluonps_v1_WalStatus, _gluonps_v1_WalStatus__Output>
    }
  }
}

