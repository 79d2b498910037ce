// A cluster trainer's step that a follower shard did not confirm (client/cluster/trainer.ts
// #finishStep), against scripted shard handles: concurrent pushes after it share one finishing,
// so none of them sees the shards at two steps (which the step guard would refuse naming a
// rollback).
import { describe, expect, it } from 'vitest';
import { ClusterTrainer } from '../../client/cluster/trainer';
import type { Resolved, Shards } from '../../client/cluster/shards';
import type { ShardTrainer } from '../../client/cluster/decided-step';
import { GluonPsError, Status } from '../../client/errors';
import { checkTrainerOptions } from '../../client/trainer-wire';

/** Shard 0 decides and applies; shard 1 is down for its first Step, then resumes in 50 ms. */
function scripted(): { trainer: ClusterTrainer; log: string[] } {
  const log: string[] = [];
  const fake = (shard: number): unknown => {
    let step = 0;
    let unfinished = false;
    const result = { step: 1, version: 1, versions: [1], workers: [0], batchSize: 1 };
    return {
      name: 't',
      mode: 'sync',
      numWorkers: 1,
      learningRate: 0.1,
      params: [shard === 0 ? 'a' : 'b'],
      get currentStep() {
        return step;
      },
      get hasUnfinishedStep() {
        return unfinished;
      },
      forgetUnfinishedStep() {
        unfinished = false;
      },
      async stepWith(_batch: number, _decision: unknown, resumable?: (e: unknown) => boolean) {
        if (shard === 0) {
          step = 1;
          return result;
        }
        const err = new GluonPsError(Status.UNAVAILABLE, 'shard 1 (addr1): down');
        if (resumable?.(err)) unfinished = true;
        throw err;
      },
      async resumeStep() {
        log.push(`shard ${shard} resumes`);
        unfinished = false;
        await new Promise((r) => setTimeout(r, 50));
        step = 1;
        return result;
      },
      async resyncStep() {
        log.push(`shard ${shard} asked for its step`);
        return step;
      },
      async pushGrad(p: string) {
        log.push(`shard ${shard} push ${p} at step ${step}`);
        return { step };
      },
    };
  };
  const trainers = [0, 1].map((shard) => ({ shard, trainer: fake(shard) })) as unknown as ShardTrainer[];
  const shards = {
    channels: [{}, {}],
    on: <T>(_i: number, fn: (ch: unknown) => Promise<T>) => fn({}),
    all: async <T>(list: number[], fn: (i: number, ch: unknown) => Promise<T>) =>
      Promise.all(list.map((i) => fn(i, {}))),
    address: (i: number) => `addr${i}`,
  } as unknown as Shards;
  const plans = new Map<string, Resolved>([
    ['a', { placement: { kind: 'whole', home: 0 }, fullShape: null, isConstant: false }],
    ['b', { placement: { kind: 'whole', home: 1 }, fullShape: null, isConstant: false }],
  ]);
  const opts = checkTrainerOptions("trainer 't'", {});
  return { trainer: new ClusterTrainer(shards, trainers, ['a', 'b'], plans, opts), log };
}

describe('a step a follower did not confirm', () => {
  it('is finished once by concurrent pushes, which then go to the next step on every shard', async () => {
    const { trainer, log } = scripted();
    await expect(trainer.step(1)).rejects.toThrow(/failed on shard 1, whose outcome is unknown/);
    const pushes = await Promise.allSettled([trainer.pushGrad('a', [1]), trainer.pushGrad('b', [1])]);
    expect(pushes.map((p) => p.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(log.filter((l) => l.includes('resumes'))).toEqual(['shard 1 resumes']);
    expect(log.filter((l) => l.includes('push'))).toEqual(['shard 0 push a at step 1', 'shard 1 push b at step 1']);
  });
});
