// Original file: protos/gluonps/v1/trainer.proto


/**
 * Request of Leave: a worker is done (end of its data); sync steps stop waiting for it.
 */
export interface LeaveRequest {
  /**
   * Trainer name.
   */
  'trainer'?: (string);
  /**
   * The leaving worker.
   */
  'workerId'?: (number);
}

/**
 * Request of Leave: a worker is done (end of its data); sync steps stop waiting for it.
 */
export interface LeaveRequest__Output {
  /**
   * Trainer name.
   */
  'trainer': (string);
  /**
   * The leaving worker.
   */
  'workerId': (number);
}
