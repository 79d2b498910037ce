// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The open sync step of a trainer.
 */
export interface OpenStepStatus {
  /**
   * Its index (the step every worker pushes for).
   */
  'step'?: (number | string | Long);
  /**
   * Workers that stepped in it.
   */
  'stepped'?: (number);
  /**
   * The first (lowest) 1024 worker ids it waits for.
   */
  'waitingFor'?: (number)[];
  /**
   * How many workers it waits for in all.
   */
  'waitingCount'?: (number);
  /**
   * When its first worker stepped, milliseconds since the Unix epoch.
   */
  'sinceUnixMs'?: (number | string | Long);
  /**
   * How long it has been open, ms.
   */
  'waitedMs'?: (number | string | Long);
  /**
   * True while it is being applied (it waits for no one).
   */
  'applying'?: (boolean);
}

/**
 * The open sync step of a trainer.
 */
export interface OpenStepStatus__Output {
  /**
   * Its index (the step every worker pushes for).
   */
  'step': (number);
  /**
   * Workers that stepped in it.
   */
  'stepped': (number);
  /**
   * The first (lowest) 1024 worker ids it waits for.
   */
  'waitingFor': (number)[];
  /**
   * How many workers it waits for in all.
   */
  'waitingCount': (number);
  /**
   * When its first worker stepped, milliseconds since the Unix epoch.
   */
  'sinceUnixMs': (number);
  /**
   * How long it has been open, ms.
   */
  'waitedMs': (number);
  /**
   * True while it is being applied (it waits for no one).
   */
  'applying': (boolean);
}
