import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from './gluonps/v1/Context';
import type { CreateTrainerRequest as _gluonps_v1_CreateTrainerRequest, CreateTrainerRequest__Output as _gluonps_v1_CreateTrainerRequest__Output } from './gluonps/v1/CreateTrainerRequest';
import type { GradUpload as _gluonps_v1_GradUpload, GradUpload__Output as _gluonps_v1_GradUpload__Output } from './gluonps/v1/GradUpload';
import type { IdempotencyKey as _gluonps_v1_IdempotencyKey, IdempotencyKey__Output as _gluonps_v1_IdempotencyKey__Output } from './gluonps/v1/IdempotencyKey';
import type { LeaveRequest as _gluonps_v1_LeaveRequest, LeaveRequest__Output as _gluonps_v1_LeaveRequest__Output } from './gluonps/v1/LeaveRequest';
import type { LrScheduler as _gluonps_v1_LrScheduler, LrScheduler__Output as _gluonps_v1_LrScheduler__Output } from './gluonps/v1/LrScheduler';
import type { OptimizerSpec as _gluonps_v1_OptimizerSpec, OptimizerSpec__Output as _gluonps_v1_OptimizerSpec__Output } from './gluonps/v1/OptimizerSpec';
import type { ParameterPart as _gluonps_v1_ParameterPart, ParameterPart__Output as _gluonps_v1_ParameterPart__Output } from './gluonps/v1/ParameterPart';
import type { PushGradResponse as _gluonps_v1_PushGradResponse, PushGradResponse__Output as _gluonps_v1_PushGradResponse__Output } from './gluonps/v1/PushGradResponse';
import type { SetLearningRateRequest as _gluonps_v1_SetLearningRateRequest, SetLearningRateRequest__Output as _gluonps_v1_SetLearningRateRequest__Output } from './gluonps/v1/SetLearningRateRequest';
import type { StatesChunk as _gluonps_v1_StatesChunk, StatesChunk__Output as _gluonps_v1_StatesChunk__Output } from './gluonps/v1/StatesChunk';
import type { StepDecision as _gluonps_v1_StepDecision, StepDecision__Output as _gluonps_v1_StepDecision__Output } from './gluonps/v1/StepDecision';
import type { StepRequest as _gluonps_v1_StepRequest, StepRequest__Output as _gluonps_v1_StepRequest__Output } from './gluonps/v1/StepRequest';
import type { StepResponse as _gluonps_v1_StepResponse, StepResponse__Output as _gluonps_v1_StepResponse__Output } from './gluonps/v1/StepResponse';
import type { TensorChunk as _gluonps_v1_TensorChunk, TensorChunk__Output as _gluonps_v1_TensorChunk__Output } from './gluonps/v1/TensorChunk';
import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from './gluonps/v1/TensorHeader';
import type { TensorUpload as _gluonps_v1_TensorUpload, TensorUpload__Output as _gluonps_v1_TensorUpload__Output } from './gluonps/v1/TensorUpload';
import type { TrainerInfo as _gluonps_v1_TrainerInfo, TrainerInfo__Output as _gluonps_v1_TrainerInfo__Output } from './gluonps/v1/TrainerInfo';
import type { TrainerRef as _gluonps_v1_TrainerRef, TrainerRef__Output as _gluonps_v1_TrainerRef__Output } from './gluonps/v1/TrainerRef';
import type { TrainerServiceClient as _gluonps_v1_TrainerServiceClient, TrainerServiceDefinition as _gluonps_v1_TrainerServiceDefinition } from './gluonps/v1/TrainerService';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gluonps: {
    v1: {
      Context: MessageTypeDefinition<_gluonps_v1_Context, _gluonps_v1_Context__Output>
      CreateTrainerRequest: MessageTypeDefinition<_gluonps_v1_CreateTrainerRequest, _gluonps_v1_CreateTrainerRequest__Output>
      DType: EnumTypeDefinition
      DeviceType: EnumTypeDefinition
      GradUpload: MessageTypeDefinition<_gluonps_v1_GradUpload, _gluonps_v1_GradUpload__Output>
      IdempotencyKey: MessageTypeDefinition<_gluonps_v1_IdempotencyKey, _gluonps_v1_IdempotencyKey__Output>
      LeaveRequest: MessageTypeDefinition<_gluonps_v1_LeaveRequest, _gluonps_v1_LeaveRequest__Output>
      LrScheduler: MessageTypeDefinition<_gluonps_v1_LrScheduler, _gluonps_v1_LrScheduler__Output>
      OptimizerKind: EnumTypeDefinition
      OptimizerSpec: MessageTypeDefinition<_gluonps_v1_OptimizerSpec, _gluonps_v1_OptimizerSpec__Output>
      ParameterPart: MessageTypeDefinition<_gluonps_v1_ParameterPart, _gluonps_v1_ParameterPart__Output>
      PushGradResponse: MessageTypeDefinition<_gluonps_v1_PushGradResponse, _gluonps_v1_PushGradResponse__Output>
      SetLearningRateRequest: MessageTypeDefinition<_gluonps_v1_SetLearningRateRequest, _gluonps_v1_SetLearningRateRequest__Output>
      StatesChunk: MessageTypeDefinition<_gluonps_v1_StatesChunk, _gluonps_v1_StatesChunk__Output>
      StepDecision: MessageTypeDefinition<_gluonps_v1_StepDecision, _gluonps_v1_StepDecision__Output>
      StepRequest: MessageTypeDefinition<_gluonps_v1_StepRequest, _gluonps_v1_StepRequest__Output>
      StepResponse: MessageTypeDefinition<_gluonps_v1_StepResponse, _gluonps_v1_StepResponse__Output>
      TensorChunk: MessageTypeDefinition<_gluonps_v1_TensorChunk, _gluonps_v1_TensorChunk__Output>
      TensorHeader: MessageTypeDefinition<_gluonps_v1_TensorHeader, _gluonps_v1_TensorHeader__Output>
      TensorUpload: MessageTypeDefinition<_gluonps_v1_TensorUpload, _gluonps_v1_TensorUpload__Output>
      TimeoutPolicy: EnumTypeDefinition
      TrainerInfo: MessageTypeDefinition<_gluonps_v1_TrainerInfo, _gluonps_v1_TrainerInfo__Output>
      TrainerMode: EnumTypeDefinition
      TrainerRef: MessageTypeDefinition<_gluonps_v1_TrainerRef, _gluonps_v1_TrainerRef__Output>
      /**
       * Trains parameters of the ParameterService with gradients that workers push.
       */
      TrainerService: SubtypeConstructor<typeof grpc.Client, _gluonps_v1_TrainerServiceClient> & { service: _gluonps_v1_TrainerServiceDefinition }
    }
  }
}

