// Original file: protos/gluonps/v1/parameter.proto

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';

/**
 * Request of Grad.
 */
export interface GradRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * Context of the gradient copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx'?: (_gluonps_v1_Context | null);
}

/**
 * Request of Grad.
 */
export interface GradRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * Context of the gradient copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx': (_gluonps_v1_Context__Output | null);
}
