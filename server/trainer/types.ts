// types.ts: the trainer's data types in one place: its spec, the key of a retried call, a step's
// result and the state describe() reports, the optimizer states of a parameter, and the open
// sync step with the workers waiting on it.
import type { DeviceTensor } from '../../native/index';
import type { OptimizerConfig } from '../../common/optimizer/optimizer-spec';

export interface TrainerSpec {
  name: string;
  /** The parameters it updates here, in its order. */
  params: string[];
  /**
   * On a cluster shard: every parameter of the trainer in its order (`params` is this shard's
   * part of it), as the cluster client created it; absent when it is `params` (one server, or a
   * record written before the field existed).
   */
  allParams?: string[];
  optimizer: OptimizerConfig;
  mode: 'sync' | 'async';
  numWorkers: number;
  stepTimeoutMs: number;
  timeoutPolicy: 'fail' | 'quorum';
  quorum: number;
}

export interface CallKey {
  workerId: number;
  incarnation: number;
  sequence: number;
}

export interface StepResult {
  step: number;
  versions: bigint[];
  workers: number[];
  /** Sync: the sum of the workers' batch sizes; absent in a result restored from an older checkpoint. */
  batch?: number;
}

export interface TrainerState {
  step: number;
  /** The rate the next step uses (the schedule's value when there is one). */
  learningRate: number;
  /** The configured base rate (set_learning_rate changes it). */
  baseLearningRate: number;
  workersSeen: number[];
  workersLeft: number[];
  /** The first MAX_LISTED_WORKERS of them, lowest ids first (waitingCount says how many in all). */
  waitingFor: number[];
  waitingCount: number;
}

/** Optimizer state of one parameter: one tensor list per context, and its update count. */
export interface ParamStates {
  layout: string; // contexts, dtype and shape the tensors were made for
  tensors: DeviceTensor[][];
  count: number;
}

export interface Waiter {
  resolve: (r: StepResult) => void;
  reject: (e: Error) => void;
}

export interface OpenStep {
  index: number;
  stepped: Map<number, number>; // worker -> batch size
  keys: Map<number, CallKey>; // worker -> the key of its step call
  waiters: Waiter[];
  timer: NodeJS.Timeout | null;
  applying: boolean;
  /** When it opened (its first worker stepped), ms since the epoch; GetStatus, the barrier-wait metric. */
  openedAt: number;
  /**
   * On a shard following its trainer's decider (follower.ts): the workers the decider applied
   * this step with, whom it waits for without a deadline; null for a barrier of its own.
   */
  decided: number[] | null;
  /** With `decided`: the decider's batch size (0: unknown, so no deadline here at all). */
  decidedBatch: number;
}

/**
 * What a trainer reports as it runs, for the metrics (server/observability/metrics.ts); the
 * registry hands every trainer the same one. Called once per step or retried call, never per
 * gradient chunk. Not called while the log is replayed.
 */
export interface TrainerEvents {
  /**
   * A step was applied: how long its barrier was open, first step call to the last (null in
   * async mode), and how long the apply took until the step was answered, in seconds.
   */
  stepApplied(trainer: string, barrierSeconds: number | null, applySeconds: number): void;
  /** A sync step's deadline passed: it was applied with the quorum, or it failed. */
  deadline(trainer: string, outcome: 'quorum' | 'timeout'): void;
  /** A keyed call (push or step) was answered with the result of an earlier call with its key. */
  replayed(trainer: string): void;
}

export const NO_TRAINER_EVENTS: TrainerEvents = {
  stepApplied: () => undefined,
  deadline: () => undefined,
  replayed: () => undefined,
};
