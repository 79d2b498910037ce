// Original file: protos/gluonps/v1/trainer.proto

/**
 * How a trainer combines workers.
 */
export const TrainerMode = {
  /**
   * Not set: sync.
   */
  TRAINER_MODE_UNSPECIFIED: 'TRAINER_MODE_UNSPECIFIED',
  /**
   * Step k is applied once, when every worker has stepped, with the sum of their gradients.
   */
  TRAINER_MODE_SYNC: 'TRAINER_MODE_SYNC',
  /**
   * Each worker's step applies its own gradients at once.
   */
  TRAINER_MODE_ASYNC: 'TRAINER_MODE_ASYNC',
} as const;

/**
 * How a trainer combines workers.
 */
export type TrainerMode =
  /**
   * Not set: sync.
   */
  | 'TRAINER_MODE_UNSPECIFIED'
  | 0
  /**
   * Step k is applied once, when every worker has stepped, with the sum of their gradients.
   */
  | 'TRAINER_MODE_SYNC'
  | 1
  /**
   * Each worker's step applies its own gradients at once.
   */
  | 'TRAINER_MODE_ASYNC'
  | 2

/**
 * How a trainer combines workers.
 */
export type TrainerMode__Output = typeof TrainerMode[keyof typeof TrainerMode]
