// Original file: protos/gluonps/v1/trainer.proto

import type { IdempotencyKey as _gluonps_v1_IdempotencyKey, IdempotencyKey__Output as _gluonps_v1_IdempotencyKey__Output } from '../../gluonps/v1/IdempotencyKey';
import type { Long } from '@grpc/proto-loader';

/**
 * Request of Step.
 */
export interface StepRequest {
  /**
   * Trainer name.
   */
  'trainer'?: (string);
  /**
   * Idempotency key.
   */
  'key'?: (_gluonps_v1_IdempotencyKey | null);
  /**
   * The step being completed (the worker's count of its own steps, starting at 0).
   */
  'step'?: (number | string | Long);
  /**
   * Samples behind this worker's gradients; the update uses rescale_grad / (sum over workers).
   */
  'batchSize'?: (number);
}

/**
 * Request of Step.
 */
export interface StepRequest__Output {
  /**
   * Trainer name.
   */
  'trainer': (string);
  /**
   * Idempotency key.
   */
  'key': (_gluonps_v1_IdempotencyKey__Output | null);
  /**
   * The step being completed (the worker's count of its own steps, starting at 0).
   */
  'step': (number);
  /**
   * Samples behind this worker's gradients; the update uses rescale_grad / (sum over workers).
   */
  'batchSize': (number);
}
