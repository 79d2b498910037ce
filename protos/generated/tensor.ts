import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from './gluonps/v1/Context';
import type { ParameterPart as _gluonps_v1_ParameterPart, ParameterPart__Output as _gluonps_v1_ParameterPart__Output } from './gluonps/v1/ParameterPart';
import type { TensorChunk as _gluonps_v1_TensorChunk, TensorChunk__Output as _gluonps_v1_TensorChunk__Output } from './gluonps/v1/TensorChunk';
import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from './gluonps/v1/TensorHeader';
import type { TensorUpload as _gluonps_v1_TensorUpload, TensorUpload__Output as _gluonps_v1_TensorUpload__Output } from './gluonps/v1/TensorUpload';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gluonps: {
    v1: {
      Context: MessageTypeDefinition<_gluonps_v1_Context, _gluonps_v1_Context__Output>
      DType: EnumTypeDefinition
      DeviceType: EnumTypeDefinition
      ParameterPart: MessageTypeDefinition<_gluonps_v1_ParameterPart, _gluonps_v1_ParameterPart__Output>
      TensorChunk: MessageTypeDefinition<_gluonps_v1_TensorChunk, _gluonps_v1_TensorChunk__Output>
      TensorHeader: MessageTypeDefinition<_gluonps_v1_TensorHeader, _gluonps_v1_TensorHeader__Output>
      TensorUpload: MessageTypeDefinition<_gluonps_v1_TensorUpload, _gluonps_v1_TensorUpload__Output>
    }
  }
}

