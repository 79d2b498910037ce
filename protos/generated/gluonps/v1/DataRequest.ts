// Original file: protos/gluonps/v1/parameter.proto

import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';

/**
 * Request of Data.
 */
export interface DataRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * Context of the copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx'?: (_gluonps_v1_Context | null);
}

/**
 * Request of Data.
 */
export interface DataRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * Context of the copy; unset means the only copy, or cpu(0) when there are several.
   */
  'ctx': (_gluonps_v1_Context__Output | null);
}
