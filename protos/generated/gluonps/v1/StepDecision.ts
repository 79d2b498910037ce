// Original file: protos/gluonps/v1/trainer.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What the decider shard of a sync trainer spanning several shards answered a worker's Step for
 * step k (StepRequest.step), carried by the worker to the trainer's other shards, so every shard
 * applies step k with the same workers or none does.
 */
export interface StepDecision {
  /**
   * True: the decider applied step k with exactly `workers` (its StepResponse.workers). This
   * shard applies step k with them too, once each of them (less any that left) has sent its Step
   * with this decision (or at its step timeout: see batch_size). The caller must be one of `workers`;
   * every call for step k must carry the same set (FAILED_PRECONDITION otherwise).
   * False: the decider refused the step for this worker (its deadline passed, or step k was
   * already closed without it). This shard drops the gradients the worker staged for step k,
   * waits until it has applied `step` steps (at most the step timeout; DEADLINE_EXCEEDED
   * otherwise), and answers with its step count and no workers; nothing is applied.
   * A Step carrying an applied decision for a step this shard already applied with those workers
   * is answered with that step's result.
   */
  'applied'?: (boolean);
  /**
   * The workers step k combined (applied only).
   */
  'workers'?: (number)[];
  /**
   * The decider's step count after its answer (k + 1 when applied).
   */
  'step'?: (number | string | Long);
  /**
   * Applied only: the decider's StepResponse.batch_size. When a worker of `workers` has not sent
   * its Step here within the step timeout (it died between the decider's answer and this call),
   * this shard applies the step without waiting any longer, with every worker of `workers` and
   * this batch size: what the decider applied (their pushes all reached every shard before they
   * stepped on the decider). 0: unknown; the shard then waits for every one of them.
   */
  'batchSize'?: (number | string | Long);
}

/**
 * What the decider shard of a sync trainer spanning several shards answered a worker's Step for
 * step k (StepRequest.step), carried by the worker to the trainer's other shards, so every shard
 * applies step k with the same workers or none does.
 */
export interface StepDecision__Output {
  /**
   * True: the decider applied step k with exactly `workers` (its StepResponse.workers). This
   * shard applies step k with them too, once each of them (less any that left) has sent its Step
   * with this decision (or at its step timeout: see batch_size). The caller must be one of `workers`;
   * every call for step k must carry the same set (FAILED_PRECONDITION otherwise).
   * False: the decider refused the step for this worker (its deadline passed, or step k was
   * already closed without it). This shard drops the gradients the worker staged for step k,
   * waits until it has applied `step` steps (at most the step timeout; DEADLINE_EXCEEDED
   * otherwise), and answers with its step count and no workers; nothing is applied.
   * A Step carrying an applied decision for a step this shard already applied with those workers
   * is answered with that step's result.
   */
  'applied': (boolean);
  /**
   * The workers step k combined (applied only).
   */
  'workers': (number)[];
  /**
   * The decider's step count after its answer (k + 1 when applied).
   */
  'step': (number);
  /**
   * Applied only: the decider's StepResponse.batch_size. When a worker of `workers` has not sent
   * its Step here within the step timeout (it died between the decider's answer and this call),
   * this shard applies the step without waiting any longer, with every worker of `workers` and
   * this batch size: what the decider applied (their pushes all reached every shard before they
   * stepped on the decider). 0: unknown; the shard then waits for every one of them.
   */
  'batchSize': (number);
}
