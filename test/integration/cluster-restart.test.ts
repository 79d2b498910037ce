// A shard that dies and restarts while its clients carry on (docs/cluster.md, "A shard that
// restarts"): three shard processes of the real server CLI on loopback, each with its own data
// dir; one is killed with SIGKILL in the middle of a sync step and started again on the same
// port and data dir.
// - wal-batch and wal-always: the workers' calls in flight retry with their idempotency keys
//   (UNAVAILABLE while the shard is down; `restarted: push again` from the restarted shard makes
//   a worker push its kept gradients to that shard again), and training ends bit-identical to
//   an uncrashed 3-shard cluster and to one server, with one commit record per step in the
//   restarted shard's log.
// - checkpoint: shards checkpoint at the same step numbers (--checkpoint-every-steps, each
//   trainer's own count); the restarted shard comes back at its last checkpoint's step, behind
//   its peers, and the workers' next push is refused FAILED_PRECONDITION naming the shards and
//   their steps. The way back: stop the shards, `npm run rollback` each data dir to a step all
//   of them hold, start them again; the workers go on from that step and end bit-identical to
//   a cluster that never crashed.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import type { ParameterServerClient, Tensor, Trainer } from '../../client/index';
import { homeShard } from '../../common/cluster/placement';
import { rollBackToStep } from '../../server/durability/rollback';
import {
  checkpointEntries,
  readWalRecords,
  RESTART_RETRY,
  ROOT,
  startServer,
  tempDir,
  useServerBundle,
  type ServerProcess,
} from './crash-harness';
import { seen, shardArgs } from './cluster-helpers';
import { f32, rejectsWith } from './helpers';

const execFileP = promisify(execFile);
const bundle = useServerBundle('cluster-restart');

type Durability = 'wal-batch' | 'wal-always' | 'checkpoint';

/** A name whose home shard (of 3) is `shard`. */
function nameOn(shard: number, tag: string): string {
  for (let k = 0; ; k++) if (homeShard(`${tag}${k}`, 3) === shard) return `${tag}${k}`;
}

const WHOLE = [0, 1, 2].map((s) => nameOn(s, 'whole'));
/** Three whole parameters (one per shard), one split over every shard (4 KiB, 1 KiB slices), and row_sparse rows r mod 3. */
const SPECS: Array<{ name: string; shape: number[]; stype?: 'row_sparse' }> = [
  ...WHOLE.map((name) => ({ name, shape: [4, 3] })),
  { name: 'split', shape: [128, 8] },
  { name: 'emb', shape: [30, 4], stype: 'row_sparse' as const },
];
const NAMES = SPECS.map((s) => s.name);

/** Worker `w`'s gradient of parameter `i` at step `k` (deterministic). */
function gradOf(w: number, k: number, i: number): Tensor<'float32'> | { indices: number[]; values: Tensor<'float32'> } {
  const spec = SPECS[i]!;
  const fill = (n: number) => Array.from({ length: n }, (_, j) => Math.sin(1 + j * 0.37 + w * 3.1 + k * 1.3 + i) * 0.5);
  if (spec.stype === 'row_sparse') {
    const ids = [(k + w) % 30, (7 * k + 2 * w + 1) % 30, 11];
    return { indices: ids, values: f32([ids.length, 4], fill(ids.length * 4)) };
  }
  return f32(spec.shape, fill(spec.shape.reduce((a, b) => a * b, 1)));
}

/** A side: the servers (3 shards, or 1) and two workers' clients and trainer handles. */
interface Side {
  servers: ServerProcess[];
  dirs: string[];
  ps: ParameterServerClient[];
  tr: Trainer[];
}

async function startShards(durability: Durability | null, args: string[] = []): Promise<Side> {
  const dirs = [0, 1, 2].map(() => (durability === null ? 'none' : tempDir('restart')));
  const servers = await Promise.all(
    dirs.map((dataDir, i) =>
      startServer(bundle, {
        dataDir,
        ...(durability === null ? {} : { durability }),
        args: [...shardArgs(i, 3, 'restart', '1KiB'), ...args],
      }),
    ),
  );
  return { servers, dirs, ps: [], tr: [] };
}

/** Declares and initializes the model and creates the sync trainer of both workers. */
async function setup(side: Side, retry = RESTART_RETRY, deadlineMs?: number): Promise<Side> {
  // Default channel options: a cluster client's shard channels reconnect quickly on their own.
  const open = () =>
    side.servers.length === 1
      ? connect(side.servers[0]!.address, { connectTimeoutMs: 10_000 })
      : connect(
          side.servers.map((s) => s.address),
          { connectTimeoutMs: 10_000, ...(deadlineMs === undefined ? {} : { deadlineMs }) },
        );
  const ps = [await open(), await open()];
  for (const { name, ...s } of SPECS) {
    const p = await ps[0]!.parameter(name, { ...s, init: init.uniform({ scale: 1 }) });
    await p.initialize({ seed: 7 });
  }
  const tr = await Promise.all(
    ps.map((c, id) =>
      c.trainer(
        't',
        NAMES,
        'adam',
        { learningRate: 0.01 },
        { numWorkers: 2, workerId: id, stepTimeoutMs: 60_000, incarnation: 500 + id, retry },
      ),
    ),
  );
  return { ...side, ps, tr };
}

async function pushAll(side: Side, w: number, k: number): Promise<void> {
  for (let i = 0; i < NAMES.length; i++) await side.tr[w]!.pushGrad(NAMES[i]!, gradOf(w, k, i) as Tensor);
}

/** Step k by both workers: each pushes every gradient and steps. */
async function fullStep(side: Side, k: number): Promise<unknown> {
  const results = await Promise.all(
    [0, 1].map(async (w) => {
      await pushAll(side, w, k);
      return side.tr[w]!.step(16 + w);
    }),
  );
  expect(results[0]).toEqual(results[1]);
  expect(results[0]!.step).toBe(k + 1);
  return results[0];
}

/** Every parameter's bytes (row_sparse: every row). */
async function values(side: Side): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SPECS) {
    const p = await side.ps[0]!.get(s.name);
    out[s.name] =
      s.stype === 'row_sparse' ? seen((await p.rowSparseData([...Array(30).keys()])).values) : seen(await p.data());
  }
  return out;
}

async function close(side: Side): Promise<void> {
  for (const c of side.ps) await c.close();
  await Promise.all(side.servers.map((s) => s.kill()));
}

/** Kills shard `i` (SIGKILL) and waits until it is gone. */
async function killShard(side: Side, i: number): Promise<ServerProcess> {
  const old = side.servers[i]!;
  await old.kill();
  expect((await old.exited).signal).toBe('SIGKILL');
  return old;
}

/** Starts shard `i` again on its port and data dir. */
async function restartShard(side: Side, i: number, old: ServerProcess): Promise<void> {
  const { failpoints: _none, ...options } = old.options;
  side.servers[i] = await startServer(bundle, { ...options, port: old.port });
}

const commitsOf = (dir: string): unknown[] =>
  readWalRecords(dir)
    .filter((r) => r.meta.op === 'trainer.commit')
    .map((r) => r.meta.step);

const STEPS = 6;
const CRASH_AT = 2;

describe('a shard killed mid-training restarts and the workers carry on', () => {
  let ref: Side;
  let single: Side;
  let want: { results: unknown[]; values: unknown; states: string };

  beforeAll(async () => {
    ref = await setup(await startShards(null));
    single = await setup({ servers: [await startServer(bundle, { dataDir: 'none' })], dirs: [], ps: [], tr: [] });
    const results: unknown[] = [];
    for (let k = 0; k < STEPS; k++) {
      results.push(await fullStep(ref, k));
      await fullStep(single, k);
    }
    want = { results, values: await values(ref), states: (await ref.tr[0]!.saveStates()).toString('hex') };
    // The cluster gives each element exactly what one server gives it.
    expect(await values(single)).toEqual(want.values);
  }, 120_000);

  afterAll(async () => {
    for (const side of [ref, single]) if (side) await close(side);
  });

  for (const durability of ['wal-batch', 'wal-always'] as const) {
    it(`${durability}: kill -9 of shard 1 while worker 0 waits at the barrier and worker 1 pushes; exactly once, bit-identical`, async () => {
      const sub = await setup(await startShards(durability));
      try {
        const results: unknown[] = [];
        for (let k = 0; k < CRASH_AT; k++) results.push(await fullStep(sub, k));

        // Worker 0 pushes every gradient of the step (shard 1 stages its part) and steps: its
        // step waits at every shard's barrier for worker 1.
        await pushAll(sub, 0, CRASH_AT);
        const step0 = sub.tr[0]!.step(16);
        // Shard 1 dies with worker 0's pushes staged and its step waiting (or still in flight).
        const old = await killShard(sub, 1);
        // Worker 1 pushes while shard 1 is down (its pushes there retry UNAVAILABLE with their keys).
        const worker1 = (async () => {
          await pushAll(sub, 1, CRASH_AT);
          return sub.tr[1]!.step(17);
        })();
        await restartShard(sub, 1, old);
        expect(sub.servers[1]!.linesWith('recovered')[0]).toMatchObject({ mode: durability, tornTail: false });
        // The restarted shard lost the staged pushes: each worker is told `restarted: push again`
        // there and pushes its kept gradients to shard 1 again; the step applies once.
        const [r0, r1] = await Promise.all([step0, worker1]);
        expect(r0).toEqual(r1);
        results.push(r0);
        for (let k = CRASH_AT + 1; k < STEPS; k++) results.push(await fullStep(sub, k));

        expect(results).toEqual(want.results);
        expect(await values(sub)).toEqual(want.values);
        expect((await sub.tr[0]!.saveStates()).toString('hex')).toBe(want.states);
        // Exactly once: one commit record per step in every shard's log, the restarted one's too.
        for (const dir of sub.dirs) expect(commitsOf(dir)).toEqual([...Array(STEPS).keys()]);
      } finally {
        await close(sub);
      }
    }, 120_000);
  }
});

/** Waits (up to 20 s) until `ps` reaches shard `i` again. */
async function untilServing(ps: ParameterServerClient, i: number): Promise<void> {
  for (const end = Date.now() + 20_000; ; ) {
    const c = await ps.cluster();
    if (c.shards[i]!.serving) return;
    if (Date.now() > end) throw new Error(`shard ${i} is not reachable again: ${JSON.stringify(c.shards[i])}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a follower shard down past the retries after its peers applied the step', () => {
  it('wal-batch: the step is kept, and step() again once the shard is back finishes it there; bit-identical', async () => {
    const ref = await setup(await startShards(null));
    // Few retries: the workers' step calls to the dead shard give up while it is down.
    const sub = await setup(await startShards('wal-batch'), { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 50 });
    try {
      for (let k = 0; k < CRASH_AT; k++) expect(await fullStep(sub, k)).toEqual(await fullStep(ref, k));
      await Promise.all([0, 1].map((w) => pushAll(sub, w, CRASH_AT)));
      // Shard 2 (a follower: the trainer's decider is shard 0) dies with the step's gradients staged.
      const old = await killShard(sub, 2);
      const failed = await Promise.allSettled([0, 1].map((w) => sub.tr[w]!.step(16 + w)));
      for (const f of failed) {
        expect(f.status).toBe('rejected');
        const err = (f as PromiseRejectedResult).reason as { code: number; message: string };
        expect(err.code).toBe(Status.UNAVAILABLE);
        expect(err.message).toMatch(
          /^trainer 't': the step was applied on shards 0, 1 but failed on shard 2, whose outcome is unknown: step\(\) again .* shard 2: .*shard 2 \(127\.0\.0\.1:\d+\)/,
        );
      }
      // Still down: step() again fails the same way and keeps the step.
      await rejectsWith(sub.tr[0]!.step(16), Status.UNAVAILABLE, /failed on shard 2, whose outcome is unknown/);
      await restartShard(sub, 2, old);
      // Each worker's client reconnects to shard 2 (its channel backs off while the shard is down).
      await Promise.all(sub.ps.map((c) => untilServing(c, 2)));
      // Each worker's step() again sends the decided step to shard 2 with its key; the restarted
      // shard lost the staged gradients, so each worker pushes its kept ones again first.
      const want = await fullStep(ref, CRASH_AT);
      const [r0, r1] = await Promise.all([0, 1].map((w) => sub.tr[w]!.step(16 + w)));
      expect(r0).toEqual(want);
      expect(r1).toEqual(want);
      for (let k = CRASH_AT + 1; k < CRASH_AT + 3; k++) expect(await fullStep(sub, k)).toEqual(await fullStep(ref, k));
      expect(await values(sub)).toEqual(await values(ref));
      expect((await sub.tr[0]!.saveStates()).toString('hex')).toBe((await ref.tr[0]!.saveStates()).toString('hex'));
      // Exactly once on every shard.
      for (const dir of sub.dirs) expect(commitsOf(dir)).toEqual([...Array(CRASH_AT + 3).keys()]);
    } finally {
      await close(ref);
      await close(sub);
    }
  }, 120_000);
});

describe('a push that failed on one shard of a split parameter', () => {
  it('pushed again, counts once on every shard: the shards that accepted it are done, the other gets its first key', async () => {
    const ref = await setup(await startShards(null));
    const sub = await setup(await startShards(null), { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 50 }, 1_500);
    try {
      for (let k = 0; k < CRASH_AT; k++) expect(await fullStep(sub, k)).toEqual(await fullStep(ref, k));
      const split = NAMES.indexOf('split');
      for (let i = 0; i < NAMES.length; i++)
        if (i !== split) await sub.tr[0]!.pushGrad(NAMES[i]!, gradOf(0, CRASH_AT, i) as Tensor);
      // Shard 2 stops answering: the push of the split parameter reaches it (its bytes wait in
      // the socket) but times out; shards 0 and 1 accept their parts.
      const stopped = sub.servers[2]!.child;
      stopped.kill('SIGSTOP');
      try {
        await rejectsWith(
          sub.tr[0]!.pushGrad('split', gradOf(0, CRASH_AT, split) as Tensor),
          Status.DEADLINE_EXCEEDED,
          /^shard 2 \(127\.0\.0\.1:\d+\)/,
        );
      } finally {
        stopped.kill('SIGCONT');
      }
      // The caller pushes the same gradient again: shards 0 and 1 are not asked (they would say
      // "already pushed"), shard 2 gets the first push's key (it may have staged it meanwhile).
      expect(await sub.tr[0]!.pushGrad('split', gradOf(0, CRASH_AT, split) as Tensor)).toEqual({ step: CRASH_AT });
      // A third push of it is what one server says of a gradient pushed twice.
      await rejectsWith(
        sub.tr[0]!.pushGrad('split', gradOf(0, CRASH_AT, split) as Tensor),
        Status.FAILED_PRECONDITION,
        /worker 0 already pushed a gradient for 'split' in step 2/,
      );
      await pushAll(sub, 1, CRASH_AT);
      const [r0, r1] = await Promise.all([sub.tr[0]!.step(16), sub.tr[1]!.step(17)]);
      const want = await fullStep(ref, CRASH_AT);
      expect(r0).toEqual(want);
      expect(r1).toEqual(want);
      expect(await fullStep(sub, CRASH_AT + 1)).toEqual(await fullStep(ref, CRASH_AT + 1));
      expect(await values(sub)).toEqual(await values(ref));
    } finally {
      await close(ref);
      await close(sub);
    }
  }, 120_000);
});

describe('reads of a split parameter join parts of one version', () => {
  it('a read while a step reaches the shards one after the other waits for them; a lasting difference is learnt', async () => {
    const ref = await setup(await startShards(null));
    const sub = await setup(await startShards('wal-batch'));
    const reader = await connect(
      sub.servers.map((s) => s.address),
      { connectTimeoutMs: 10_000 },
    );
    try {
      for (let k = 0; k < CRASH_AT; k++) expect(await fullStep(sub, k)).toEqual(await fullStep(ref, k));
      const split = await reader.get('split');
      await Promise.all([0, 1].map((w) => pushAll(sub, w, CRASH_AT)));
      // Shard 2 (a follower) stops: the step applies on shards 0 and 1 and waits for it.
      const stopped = sub.servers[2]!.child;
      stopped.kill('SIGSTOP');
      const stepping = Promise.all([sub.tr[0]!.step(16), sub.tr[1]!.step(17)]);
      await fullStep(ref, CRASH_AT);
      const want = seen(await (await ref.ps[0]!.get('split')).data());
      // Wait until shard 0 applied the step, then read while shard 2 is still stopped.
      while ((await reader.get(WHOLE[0]!).then((p) => p.describe())).version < CRASH_AT + 2)
        await new Promise((r) => setTimeout(r, 20));
      const reading = split.data();
      await new Promise((r) => setTimeout(r, 300));
      stopped.kill('SIGCONT');
      // Never shard 0's new rows with shard 2's old ones (the re-reading itself is unit-tested in
      // test/unit/cluster-read-version.test.ts: here shard 2 may apply before answering).
      expect(seen(await reading)).toEqual(want);
      await stepping;
      expect(await values(sub)).toEqual(await values(ref));

      // A write that fails on shard 2 (down) leaves its part's count behind for good.
      const value = (v: number) => f32([128, 8], new Array(1024).fill(v));
      const old = await killShard(sub, 2);
      await rejectsWith(split.setData(value(3)), Status.UNAVAILABLE, /^shard 2 \(127\.0\.0\.1:\d+\)/);
      await restartShard(sub, 2, old);
      await untilServing(reader, 2);
      // Written again, every part holds the value; the parts' counts stay apart, which the
      // reader learns once (a read that waited for them) and then takes as one version.
      await split.setData(value(3));
      expect(seen(await split.data())).toEqual(seen(value(3)));
      expect((await split.listData()).map(seen)).toEqual([seen(value(3))]);
    } finally {
      await reader.close();
      await close(ref);
      await close(sub);
    }
  }, 120_000);
});

/** The trainer steps of a data dir's checkpoints taken every N steps ('steps'), oldest first. */
function checkpointSteps(dir: string): number[] {
  return checkpointEntries(dir)
    .filter((e) => e.startsWith('ckpt-'))
    .map((e) => {
      const m = JSON.parse(readFileSync(path.join(dir, 'checkpoints', e, 'manifest.json'), 'utf8')) as {
        meta: { trainers: Array<{ meta: { spec: { name: string }; step: number } }> };
      };
      return m.meta.trainers.find((t) => t.meta.spec.name === 't')?.meta.step ?? -1;
    });
}

describe('checkpoint durability: a shard that comes back behind its peers', () => {
  it('is refused naming the shard and its step; rolled back to a step every shard holds, training goes on bit-identical', async () => {
    const ref = await setup(await startShards(null));
    const sub = await setup(await startShards('checkpoint', ['--checkpoint-every-steps', '2']));
    try {
      const wantResults: unknown[] = [];
      for (let k = 0; k < 5; k++) {
        wantResults.push(await fullStep(ref, k));
        await fullStep(sub, k);
        if (k === 3) {
          // Step 4 was answered only once every shard had checkpointed it: shard 1 killed right
          // after comes back at step 4, with its peers, and training just goes on.
          const first = await killShard(sub, 1);
          await restartShard(sub, 1, first);
          // (Back at step 2, the next push would be refused: shard 1 behind its peers.)
          expect(sub.servers[1]!.linesWith('recovered')[0]).toMatchObject({ mode: 'checkpoint' });
        }
      }
      // Every shard checkpointed at steps 2 and 4 (each before answering that step).
      for (const dir of sub.dirs) expect(checkpointSteps(dir)).toEqual([2, 4]);

      // Shard 2 dies after step 5 was answered, and comes back at its checkpoint of step 4.
      const old = await killShard(sub, 2);
      await restartShard(sub, 2, old);
      expect(sub.servers[2]!.linesWith('recovered')[0]).toMatchObject({ mode: 'checkpoint' });
      const addr = (i: number) => sub.servers[i]!.address.replace(/\./g, '\\.');
      const refused = new RegExp(
        `^trainer 't': the shards are at different steps: shard 2 \\(${addr(2)}\\) is at step 4, but shards 0 \\(${addr(0)}\\), 1 \\(${addr(1)}\\) are at step 5; .*--trainer "t" --step 4`,
      );
      // Never mixed: the push of step 5 (shard 2 refuses it as not open yet) and a step are refused.
      await rejectsWith(sub.tr[0]!.pushGrad(NAMES[3]!, gradOf(0, 5, 3) as Tensor), Status.FAILED_PRECONDITION, refused);
      await rejectsWith(sub.tr[1]!.step(17), Status.FAILED_PRECONDITION, refused);
      await rejectsWith(sub.tr[1]!.pushGrad(WHOLE[0]!, gradOf(1, 5, 0) as Tensor), Status.FAILED_PRECONDITION, refused);

      // The way back. A running shard's data dir is refused (its lock).
      await expect(rollBackToStep(sub.dirs[0]!, 't', 4)).rejects.toThrow(/is in use by process/);
      // Stop every shard (a graceful stop writes a checkpoint of step 5 on shards 0 and 1).
      for (const s of sub.servers) expect(await s.stop()).toEqual({ code: 0, signal: null });
      expect(checkpointSteps(sub.dirs[0]!)).toEqual([2, 4, 5]);
      // A step a data dir does not hold is refused, naming what it holds.
      await expect(rollBackToStep(sub.dirs[0]!, 't', 3)).rejects.toThrow(
        /holds no checkpoint of trainer 't' at step 3 \(it holds checkpoint \d+: 5; checkpoint \d+: 4; checkpoint \d+: 2\)/,
      );
      // The CLI, given every shard's data dir: the newest step all of them hold is 4.
      await execFileP(process.execPath, ['scripts/bundle.mjs', 'server/rollback-cli.ts', `rollback-${process.pid}`], {
        cwd: ROOT,
        timeout: 60_000,
      });
      const cli = path.join(ROOT, '.build', `rollback-${process.pid}.mjs`);
      const bad = await execFileP(process.execPath, [
        cli,
        '--data-dir',
        sub.dirs[0]!,
        '--trainer',
        't',
        '--step',
        'x',
      ]).then(
        () => null,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/--step must be a step count/) });
      const dirArgs = sub.dirs.flatMap((d) => ['--data-dir', d]);
      const { stdout } = await execFileP(process.execPath, [cli, ...dirArgs, '--trainer', 't']);
      const done = JSON.parse(stdout) as { step: number; results: Array<{ setAside: string[] }> };
      expect(done.step).toBe(4);
      expect(done.results.map((r) => r.setAside.length)).toEqual([1, 1, 0]);
      // Shard 2's graceful stop wrote a checkpoint of step 4 too.
      expect(sub.dirs.map(checkpointSteps)).toEqual([
        [2, 4],
        [2, 4],
        [2, 4, 4],
      ]);
      rmSync(cli, { force: true });
      for (let i = 0; i < 3; i++) await restartShard(sub, i, sub.servers[i]!);

      // The workers go on from step 4 (their handles learn it from every shard, which agree now):
      // the same step on the same state gives what the reference's step 4 gave.
      expect(await fullStep(sub, 4)).toEqual(wantResults[4]);
      for (let k = 5; k < 7; k++) expect(await fullStep(sub, k)).toEqual(await fullStep(ref, k));
      expect(await values(sub)).toEqual(await values(ref));
      expect((await sub.tr[0]!.saveStates()).toString('hex')).toBe((await ref.tr[0]!.saveStates()).toString('hex'));
    } finally {
      await close(ref);
      await close(sub);
    }
  }, 180_000);
});
