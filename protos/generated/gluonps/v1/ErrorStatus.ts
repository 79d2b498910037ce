// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A durability failure.
 */
export interface ErrorStatus {
  /**
   * When it happened, milliseconds since the Unix epoch.
   */
  'timeUnixMs'?: (number | string | Long);
  /**
   * What failed, and why.
   */
  'message'?: (string);
}

/**
 * A durability failure.
 */
export interface ErrorStatus__Output {
  /**
   * When it happened, milliseconds since the Unix epoch.
   */
  'timeUnixMs': (number);
  /**
   * What failed, and why.
   */
  'message': (string);
}
