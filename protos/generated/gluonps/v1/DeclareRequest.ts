// Original file: protos/gluonps/v1/parameter.proto

import type { ParameterSpec as _gluonps_v1_ParameterSpec, ParameterSpec__Output as _gluonps_v1_ParameterSpec__Output } from '../../gluonps/v1/ParameterSpec';
import type { Long } from '@grpc/proto-loader';

/**
 * Request of Declare.
 */
export interface DeclareRequest {
  /**
   * The parameter to declare; an identical existing spec is returned, a different one is
   * ALREADY_EXISTS.
   */
  'spec'?: (_gluonps_v1_ParameterSpec | null);
  /**
   * The highest declaration order the caller has seen (a cluster client: on any shard); a new
   * parameter's order is above it. 0: none. At most 2^53 - 2.
   */
  'after'?: (number | string | Long);
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
  /**
   * The highest declaration order the caller has seen (a cluster client: on any shard); a new
   * parameter's order is above it. 0: none. At most 2^53 - 2.
   */
  'after': (number);
}
