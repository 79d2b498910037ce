// Original file: protos/gluonps/v1/parameter.proto

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';
import type { Long } from '@grpc/proto-loader';

/**
 * Reply of ListCtx.
 */
export interface ListCtxResponse {
  /**
   * Contexts of the copies in order, or the pending list when deferred.
   */
  'ctx'?: (_gluonps_v1_Context)[];
  /**
   * Whether the list is a deferred initialization's pending list.
   */
  'deferred'?: (boolean);
  /**
   * Version of the parameter's value.
   */
  'version'?: (number | string | Long);
}

/**
 * Reply of ListCtx.
 */
export interface ListCtxResponse__Output {
  /**
   * Contexts of the copies in order, or the pending list when deferred.
   */
  'ctx': (_gluonps_v1_Context__Output)[];
  /**
   * Whether the list is a deferred initialization's pending list.
   */
  'deferred': (boolean);
  /**
   * Version of the parameter's value.
   */
  'version': (number);
}
