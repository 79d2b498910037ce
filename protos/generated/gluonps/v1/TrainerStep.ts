// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A trainer's step count.
 */
export interface TrainerStep {
  /**
   * Trainer name.
   */
  'trainer'?: (string);
  /**
   * Steps applied.
   */
  'step'?: (number | string | Long);
}

/**
 * A trainer's step count.
 */
export interface TrainerStep__Output {
  /**
   * Trainer name.
   */
  'trainer': (string);
  /**
   * Steps applied.
   */
  'step': (number);
}
