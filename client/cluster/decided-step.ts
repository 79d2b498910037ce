// decided-step.ts: a sync step of a trainer spanning several shards, decided in one place
// (docs/cluster.md, "Deadlines, quorum and leave across shards"). The trainer's lowest shard is
// its decider: the worker steps there first, and that shard's barrier alone applies the
// deadline and the timeout policy (fail, or quorum) as a lone server does, and logs what it
// decided. Its answer then goes to the other shards in StepRequest.decision:
// - applied with workers W: each other shard applies the step with exactly W and the decider's
//   batch size (it waits for their Step calls; after the step timeout, for one that died, it
//   applies without it, with its gradients, which reached every shard before it stepped);
// - refused for certain (the barrier's deadline passed, the step closed without this worker, or
//   any answer of the server's own): each other shard drops this worker's gradients of the step
//   and catches up with the decider's step count; the decider's error is what the caller gets.
// A transport failure (UNAVAILABLE after the handle's retries, a lost reply) says nothing about
// what the decider did, so the other shards are told nothing and keep the gradients.
// The cost: a step's update runs on the decider before the others start theirs.
import { GluonPsError, Status } from '../errors';
import type { Trainer } from '../trainer';
import type { StepResult } from '../trainer-types';
import type { Shards } from './shards';

/** One shard's handle of the trainer. */
export interface ShardTrainer {
  shard: number;
  trainer: Trainer;
}

/** The decider's own barrier timeout (server/trainer/trainer.ts onTimeout). */
const NOT_APPLIED = /\bthe step was not applied\b/;

/** Whether the decider certainly did not apply the step for this worker (not a lost reply). */
export function refusedForCertain(err: unknown): boolean {
  if (!(err instanceof GluonPsError)) return false;
  switch (err.code) {
    case Status.UNAVAILABLE:
    case Status.CANCELLED:
    case Status.UNKNOWN:
    case Status.INTERNAL:
      return false;
    case Status.DEADLINE_EXCEEDED:
      return NOT_APPLIED.test(err.message);
    default:
      return true;
  }
}

/**
 * Steps on the decider (trainers[0]), then on the others with its decision. Returns every
 * shard's outcome in `trainers` order (the decider's fulfilled); throws the decider's error.
 */
export async function decidedStep(
  shards: Shards,
  trainers: readonly ShardTrainer[],
  batchSize: number,
  resumable?: (err: unknown) => boolean,
): Promise<Array<PromiseSettledResult<StepResult & { batchSize?: number }>>> {
  const [decider, ...others] = trainers;
  let first: StepResult & { batchSize: number };
  try {
    first = await shards.on(decider!.shard, () => decider!.trainer.stepWith(batchSize, null));
  } catch (err) {
    if (refusedForCertain(err)) {
      // The handle refreshed its step from the decider: where this worker goes on from.
      const step = decider!.trainer.currentStep;
      await Promise.allSettled(
        others.map((t) =>
          shards.on(t.shard, () => t.trainer.stepWith(batchSize, { applied: false, workers: [], step })),
        ),
      );
    }
    throw err;
  }
  const decision = { applied: true, workers: first.workers, step: first.step, batchSize: first.batchSize };
  const rest = await Promise.allSettled(
    others.map((t) => shards.on(t.shard, () => t.trainer.stepWith(batchSize, decision, resumable))),
  );
  return [{ status: 'fulfilled', value: first }, ...rest];
}

/** A catch-up in flight, per trainer: concurrent pushes share it. */
const catchingUp = new WeakMap<readonly ShardTrainer[], Promise<void>>();

/**
 * Before a push or step: a shard whose handle is behind the decider's step (the worker's step
 * there closed without it) is told so and caught up, so every shard gets the worker's pushes for
 * the same step. Nothing is sent when they agree (the usual case).
 */
export function catchUp(shards: Shards, trainers: readonly ShardTrainer[]): Promise<void> {
  const step = trainers[0]!.trainer.currentStep;
  const behind = trainers.slice(1).filter((t) => t.trainer.currentStep < step);
  if (behind.length === 0) return Promise.resolve();
  let running = catchingUp.get(trainers);
  if (running === undefined) {
    running = shards
      .all(
        behind.map((t) => t.shard),
        (s) => behind.find((t) => t.shard === s)!.trainer.stepWith(1, { applied: false, workers: [], step }),
      )
      .then(() => undefined)
      .finally(() => catchingUp.delete(trainers));
    catchingUp.set(trainers, running);
  }
  return running;
}
