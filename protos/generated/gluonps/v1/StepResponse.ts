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
  /**
   * Sync: the sum of their batch sizes (the update used rescale_grad / batch_size); 0 when not
   * known (a reply restored from an older checkpoint).
   */
  'batchSize'?: (number | string | Long);
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
  /**
   * Sync: the sum of their batch sizes (the update used rescale_grad / batch_size); 0 when not
   * known (a reply restored from an older checkpoint).
   */
  'batchSize': (number);
}
