// Original file: protos/gluonps/v1/trainer.proto

import type { OptimizerSpec as _gluonps_v1_OptimizerSpec, OptimizerSpec__Output as _gluonps_v1_OptimizerSpec__Output } from '../../gluonps/v1/OptimizerSpec';
import type { TrainerMode as _gluonps_v1_TrainerMode, TrainerMode__Output as _gluonps_v1_TrainerMode__Output } from '../../gluonps/v1/TrainerMode';
import type { TimeoutPolicy as _gluonps_v1_TimeoutPolicy, TimeoutPolicy__Output as _gluonps_v1_TimeoutPolicy__Output } from '../../gluonps/v1/TimeoutPolicy';
import type { Long } from '@grpc/proto-loader';

/**
 * The current state of a trainer, returned by most trainer calls.
 */
export interface TrainerInfo {
  /**
   * Trainer name.
   */
  'name'?: (string);
  /**
   * Parameters in order.
   */
  'params'?: (string)[];
  /**
   * The optimizer as configured (set_learning_rate changes learning_rate).
   */
  'optimizer'?: (_gluonps_v1_OptimizerSpec | null);
  /**
   * Sync or async.
   */
  'mode'?: (_gluonps_v1_TrainerMode);
  /**
   * Number of workers.
   */
  'numWorkers'?: (number);
  /**
   * Number of steps applied so far.
   */
  'step'?: (number | string | Long);
  /**
   * The learning rate the next step uses (the scheduler's value when there is one).
   */
  'learningRate'?: (number | string);
  /**
   * Worker ids that attached or called so far.
   */
  'workersSeen'?: (number)[];
  /**
   * Worker ids that left.
   */
  'workersLeft'?: (number)[];
  /**
   * Sync: worker ids the open step is still waiting for (empty when no step is open).
   */
  'waitingFor'?: (number)[];
  /**
   * Sync: step timeout in ms.
   */
  'stepTimeoutMs'?: (number);
  /**
   * Sync: timeout policy and quorum.
   */
  'timeoutPolicy'?: (_gluonps_v1_TimeoutPolicy);
  /**
   * Sync with the quorum policy: the least number of workers.
   */
  'quorum'?: (number);
  /**
   * Every parameter of the trainer in its order: on a cluster shard, the list the cluster client
   * created it with (CreateTrainerRequest.all_params), of which `params` is this shard's part;
   * otherwise the same as `params`.
   */
  'allParams'?: (string)[];
}

/**
 * The current state of a trainer, returned by most trainer calls.
 */
export interface TrainerInfo__Output {
  /**
   * Trainer name.
   */
  'name': (string);
  /**
   * Parameters in order.
   */
  'params': (string)[];
  /**
   * The optimizer as configured (set_learning_rate changes learning_rate).
   */
  'optimizer': (_gluonps_v1_OptimizerSpec__Output | null);
  /**
   * Sync or async.
   */
  'mode': (_gluonps_v1_TrainerMode__Output);
  /**
   * Number of workers.
   */
  'numWorkers': (number);
  /**
   * Number of steps applied so far.
   */
  'step': (number);
  /**
   * The learning rate the next step uses (the scheduler's value when there is one).
   */
  'learningRate': (number);
  /**
   * Worker ids that attached or called so far.
   */
  'workersSeen': (number)[];
  /**
   * Worker ids that left.
   */
  'workersLeft': (number)[];
  /**
   * Sync: worker ids the open step is still waiting for (empty when no step is open).
   */
  'waitingFor': (number)[];
  /**
   * Sync: step timeout in ms.
   */
  'stepTimeoutMs': (number);
  /**
   * Sync: timeout policy and quorum.
   */
  'timeoutPolicy': (_gluonps_v1_TimeoutPolicy__Output);
  /**
   * Sync with the quorum policy: the least number of workers.
   */
  'quorum': (number);
  /**
   * Every parameter of the trainer in its order: on a cluster shard, the list the cluster client
   * created it with (CreateTrainerRequest.all_params), of which `params` is this shard's part;
   * otherwise the same as `params`.
   */
  'allParams': (string)[];
}
