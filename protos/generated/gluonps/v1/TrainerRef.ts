// Original file: protos/gluonps/v1/trainer.proto


/**
 * Request of DescribeTrainer and SaveStates.
 */
export interface TrainerRef {
  /**
   * Trainer name.
   */
  'name'?: (string);
}

/**
 * Request of DescribeTrainer and SaveStates.
 */
export interface TrainerRef__Output {
  /**
   * Trainer name.
   */
  'name': (string);
}
