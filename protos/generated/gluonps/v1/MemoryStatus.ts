// Original file: protos/gluonps/v1/admin.proto

import type { DeviceMemory as _gluonps_v1_DeviceMemory, DeviceMemory__Output as _gluonps_v1_DeviceMemory__Output } from '../../gluonps/v1/DeviceMemory';
import type { MemoryByKind as _gluonps_v1_MemoryByKind, MemoryByKind__Output as _gluonps_v1_MemoryByKind__Output } from '../../gluonps/v1/MemoryByKind';
import type { Long } from '@grpc/proto-loader';

/**
 * The server's memory.
 */
export interface MemoryStatus {
  /**
   * Every device that holds tensors, and cpu(0).
   */
  'devices'?: (_gluonps_v1_DeviceMemory)[];
  /**
   * The devices' bytes summed by kind.
   */
  'byKind'?: (_gluonps_v1_MemoryByKind | null);
  /**
   * Host copies of tensors being sent to clients (outside every device's budget).
   */
  'readStagingBytes'?: (number | string | Long);
  /**
   * The sum of the devices' allocated_bytes.
   */
  'allocatedBytes'?: (number | string | Long);
}

/**
 * The server's memory.
 */
export interface MemoryStatus__Output {
  /**
   * Every device that holds tensors, and cpu(0).
   */
  'devices': (_gluonps_v1_DeviceMemory__Output)[];
  /**
   * The devices' bytes summed by kind.
   */
  'byKind': (_gluonps_v1_MemoryByKind__Output | null);
  /**
   * Host copies of tensors being sent to clients (outside every device's budget).
   */
  'readStagingBytes': (number);
  /**
   * The sum of the devices' allocated_bytes.
   */
  'allocatedBytes': (number);
}
