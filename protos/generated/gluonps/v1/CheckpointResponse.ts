// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Reply of Checkpoint.
 */
export interface CheckpointResponse {
  /**
   * Id of the checkpoint written (its directory is checkpoints/ckpt-<id, 20 digits>).
   */
  'id'?: (number | string | Long);
  /**
   * Data directory of the server.
   */
  'dataDir'?: (string);
}

/**
 * Reply of Checkpoint.
 */
export interface CheckpointResponse__Output {
  /**
   * Id of the checkpoint written (its directory is checkpoints/ckpt-<id, 20 digits>).
   */
  'id': (number);
  /**
   * Data directory of the server.
   */
  'dataDir': (string);
}
