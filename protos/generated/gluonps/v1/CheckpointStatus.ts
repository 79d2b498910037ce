// Original file: protos/gluonps/v1/admin.proto

import type { TrainerStep as _gluonps_v1_TrainerStep, TrainerStep__Output as _gluonps_v1_TrainerStep__Output } from '../../gluonps/v1/TrainerStep';
import type { Long } from '@grpc/proto-loader';

/**
 * The newest checkpoint of the data dir (written by this process, or the one it recovered from).
 */
export interface CheckpointStatus {
  /**
   * Its id (directory checkpoints/ckpt-<id>).
   */
  'id'?: (number | string | Long);
  /**
   * When it was written, milliseconds since the Unix epoch.
   */
  'timeUnixMs'?: (number | string | Long);
  /**
   * The last write-ahead log record it holds.
   */
  'lsn'?: (number | string | Long);
  /**
   * Bytes of its files (the manifest apart).
   */
  'bytes'?: (number | string | Long);
  /**
   * How long writing it took, ms (0 when recovered).
   */
  'durationMs'?: (number | string | Long);
  /**
   * Why it was written: "interval", "steps", "on demand" or the Checkpoint reason, "shutdown",
   * "recovered" (the one this process started from).
   */
  'reason'?: (string);
  /**
   * Each trainer's step count in it.
   */
  'trainerSteps'?: (_gluonps_v1_TrainerStep)[];
}

/**
 * The newest checkpoint of the data dir (written by this process, or the one it recovered from).
 */
export interface CheckpointStatus__Output {
  /**
   * Its id (directory checkpoints/ckpt-<id>).
   */
  'id': (number);
  /**
   * When it was written, milliseconds since the Unix epoch.
   */
  'timeUnixMs': (number);
  /**
   * The last write-ahead log record it holds.
   */
  'lsn': (number);
  /**
   * Bytes of its files (the manifest apart).
   */
  'bytes': (number);
  /**
   * How long writing it took, ms (0 when recovered).
   */
  'durationMs': (number);
  /**
   * Why it was written: "interval", "steps", "on demand" or the Checkpoint reason, "shutdown",
   * "recovered" (the one this process started from).
   */
  'reason': (string);
  /**
   * Each trainer's step count in it.
   */
  'trainerSteps': (_gluonps_v1_TrainerStep__Output)[];
}
