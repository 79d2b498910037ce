// Original file: protos/gluonps/v1/parameter.proto

import type { DType as _gluonps_v1_DType, DType__Output as _gluonps_v1_DType__Output } from '../../gluonps/v1/DType';

/**
 * Request of Cast.
 */
export interface CastRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * New element type of data and gradients.
   */
  'dtype'?: (_gluonps_v1_DType);
}

/**
 * Request of Cast.
 */
export interface CastRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * New element type of data and gradients.
   */
  'dtype': (_gluonps_v1_DType__Output);
}
