// trainer-merge.ts: one description of a trainer that lives on several shards, as one server
// would give it: ps.describeTrainer(name) on a cluster and a cluster Trainer handle's describe()
// and leave() both merge the shards' descriptions here (docs/cluster.md, "Trainers").
// - params: the trainer's own order, the list the cluster client created it with (each shard
//   keeps it: CreateTrainerRequest.all_params), not a shard's part of it;
// - step, learning rate and the settings: the trainer's lowest shard's, its decider
//   (decided-step.ts), whose step count is the one every handle goes by (a shard behind it
//   refuses pushes until rolled back: step-guard.ts); each shard's own count is in status().shards;
// - workersSeen, workersLeft, waitingFor: every shard's, merged (a worker seen anywhere was seen).
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import type { TrainerDescriptor } from '../trainer-types';
import { describeTrainerInfo } from '../trainer-wire';
import type { Shards } from './shards';

/** The shards' descriptions (lowest shard first) as one, with the trainer's parameters `params`. */
export function mergeTrainerDescriptors(
  descs: readonly TrainerDescriptor[],
  params: readonly string[],
): TrainerDescriptor {
  const union = (pick: (d: TrainerDescriptor) => number[]): number[] =>
    [...new Set(descs.flatMap(pick))].sort((a, b) => a - b);
  return {
    ...descs[0]!,
    params: [...params],
    workersSeen: union((d) => d.workersSeen),
    workersLeft: union((d) => d.workersLeft),
    waitingFor: union((d) => d.waitingFor),
  };
}

/**
 * ps.describeTrainer(name) on a cluster: every shard is asked; those without the trainer answer
 * NOT_FOUND, and a trainer on no shard is the lowest shard's NOT_FOUND (one server's words).
 */
export async function describeClusterTrainer(shards: Shards, name: string): Promise<TrainerDescriptor> {
  if (typeof name !== 'string' || name === '')
    throw invalidArgument(`describeTrainer(): a trainer name must be a non-empty string, got ${show(name)}`);
  const all = shards.channels.map((_, i) => i);
  let missing: GluonPsError | null = null;
  const replies = await shards.all(all, async (_, ch) => {
    try {
      return await ch.unary<TrainerInfo__Output>((md, o, cb) => ch.trainers.describeTrainer({ name }, md, o, cb));
    } catch (err) {
      if (!(err instanceof GluonPsError) || err.code !== Status.NOT_FOUND) throw err;
      missing ??= err;
      return null;
    }
  });
  const found = replies.filter((r): r is TrainerInfo__Output => r !== null);
  if (found.length === 0) throw missing!;
  // Every holding shard keeps the same list; a shard older than all_params answers only its own.
  const params = found[0]!.allParams.length > 0 ? found[0]!.allParams : found[0]!.params;
  return mergeTrainerDescriptors(found.map(describeTrainerInfo), params);
}
