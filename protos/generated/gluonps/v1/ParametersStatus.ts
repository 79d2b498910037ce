// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Parameters and constants held.
 */
export interface ParametersStatus {
  /**
   * Parameters, constants apart.
   */
  'parameters'?: (number);
  /**
   * Constants.
   */
  'constants'?: (number);
  /**
   * Parameters and constants with values.
   */
  'initialized'?: (number);
  /**
   * Waiting for their shape (deferred initialization).
   */
  'deferred'?: (number);
  /**
   * Bytes of their values, over every context.
   */
  'bytes'?: (number | string | Long);
}

/**
 * Parameters and constants held.
 */
export interface ParametersStatus__Output {
  /**
   * Parameters, constants apart.
   */
  'parameters': (number);
  /**
   * Constants.
   */
  'constants': (number);
  /**
   * Parameters and constants with values.
   */
  'initialized': (number);
  /**
   * Waiting for their shape (deferred initialization).
   */
  'deferred': (number);
  /**
   * Bytes of their values, over every context.
   */
  'bytes': (number);
}
