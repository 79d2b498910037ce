// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Reply of PushGrad.
 */
export interface PushGradResponse {
  /**
   * The step the gradient was recorded for.
   */
  'step'?: (number | string | Long);
}

/**
 * Reply of PushGrad.
 */
export interface PushGradResponse__Output {
  /**
   * The step the gradient was recorded for.
   */
  'step': (number);
}
