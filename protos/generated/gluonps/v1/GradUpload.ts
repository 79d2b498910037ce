// Original file: protos/gluonps/v1/trainer.proto

import type { IdempotencyKey as _gluonps_v1_IdempotencyKey, IdempotencyKey__Output as _gluonps_v1_IdempotencyKey__Output } from '../../gluonps/v1/IdempotencyKey';
import type { TensorHeader as _gluonps_v1_TensorHeader, TensorHeader__Output as _gluonps_v1_TensorHeader__Output } from '../../gluonps/v1/TensorHeader';
import type { Long } from '@grpc/proto-loader';

/**
 * First message of a PushGrad stream (then tensor chunks, as in TensorUpload).
 */
export interface GradUpload {
  /**
   * Trainer name; first message only.
   */
  'trainer'?: (string);
  /**
   * Parameter the gradient is for; first message only.
   */
  'param'?: (string);
  /**
   * Idempotency key; first message only.
   */
  'key'?: (_gluonps_v1_IdempotencyKey | null);
  /**
   * The step this gradient belongs to (the worker's count of its own steps, starting at 0).
   */
  'step'?: (number | string | Long);
  /**
   * Shape, dtype and byte length of the gradient. For a row_sparse gradient, `row_ids` lists the
   * rows and the shape is [row_ids.length, ...rest of the parameter shape]; first message only.
   */
  'header'?: (_gluonps_v1_TensorHeader | null);
  /**
   * Up to 1 MiB of the gradient's raw bytes.
   */
  'chunk'?: (Buffer | Uint8Array | string);
  /**
   * The gradient is row_sparse even if `header.row_ids` is empty: a push of no rows. A cluster
   * client sends one to each shard holding none of a row_sparse gradient's rows, so every shard
   * updates its part in the step (lazily: no row) as one server updates the whole parameter.
   * Without it, empty row ids mean a dense gradient.
   */
  'rowSparse'?: (boolean);
}

/**
 * First message of a PushGrad stream (then tensor chunks, as in TensorUpload).
 */
export interface GradUpload__Output {
  /**
   * Trainer name; first message only.
   */
  'trainer': (string);
  /**
   * Parameter the gradient is for; first message only.
   */
  'param': (string);
  /**
   * Idempotency key; first message only.
   */
  'key': (_gluonps_v1_IdempotencyKey__Output | null);
  /**
   * The step this gradient belongs to (the worker's count of its own steps, starting at 0).
   */
  'step': (number);
  /**
   * Shape, dtype and byte length of the gradient. For a row_sparse gradient, `row_ids` lists the
   * rows and the shape is [row_ids.length, ...rest of the parameter shape]; first message only.
   */
  'header': (_gluonps_v1_TensorHeader__Output | null);
  /**
   * Up to 1 MiB of the gradient's raw bytes.
   */
  'chunk': (Buffer);
  /**
   * The gradient is row_sparse even if `header.row_ids` is empty: a push of no rows. A cluster
   * client sends one to each shard holding none of a row_sparse gradient's rows, so every shard
   * updates its part in the step (lazily: no row) as one server updates the whole parameter.
   * Without it, empty row ids mean a dense gradient.
   */
  'rowSparse': (boolean);
}
