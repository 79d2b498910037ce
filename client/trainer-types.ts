// trainer-types.ts: the client's public trainer types in one place: the options a worker joins
// with, the gradients pushGrad takes, what step() and describe() resolve to, and the optimizer
// names and settings (defined once in common/optimizer, next to their validation).
import type { LrSchedulerSpec } from '../common/optimizer/lr-scheduler';
import type { OptimizerName, OptimizerParams } from '../common/optimizer/optimizer-spec';
import type { RetryOptions } from './retry';
import type { TensorInput } from './tensor';

// The optimizer names and settings are defined once, next to the server's validation of them.
export { OPTIMIZERS as OPTIMIZER_NAMES } from '../common/optimizer/optimizer-spec';
export type { LrSchedulerSpec, OptimizerName, OptimizerParams };

export type TrainerMode = 'sync' | 'async';
export type TimeoutPolicy = 'fail' | 'quorum';

/** How this worker takes part in the trainer. Every worker must pass the same spec (all but workerId, incarnation, retry). */
export interface TrainerOptions {
  /** 'sync' (default): a step is applied once every worker stepped; 'async': each step at once. */
  mode?: TrainerMode;
  /** Workers that train together (default 1). */
  numWorkers?: number;
  /** This worker's id, 0 <= workerId < numWorkers (default 0). */
  workerId?: number;
  /** Sync: how long a step waits for the other workers, in ms (server default 30000). */
  stepTimeoutMs?: number;
  /** Sync: at the deadline, fail the step (default) or apply it with at least `quorum` workers. */
  timeoutPolicy?: TimeoutPolicy;
  /** With timeoutPolicy 'quorum': the least number of workers a step may be applied with. */
  quorum?: number;
  /** Idempotency-key incarnation, an integer in [0, 2^53); random per handle by default. */
  incarnation?: number;
  /** Retries of pushes and steps after transport failures (client/retry.ts). */
  retry?: RetryOptions;
}

/** A row_sparse gradient: rows `indices` of the parameter, one row of `values` each. */
export interface RowSparseGrad {
  indices: ArrayLike<number | bigint>;
  /** Shape [indices.length, ...the parameter's shape without its first dim]. */
  values: TensorInput;
}

/** What pushGrad() takes: a dense gradient (Tensor, typed array, nested numbers) or rows. */
export type GradInput = TensorInput | RowSparseGrad;

/** What step() resolves to. */
export interface StepResult {
  /** Steps the trainer has applied, this one included (this worker's next step index). */
  step: number;
  /** Version of the trainer's first parameter after the step. */
  version: number;
  /** Version of every parameter after the step, in the trainer's parameter order. */
  versions: number[];
  /** Sync: the workers whose gradients the step combined; async: this worker. */
  workers: number[];
}

/** What the server says about a trainer (describe(), leave()). */
export interface TrainerDescriptor {
  name: string;
  params: string[];
  mode: TrainerMode;
  numWorkers: number;
  /** Steps applied so far. */
  step: number;
  /** The learning rate the next step uses (the scheduler's value when there is one). */
  learningRate: number;
  workersSeen: number[];
  workersLeft: number[];
  /** Sync: workers the open step still waits for (empty when no step is open). */
  waitingFor: number[];
  stepTimeoutMs: number;
  timeoutPolicy: TimeoutPolicy;
  quorum: number;
  /** The optimizer as configured; params.learningRate is the current learning rate. */
  optimizer: { name: OptimizerName; params: OptimizerParams };
}
