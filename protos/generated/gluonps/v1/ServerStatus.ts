// Original file: protos/gluonps/v1/admin.proto

import type { HealthStatus as _gluonps_v1_HealthStatus, HealthStatus__Output as _gluonps_v1_HealthStatus__Output } from '../../gluonps/v1/HealthStatus';
import type { SecurityStatus as _gluonps_v1_SecurityStatus, SecurityStatus__Output as _gluonps_v1_SecurityStatus__Output } from '../../gluonps/v1/SecurityStatus';
import type { MemoryStatus as _gluonps_v1_MemoryStatus, MemoryStatus__Output as _gluonps_v1_MemoryStatus__Output } from '../../gluonps/v1/MemoryStatus';
import type { DurabilityStatus as _gluonps_v1_DurabilityStatus, DurabilityStatus__Output as _gluonps_v1_DurabilityStatus__Output } from '../../gluonps/v1/DurabilityStatus';
import type { ParametersStatus as _gluonps_v1_ParametersStatus, ParametersStatus__Output as _gluonps_v1_ParametersStatus__Output } from '../../gluonps/v1/ParametersStatus';
import type { TrainerStatus as _gluonps_v1_TrainerStatus, TrainerStatus__Output as _gluonps_v1_TrainerStatus__Output } from '../../gluonps/v1/TrainerStatus';
import type { LogEvent as _gluonps_v1_LogEvent, LogEvent__Output as _gluonps_v1_LogEvent__Output } from '../../gluonps/v1/LogEvent';
import type { Long } from '@grpc/proto-loader';

/**
 * A snapshot of the whole server.
 */
export interface ServerStatus {
  /**
   * The server's version (package.json).
   */
  'version'?: (string);
  /**
   * When the snapshot was taken, milliseconds since the Unix epoch.
   */
  'timeUnixMs'?: (number | string | Long);
  /**
   * When the server started, milliseconds since the Unix epoch.
   */
  'startedUnixMs'?: (number | string | Long);
  /**
   * Milliseconds since it started.
   */
  'uptimeMs'?: (number | string | Long);
  /**
   * Whether it accepts calls.
   */
  'health'?: (_gluonps_v1_HealthStatus | null);
  /**
   * host:port it listens on.
   */
  'address'?: (string);
  /**
   * TLS and tokens.
   */
  'security'?: (_gluonps_v1_SecurityStatus | null);
  /**
   * Device kinds that may hold parameters (--devices), e.g. "cpu", "gpu".
   */
  'devices'?: (string)[];
  /**
   * Memory by device and kind.
   */
  'memory'?: (_gluonps_v1_MemoryStatus | null);
  /**
   * The data directory; unset when the server keeps state in memory only (--data-dir none).
   */
  'durability'?: (_gluonps_v1_DurabilityStatus | null);
  /**
   * Parameters and constants.
   */
  'parameters'?: (_gluonps_v1_ParametersStatus | null);
  /**
   * Every trainer (or the one GetStatusRequest.trainer names), by name.
   */
  'trainers'?: (_gluonps_v1_TrainerStatus)[];
  /**
   * The last warnings and errors of the log, oldest first (at most 50).
   */
  'warnings'?: (_gluonps_v1_LogEvent)[];
  /**
   * Warnings and errors logged since start (the ring holds the last 50).
   */
  'warningsTotal'?: (number | string | Long);
}

/**
 * A snapshot of the whole server.
 */
export interface ServerStatus__Output {
  /**
   * The server's version (package.json).
   */
  'version': (string);
  /**
   * When the snapshot was taken, milliseconds since the Unix epoch.
   */
  'timeUnixMs': (number);
  /**
   * When the server started, milliseconds since the Unix epoch.
   */
  'startedUnixMs': (number);
  /**
   * Milliseconds since it started.
   */
  'uptimeMs': (number);
  /**
   * Whether it accepts calls.
   */
  'health': (_gluonps_v1_HealthStatus__Output | null);
  /**
   * host:port it listens on.
   */
  'address': (string);
  /**
   * TLS and tokens.
   */
  'security': (_gluonps_v1_SecurityStatus__Output | null);
  /**
   * Device kinds that may hold parameters (--devices), e.g. "cpu", "gpu".
   */
  'devices': (string)[];
  /**
   * Memory by device and kind.
   */
  'memory': (_gluonps_v1_MemoryStatus__Output | null);
  /**
   * The data directory; unset when the server keeps state in memory only (--data-dir none).
   */
  'durability': (_gluonps_v1_DurabilityStatus__Output | null);
  /**
   * Parameters and constants.
   */
  'parameters': (_gluonps_v1_ParametersStatus__Output | null);
  /**
   * Every trainer (or the one GetStatusRequest.trainer names), by name.
   */
  'trainers': (_gluonps_v1_TrainerStatus__Output)[];
  /**
   * The last warnings and errors of the log, oldest first (at most 50).
   */
  'warnings': (_gluonps_v1_LogEvent__Output)[];
  /**
   * Warnings and errors logged since start (the ring holds the last 50).
   */
  'warningsTotal': (number);
}
