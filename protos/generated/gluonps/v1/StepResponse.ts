// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Reply of Step.
 */
export interface StepResponse {
  /**
   * Number of steps applied so far, this one included.
   */
  'step'?: (number | string | Long);
  /**
   * Version of each parameter after the step, in the trainer's parameter order.
   */
  'versions'?: (number | string | Long)[];
  /**
   * Sync: the workers whose gradients this step combined.
   */
  'workers'?: (number)[];
}

/**
 * Reply of Step.
 */
export interface StepResponse__Output {
  /**
   * Number of steps applied so far, this one included.
   */
  'step': (number);
  /**
   * Version of each parameter after the step, in the trainer's parameter order.
   */
  'versions': (number)[];
  /**
   * Sync: the workers whose gradients this step combined.
   */
  'workers': (number)[];
}
