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
   * Host copies of tensors being sent to clients (counted in held_bytes).
   */
  'readStagingBytes'?: (number | string | Long);
  /**
   * The sum of the devices' allocated_bytes.
   */
  'allocatedBytes'?: (number | string | Long);
  /**
   * The one memory budget (--memory-budget) over everything held for callers; -1 when unlimited.
   */
  'budgetBytes'?: (number | string | Long);
  /**
   * Everything counted against it: the devices' tensors, the host copies being sent and the host
   * memory held for callers (host_heap_bytes).
   */
  'heldBytes'?: (number | string | Long);
  /**
   * Memory outside the devices' allocators held for callers: constants' values, upload buffers,
   * optimizer-state snapshots.
   */
  'hostHeapBytes'?: (number | string | Long);
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
   * Host copies of tensors being sent to clients (counted in held_bytes).
   */
  'readStagingBytes': (number);
  /**
   * The sum of the devices' allocated_bytes.
   */
  'allocatedBytes': (number);
  /**
   * The one memory budget (--memory-budget) over everything held for callers; -1 when unlimited.
   */
  'budgetBytes': (number);
  /**
   * Everything counted against it: the devices' tensors, the host copies being sent and the host
   * memory held for callers (host_heap_bytes).
   */
  'heldBytes': (number);
  /**
   * Memory outside the devices' allocators held for callers: constants' values, upload buffers,
   * optimizer-state snapshots.
   */
  'hostHeapBytes': (number);
}
