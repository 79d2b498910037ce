// Original file: protos/gluonps/v1/parameter.proto

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';
import type { Long } from '@grpc/proto-loader';

/**
 * Request of RowSparseData.
 */
export interface RowSparseDataRequest {
  /**
   * Name of a row_sparse parameter.
   */
  'name'?: (string);
  /**
   * Rows to read, in any order with duplicates; they are deduplicated and sorted.
   */
  'rowIds'?: (number | string | Long)[];
  /**
   * Context of the copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx'?: (_gluonps_v1_Context | null);
}

/**
 * Request of RowSparseData.
 */
export interface RowSparseDataRequest__Output {
  /**
   * Name of a row_sparse parameter.
   */
  'name': (string);
  /**
   * Rows to read, in any order with duplicates; they are deduplicated and sorted.
   */
  'rowIds': (number)[];
  /**
   * Context of the copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx': (_gluonps_v1_Context__Output | null);
}
