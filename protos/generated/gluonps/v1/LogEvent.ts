// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A recent warning or error from the server log.
 */
export interface LogEvent {
  /**
   * When, milliseconds since the Unix epoch.
   */
  'timeUnixMs'?: (number | string | Long);
  /**
   * "warn", "error" or "fatal".
   */
  'level'?: (string);
  /**
   * The log line's message.
   */
  'message'?: (string);
  /**
   * Its fields (trainer, parameter, method, error message, ...) as text, bounded in size.
   */
  'fields'?: ({[key: string]: string});
}

/**
 * A recent warning or error from the server log.
 */
export interface LogEvent__Output {
  /**
   * When, milliseconds since the Unix epoch.
   */
  'timeUnixMs': (number);
  /**
   * "warn", "error" or "fatal".
   */
  'level': (string);
  /**
   * The log line's message.
   */
  'message': (string);
  /**
   * Its fields (trainer, parameter, method, error message, ...) as text, bounded in size.
   */
  'fields': ({[key: string]: string});
}
