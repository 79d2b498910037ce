// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One message of a streamed optimizer-state snapshot (SaveStates reply, LoadStates request).
 */
export interface StatesChunk {
  /**
   * Trainer name; first LoadStates message only.
   */
  'trainer'?: (string);
  /**
   * Total byte length of the snapshot; first message only.
   */
  'byteLength'?: (number | string | Long);
  /**
   * Up to 1 MiB of the snapshot.
   */
  'chunk'?: (Buffer | Uint8Array | string);
}

/**
 * One message of a streamed optimizer-state snapshot (SaveStates reply, LoadStates request).
 */
export interface StatesChunk__Output {
  /**
   * Trainer name; first LoadStates message only.
   */
  'trainer': (string);
  /**
   * Total byte length of the snapshot; first message only.
   */
  'byteLength': (number);
  /**
   * Up to 1 MiB of the snapshot.
   */
  'chunk': (Buffer);
}
