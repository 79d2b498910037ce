// Original file: protos/gluonps/v1/trainer.proto

import type { OptimizerKind as _gluonps_v1_OptimizerKind, OptimizerKind__Output as _gluonps_v1_OptimizerKind__Output } from '../../gluonps/v1/OptimizerKind';
import type { LrScheduler as _gluonps_v1_LrScheduler, LrScheduler__Output as _gluonps_v1_LrScheduler__Output } from '../../gluonps/v1/LrScheduler';

/**
 * The optimizer and its settings, with MXNet's names; absent fields take MXNet's defaults.
 */
export interface OptimizerSpec {
  /**
   * Which optimizer.
   */
  'kind'?: (_gluonps_v1_OptimizerKind);
  /**
   * Base learning rate.
   */
  'learningRate'?: (number | string);
  /**
   * Weight decay (L2), times each parameter's wd_mult.
   */
  'wd'?: (number | string);
  /**
   * Multiplier of the gradient before the update; the trainer divides it by the batch size.
   */
  'rescaleGrad'?: (number | string);
  /**
   * Clip the rescaled gradient to [-c, c]; absent or negative = no clipping.
   */
  'clipGradient'?: (number | string);
  /**
   * Update only the rows a row_sparse gradient names (default true).
   */
  'lazyUpdate'?: (boolean);
  /**
   * sgd / nag: momentum.
   */
  'momentum'?: (number | string);
  /**
   * adam / adamw / lamb: first-moment decay.
   */
  'beta1'?: (number | string);
  /**
   * adam / adamw / lamb: second-moment decay.
   */
  'beta2'?: (number | string);
  /**
   * adam / adamw / adagrad / rmsprop / lamb: numerical-stability term.
   */
  'epsilon'?: (number | string);
  /**
   * rmsprop: decay of the squared-gradient average.
   */
  'gamma1'?: (number | string);
  /**
   * rmsprop (centered): momentum of the update.
   */
  'gamma2'?: (number | string);
  /**
   * rmsprop: the centered variant (Graves 2013).
   */
  'centered'?: (boolean);
  /**
   * rmsprop: clip weights to [-c, c]; absent or negative = off.
   */
  'clipWeights'?: (number | string);
  /**
   * ftrl: L1 strength.
   */
  'lamda1'?: (number | string);
  /**
   * ftrl: the beta of the per-coordinate learning rate.
   */
  'beta'?: (number | string);
  /**
   * lamb: lower bound of the weight norm in the trust ratio; absent = none.
   */
  'lowerBound'?: (number | string);
  /**
   * lamb: upper bound of the weight norm in the trust ratio; absent = none.
   */
  'upperBound'?: (number | string);
  /**
   * lamb: bias-correct the moments (default true).
   */
  'biasCorrection'?: (boolean);
  /**
   * A learning-rate schedule; absent = constant learning_rate.
   */
  'lrScheduler'?: (_gluonps_v1_LrScheduler | null);
  '_learningRate'?: "learningRate";
  '_wd'?: "wd";
  '_rescaleGrad'?: "rescaleGrad";
  '_clipGradient'?: "clipGradient";
  '_lazyUpdate'?: "lazyUpdate";
  '_momentum'?: "momentum";
  '_beta1'?: "beta1";
  '_beta2'?: "beta2";
  '_epsilon'?: "epsilon";
  '_gamma1'?: "gamma1";
  '_gamma2'?: "gamma2";
  '_centered'?: "centered";
  '_clipWeights'?: "clipWeights";
  '_lamda1'?: "lamda1";
  '_beta'?: "beta";
  '_lowerBound'?: "lowerBound";
  '_upperBound'?: "upperBound";
  '_biasCorrection'?: "biasCorrection";
}

/**
 * The optimizer and its settings, with MXNet's names; absent fields take MXNet's defaults.
 */
export interface OptimizerSpec__Output {
  /**
   * Which optimizer.
   */
  'kind': (_gluonps_v1_OptimizerKind__Output);
  /**
   * Base learning rate.
   */
  'learningRate'?: (number);
  /**
   * Weight decay (L2), times each parameter's wd_mult.
   */
  'wd'?: (number);
  /**
   * Multiplier of the gradient before the update; the trainer divides it by the batch size.
   */
  'rescaleGrad'?: (number);
  /**
   * Clip the rescaled gradient to [-c, c]; absent or negative = no clipping.
   */
  'clipGradient'?: (number);
  /**
   * Update only the rows a row_sparse gradient names (default true).
   */
  'lazyUpdate'?: (boolean);
  /**
   * sgd / nag: momentum.
   */
  'momentum'?: (number);
  /**
   * adam / adamw / lamb: first-moment decay.
   */
  'beta1'?: (number);
  /**
   * adam / adamw / lamb: second-moment decay.
   */
  'beta2'?: (number);
  /**
   * adam / adamw / adagrad / rmsprop / lamb: numerical-stability term.
   */
  'epsilon'?: (number);
  /**
   * rmsprop: decay of the squared-gradient average.
   */
  'gamma1'?: (number);
  /**
   * rmsprop (centered): momentum of the update.
   */
  'gamma2'?: (number);
  /**
   * rmsprop: the centered variant (Graves 2013).
   */
  'centered'?: (boolean);
  /**
   * rmsprop: clip weights to [-c, c]; absent or negative = off.
   */
  'clipWeights'?: (number);
  /**
   * ftrl: L1 strength.
   */
  'lamda1'?: (number);
  /**
   * ftrl: the beta of the per-coordinate learning rate.
   */
  'beta'?: (number);
  /**
   * lamb: lower bound of the weight norm in the trust ratio; absent = none.
   */
  'lowerBound'?: (number);
  /**
   * lamb: upper bound of the weight norm in the trust ratio; absent = none.
   */
  'upperBound'?: (number);
  /**
   * lamb: bias-correct the moments (default true).
   */
  'biasCorrection'?: (boolean);
  /**
   * A learning-rate schedule; absent = constant learning_rate.
   */
  'lrScheduler': (_gluonps_v1_LrScheduler__Output | null);
  '_learningRate'?: "learningRate";
  '_wd'?: "wd";
  '_rescaleGrad'?: "rescaleGrad";
  '_clipGradient'?: "clipGradient";
  '_lazyUpdate'?: "lazyUpdate";
  '_momentum'?: "momentum";
  '_beta1'?: "beta1";
  '_beta2'?: "beta2";
  '_epsilon'?: "epsilon";
  '_gamma1'?: "gamma1";
  '_gamma2'?: "gamma2";
  '_centered'?: "centered";
  '_clipWeights'?: "clipWeights";
  '_lamda1'?: "lamda1";
  '_beta'?: "beta";
  '_lowerBound'?: "lowerBound";
  '_upperBound'?: "upperBound";
  '_biasCorrection'?: "biasCorrection";
}
