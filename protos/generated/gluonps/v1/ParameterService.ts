// Original file: protos/gluonps/v1/parameter.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CastRequest as _gluonps_v1_CastRequest, CastRequest__Output as _gluonps_v1_CastRequest__Output } from '../../gluonps/v1/CastRequest';
import type { DataRequest as _gluonps_v1_DataRequest, DataRequest__Output as _gluonps_v1_DataRequest__Output } from '../../gluonps/v1/DataRequest';
import type { DeclareRequest as _gluonps_v1_DeclareRequest, DeclareRequest__Output as _gluonps_v1_DeclareRequest__Output } from '../../gluonps/v1/DeclareRequest';
import type { DescribeRequest as _gluonps_v1_DescribeRequest, DescribeRequest__Output as _gluonps_v1_DescribeRequest__Output } from '../../gluonps/v1/DescribeRequest';
import type { GetRequest as _gluonps_v1_GetRequest, GetRequest__Output as _gluonps_v1_GetRequest__Output } from '../../gluonps/v1/GetRequest';
import type { GradRequest as _gluonps_v1_GradRequest, GradRequest__Output as _gluonps_v1_GradRequest__Output } from '../../gluonps/v1/GradRequest';
import type { InitializeRequest as _gluonps_v1_InitializeRequest, InitializeRequest__Output as _gluonps_v1_InitializeRequest__Output } from '../../gluonps/v1/InitializeRequest';
import type { ListCtxRequest as _gluonps_v1_ListCtxRequest, ListCtxRequest__Output as _gluonps_v1_ListCtxRequest__Output } from '../../gluonps/v1/ListCtxRequest';
import type { ListCtxResponse as _gluonps_v1_ListCtxResponse, ListCtxResponse__Output as _gluonps_v1_ListCtxResponse__Output } from '../../gluonps/v1/ListCtxResponse';
import type { ListDataRequest as _gluonps_v1_ListDataRequest, ListDataRequest__Output as _gluonps_v1_ListDataRequest__Output } from '../../gluonps/v1/ListDataRequest';
import type { ListGradRequest as _gluonps_v1_ListGradRequest, ListGradRequest__Output as _gluonps_v1_ListGradRequest__Output } from '../../gluonps/v1/ListGradRequest';
import type { ListRequest as _gluonps_v1_ListRequest, ListRequest__Output as _gluonps_v1_ListRequest__Output } from '../../gluonps/v1/ListRequest';
import type { ListResponse as _gluonps_v1_ListResponse, ListResponse__Output as _gluonps_v1_ListResponse__Output } from '../../gluonps/v1/ListResponse';
import type { ListRowSparseDataRequest as _gluonps_v1_ListRowSparseDataRequest, ListRowSparseDataRequest__Output as _gluonps_v1_ListRowSparseDataRequest__Output } from '../../gluonps/v1/ListRowSparseDataRequest';
import type { ParameterInfo as _gluonps_v1_ParameterInfo, ParameterInfo__Output as _gluonps_v1_ParameterInfo__Output } from '../../gluonps/v1/ParameterInfo';
import type { ResetCtxRequest as _gluonps_v1_ResetCtxRequest, ResetCtxRequest__Output as _gluonps_v1_ResetCtxRequest__Output } from '../../gluonps/v1/ResetCtxRequest';
import type { RowSparseDataRequest as _gluonps_v1_RowSparseDataRequest, RowSparseDataRequest__Output as _gluonps_v1_RowSparseDataRequest__Output } from '../../gluonps/v1/RowSparseDataRequest';
import type { SetShapeRequest as _gluonps_v1_SetShapeRequest, SetShapeRequest__Output as _gluonps_v1_SetShapeRequest__Output } from '../../gluonps/v1/SetShapeRequest';
import type { TensorChunk as _gluonps_v1_TensorChunk, TensorChunk__Output as _gluonps_v1_TensorChunk__Output } from '../../gluonps/v1/TensorChunk';
import type { TensorUpload as _gluonps_v1_TensorUpload, TensorUpload__Output as _gluonps_v1_TensorUpload__Output } from '../../gluonps/v1/TensorUpload';
import type { VarRequest as _gluonps_v1_VarRequest, VarRequest__Output as _gluonps_v1_VarRequest__Output } from '../../gluonps/v1/VarRequest';
import type { VarResponse as _gluonps_v1_VarResponse, VarResponse__Output as _gluonps_v1_VarResponse__Output } from '../../gluonps/v1/VarResponse';
import type { ZeroGradRequest as _gluonps_v1_ZeroGradRequest, ZeroGradRequest__Output as _gluonps_v1_ZeroGradRequest__Output } from '../../gluonps/v1/ZeroGradRequest';

/**
 * Declares, initializes, reads and writes Gluon Parameters and Constants held by the server.
 */
export interface ParameterServiceClient extends grpc.Client {
  /**
   * Converts data and gradients to a new dtype (Gluon's cast and dtype setter).
   */
  Cast(argument: _gluonps_v1_CastRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Cast(argument: _gluonps_v1_CastRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Cast(argument: _gluonps_v1_CastRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Cast(argument: _gluonps_v1_CastRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Converts data and gradients to a new dtype (Gluon's cast and dtype setter).
   */
  cast(argument: _gluonps_v1_CastRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  cast(argument: _gluonps_v1_CastRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  cast(argument: _gluonps_v1_CastRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  cast(argument: _gluonps_v1_CastRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams a copy of the data on one context.
   */
  Data(argument: _gluonps_v1_DataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  Data(argument: _gluonps_v1_DataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams a copy of the data on one context.
   */
  data(argument: _gluonps_v1_DataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  data(argument: _gluonps_v1_DataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Declares a parameter with every Gluon constructor argument; idempotent for an identical spec.
   */
  Declare(argument: _gluonps_v1_DeclareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Declare(argument: _gluonps_v1_DeclareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Declare(argument: _gluonps_v1_DeclareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Declare(argument: _gluonps_v1_DeclareRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Declares a parameter with every Gluon constructor argument; idempotent for an identical spec.
   */
  declare(argument: _gluonps_v1_DeclareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  declare(argument: _gluonps_v1_DeclareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  declare(argument: _gluonps_v1_DeclareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  declare(argument: _gluonps_v1_DeclareRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Declares a Constant from a streamed value (first message: name + header).
   */
  DeclareConstant(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  DeclareConstant(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  DeclareConstant(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  DeclareConstant(callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  /**
   * Declares a Constant from a streamed value (first message: name + header).
   */
  declareConstant(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  declareConstant(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  declareConstant(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  declareConstant(callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  
  /**
   * Describes one parameter: spec, state, contexts and version.
   */
  Describe(argument: _gluonps_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _gluonps_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _gluonps_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _gluonps_v1_DescribeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Describes one parameter: spec, state, contexts and version.
   */
  describe(argument: _gluonps_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _gluonps_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _gluonps_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _gluonps_v1_DescribeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Returns an existing parameter; NOT_FOUND if absent.
   */
  Get(argument: _gluonps_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Get(argument: _gluonps_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Get(argument: _gluonps_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Get(argument: _gluonps_v1_GetRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Returns an existing parameter; NOT_FOUND if absent.
   */
  get(argument: _gluonps_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  get(argument: _gluonps_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  get(argument: _gluonps_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  get(argument: _gluonps_v1_GetRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams a copy of the gradient on one context.
   */
  Grad(argument: _gluonps_v1_GradRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  Grad(argument: _gluonps_v1_GradRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams a copy of the gradient on one context.
   */
  grad(argument: _gluonps_v1_GradRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  grad(argument: _gluonps_v1_GradRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Initializes the copies on the given contexts, or defers when the shape is unknown.
   */
  Initialize(argument: _gluonps_v1_InitializeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Initialize(argument: _gluonps_v1_InitializeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Initialize(argument: _gluonps_v1_InitializeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  Initialize(argument: _gluonps_v1_InitializeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Initializes the copies on the given contexts, or defers when the shape is unknown.
   */
  initialize(argument: _gluonps_v1_InitializeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  initialize(argument: _gluonps_v1_InitializeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  initialize(argument: _gluonps_v1_InitializeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  initialize(argument: _gluonps_v1_InitializeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lists every parameter and constant.
   */
  List(argument: _gluonps_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _gluonps_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _gluonps_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _gluonps_v1_ListRequest, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists every parameter and constant.
   */
  list(argument: _gluonps_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _gluonps_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _gluonps_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _gluonps_v1_ListRequest, callback: grpc.requestCallback<_gluonps_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Returns the contexts of the copies, or the pending ones of a deferred initialization.
   */
  ListCtx(argument: _gluonps_v1_ListCtxRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  ListCtx(argument: _gluonps_v1_ListCtxRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  ListCtx(argument: _gluonps_v1_ListCtxRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  ListCtx(argument: _gluonps_v1_ListCtxRequest, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Returns the contexts of the copies, or the pending ones of a deferred initialization.
   */
  listCtx(argument: _gluonps_v1_ListCtxRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  listCtx(argument: _gluonps_v1_ListCtxRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  listCtx(argument: _gluonps_v1_ListCtxRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  listCtx(argument: _gluonps_v1_ListCtxRequest, callback: grpc.requestCallback<_gluonps_v1_ListCtxResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams a copy of the data of every context, in context order.
   */
  ListData(argument: _gluonps_v1_ListDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  ListData(argument: _gluonps_v1_ListDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams a copy of the data of every context, in context order.
   */
  listData(argument: _gluonps_v1_ListDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  listData(argument: _gluonps_v1_ListDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Streams a copy of the gradient of every context, in context order.
   */
  ListGrad(argument: _gluonps_v1_ListGradRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  ListGrad(argument: _gluonps_v1_ListGradRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams a copy of the gradient of every context, in context order.
   */
  listGrad(argument: _gluonps_v1_ListGradRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  listGrad(argument: _gluonps_v1_ListGradRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Streams the requested rows of a row_sparse parameter from every context, in context order.
   */
  ListRowSparseData(argument: _gluonps_v1_ListRowSparseDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  ListRowSparseData(argument: _gluonps_v1_ListRowSparseDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams the requested rows of a row_sparse parameter from every context, in context order.
   */
  listRowSparseData(argument: _gluonps_v1_ListRowSparseDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  listRowSparseData(argument: _gluonps_v1_ListRowSparseDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Moves the parameter to new contexts (the mean of the copies, fresh zero gradients).
   */
  ResetCtx(argument: _gluonps_v1_ResetCtxRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ResetCtx(argument: _gluonps_v1_ResetCtxRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ResetCtx(argument: _gluonps_v1_ResetCtxRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ResetCtx(argument: _gluonps_v1_ResetCtxRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Moves the parameter to new contexts (the mean of the copies, fresh zero gradients).
   */
  resetCtx(argument: _gluonps_v1_ResetCtxRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  resetCtx(argument: _gluonps_v1_ResetCtxRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  resetCtx(argument: _gluonps_v1_ResetCtxRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  resetCtx(argument: _gluonps_v1_ResetCtxRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams the requested rows of a row_sparse parameter on one context.
   */
  RowSparseData(argument: _gluonps_v1_RowSparseDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  RowSparseData(argument: _gluonps_v1_RowSparseDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  /**
   * Streams the requested rows of a row_sparse parameter on one context.
   */
  rowSparseData(argument: _gluonps_v1_RowSparseDataRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  rowSparseData(argument: _gluonps_v1_RowSparseDataRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_TensorChunk__Output>;
  
  /**
   * Writes a streamed value into every copy (or stages it for a deferred initialization).
   */
  SetData(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  SetData(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  SetData(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  SetData(callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  /**
   * Writes a streamed value into every copy (or stages it for a deferred initialization).
   */
  setData(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  setData(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  setData(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  setData(callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_TensorUpload>;
  
  /**
   * Fills unknown dims of the shape (Gluon's shape setter); may complete a deferred init.
   */
  SetShape(argument: _gluonps_v1_SetShapeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  SetShape(argument: _gluonps_v1_SetShapeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  SetShape(argument: _gluonps_v1_SetShapeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  SetShape(argument: _gluonps_v1_SetShapeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Fills unknown dims of the shape (Gluon's shape setter); may complete a deferred init.
   */
  setShape(argument: _gluonps_v1_SetShapeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  setShape(argument: _gluonps_v1_SetShapeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  setShape(argument: _gluonps_v1_SetShapeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  setShape(argument: _gluonps_v1_SetShapeRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Returns the symbol variable of the parameter: name and attributes.
   */
  Var(argument: _gluonps_v1_VarRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  Var(argument: _gluonps_v1_VarRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  Var(argument: _gluonps_v1_VarRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  Var(argument: _gluonps_v1_VarRequest, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Returns the symbol variable of the parameter: name and attributes.
   */
  var(argument: _gluonps_v1_VarRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  var(argument: _gluonps_v1_VarRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  var(argument: _gluonps_v1_VarRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  var(argument: _gluonps_v1_VarRequest, callback: grpc.requestCallback<_gluonps_v1_VarResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Sets every gradient copy to zero; a no-op when there is no gradient.
   */
  ZeroGrad(argument: _gluonps_v1_ZeroGradRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ZeroGrad(argument: _gluonps_v1_ZeroGradRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ZeroGrad(argument: _gluonps_v1_ZeroGradRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  ZeroGrad(argument: _gluonps_v1_ZeroGradRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Sets every gradient copy to zero; a no-op when there is no gradient.
   */
  zeroGrad(argument: _gluonps_v1_ZeroGradRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  zeroGrad(argument: _gluonps_v1_ZeroGradRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  zeroGrad(argument: _gluonps_v1_ZeroGradRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  zeroGrad(argument: _gluonps_v1_ZeroGradRequest, callback: grpc.requestCallback<_gluonps_v1_ParameterInfo__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Declares, initializes, reads and writes Gluon Parameters and Constants held by the server.
 */
export interface ParameterServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Converts data and gradients to a new dtype (Gluon's cast and dtype setter).
   */
  Cast: grpc.handleUnaryCall<_gluonps_v1_CastRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Streams a copy of the data on one context.
   */
  Data: grpc.handleServerStreamingCall<_gluonps_v1_DataRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Declares a parameter with every Gluon constructor argument; idempotent for an identical spec.
   */
  Declare: grpc.handleUnaryCall<_gluonps_v1_DeclareRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Declares a Constant from a streamed value (first message: name + header).
   */
  DeclareConstant: grpc.handleClientStreamingCall<_gluonps_v1_TensorUpload__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Describes one parameter: spec, state, contexts and version.
   */
  Describe: grpc.handleUnaryCall<_gluonps_v1_DescribeRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Returns an existing parameter; NOT_FOUND if absent.
   */
  Get: grpc.handleUnaryCall<_gluonps_v1_GetRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Streams a copy of the gradient on one context.
   */
  Grad: grpc.handleServerStreamingCall<_gluonps_v1_GradRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Initializes the copies on the given contexts, or defers when the shape is unknown.
   */
  Initialize: grpc.handleUnaryCall<_gluonps_v1_InitializeRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Lists every parameter and constant.
   */
  List: grpc.handleUnaryCall<_gluonps_v1_ListRequest__Output, _gluonps_v1_ListResponse>;
  
  /**
   * Returns the contexts of the copies, or the pending ones of a deferred initialization.
   */
  ListCtx: grpc.handleUnaryCall<_gluonps_v1_ListCtxRequest__Output, _gluonps_v1_ListCtxResponse>;
  
  /**
   * Streams a copy of the data of every context, in context order.
   */
  ListData: grpc.handleServerStreamingCall<_gluonps_v1_ListDataRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Streams a copy of the gradient of every context, in context order.
   */
  ListGrad: grpc.handleServerStreamingCall<_gluonps_v1_ListGradRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Streams the requested rows of a row_sparse parameter from every context, in context order.
   */
  ListRowSparseData: grpc.handleServerStreamingCall<_gluonps_v1_ListRowSparseDataRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Moves the parameter to new contexts (the mean of the copies, fresh zero gradients).
   */
  ResetCtx: grpc.handleUnaryCall<_gluonps_v1_ResetCtxRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Streams the requested rows of a row_sparse parameter on one context.
   */
  RowSparseData: grpc.handleServerStreamingCall<_gluonps_v1_RowSparseDataRequest__Output, _gluonps_v1_TensorChunk>;
  
  /**
   * Writes a streamed value into every copy (or stages it for a deferred initialization).
   */
  SetData: grpc.handleClientStreamingCall<_gluonps_v1_TensorUpload__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Fills unknown dims of the shape (Gluon's shape setter); may complete a deferred init.
   */
  SetShape: grpc.handleUnaryCall<_gluonps_v1_SetShapeRequest__Output, _gluonps_v1_ParameterInfo>;
  
  /**
   * Returns the symbol variable of the parameter: name and attributes.
   */
  Var: grpc.handleUnaryCall<_gluonps_v1_VarRequest__Output, _gluonps_v1_VarResponse>;
  
  /**
   * Sets every gradient copy to zero; a no-op when there is no gradient.
   */
  ZeroGrad: grpc.handleUnaryCall<_gluonps_v1_ZeroGradRequest__Output, _gluonps_v1_ParameterInfo>;
  
}

export interface ParameterServiceDefinition extends grpc.ServiceDefinition {
  Cast: MethodDefinition<_gluonps_v1_CastRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_CastRequest__Output, _gluonps_v1_ParameterInfo__Output>
  Data: MethodDefinition<_gluonps_v1_DataRequest, _gluonps_v1_TensorChunk, _gluonps_v1_DataRequest__Output, _gluonps_v1_TensorChunk__Output>
  Declare: MethodDefinition<_gluonps_v1_DeclareRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_DeclareRequest__Output, _gluonps_v1_ParameterInfo__Output>
  DeclareConstant: MethodDefinition<_gluonps_v1_TensorUpload, _gluonps_v1_ParameterInfo, _gluonps_v1_TensorUpload__Output, _gluonps_v1_ParameterInfo__Output>
  Describe: MethodDefinition<_gluonps_v1_DescribeRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_DescribeRequest__Output, _gluonps_v1_ParameterInfo__Output>
  Get: MethodDefinition<_gluonps_v1_GetRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_GetRequest__Output, _gluonps_v1_ParameterInfo__Output>
  Grad: MethodDefinition<_gluonps_v1_GradRequest, _gluonps_v1_TensorChunk, _gluonps_v1_GradRequest__Output, _gluonps_v1_TensorChunk__Output>
  Initialize: MethodDefinition<_gluonps_v1_InitializeRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_InitializeRequest__Output, _gluonps_v1_ParameterInfo__Output>
  List: MethodDefinition<_gluonps_v1_ListRequest, _gluonps_v1_ListResponse, _gluonps_v1_ListRequest__Output, _gluonps_v1_ListResponse__Output>
  ListCtx: MethodDefinition<_gluonps_v1_ListCtxRequest, _gluonps_v1_ListCtxResponse, _gluonps_v1_ListCtxRequest__Output, _gluonps_v1_ListCtxResponse__Output>
  ListData: MethodDefinition<_gluonps_v1_ListDataRequest, _gluonps_v1_TensorChunk, _gluonps_v1_ListDataRequest__Output, _gluonps_v1_TensorChunk__Output>
  ListGrad: MethodDefinition<_gluonps_v1_ListGradRequest, _gluonps_v1_TensorChunk, _gluonps_v1_ListGradRequest__Output, _gluonps_v1_TensorChunk__Output>
  ListRowSparseData: MethodDefinition<_gluonps_v1_ListRowSparseDataRequest, _gluonps_v1_TensorChunk, _gluonps_v1_ListRowSparseDataRequest__Output, _gluonps_v1_TensorChunk__Output>
  ResetCtx: MethodDefinition<_gluonps_v1_ResetCtxRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_ResetCtxRequest__Output, _gluonps_v1_ParameterInfo__Output>
  RowSparseData: MethodDefinition<_gluonps_v1_RowSparseDataRequest, _gluonps_v1_TensorChunk, _gluonps_v1_RowSparseDataRequest__Output, _gluonps_v1_TensorChunk__Output>
  SetData: MethodDefinition<_gluonps_v1_TensorUpload, _gluonps_v1_ParameterInfo, _gluonps_v1_TensorUpload__Output, _gluonps_v1_ParameterInfo__Output>
  SetShape: MethodDefinition<_gluonps_v1_SetShapeRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_SetShapeRequest__Output, _gluonps_v1_ParameterInfo__Output>
  Var: MethodDefinition<_gluonps_v1_VarRequest, _gluonps_v1_VarResponse, _gluonps_v1_VarRequest__Output, _gluonps_v1_VarResponse__Output>
  ZeroGrad: MethodDefinition<_gluonps_v1_ZeroGradRequest, _gluonps_v1_ParameterInfo, _gluonps_v1_ZeroGradRequest__Output, _gluonps_v1_ParameterInfo__Output>
}
