// Original file: protos/gluonps/v1/parameter.proto

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';

/**
 * Request of ResetCtx.
 */
export interface ResetCtxRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * New contexts; empty means [cpu(0)].
   */
  'ctx'?: (_gluonps_v1_Context)[];
}

/**
 * Request of ResetCtx.
 */
export interface ResetCtxRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * New contexts; empty means [cpu(0)].
   */
  'ctx': (_gluonps_v1_Context__Output)[];
}
