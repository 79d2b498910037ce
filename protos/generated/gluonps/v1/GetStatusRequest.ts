// Original file: protos/gluonps/v1/admin.proto


/**
 * Request of GetStatus.
 */
export interface GetStatusRequest {
  /**
   * When set, `trainers` holds only this trainer (NOT_FOUND when it does not exist); otherwise
   * every trainer.
   */
  'trainer'?: (string);
}

/**
 * Request of GetStatus.
 */
export interface GetStatusRequest__Output {
  /**
   * When set, `trainers` holds only this trainer (NOT_FOUND when it does not exist); otherwise
   * every trainer.
   */
  'trainer': (string);
}
