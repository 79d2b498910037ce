// Original file: protos/gluonps/v1/parameter.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Request of SetShape.
 */
export interface SetShapeRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * New shape; only dims unknown so far may differ from the current shape.
   */
  'shape'?: (number | string | Long)[];
}

/**
 * Request of SetShape.
 */
export interface SetShapeRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * New shape; only dims unknown so far may differ from the current shape.
   */
  'shape': (number)[];
}
