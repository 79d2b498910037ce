// Original file: protos/gluonps/v1/tensor.proto

import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from '../../gluonps/v1/TensorHeader';

/**
 * One message of a server-streamed tensor read.
 */
export interface TensorChunk {
  /**
   * Present on the first message of each tensor, absent on the following ones.
   */
  'header'?: (_gluonps_v1_TensorHeader | null);
  /**
   * Up to 1 MiB of the tensor's raw bytes; may be empty.
   */
  'chunk'?: (Buffer | Uint8Array | string);
}

/**
 * One message of a server-streamed tensor read.
 */
export interface TensorChunk__Output {
  /**
   * Present on the first message of each tensor, absent on the following ones.
   */
  'header': (_gluonps_v1_TensorHeader__Output | null);
  /**
   * Up to 1 MiB of the tensor's raw bytes; may be empty.
   */
  'chunk': (Buffer);
}
