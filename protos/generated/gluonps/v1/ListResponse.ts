// Original file: protos/gluonps/v1/parameter.proto

import type { ParameterInfo as _gluonps_v1_ParameterInfo, ParameterInfo__Output as _gluonps_v1_ParameterInfo__Output } from '../../gluonps/v1/ParameterInfo';

/**
 * Reply of List.
 */
export interface ListResponse {
  /**
   * Every declared parameter and constant, in declaration order.
   */
  'parameters'?: (_gluonps_v1_ParameterInfo)[];
}

/**
 * Reply of List.
 */
export interface ListResponse__Output {
  /**
   * Every declared parameter and constant, in declaration order.
   */
  'parameters': (_gluonps_v1_ParameterInfo__Output)[];
}
