// A trainer following its decider's decisions (server/trainer/follower.ts; docs/cluster.md,
// "Deadlines, quorum and leave across shards"), on the CPU addon without a server: it applies a
// step with exactly the decided workers and no deadline of its own, drops a refused worker's
// gradients and catches up with the decider's step count, and refuses decisions that could not
// come from a decider, or that disagree with the one the open step follows.
import { afterEach, describe, expect, it } from 'vitest';
import { Status } from '../../server/errors';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import { createLogger } from '../../server/log';
import { ParameterStore } from '../../server/store/parameter-store';
import { TrainerRegistry } from '../../server/trainer/registry';
import type { Trainer } from '../../server/trainer/trainer';

let registry: TrainerRegistry | null = null;

afterEach(() => {
  registry?.closeAll();
  registry = null;
});

async function follower(numWorkers: number, stepTimeoutMs = 60_000): Promise<{ t: Trainer; store: ParameterStore }> {
  const store = new ParameterStore();
  await store.declare({ name: 'w', shape: [2], init: { kind: 'zero' } });
  await store.initialize('w');
  registry = new TrainerRegistry(store, createLogger('silent'));
  const t = await registry.create(
    {
      name: 't',
      params: ['w'],
      optimizer: buildOptimizer('t', 'sgd', { learningRate: 1 }),
      mode: 'sync',
      numWorkers,
      stepTimeoutMs,
      timeoutPolicy: 'fail',
      quorum: 0,
    },
    0,
  );
  return { t, store };
}

let seq = 0;
const key = (workerId: number) => ({ workerId, incarnation: 1, sequence: ++seq });
const grad = (a: number, b: number) => ({
  dtype: 'float32' as const,
  shape: [2],
  bytes: new Uint8Array(Float32Array.from([a, b]).buffer),
});
const push = (t: Trainer, w: number, step: number, a: number, b: number) =>
  t.pushGrad(key(w), step, 'w', grad(a, b), null);

async function values(store: ParameterStore): Promise<number[]> {
  const snap = await store.data('w');
  try {
    return [...new Float32Array(snap.bytes.buffer.slice(snap.bytes.byteOffset, snap.bytes.byteOffset + 8))];
  } finally {
    snap.release();
  }
}

describe('a trainer following its decider', () => {
  it('applies a step with exactly the decided workers, waiting for each of them', async () => {
    const { t, store } = await follower(3);
    await push(t, 0, 0, 1, 1);
    await push(t, 1, 0, 2, 2);
    await push(t, 2, 0, 100, 100); // worker 2 was not in the decider's quorum: its gradient is dropped
    const decision = { applied: true, workers: [1, 0], step: 1 };
    const first = t.step(key(0), 0, 1, decision);
    let settled = false;
    void first.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // waits for worker 1, whatever the clock says
    expect(t.stepCount).toBe(0);
    const second = await t.step(key(1), 0, 1, decision);
    expect(await first).toEqual(second);
    expect(second).toMatchObject({ step: 1, workers: [0, 1] });
    // sgd, lr 1, rescale 1 / (1 + 1): w = -(1 + 2) / 2
    expect(await values(store)).toEqual([-1.5, -1.5]);
  });

  it('refuses decisions no decider sends, and one that disagrees with the open step', async () => {
    const { t } = await follower(3);
    const bad = (d: { applied: boolean; workers: number[]; step: number }, w = 0) => t.step(key(w), 0, 1, d);
    await expect(bad({ applied: true, workers: [], step: 1 })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: "trainer 't': an applied decision must list the workers the step combined, got none",
    });
    await expect(bad({ applied: true, workers: [0, 3], step: 1 })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: "trainer 't': decision worker id 3 is out of range [0, 3)",
    });
    await expect(bad({ applied: true, workers: [1, 2], step: 1 })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message:
        "trainer 't': worker 0 carries a decision to apply the step with workers [1, 2], which does not include it",
    });
    const waiting = t.step(key(0), 0, 1, { applied: true, workers: [0, 1], step: 1 });
    await expect(bad({ applied: true, workers: [0, 2], step: 1 }, 2)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message:
        "trainer 't': step 0 follows the decision to apply it with workers [0, 1], but this call carries workers [0, 2]",
    });
    await expect(t.step(key(1), 0, 1)).rejects.toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringMatching(
        /^trainer 't': step 0 follows its decider's decision to apply it with workers \[0, 1\]; a Step without a decision cannot join it/,
      ),
    });
    await t.step(key(1), 0, 1, { applied: true, workers: [0, 1], step: 1 });
    expect((await waiting).step).toBe(1);
  });

  it("a refusal drops the worker's gradients and waits until the shard reaches the decider's step", async () => {
    const { t, store } = await follower(3);
    await push(t, 0, 0, 1, 1);
    await push(t, 1, 0, 5, 5);
    // The decider timed out worker 1's step 0 (it stays at step 0): its gradient goes here too.
    expect(await t.step(key(1), 0, 1, { applied: false, workers: [], step: 0 })).toMatchObject({
      step: 0,
      workers: [],
    });
    await push(t, 1, 0, 2, 2); // pushed again, as the decider asks: not "already pushed"
    // Worker 2 stepped too late: step 0 closed at the decider without it, which is at step 1.
    await push(t, 2, 0, 100, 100);
    const caughtUp = t.step(key(2), 0, 1, { applied: false, workers: [], step: 1 });
    const applied = await Promise.all([
      t.step(key(0), 0, 1, { applied: true, workers: [0, 1], step: 1 }),
      t.step(key(1), 0, 1, { applied: true, workers: [0, 1], step: 1 }),
    ]);
    expect(applied[0].step).toBe(1);
    expect(await caughtUp).toMatchObject({ step: 1, workers: [] });
    expect(await values(store)).toEqual([-1.5, -1.5]);
  });

  it('a refusal that the shard cannot catch up with ends at the step timeout', async () => {
    const { t } = await follower(2, 100);
    await expect(t.step(key(0), 0, 1, { applied: false, workers: [], step: 2 })).rejects.toMatchObject({
      code: Status.DEADLINE_EXCEEDED,
      message:
        "trainer 't': this shard has applied 0 steps, its decider 2, and it did not catch up within the step timeout (100 ms)",
    });
  });

  it('a decided worker that left is not waited for (nor the workers outside the decision)', async () => {
    const { t } = await follower(3);
    await push(t, 0, 0, 1, 1);
    const waiting = t.step(key(0), 0, 1, { applied: true, workers: [0, 1], step: 1 });
    await t.leave(1);
    expect(await waiting).toMatchObject({ step: 1, workers: [0] });
  });

  it("a decided worker that left before stepping here still counts, with the decider's batch size", async () => {
    const { t, store } = await follower(3);
    await push(t, 0, 0, 1, 1);
    await push(t, 1, 0, 2, 2);
    const waiting = t.step(key(0), 0, 1, { applied: true, workers: [0, 1], step: 1, batch: 2 });
    await t.leave(1);
    expect(await waiting).toMatchObject({ step: 1, workers: [0, 1], batch: 2 });
    expect(await values(store)).toEqual([-1.5, -1.5]);
  });

  it("a decided worker that never steps here: at the step timeout, applied with it and the decider's batch size", async () => {
    const { t, store } = await follower(3, 100);
    await push(t, 0, 0, 1, 1);
    await push(t, 1, 0, 2, 2); // worker 1 pushed, stepped on the decider, and died
    const decision = { applied: true, workers: [0, 1], step: 1, batch: 4 };
    const result = await t.step(key(0), 0, 3, decision);
    expect(result).toMatchObject({ step: 1, workers: [0, 1], batch: 4 });
    // sgd, lr 1, rescale 1 / 4 (the decider's batch, not this shard's 3): w = -(1 + 2) / 4
    expect(await values(store)).toEqual([-0.75, -0.75]);
    // Worker 1 was only slow: its Step gets the step's result.
    expect(await t.step(key(1), 0, 1, decision)).toEqual(result);
    // Without the decider's batch size there is no deadline: the step waits for worker 1.
    await push(t, 0, 1, 1, 1);
    const waiting = t.step(key(0), 1, 1, { applied: true, workers: [0, 1], step: 2 });
    let settled = false;
    void waiting.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    await t.step(key(1), 1, 1, { applied: true, workers: [0, 1], step: 2 });
    expect((await waiting).step).toBe(2);
  });
});
