// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Identifies one call of one worker, so that a retried call is applied once.
 */
export interface IdempotencyKey {
  /**
   * The worker's id within the trainer, 0 <= id < num_workers.
   */
  'workerId'?: (number);
  /**
   * Changes each time the worker process restarts (e.g. a random 53-bit number).
   */
  'incarnation'?: (number | string | Long);
  /**
   * Increases by one with every push or step the incarnation sends.
   */
  'sequence'?: (number | string | Long);
}

/**
 * Identifies one call of one worker, so that a retried call is applied once.
 */
export interface IdempotencyKey__Output {
  /**
   * The worker's id within the trainer, 0 <= id < num_workers.
   */
  'workerId': (number);
  /**
   * Changes each time the worker process restarts (e.g. a random 53-bit number).
   */
  'incarnation': (number);
  /**
   * Increases by one with every push or step the incarnation sends.
   */
  'sequence': (number);
}
