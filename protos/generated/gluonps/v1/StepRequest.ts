// Original file: protos/gluonps/v1/trainer.proto

import type { IdempotencyKey as _gluonps_v1_IdempotencyKey, IdempotencyKey__Output as _gluonps_v1_IdempotencyKey__Output } from '../../gluonps/v1/IdempotencyKey';
import type { StepDecision as _gluonps_v1_StepDecision, StepDecision__Output as _gluonps_v1_StepDecision__Output } from '../../gluonps/v1/StepDecision';
import type { Long } from '@grpc/proto-loader';

/**
 * Request of Step.
 */
export interface StepRequest {
  /**
   * Trainer name.
   */
  'trainer'?: (string);
  /**
   * Idempotency key.
   */
  'key'?: (_gluonps_v1_IdempotencyKey | null);
  /**
   * The step being completed (the worker's count of its own steps, starting at 0).
   */
  'step'?: (number | string | Long);
  /**
   * Samples behind this worker's gradients; the update uses rescale_grad / (sum over workers).
   */
  'batchSize'?: (number);
  /**
   * Absent (a lone server, a trainer on one shard, async): the shard runs its own barrier with
   * its deadline and timeout policy, as always. Set by a cluster client on every shard of a sync
   * trainer but the decider (its lowest shard), after the decider answered this worker's Step:
   * this shard then follows the decider's decision instead of deciding (docs/cluster.md,
   * "Deadlines, quorum and leave across shards").
   */
  'decision'?: (_gluonps_v1_StepDecision | null);
}

/**
 * Request of Step.
 */
export interface StepRequest__Output {
  /**
   * Trainer name.
   */
  'trainer': (string);
  /**
   * Idempotency key.
   */
  'key': (_gluonps_v1_IdempotencyKey__Output | null);
  /**
   * The step being completed (the worker's count of its own steps, starting at 0).
   */
  'step': (number);
  /**
   * Samples behind this worker's gradients; the update uses rescale_grad / (sum over workers).
   */
  'batchSize': (number);
  /**
   * Absent (a lone server, a trainer on one shard, async): the shard runs its own barrier with
   * its deadline and timeout policy, as always. Set by a cluster client on every shard of a sync
   * trainer but the decider (its lowest shard), after the decider answered this worker's Step:
   * this shard then follows the decider's decision instead of deciding (docs/cluster.md,
   * "Deadlines, quorum and leave across shards").
   */
  'decision': (_gluonps_v1_StepDecision__Output | null);
}
