// Original file: protos/gluonps/v1/admin.proto

import type { MemoryByKind as _gluonps_v1_MemoryByKind, MemoryByKind__Output as _gluonps_v1_MemoryByKind__Output } from '../../gluonps/v1/MemoryByKind';
import type { Long } from '@grpc/proto-loader';

/**
 * One device's memory.
 */
export interface DeviceMemory {
  /**
   * The device, e.g. "cpu(0)", "gpu(1)".
   */
  'device'?: (string);
  /**
   * Bytes its allocator holds now.
   */
  'allocatedBytes'?: (number | string | Long);
  /**
   * The most it held since the server started.
   */
  'peakBytes'?: (number | string | Long);
  /**
   * Always -1: the server has one memory budget for all its devices (MemoryStatus.budget_bytes),
   * none per device.
   */
  'budgetBytes'?: (number | string | Long);
  /**
   * allocated_bytes, by what it holds.
   */
  'byKind'?: (_gluonps_v1_MemoryByKind | null);
}

/**
 * One device's memory.
 */
export interface DeviceMemory__Output {
  /**
   * The device, e.g. "cpu(0)", "gpu(1)".
   */
  'device': (string);
  /**
   * Bytes its allocator holds now.
   */
  'allocatedBytes': (number);
  /**
   * The most it held since the server started.
   */
  'peakBytes': (number);
  /**
   * Always -1: the server has one memory budget for all its devices (MemoryStatus.budget_bytes),
   * none per device.
   */
  'budgetBytes': (number);
  /**
   * allocated_bytes, by what it holds.
   */
  'byKind': (_gluonps_v1_MemoryByKind__Output | null);
}
