// Original file: protos/gluonps/v1/tensor.proto

import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from '../../gluonps/v1/TensorHeader';
import type { ParameterPart as _gluonps_v1_ParameterPart, ParameterPart__Output as _gluonps_v1_ParameterPart__Output } from '../../gluonps/v1/ParameterPart';
import type { Long } from '@grpc/proto-loader';

/**
 * One message of a client-streamed tensor write.
 */
export interface TensorUpload {
  /**
   * Name of the target parameter; first message only.
   */
  'name'?: (string);
  /**
   * Shape, dtype and byte length of the tensor; first message only.
   */
  'header'?: (_gluonps_v1_TensorHeader | null);
  /**
   * Up to 1 MiB of the tensor's raw bytes; may be empty.
   */
  'chunk'?: (Buffer | Uint8Array | string);
  /**
   * DeclareConstant on a shard of a cluster only: the constant is this part of a split constant
   * and the tensor holds the part's rows; first message only.
   */
  'part'?: (_gluonps_v1_ParameterPart | null);
  /**
   * DeclareConstant only: the highest declaration order the caller has seen, as
   * DeclareRequest.after; first message only.
   */
  'after'?: (number | string | Long);
}

/**
 * One message of a client-streamed tensor write.
 */
export interface TensorUpload__Output {
  /**
   * Name of the target parameter; first message only.
   */
  'name': (string);
  /**
   * Shape, dtype and byte length of the tensor; first message only.
   */
  'header': (_gluonps_v1_TensorHeader__Output | null);
  /**
   * Up to 1 MiB of the tensor's raw bytes; may be empty.
   */
  'chunk': (Buffer);
  /**
   * DeclareConstant on a shard of a cluster only: the constant is this part of a split constant
   * and the tensor holds the part's rows; first message only.
   */
  'part': (_gluonps_v1_ParameterPart__Output | null);
  /**
   * DeclareConstant only: the highest declaration order the caller has seen, as
   * DeclareRequest.after; first message only.
   */
  'after': (number);
}
