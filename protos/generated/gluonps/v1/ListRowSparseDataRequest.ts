// Original file: protos/gluonps/v1/parameter.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Request of ListRowSparseData.
 */
export interface ListRowSparseDataRequest {
  /**
   * Name of a row_sparse parameter.
   */
  'name'?: (string);
  /**
   * Rows to read from every copy, in any order with duplicates.
   */
  'rowIds'?: (number | string | Long)[];
}

/**
 * Request of ListRowSparseData.
 */
export interface ListRowSparseDataRequest__Output {
  /**
   * Name of a row_sparse parameter.
   */
  'name': (string);
  /**
   * Rows to read from every copy, in any order with duplicates.
   */
  'rowIds': (number)[];
}
