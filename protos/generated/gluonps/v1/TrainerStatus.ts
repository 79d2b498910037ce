// Original file: protos/gluonps/v1/admin.proto

import type { OpenStepStatus as _gluonps_v1_OpenStepStatus, OpenStepStatus__Output as _gluonps_v1_OpenStepStatus__Output } from '../../gluonps/v1/OpenStepStatus';
import type { Long } from '@grpc/proto-loader';

/**
 * One trainer.
 */
export interface TrainerStatus {
  /**
   * Trainer name.
   */
  'name'?: (string);
  /**
   * "sync" or "async".
   */
  'mode'?: (string);
  /**
   * The optimizer's name (sgd, adam, ...).
   */
  'optimizer'?: (string);
  /**
   * Parameters it updates.
   */
  'params'?: (number);
  /**
   * num_workers.
   */
  'numWorkers'?: (number);
  /**
   * Workers that attached or called so far.
   */
  'workersSeen'?: (number);
  /**
   * The first 1024 worker ids that left.
   */
  'workersLeft'?: (number)[];
  /**
   * Steps applied.
   */
  'step'?: (number | string | Long);
  /**
   * The learning rate the next step uses.
   */
  'learningRate'?: (number | string);
  /**
   * Sync: the step deadline, ms.
   */
  'stepTimeoutMs'?: (number | string | Long);
  /**
   * Sync: "fail" or "quorum".
   */
  'timeoutPolicy'?: (string);
  /**
   * Sync, quorum policy: the least number of workers.
   */
  'quorum'?: (number);
  /**
   * The open sync step; unset when none is open (and always in async mode).
   */
  'openStep'?: (_gluonps_v1_OpenStepStatus | null);
  /**
   * Steps applied in the last rate_window_ms.
   */
  'recentSteps'?: (number);
  /**
   * The window recent_steps counts over, ms.
   */
  'rateWindowMs'?: (number | string | Long);
  /**
   * Steps per second over the window (0 with fewer than two steps in it).
   */
  'stepsPerSecond'?: (number | string);
  /**
   * When the last step was applied, ms since the Unix epoch; 0 when none was since start.
   */
  'lastStepUnixMs'?: (number | string | Long);
}

/**
 * One trainer.
 */
export interface TrainerStatus__Output {
  /**
   * Trainer name.
   */
  'name': (string);
  /**
   * "sync" or "async".
   */
  'mode': (string);
  /**
   * The optimizer's name (sgd, adam, ...).
   */
  'optimizer': (string);
  /**
   * Parameters it updates.
   */
  'params': (number);
  /**
   * num_workers.
   */
  'numWorkers': (number);
  /**
   * Workers that attached or called so far.
   */
  'workersSeen': (number);
  /**
   * The first 1024 worker ids that left.
   */
  'workersLeft': (number)[];
  /**
   * Steps applied.
   */
  'step': (number);
  /**
   * The learning rate the next step uses.
   */
  'learningRate': (number);
  /**
   * Sync: the step deadline, ms.
   */
  'stepTimeoutMs': (number);
  /**
   * Sync: "fail" or "quorum".
   */
  'timeoutPolicy': (string);
  /**
   * Sync, quorum policy: the least number of workers.
   */
  'quorum': (number);
  /**
   * The open sync step; unset when none is open (and always in async mode).
   */
  'openStep': (_gluonps_v1_OpenStepStatus__Output | null);
  /**
   * Steps applied in the last rate_window_ms.
   */
  'recentSteps': (number);
  /**
   * The window recent_steps counts over, ms.
   */
  'rateWindowMs': (number);
  /**
   * Steps per second over the window (0 with fewer than two steps in it).
   */
  'stepsPerSecond': (number);
  /**
   * When the last step was applied, ms since the Unix epoch; 0 when none was since start.
   */
  'lastStepUnixMs': (number);
}
