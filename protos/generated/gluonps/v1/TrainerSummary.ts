// Original file: protos/gluonps/v1/admin.proto


/**
 * A trainer in short.
 */
export interface TrainerSummary {
  /**
   * Trainer name.
   */
  'name'?: (string);
  /**
   * One line: mode, optimizer, parameters, workers, step, e.g.
   * "sync sgd, 2 params, 4 workers, step 120, waiting for 1 worker".
   */
  'description'?: (string);
}

/**
 * A trainer in short.
 */
export interface TrainerSummary__Output {
  /**
   * Trainer name.
   */
  'name': (string);
  /**
   * One line: mode, optimizer, parameters, workers, step, e.g.
   * "sync sgd, 2 params, 4 workers, step 120, waiting for 1 worker".
   */
  'description': (string);
}
