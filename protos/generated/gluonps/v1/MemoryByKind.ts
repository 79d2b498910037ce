// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Bytes held, by what they hold. Per device or summed over devices.
 */
export interface MemoryByKind {
  /**
   * Parameters' values on every context (constants apart).
   */
  'parameters'?: (number | string | Long);
  /**
   * Parameters' gradient buffers (grad_req other than 'null').
   */
  'gradients'?: (number | string | Long);
  /**
   * Optimizer states of every trainer (momentum, Adam's moments, ...).
   */
  'optimizerStates'?: (number | string | Long);
  /**
   * Gradients workers pushed for steps not applied yet.
   */
  'stagedGradients'?: (number | string | Long);
  /**
   * Constants' values on every context.
   */
  'constants'?: (number | string | Long);
  /**
   * Everything else the device's allocator holds: uploads being received, reads being sent,
   * a step's summed gradients while it is applied.
   */
  'other'?: (number | string | Long);
}

/**
 * Bytes held, by what they hold. Per device or summed over devices.
 */
export interface MemoryByKind__Output {
  /**
   * Parameters' values on every context (constants apart).
   */
  'parameters': (number);
  /**
   * Parameters' gradient buffers (grad_req other than 'null').
   */
  'gradients': (number);
  /**
   * Optimizer states of every trainer (momentum, Adam's moments, ...).
   */
  'optimizerStates': (number);
  /**
   * Gradients workers pushed for steps not applied yet.
   */
  'stagedGradients': (number);
  /**
   * Constants' values on every context.
   */
  'constants': (number);
  /**
   * Everything else the device's allocator holds: uploads being received, reads being sent,
   * a step's summed gradients while it is applied.
   */
  'other': (number);
}
