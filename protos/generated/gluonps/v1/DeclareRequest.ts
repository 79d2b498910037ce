// Original file: protos/gluonps/v1/parameter.proto

import type { ParameterSpec as _gluonps_v1_ParameterSpec, ParameterSpec__Output as _gluonps_v1_ParameterSpec__Output } from '../../gluonps/v1/ParameterSpec';

/**
 * Request of Declare.
 */
export interface DeclareRequest {
  /**
   * The parameter to declare; an identical existing spec is returned, a different one is
   * ALREADY_EXISTS.
   */
  'spec'?: (_gluonps_v1_ParameterSpec | null);
}

/**
 * Request of Declare.
 */
export interface DeclareRequest__Output {
  /**
   * The parameter to declare; an identical existing spec is returned, a different one is
   * ALREADY_EXISTS.
   */
  'spec': (_gluonps_v1_ParameterSpec__Output | null);
}
