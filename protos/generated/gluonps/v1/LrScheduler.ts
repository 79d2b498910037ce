// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A learning-rate schedule, MXNet's lr_scheduler classes. Fields that do not apply to `kind`
 * are ignored; absent ones take MXNet's defaults.
 */
export interface LrScheduler {
  /**
   * "factor", "multifactor", "cosine" or "poly".
   */
  'kind'?: (string);
  /**
   * factor: decay every `step` updates.
   */
  'step'?: (number | string | Long);
  /**
   * multifactor: the updates at which to decay, increasing.
   */
  'steps'?: (number | string | Long)[];
  /**
   * factor / multifactor: the multiplier applied at each decay.
   */
  'factor'?: (number | string);
  /**
   * factor: the learning rate never drops below this.
   */
  'stopFactorLr'?: (number | string);
  /**
   * The learning rate at the end of warm-up (default: the optimizer's learning_rate).
   */
  'baseLr'?: (number | string);
  /**
   * cosine / poly: the learning rate reached at max_update.
   */
  'finalLr'?: (number | string);
  /**
   * cosine / poly: updates over which the schedule runs.
   */
  'maxUpdate'?: (number | string | Long);
  /**
   * poly: the power of the polynomial decay (default 2).
   */
  'pwr'?: (number | string);
  /**
   * Updates of warm-up before the schedule starts (default 0).
   */
  'warmupSteps'?: (number | string | Long);
  /**
   * Learning rate at the start of warm-up (default 0).
   */
  'warmupBeginLr'?: (number | string);
  /**
   * "linear" or "constant" warm-up.
   */
  'warmupMode'?: (string);
  '_step'?: "step";
  '_factor'?: "factor";
  '_stopFactorLr'?: "stopFactorLr";
  '_baseLr'?: "baseLr";
  '_finalLr'?: "finalLr";
  '_maxUpdate'?: "maxUpdate";
  '_pwr'?: "pwr";
  '_warmupSteps'?: "warmupSteps";
  '_warmupBeginLr'?: "warmupBeginLr";
}

/**
 * A learning-rate schedule, MXNet's lr_scheduler classes. Fields that do not apply to `kind`
 * are ignored; absent ones take MXNet's defaults.
 */
export interface LrScheduler__Output {
  /**
   * "factor", "multifactor", "cosine" or "poly".
   */
  'kind': (string);
  /**
   * factor: decay every `step` updates.
   */
  'step'?: (number);
  /**
   * multifactor: the updates at which to decay, increasing.
   */
  'steps': (number)[];
  /**
   * factor / multifactor: the multiplier applied at each decay.
   */
  'factor'?: (number);
  /**
   * factor: the learning rate never drops below this.
   */
  'stopFactorLr'?: (number);
  /**
   * The learning rate at the end of warm-up (default: the optimizer's learning_rate).
   */
  'baseLr'?: (number);
  /**
   * cosine / poly: the learning rate reached at max_update.
   */
  'finalLr'?: (number);
  /**
   * cosine / poly: updates over which the schedule runs.
   */
  'maxUpdate'?: (number);
  /**
   * poly: the power of the polynomial decay (default 2).
   */
  'pwr'?: (number);
  /**
   * Updates of warm-up before the schedule starts (default 0).
   */
  'warmupSteps'?: (number);
  /**
   * Learning rate at the start of warm-up (default 0).
   */
  'warmupBeginLr'?: (number);
  /**
   * "linear" or "constant" warm-up.
   */
  'warmupMode': (string);
  '_step'?: "step";
  '_factor'?: "factor";
  '_stopFactorLr'?: "stopFactorLr";
  '_baseLr'?: "baseLr";
  '_finalLr'?: "finalLr";
  '_maxUpdate'?: "maxUpdate";
  '_pwr'?: "pwr";
  '_warmupSteps'?: "warmupSteps";
  '_warmupBeginLr'?: "warmupBeginLr";
}
