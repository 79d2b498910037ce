// Original file: protos/gluonps/v1/parameter.proto

import type { ParameterSpec as _gluonps_v1_ParameterSpec, ParameterSpec__Output as _gluonps_v1_ParameterSpec__Output } from '../../gluonps/v1/ParameterSpec';
import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';
import type { Long } from '@grpc/proto-loader';

/**
 * The current description of a parameter, returned by every call that changes or inspects one.
 */
export interface ParameterInfo {
  /**
   * The spec, with the current shape and dtype (filled dims, casts applied).
   */
  'spec'?: (_gluonps_v1_ParameterSpec | null);
  /**
   * Whether the data arrays exist.
   */
  'initialized'?: (boolean);
  /**
   * Whether an initialization is pending on an unknown shape.
   */
  'deferred'?: (boolean);
  /**
   * Contexts of the copies in order; the pending list when deferred; empty otherwise.
   */
  'ctx'?: (_gluonps_v1_Context)[];
  /**
   * Version of the value; strictly increases with every change of the data.
   */
  'version'?: (number | string | Long);
  /**
   * Whether this is a Constant (grad_req null, never changed by a trainer).
   */
  'isConstant'?: (boolean);
  /**
   * Where the declaration stands in the server's (a cluster's) declaration order: a hybrid
   * logical clock the server assigned when the name was first declared, strictly above every
   * order it assigned before and above the request's `after`; never changes. A cluster client
   * lists parameters by it (docs/cluster.md, "Declaration order").
   */
  'order'?: (number | string | Long);
}

/**
 * The current description of a parameter, returned by every call that changes or inspects one.
 */
export interface ParameterInfo__Output {
  /**
   * The spec, with the current shape and dtype (filled dims, casts applied).
   */
  'spec': (_gluonps_v1_ParameterSpec__Output | null);
  /**
   * Whether the data arrays exist.
   */
  'initialized': (boolean);
  /**
   * Whether an initialization is pending on an unknown shape.
   */
  'deferred': (boolean);
  /**
   * Contexts of the copies in order; the pending list when deferred; empty otherwise.
   */
  'ctx': (_gluonps_v1_Context__Output)[];
  /**
   * Version of the value; strictly increases with every change of the data.
   */
  'version': (number);
  /**
   * Whether this is a Constant (grad_req null, never changed by a trainer).
   */
  'isConstant': (boolean);
  /**
   * Where the declaration stands in the server's (a cluster's) declaration order: a hybrid
   * logical clock the server assigned when the name was first declared, strictly above every
   * order it assigned before and above the request's `after`; never changes. A cluster client
   * lists parameters by it (docs/cluster.md, "Declaration order").
   */
  'order': (number);
}
