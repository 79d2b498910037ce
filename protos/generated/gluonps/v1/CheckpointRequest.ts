// Original file: protos/gluonps/v1/admin.proto


/**
 * Request of Checkpoint.
 */
export interface CheckpointRequest {
  /**
   * Why the checkpoint is taken (recorded in the server log).
   */
  'reason'?: (string);
}

/**
 * Request of Checkpoint.
 */
export interface CheckpointRequest__Output {
  /**
   * Why the checkpoint is taken (recorded in the server log).
   */
  'reason': (string);
}
