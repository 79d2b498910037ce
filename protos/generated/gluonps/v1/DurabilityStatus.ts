// Original file: protos/gluonps/v1/admin.proto

import type { CheckpointStatus as _gluonps_v1_CheckpointStatus, CheckpointStatus__Output as _gluonps_v1_CheckpointStatus__Output } from '../../gluonps/v1/CheckpointStatus';
import type { WalStatus as _gluonps_v1_WalStatus, WalStatus__Output as _gluonps_v1_WalStatus__Output } from '../../gluonps/v1/WalStatus';
import type { ErrorStatus as _gluonps_v1_ErrorStatus, ErrorStatus__Output as _gluonps_v1_ErrorStatus__Output } from '../../gluonps/v1/ErrorStatus';
import type { Long } from '@grpc/proto-loader';

/**
 * What the data directory holds and how changes reach it.
 */
export interface DurabilityStatus {
  /**
   * "checkpoint", "wal-batch" or "wal-always".
   */
  'mode'?: (string);
  /**
   * The data directory.
   */
  'dataDir'?: (string);
  /**
   * The newest checkpoint; unset when there is none yet.
   */
  'lastCheckpoint'?: (_gluonps_v1_CheckpointStatus | null);
  /**
   * The write-ahead log; unset in checkpoint mode (no log).
   */
  'wal'?: (_gluonps_v1_WalStatus | null);
  /**
   * Changes recorded since the last checkpoint.
   */
  'changesSinceCheckpoint'?: (number | string | Long);
  /**
   * The last failure (a checkpoint or the log); unset when none.
   */
  'lastError'?: (_gluonps_v1_ErrorStatus | null);
}

/**
 * What the data directory holds and how changes reach it.
 */
export interface DurabilityStatus__Output {
  /**
   * "checkpoint", "wal-batch" or "wal-always".
   */
  'mode': (string);
  /**
   * The data directory.
   */
  'dataDir': (string);
  /**
   * The newest checkpoint; unset when there is none yet.
   */
  'lastCheckpoint': (_gluonps_v1_CheckpointStatus__Output | null);
  /**
   * The write-ahead log; unset in checkpoint mode (no log).
   */
  'wal': (_gluonps_v1_WalStatus__Output | null);
  /**
   * Changes recorded since the last checkpoint.
   */
  'changesSinceCheckpoint': (number);
  /**
   * The last failure (a checkpoint or the log); unset when none.
   */
  'lastError': (_gluonps_v1_ErrorStatus__Output | null);
}
