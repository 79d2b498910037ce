// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The write-ahead log.
 */
export interface WalStatus {
  /**
   * Bytes of its segment files on disk.
   */
  'bytes'?: (number | string | Long);
  /**
   * Segment files on disk.
   */
  'segments'?: (number);
  /**
   * Bytes appended since this process started.
   */
  'appendedBytes'?: (number | string | Long);
  /**
   * The last record's log sequence number.
   */
  'lastLsn'?: (number | string | Long);
}

/**
 * The write-ahead log.
 */
export interface WalStatus__Output {
  /**
   * Bytes of its segment files on disk.
   */
  'bytes': (number);
  /**
   * Segment files on disk.
   */
  'segments': (number);
  /**
   * Bytes appended since this process started.
   */
  'appendedBytes': (number);
  /**
   * The last record's log sequence number.
   */
  'lastLsn': (number);
}
