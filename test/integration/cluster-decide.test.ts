// Sync deadlines, quorum and leave() on a trainer spanning three shards, decided in one place
// (docs/cluster.md, "Deadlines, quorum and leave across shards"): the same worker arrivals give
// the same step results, errors and parameter bytes on a 3-shard cluster as on one lone server.
// The late-arrival cases stop one shard (SIGSTOP) for a while as the first worker steps, which
// skews that shard's clock against the others: were each shard to run its own deadline, the late
// worker would arrive after the deadline on two shards and before it on the third, and the step
// would be applied there only. Deciding on the lowest shard makes the skew irrelevant. Last, the
// decider dies (kill -9 by a failpoint) after logging a quorum step and before answering it: the
// workers' retries get the logged decision, and the other shards follow it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init } from '../../client/index';
import type { ParameterServerClient, Trainer, TrainerOptions } from '../../client/index';
import {
  FAST_RECONNECT,
  RESTART_RETRY,
  restart,
  startServer,
  tempDir,
  useServerBundle,
  type ServerProcess,
} from './crash-harness';
import { connectCluster, outcome, seen, shardArgs, startCluster, type Cluster, type Observed } from './cluster-helpers';
import { lcg, randomF32, sleep } from './trainer-helpers';
import { f32 } from './helpers';

const bundle = useServerBundle('cluster-decide');
let cluster: Cluster;
let lone: ServerProcess;
let cps: ParameterServerClient;
let sps: ParameterServerClient;

beforeAll(async () => {
  [cluster, lone] = await Promise.all([
    startCluster(bundle, 3),
    startServer(bundle, { dataDir: 'none', args: ['--slice-bytes', '1KiB'] }),
  ]);
  cps = await connectCluster(cluster, { deadlineMs: 30_000 });
  sps = await connect(lone.address, { connectTimeoutMs: 10_000, deadlineMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await cps?.close();
  await sps?.close();
});

/** The parameters: one split over the three shards (300 x 3 float32 over 1 KiB slices) and a small whole one. */
const SHAPES: Array<[string, number[]]> = [
  ['w', [300, 3]],
  ['b', [5]],
];

interface Side {
  ps: ParameterServerClient;
  /** Stops (true) or resumes (false) one shard of the cluster; nothing on the lone server. */
  pause(on: boolean): void;
}

/** Declares and initializes the parameters, and makes `n` workers' trainer handles. */
async function setUp(side: Side, tag: string, n: number, options: TrainerOptions): Promise<Trainer[]> {
  const names: string[] = [];
  for (const [suffix, shape] of SHAPES) {
    const p = await side.ps.parameter(`${tag}_${suffix}`, { shape, init: init.uniform({ scale: 1 }) });
    await p.initialize({ seed: 11 });
    names.push(p.name);
  }
  const trainers: Trainer[] = [];
  for (let id = 0; id < n; id++)
    trainers.push(
      await side.ps.trainer(tag, names, 'sgd', { learningRate: 0.1, momentum: 0.9 }, { ...options, workerId: id }),
    );
  return trainers;
}

/** Worker `id`'s gradients of step `step` (the same on both sides). */
async function push(tr: Trainer, id: number, step: number): Promise<void> {
  const r = lcg(1000 * step + id + 1);
  for (const [suffix, shape] of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    await tr.pushGrad(`${tr.name}_${suffix}`, f32(shape, randomF32(r, n)));
  }
}

/** Every parameter's bytes. */
async function values(ps: ParameterServerClient, tag: string): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const [suffix] of SHAPES) out.push(seen(await (await ps.get(`${tag}_${suffix}`)).data()));
  return out;
}

/** Runs `scenario` on the cluster and on the lone server at once; returns both observations. */
async function onBoth(scenario: (side: Side) => Promise<Observed>): Promise<{ cluster: Observed; single: Observed }> {
  const stopped = cluster.shards[2]!.child;
  const [a, b] = await Promise.all([
    scenario({ ps: cps, pause: (on) => stopped.kill(on ? 'SIGSTOP' : 'SIGCONT') }),
    scenario({ ps: sps, pause: () => undefined }),
  ]);
  return { cluster: a, single: b };
}

describe('deadlines, quorum and leave() on a trainer spanning three shards', () => {
  it("timeoutPolicy 'quorum': the same steps and values as one server", async () => {
    const got = await onBoth(async ({ ps }) => {
      const tag = 'quorum';
      const opts = { numWorkers: 3, stepTimeoutMs: 1500, timeoutPolicy: 'quorum' as const, quorum: 2 };
      const tr = await setUp({ ps, pause: () => undefined }, tag, 3, opts);
      const out: Observed[] = [];
      // Step 0: every worker pushes; workers 0 and 1 step, and the deadline applies the quorum.
      await Promise.all(tr.map((t, id) => push(t, id, 0)));
      out.push(await Promise.all([0, 1].map((id) => tr[id]!.step(8 + id))));
      // Worker 2 steps too late: step 0 closed without it (its gradients were dropped).
      out.push(await outcome(tr[2]!.step(10)));
      out.push(tr.map((t) => t.currentStep));
      // Step 1: all three in time.
      await Promise.all(tr.map((t, id) => push(t, id, 1)));
      out.push(await Promise.all(tr.map((t, id) => t.step(4 + id))));
      // Step 2: worker 2 leaves; the others step without waiting for the deadline.
      out.push(((d) => ({ step: d.step, left: d.workersLeft }))(await tr[2]!.leave()));
      await Promise.all([0, 1].map((id) => push(tr[id]!, id, 2)));
      out.push(await Promise.all([0, 1].map((id) => tr[id]!.step(8))));
      out.push(await values(ps, tag));
      return out;
    });
    expect(got.cluster).toEqual(got.single);
    expect(JSON.stringify(got.cluster)).toMatch(/step 0 is closed/);
  }, 60_000);

  it("timeoutPolicy 'fail': a worker late at the deadline fails the step on every shard, or on none", async () => {
    const got = await onBoth(async (side) => {
      const tag = 'late';
      const tr = await setUp(side, tag, 2, { numWorkers: 2, stepTimeoutMs: 2000 });
      const out: Observed[] = [];
      await Promise.all(tr.map((t, id) => push(t, id, 0)));
      // Shard 2 hears of worker 0's step 1.5 s late (were its deadline its own, it would end 1.5 s later).
      side.pause(true);
      const first = outcome(tr[0]!.step(8));
      await sleep(1500);
      side.pause(false);
      await sleep(1250);
      // Worker 1 arrives after the deadline: worker 0's step timed out, and worker 1's opens step 0 again.
      const late = outcome(tr[1]!.step(8));
      out.push(await first);
      // Worker 0 pushes again (its gradients were dropped with the step) and steps.
      await push(tr[0]!, 0, 0);
      out.push(await Promise.all([late, outcome(tr[0]!.step(8))]));
      out.push(tr.map((t) => t.currentStep));
      out.push(await values(side.ps, tag));
      return out;
    });
    expect(got.cluster).toEqual(got.single);
    expect(JSON.stringify(got.cluster)).toMatch(
      /timed out after 2000 ms waiting for worker 1; the step was not applied/,
    );
  }, 60_000);

  it('leave() at the deadline is counted the same on every shard', async () => {
    const got = await onBoth(async (side) => {
      const tag = 'leave';
      const tr = await setUp(side, tag, 2, { numWorkers: 2, stepTimeoutMs: 2000 });
      const out: Observed[] = [];
      await Promise.all(tr.map((t, id) => push(t, id, 0)));
      side.pause(true);
      const first = outcome(tr[0]!.step(8));
      await sleep(1500);
      side.pause(false);
      await sleep(1250);
      // Worker 1 leaves after worker 0's step timed out: worker 0 pushes again and steps alone.
      out.push(((d) => ({ step: d.step, left: d.workersLeft }))(await tr[1]!.leave()));
      out.push(await first);
      await push(tr[0]!, 0, 0);
      out.push(await tr[0]!.step(8));
      // Step 1: worker 0 alone, at once.
      await push(tr[0]!, 0, 1);
      out.push(await tr[0]!.step(8));
      out.push(await values(side.ps, tag));
      return out;
    });
    expect(got.cluster).toEqual(got.single);
  }, 60_000);

  it('the decider killed after logging a quorum step: the retried steps get its decision, the others follow it', async () => {
    const scenario = async (ps: ParameterServerClient, crash: () => Promise<void>): Promise<Observed> => {
      const tag = 'survive';
      const opts = { numWorkers: 3, stepTimeoutMs: 1500, timeoutPolicy: 'quorum' as const, quorum: 2 };
      const tr = await setUp({ ps, pause: () => undefined }, tag, 3, { ...opts, retry: RESTART_RETRY });
      const out: Observed[] = [];
      await Promise.all(tr.map((t, id) => push(t, id, 0)));
      const stepped = Promise.all([0, 1].map((id) => tr[id]!.step(8 + id)));
      await crash();
      out.push(await stepped);
      out.push(await outcome(tr[2]!.step(10)));
      await Promise.all(tr.map((t, id) => push(t, id, 1)));
      out.push(await Promise.all(tr.map((t, id) => t.step(4 + id))));
      out.push(await values(ps, tag));
      return out;
    };
    const dir = tempDir('decide');
    const args = (i: number) => shardArgs(i, 3, 'crash', '1KiB');
    const failpoints = 'step.after-log-before-ack=1:kill';
    const shards = await Promise.all([
      startServer(bundle, { dataDir: dir, durability: 'wal-always', failpoints, args: args(0) }),
      startServer(bundle, { dataDir: 'none', args: args(1) }),
      startServer(bundle, { dataDir: 'none', args: args(2) }),
    ]);
    const c: Cluster = { shards, addresses: shards.map((x) => x.address), name: 'crash' };
    const ps = await connectCluster(c, { channelOptions: FAST_RECONNECT, deadlineMs: 30_000 });
    try {
      const [a, b] = await Promise.all([
        scenario(ps, async () => {
          await shards[0]!.waitForStderr(/failpoint step\.after-log-before-ack fired on hit 1 \(kill\)/);
          shards[0] = await restart(bundle, shards[0]!);
        }),
        scenario(sps, async () => undefined),
      ]);
      expect(a).toEqual(b);
    } finally {
      await ps.close();
      for (const x of shards) await x.kill();
    }
  }, 90_000);
});
