// Original file: protos/gluonps/v1/trainer.proto

import type { OptimizerSpec as _gluonps_v1_OptimizerSpec, OptimizerSpec__Output as _gluonps_v1_OptimizerSpec__Output } from '../../gluonps/v1/OptimizerSpec';
import type { TrainerMode as _gluonps_v1_TrainerMode, TrainerMode__Output as _gluonps_v1_TrainerMode__Output } from '../../gluonps/v1/TrainerMode';
import type { TimeoutPolicy as _gluonps_v1_TimeoutPolicy, TimeoutPolicy__Output as _gluonps_v1_TimeoutPolicy__Output } from '../../gluonps/v1/TimeoutPolicy';

/**
 * Request of CreateTrainer: create a trainer, or attach to the existing one of that name.
 */
export interface CreateTrainerRequest {
  /**
   * Trainer name, shared by every worker that trains together.
   */
  'name'?: (string);
  /**
   * Names of the parameters it updates, in order (constants and grad_req null are kept but never updated).
   */
  'params'?: (string)[];
  /**
   * The optimizer.
   */
  'optimizer'?: (_gluonps_v1_OptimizerSpec | null);
  /**
   * Sync or async.
   */
  'mode'?: (_gluonps_v1_TrainerMode);
  /**
   * Number of workers (sync: every step waits for all of them).
   */
  'numWorkers'?: (number);
  /**
   * Sync: how long a step waits for the other workers, in ms (default 30000).
   */
  'stepTimeoutMs'?: (number);
  /**
   * Sync: what happens at the deadline.
   */
  'timeoutPolicy'?: (_gluonps_v1_TimeoutPolicy);
  /**
   * Sync with the quorum policy: the least number of workers a step may be applied with.
   */
  'quorum'?: (number);
  /**
   * The calling worker's id, registered as seen.
   */
  'workerId'?: (number);
  /**
   * A cluster client's request to one shard: every parameter of the trainer, in the trainer's
   * order, where `params` holds only this shard's; `params` must appear in it in the same order,
   * and it names no parameter twice (INVALID_ARGUMENT otherwise). Kept with the trainer and
   * compared on a repeated CreateTrainer like `params`. Empty: `params` is the whole list.
   */
  'allParams'?: (string)[];
  '_stepTimeoutMs'?: "stepTimeoutMs";
}

/**
 * Request of CreateTrainer: create a trainer, or attach to the existing one of that name.
 */
export interface CreateTrainerRequest__Output {
  /**
   * Trainer name, shared by every worker that trains together.
   */
  'name': (string);
  /**
   * Names of the parameters it updates, in order (constants and grad_req null are kept but never updated).
   */
  'params': (string)[];
  /**
   * The optimizer.
   */
  'optimizer': (_gluonps_v1_OptimizerSpec__Output | null);
  /**
   * Sync or async.
   */
  'mode': (_gluonps_v1_TrainerMode__Output);
  /**
   * Number of workers (sync: every step waits for all of them).
   */
  'numWorkers': (number);
  /**
   * Sync: how long a step waits for the other workers, in ms (default 30000).
   */
  'stepTimeoutMs'?: (number);
  /**
   * Sync: what happens at the deadline.
   */
  'timeoutPolicy': (_gluonps_v1_TimeoutPolicy__Output);
  /**
   * Sync with the quorum policy: the least number of workers a step may be applied with.
   */
  'quorum': (number);
  /**
   * The calling worker's id, registered as seen.
   */
  'workerId': (number);
  /**
   * A cluster client's request to one shard: every parameter of the trainer, in the trainer's
   * order, where `params` holds only this shard's; `params` must appear in it in the same order,
   * and it names no parameter twice (INVALID_ARGUMENT otherwise). Kept with the trainer and
   * compared on a repeated CreateTrainer like `params`. Empty: `params` is the whole list.
   */
  'allParams': (string)[];
  '_stepTimeoutMs'?: "stepTimeoutMs";
}
