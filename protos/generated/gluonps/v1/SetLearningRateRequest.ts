// Original file: protos/gluonps/v1/trainer.proto


/**
 * Request of SetLearningRate.
 */
export interface SetLearningRateRequest {
  /**
   * Trainer name.
   */
  'trainer'?: (string);
  /**
   * The new base learning rate (FAILED_PRECONDITION when a scheduler is set).
   */
  'learningRate'?: (number | string);
}

/**
 * Request of SetLearningRate.
 */
export interface SetLearningRateRequest__Output {
  /**
   * Trainer name.
   */
  'trainer': (string);
  /**
   * The new base learning rate (FAILED_PRECONDITION when a scheduler is set).
   */
  'learningRate': (number);
}
