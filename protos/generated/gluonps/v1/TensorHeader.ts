// Original file: protos/gluonps/v1/tensor.proto

import type { DType as _gluonps_v1_DType, DType__Output as _gluonps_v1_DType__Output } from '../../gluonps/v1/DType';
import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';
import type { Long } from '@grpc/proto-loader';

/**
 * Describes one tensor of a stream; sent once, in the first message of that tensor.
 */
export interface TensorHeader {
  /**
   * Dimensions, outermost first; every dim is known (>= 0). Empty means a scalar.
   */
  'shape'?: (number | string | Long)[];
  /**
   * Element type of the bytes that follow.
   */
  'dtype'?: (_gluonps_v1_DType);
  /**
   * Exact number of data bytes that follow in `chunk` fields (product of shape x dtype size).
   */
  'byteLength'?: (number | string | Long);
  /**
   * Parameter version the bytes were read at; ignored on writes.
   */
  'version'?: (number | string | Long);
  /**
   * For row_sparse reads only: the sorted unique row ids, one per row of the values, whose
   * shape is then [row_ids.length, ...rest of the parameter shape].
   */
  'rowIds'?: (number | string | Long)[];
  /**
   * Context of the copy these bytes come from; unset on writes.
   */
  'ctx'?: (_gluonps_v1_Context | null);
}

/**
 * Describes one tensor of a stream; sent once, in the first message of that tensor.
 */
export interface TensorHeader__Output {
  /**
   * Dimensions, outermost first; every dim is known (>= 0). Empty means a scalar.
   */
  'shape': (number)[];
  /**
   * Element type of the bytes that follow.
   */
  'dtype': (_gluonps_v1_DType__Output);
  /**
   * Exact number of data bytes that follow in `chunk` fields (product of shape x dtype size).
   */
  'byteLength': (number);
  /**
   * Parameter version the bytes were read at; ignored on writes.
   */
  'version': (number);
  /**
   * For row_sparse reads only: the sorted unique row ids, one per row of the values, whose
   * shape is then [row_ids.length, ...rest of the parameter shape].
   */
  'rowIds': (number)[];
  /**
   * Context of the copy these bytes come from; unset on writes.
   */
  'ctx': (_gluonps_v1_Context__Output | null);
}
