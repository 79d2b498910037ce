import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CastRequest as _gluonps_v1_CastRequest, CastRequest__Output as _gluonps_v1_CastRequest__Output } from './gluonps/v1/CastRequest';
import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from './gluonps/v1/Context';
import type { DataRequest as _gluonps_v1_DataRequest, DataRequest__Output as _gluonps_v1_DataRequest__Output } from './gluonps/v1/DataRequest';
import type { DeclareRequest as _gluonps_v1_DeclareRequest, DeclareRequest__Output as _gluonps_v1_DeclareRequest__Output } from './gluonps/v1/DeclareRequest';
import type { DescribeRequest as _gluonps_v1_DescribeRequest, DescribeRequest__Output as _gluonps_v1_DescribeRequest__Output } from './gluonps/v1/DescribeRequest';
import type { GetRequest as _gluonps_v1_GetRequest, GetRequest__Output as _gluonps_v1_GetRequest__Output } from './gluonps/v1/GetRequest';
import type { GradRequest as _gluonps_v1_GradRequest, GradRequest__Output as _gluonps_v1_GradRequest__Output } from './gluonps/v1/GradRequest';
import type { InitializeRequest as _gluonps_v1_InitializeRequest, InitializeRequest__Output as _gluonps_v1_InitializeRequest__Output } from './gluonps/v1/InitializeRequest';
import type { Initializer as _gluonps_v1_Initializer, Initializer__Output as _gluonps_v1_Initializer__Output } from './gluonps/v1/Initializer';
import type { ListCtxRequest as _gluonps_v1_ListCtxRequest, ListCtxRequest__Output as _gluonps_v1_ListCtxRequest__Output } from './gluonps/v1/ListCtxRequest';
import type { ListCtxResponse as _gluonps_v1_ListCtxResponse, ListCtxResponse__Output as _gluonps_v1_ListCtxResponse__Output } from './gluonps/v1/ListCtxResponse';
import type { ListDataRequest as _gluonps_v1_ListDataRequest, ListDataRequest__Output as _gluonps_v1_ListDataRequest__Output } from './gluonps/v1/ListDataRequest';
import type { ListGradRequest as _gluonps_v1_ListGradRequest, ListGradRequest__Output as _gluonps_v1_ListGradRequest__Output } from './gluonps/v1/ListGradRequest';
import type { ListRequest as _gluonps_v1_ListRequest, ListRequest__Output as _gluonps_v1_ListRequest__Output } from './gluonps/v1/ListRequest';
import type { ListResponse as _gluonps_v1_ListResponse, ListResponse__Output as _gluonps_v1_ListResponse__Output } from './gluonps/v1/ListResponse';
import type { ListRowSparseDataRequest as _gluonps_v1_ListRowSparseDataRequest, ListRowSparseDataRequest__Output as _gluonps_v1_ListRowSparseDataRequest__Output } from './gluonps/v1/ListRowSparseDataRequest';
import type { ParameterInfo as _gluonps_v1_ParameterInfo, ParameterInfo__Output as _gluonps_v1_ParameterInfo__Output } from './gluonps/v1/ParameterInfo';
import type { ParameterPart as _gluonps_v1_ParameterPart, ParameterPart__Output as _gluonps_v1_ParameterPart__Output } from './gluonps/v1/ParameterPart';
import type { ParameterServiceClient as _gluonps_v1_ParameterServiceClient, ParameterServiceDefinition as _gluonps_v1_ParameterServiceDefinition } from './gluonps/v1/ParameterService';
import type { ParameterSpec as _gluonps_v1_ParameterSpec, ParameterSpec__Output as _gluonps_v1_ParameterSpec__Output } from './gluonps/v1/ParameterSpec';
import type { ResetCtxRequest as _gluonps_v1_ResetCtxRequest, ResetCtxRequest__Output as _gluonps_v1_ResetCtxRequest__Output } from './gluonps/v1/ResetCtxRequest';
import type { RowSparseDataRequest as _gluonps_v1_RowSparseDataRequest, RowSparseDataRequest__Output as _gluonps_v1_RowSparseDataRequest__Output } from './gluonps/v1/RowSparseDataRequest';
import type { SetShapeRequest as _gluonps_v1_SetShapeRequest, SetShapeRequest__Output as _gluonps_v1_SetShapeRequest__Output } from './gluonps/v1/SetShapeRequest';
import type { TensorChunk as _gluonps_v1_TensorChunk, TensorChunk__Output as _gluonps_v1_TensorChunk__Output } from './gluonps/v1/TensorChunk';
import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from './gluonps/v1/TensorHeader';
import type { TensorUpload as _gluonps_v1_TensorUpload, TensorUpload__Output as _gluonps_v1_TensorUpload__Output } from './gluonps/v1/TensorUpload';
import type { VarRequest as _gluonps_v1_VarRequest, VarRequest__Output as _gluonps_v1_VarRequest__Output } from './gluonps/v1/VarRequest';
import type { VarResponse as _gluonps_v1_VarResponse, VarResponse__Output as _gluonps_v1_VarResponse__Output } from './gluonps/v1/VarResponse';
import type { ZeroGradRequest as _gluonps_v1_ZeroGradRequest, ZeroGradRequest__Output as _gluonps_v1_ZeroGradRequest__Output } from './gluonps/v1/ZeroGradRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gluonps: {
    v1: {
      CastRequest: MessageTypeDefinition<_gluonps_v1_CastRequest, _gluonps_v1_CastRequest__Output>
      Context: MessageTypeDefinition<_gluonps_v1_Context, _gluonps_v1_Context__Output>
      DType: EnumTypeDefinition
      DataRequest: MessageTypeDefinition<_gluonps_v1_DataRequest, _gluonps_v1_DataRequest__Output>
      DeclareRequest: MessageTypeDefinition<_gluonps_v1_DeclareRequest, _gluonps_v1_DeclareRequest__Output>
      DescribeRequest: MessageTypeDefinition<_gluonps_v1_DescribeRequest, _gluonps_v1_DescribeRequest__Output>
      DeviceType: EnumTypeDefinition
      GetRequest: MessageTypeDefinition<_gluonps_v1_GetRequest, _gluonps_v1_GetRequest__Output>
      GradReq: EnumTypeDefinition
      GradRequest: MessageTypeDefinition<_gluonps_v1_GradRequest, _gluonps_v1_GradRequest__Output>
      InitializeRequest: MessageTypeDefinition<_gluonps_v1_InitializeRequest, _gluonps_v1_InitializeRequest__Output>
      Initializer: MessageTypeDefinition<_gluonps_v1_Initializer, _gluonps_v1_Initializer__Output>
      InitializerKind: EnumTypeDefinition
      ListCtxRequest: MessageTypeDefinition<_gluonps_v1_ListCtxRequest, _gluonps_v1_ListCtxRequest__Output>
      ListCtxResponse: MessageTypeDefinition<_gluonps_v1_ListCtxResponse, _gluonps_v1_ListCtxResponse__Output>
      ListDataRequest: MessageTypeDefinition<_gluonps_v1_ListDataRequest, _gluonps_v1_ListDataRequest__Output>
      ListGradRequest: MessageTypeDefinition<_gluonps_v1_ListGradRequest, _gluonps_v1_ListGradRequest__Output>
      ListRequest: MessageTypeDefinition<_gluonps_v1_ListRequest, _gluonps_v1_ListRequest__Output>
      ListResponse: MessageTypeDefinition<_gluonps_v1_ListResponse, _gluonps_v1_ListResponse__Output>
      ListRowSparseDataRequest: MessageTypeDefinition<_gluonps_v1_ListRowSparseDataRequest, _gluonps_v1_ListRowSparseDataRequest__Output>
      ParameterInfo: MessageTypeDefinition<_gluonps_v1_ParameterInfo, _gluonps_v1_ParameterInfo__Output>
      ParameterPart: MessageTypeDefinition<_gluonps_v1_ParameterPart, _gluonps_v1_ParameterPart__Output>
      /**
       * Declares, initializes, reads and writes Gluon Parameters and Constants held by the server.
       */
      ParameterService: SubtypeConstructor<typeof grpc.Client, _gluonps_v1_ParameterServiceClient> & { service: _gluonps_v1_ParameterServiceDefinition }
      ParameterSpec: MessageTypeDefinition<_gluonps_v1_ParameterSpec, _gluonps_v1_ParameterSpec__Output>
      ResetCtxRequest: MessageTypeDefinition<_gluonps_v1_ResetCtxRequest, _gluonps_v1_ResetCtxRequest__Output>
      RowSparseDataRequest: MessageTypeDefinition<_gluonps_v1_RowSparseDataRequest, _gluonps_v1_RowSparseDataRequest__Output>
      SetShapeRequest: MessageTypeDefinition<_gluonps_v1_SetShapeRequest, _gluonps_v1_SetShapeRequest__Output>
      StorageType: EnumTypeDefinition
      TensorChunk: MessageTypeDefinition<_gluonps_v1_TensorChunk, _gluonps_v1_TensorChunk__Output>
      TensorHeader: MessageTypeDefinition<_gluonps_v1_TensorHeader, _gluonps_v1_TensorHeader__Output>
      TensorUpload: MessageTypeDefinition<_gluonps_v1_TensorUpload, _gluonps_v1_TensorUpload__Output>
      VarRequest: MessageTypeDefinition<_gluonps_v1_VarRequest, _gluonps_v1_VarRequest__Output>
      VarResponse: MessageTypeDefinition<_gluonps_v1_VarResponse, _gluonps_v1_VarResponse__Output>
      ZeroGradRequest: MessageTypeDefinition<_gluonps_v1_ZeroGradRequest, _gluonps_v1_ZeroGradRequest__Output>
    }
  }
}

