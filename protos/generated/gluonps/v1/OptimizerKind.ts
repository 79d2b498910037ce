// Original file: protos/gluonps/v1/trainer.proto

/**
 * Which optimizer the trainer applies; its settings are in OptimizerSpec.
 */
export const OptimizerKind = {
  /**
   * Not set: INVALID_ARGUMENT.
   */
  OPTIMIZER_KIND_UNSPECIFIED: 'OPTIMIZER_KIND_UNSPECIFIED',
  /**
   * SGD, with momentum when momentum > 0 (MXNet sgd_update / sgd_mom_update).
   */
  OPTIMIZER_KIND_SGD: 'OPTIMIZER_KIND_SGD',
  /**
   * Nesterov accelerated SGD (MXNet NAG: nag_mom_update).
   */
  OPTIMIZER_KIND_NAG: 'OPTIMIZER_KIND_NAG',
  /**
   * Adam with bias correction.
   */
  OPTIMIZER_KIND_ADAM: 'OPTIMIZER_KIND_ADAM',
  /**
   * Adam with decoupled weight decay (MXNet contrib AdamW).
   */
  OPTIMIZER_KIND_ADAMW: 'OPTIMIZER_KIND_ADAMW',
  /**
   * AdaGrad.
   */
  OPTIMIZER_KIND_ADAGRAD: 'OPTIMIZER_KIND_ADAGRAD',
  /**
   * RMSProp, plain or centered.
   */
  OPTIMIZER_KIND_RMSPROP: 'OPTIMIZER_KIND_RMSPROP',
  /**
   * FTRL-Proximal.
   */
  OPTIMIZER_KIND_FTRL: 'OPTIMIZER_KIND_FTRL',
  /**
   * LAMB (layer-wise adaptive moments).
   */
  OPTIMIZER_KIND_LAMB: 'OPTIMIZER_KIND_LAMB',
} as const;

/**
 * Which optimizer the trainer applies; its settings are in OptimizerSpec.
 */
export type OptimizerKind =
  /**
   * Not set: INVALID_ARGUMENT.
   */
  | 'OPTIMIZER_KIND_UNSPECIFIED'
  | 0
  /**
   * SGD, with momentum when momentum > 0 (MXNet sgd_update / sgd_mom_update).
   */
  | 'OPTIMIZER_KIND_SGD'
  | 1
  /**
   * Nesterov accelerated SGD (MXNet NAG: nag_mom_update).
   */
  | 'OPTIMIZER_KIND_NAG'
  | 2
  /**
   * Adam with bias correction.
   */
  | 'OPTIMIZER_KIND_ADAM'
  | 3
  /**
   * Adam with decoupled weight decay (MXNet contrib AdamW).
   */
  | 'OPTIMIZER_KIND_ADAMW'
  | 4
  /**
   * AdaGrad.
   */
  | 'OPTIMIZER_KIND_ADAGRAD'
  | 5
  /**
   * RMSProp, plain or centered.
   */
  | 'OPTIMIZER_KIND_RMSPROP'
  | 6
  /**
   * FTRL-Proximal.
   */
  | 'OPTIMIZER_KIND_FTRL'
  | 7
  /**
   * LAMB (layer-wise adaptive moments).
   */
  | 'OPTIMIZER_KIND_LAMB'
  | 8

/**
 * Which optimizer the trainer applies; its settings are in OptimizerSpec.
 */
export type OptimizerKind__Output = typeof OptimizerKind[keyof typeof OptimizerKind]
