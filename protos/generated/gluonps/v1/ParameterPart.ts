// Original file: protos/gluonps/v1/tensor.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A shard's part of a parameter split over a cluster's shards (docs/cluster.md): rows
 * row_start + j * row_step (0 <= j < rows of the part) of the whole parameter. The part's own
 * shape is [rows, ...full_shape without its first dim]. Kept apart from parameter.proto so that
 * TensorUpload can carry it.
 */
export interface ParameterPart {
  /**
   * Shape of the whole parameter.
   */
  'fullShape'?: (number | string | Long)[];
  /**
   * Row of the whole parameter that is the part's first row.
   */
  'rowStart'?: (number | string | Long);
  /**
   * Rows of the whole parameter from one row of the part to the next (1: a contiguous slice).
   */
  'rowStep'?: (number | string | Long);
  /**
   * How many parts the whole parameter is split into (every client recomputes the others' rows
   * from it, the full shape and the cluster's layout).
   */
  'parts'?: (number);
}

/**
 * A shard's part of a parameter split over a cluster's shards (docs/cluster.md): rows
 * row_start + j * row_step (0 <= j < rows of the part) of the whole parameter. The part's own
 * shape is [rows, ...full_shape without its first dim]. Kept apart from parameter.proto so that
 * TensorUpload can carry it.
 */
export interface ParameterPart__Output {
  /**
   * Shape of the whole parameter.
   */
  'fullShape': (number)[];
  /**
   * Row of the whole parameter that is the part's first row.
   */
  'rowStart': (number);
  /**
   * Rows of the whole parameter from one row of the part to the next (1: a contiguous slice).
   */
  'rowStep': (number);
  /**
   * How many parts the whole parameter is split into (every client recomputes the others' rows
   * from it, the full shape and the cluster's layout).
   */
  'parts': (number);
}
