// ps.status(), ps.describeTrainer() and the gluonps CLI's status / trainer on a 3-shard cluster
// (--slice-bytes 16, so small tensors split) against one lone server holding the same
// parameters and trainer: the trainer's description is the lone server's (its parameters in the
// trainer's own order, which no shard holds alone), the status counts a split parameter once
// and sums its bytes, merges the trainer across shards and lists every shard's own status; a
// shard that is down fails status() naming it. Also the server's side of the full parameter list
// (CreateTrainerRequest.all_params): checked, compared on re-create, kept through the log and a
// checkpoint.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import type { ParameterServerClient, ServerStatus, Trainer, TrainerStatus } from '../../client/index';
import { Channel } from '../../client/channel';
import { LAYOUT_VERSION } from '../../common/cluster/placement';
import { formatRoute } from '../../common/cluster/route';
import { main } from '../../client/cli';
import type { CreateTrainerRequest } from '../../protos/generated/gluonps/v1/CreateTrainerRequest';
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import { startServer as startInProcess } from '../../server/index';
import { startServer, useServerBundle, type ServerProcess } from './crash-harness';
import { connectCluster, onBoth, outcome, startCluster, type Cluster } from './cluster-helpers';
import { f32, iota, rejectsWith } from './helpers';

const bundle = useServerBundle('cluster-status');
let cluster: Cluster;
let lone: ServerProcess;
let cps: ParameterServerClient;
let sps: ParameterServerClient;
/** Each side's two workers of trainer 'tr' (worker 1's last step is still open). */
const workers = new Map<ParameterServerClient, Trainer[]>();
const pending: Array<Promise<unknown>> = [];

/**
 * The trainer's parameters in its own order: no shard holds them all ('b' is whole on shard 0,
 * 'b2' on shard 2), so no shard's own list is the trainer's.
 */
const TRAINER_PARAMS = ['b', 'emb', 'a', 'b2'];

beforeAll(async () => {
  [cluster, lone] = await Promise.all([
    startCluster(bundle, 3, { sliceBytes: '16' }),
    startServer(bundle, { dataDir: 'none', args: ['--slice-bytes', '16'] }),
  ]);
  cps = await connectCluster(cluster);
  sps = await connect(lone.address, { connectTimeoutMs: 10_000 });
  await onBoth(cps, sps, async (ps) => {
    await (await ps.parameter('a', { shape: [8, 4], init: init.one() })).initialize(); // 128 B: split in 3
    await (await ps.parameter('b', { shape: [2], init: init.one() })).initialize(); // 8 B: whole
    await (await ps.parameter('b2', { shape: [2], init: init.one() })).initialize();
    await (await ps.parameter('emb', { shape: [10, 3], stype: 'row_sparse', init: init.one() })).initialize();
    await ps.parameter('later', { shape: [4, 4] }); // declared, not initialized
    await (await ps.constant('c', f32([6, 2], iota(12)))).initialize(); // 48 B: split
    const opts = { numWorkers: 2, stepTimeoutMs: 120_000 };
    const t = await Promise.all(
      [0, 1].map((id) => ps.trainer('tr', TRAINER_PARAMS, 'sgd', { learningRate: 0.5 }, { ...opts, workerId: id })),
    );
    workers.set(ps, t);
    const grads = async (tr: Trainer): Promise<void> => {
      await tr.pushGrad('a', f32([8, 4], iota(32, 0.25)));
      await tr.pushGrad('b', f32([2], [1, 2]));
      await tr.pushGrad('b2', f32([2], [3, 4]));
    };
    await Promise.all(t.map(grads));
    await Promise.all(t.map((tr) => tr.step(2)));
    // Worker 0 steps again; the step waits for worker 1 (stepped at the end of the file).
    await grads(t[0]!);
    pending.push(t[0]!.step(2));
    for (;;) {
      const s = await ps.status({ trainer: 'tr' });
      if (s.trainers[0]?.openStep?.stepped === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return null;
  });
}, 90_000);

afterAll(async () => {
  await cps?.close();
  await sps?.close();
});

/** A trainer's status without what depends on timing. */
function steady(t: TrainerStatus): unknown {
  const { stepsPerSecond: _r, lastStepUnixMs: _l, recentSteps: _n, openStep, ...rest } = t;
  if (openStep === null) return rest;
  const { sinceUnixMs: _s, waitedMs: _w, ...open } = openStep;
  return { ...rest, openStep: open };
}

/** Runs the gluonps CLI in this process; resolves with its exit status and output. */
async function cli(args: string[], stop?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = {
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { write: (s: string) => ((stderr += s), true) },
  };
  const code = await main(args, {}, out as never, stop);
  return { code, stdout, stderr };
}

const create = (ch: Channel, r: CreateTrainerRequest): Promise<TrainerInfo__Output> =>
  ch.unary<TrainerInfo__Output>((md, o, cb) => ch.trainers.createTrainer(r, md, o, cb));
const describeRaw = (ch: Channel, name: string): Promise<TrainerInfo__Output> =>
  ch.unary<TrainerInfo__Output>((md, o, cb) => ch.trainers.describeTrainer({ name }, md, o, cb));

describe('describeTrainer() on a cluster', () => {
  it("answers what one server answers, the parameters in the trainer's own order", async () => {
    const { cluster: c, single } = await onBoth(cps, sps, (ps) => ps.describeTrainer('tr'));
    expect(c).toEqual(single);
    expect((c as { params: string[] }).params).toEqual(TRAINER_PARAMS);
    expect(c).toMatchObject({ step: 1, workersSeen: [0, 1], waitingFor: [1] });
    // No shard's own part of the list is the trainer's: each keeps the whole (all_params).
    const own = await Promise.all(
      cluster.addresses.map(async (address, index) => {
        const ch = await Channel.open(address, {});
        ch.setRoute(formatRoute({ cluster: 'test', index, count: 3, layoutVersion: LAYOUT_VERSION, sliceBytes: 16 }));
        try {
          return await describeRaw(ch, 'tr');
        } finally {
          ch.close();
        }
      }),
    );
    for (const info of own) {
      expect(info.params).not.toEqual(TRAINER_PARAMS);
      expect(info.allParams).toEqual(TRAINER_PARAMS);
    }
    // The handle's describe() is the same merge.
    expect(await workers.get(cps)![1]!.describe()).toEqual(c);
    const missing = await onBoth(cps, sps, (ps) => outcome(ps.describeTrainer('nope')));
    expect(missing.cluster).toEqual(missing.single);
    expect(missing.cluster).toEqual({ code: Status.NOT_FOUND, message: "trainer 'nope' does not exist" });
  });

  it('re-creating the trainer with its parameters in another order is refused, as on one server', async () => {
    const again = await onBoth(cps, sps, async (ps) => {
      const r = await outcome(ps.trainer('tr', ['a', 'b', 'emb'], 'sgd', { learningRate: 0.5 }, { numWorkers: 2 }));
      return (r as { code?: number }).code;
    });
    expect(again).toEqual({ cluster: Status.ALREADY_EXISTS, single: Status.ALREADY_EXISTS });
  });
});

describe('status() on a cluster', () => {
  let c: ServerStatus;
  let s: ServerStatus;
  beforeAll(async () => {
    [c, s] = await Promise.all([cps.status(), sps.status()]);
  });

  it('counts each parameter once and sums their bytes, as one server does', () => {
    expect(c.parameters).toEqual(s.parameters);
    expect(c.parameters).toMatchObject({ parameters: 5, constants: 1, initialized: 5 });
    for (const kind of ['parameters', 'gradients', 'constants'] as const)
      expect(c.memory.byKind[kind], kind).toBe(s.memory.byKind[kind]);
    expect(c.memory.devices.map((d) => d.device)).toEqual(['cpu(0)']);
    // Each shard has its own budget (a share of its machine's memory): the cluster's is their sum.
    expect(c.memory.budgetBytes).toBe(c.shards!.reduce((t, x) => t + x.status.memory.budgetBytes!, 0));
    expect(c.memory.heldBytes).toBe(c.shards!.reduce((t, x) => t + x.status.memory.heldBytes, 0));
  });

  it('merges the trainer across its shards: the same as one server', () => {
    expect(c.trainers.map(steady)).toEqual(s.trainers.map(steady));
    expect(c.trainers[0]).toMatchObject({ name: 'tr', params: 4, step: 1, openStep: { waitingFor: [1] } });
  });

  it("is SERVING at every shard's address, with each shard's own status", () => {
    expect(c.health).toEqual({ status: 'SERVING', reason: s.health.reason });
    expect(c.address).toBe(cluster.addresses.join(','));
    expect(c.shards!.map((x) => [x.index, x.address, x.status.health.status])).toEqual(
      cluster.addresses.map((a, i) => [i, a, 'SERVING']),
    );
    // Every shard holds a part of 'a', so each counts it: the merge counts it once.
    const counted = c.shards!.reduce((t, x) => t + x.status.parameters.parameters, 0);
    expect(counted).toBeGreaterThan(c.parameters.parameters);
    expect(c.parameters.bytes).toBe(c.shards!.reduce((t, x) => t + x.status.parameters.bytes, 0));
    expect(s.shards).toBeUndefined();
  });

  it('status({ trainer }) narrows to it; an unknown one is NOT_FOUND in one server words', async () => {
    const only = await cps.status({ trainer: 'tr' });
    expect(only.trainers.map((t) => t.name)).toEqual(['tr']);
    const missing = await onBoth(cps, sps, (ps) => outcome(ps.status({ trainer: 'nope' })));
    expect(missing.cluster).toEqual(missing.single);
  });
});

describe('gluonps status / trainer --server a,b,c', () => {
  const servers = (): string[] => ['--server', cluster.addresses.join(',')];

  it('status prints the merged status and a line per shard; --json the same document', async () => {
    const text = await cli(['status', ...servers()]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^gluon-ps \\S+ at ${cluster.addresses.join(',')}: SERVING\\n`));
    expect(text.stdout).toMatch(/^parameters +5 parameters, 1 constant \(5 initialized, 0 deferred\)/m);
    expect(text.stdout).toMatch(/^shards +SHARD +ADDRESS +HEALTH/m);
    for (const [i, a] of cluster.addresses.entries())
      expect(text.stdout).toMatch(new RegExp(`^ +${i} +${a.replace(/\./g, '\\.')} +SERVING `, 'm'));
    const json = await cli(['status', '--json', ...servers()]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as ServerStatus & { command: string };
    expect(doc.command).toBe('status');
    expect(doc.parameters).toEqual((await sps.status()).parameters);
    expect(doc.shards!.map((x) => x.index)).toEqual([0, 1, 2]);
  });

  it('status --watch prints cluster snapshots until stopped', async () => {
    const ac = new AbortController();
    let frames = 0;
    const run = (async () => {
      let stdout = '';
      const out = {
        stdout: {
          write: (s: string) => {
            stdout += s;
            if (/^shards /m.test(s) && ++frames === 2) ac.abort();
            return true;
          },
        },
        stderr: { write: () => true },
      };
      const code = await main(['status', '--watch', '--interval-ms', '100', ...servers()], {}, out as never, ac.signal);
      return { code, stdout };
    })();
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^shards +SHARD/gm)).toHaveLength(2);
  });

  it("trainer NAME prints the trainer's parameters in its order and each shard's copy", async () => {
    const text = await cli(['trainer', 'tr', ...servers()]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^trainer 'tr': sync, sgd, step 1\n/);
    expect(text.stdout).toMatch(/^parameters +4: b, emb, a, b2$/m);
    expect(text.stdout).toMatch(/^workers +2, 2 seen$/m);
    // Each shard's copy: the decider (shard 0) holds the open step; the others follow its decision.
    for (const [i, a] of cluster.addresses.entries())
      expect(text.stdout).toMatch(new RegExp(`^(shards)? +${i} ${a.replace(/\./g, '\\.')}: step 1, open step `, 'm'));
    expect(text.stdout).toMatch(/^shards +0 \S+: step 1, open step 1, waiting for worker 1 for /m);
    const json = JSON.parse((await cli(['trainer', 'tr', '--json', ...servers()])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ command: 'trainer', params: TRAINER_PARAMS, trainer: { name: 'tr', params: 4 } });
    expect((json.shards as unknown[]).length).toBe(3);
    const missing = await cli(['trainer', 'nope', ...servers()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("gluonps trainer: trainer 'nope' does not exist (NOT_FOUND)\n");
  });
});

describe('a shard that is down', () => {
  it('fails status() UNAVAILABLE naming it; the open step finishes first', async () => {
    // Worker 1 closes the open step on both sides (it waits for nothing after this).
    await onBoth(cps, sps, async (ps) => {
      const t = workers.get(ps)![1]!;
      await t.pushGrad('a', f32([8, 4], iota(32)));
      await t.step(2);
      return null;
    });
    await Promise.all(pending);
    const down = cluster.shards[2]!;
    down.child.kill('SIGKILL');
    await down.exited;
    const address = cluster.addresses[2]!.replace(/\./g, '\\.');
    await rejectsWith(cps.status(), Status.UNAVAILABLE, new RegExp(`^shard 2 \\(${address}\\): `));
    await rejectsWith(cps.describeTrainer('tr'), Status.UNAVAILABLE, new RegExp(`^shard 2 \\(${address}\\): `));
  });
});

describe("a shard's full parameter list (CreateTrainerRequest.all_params)", () => {
  const request = (name: string, params: string[], allParams: string[]): CreateTrainerRequest => ({
    name,
    params,
    allParams,
    optimizer: { kind: 'OPTIMIZER_KIND_SGD', learningRate: 0.1 },
    mode: 'TRAINER_MODE_SYNC',
    numWorkers: 1,
    workerId: 0,
  });

  it('is checked: each name once, holding the local ones in their order', async () => {
    const ch = await Channel.open(lone.address, {});
    try {
      await rejectsWith(
        create(ch, request('v', ['a', 'b'], ['b', 'a'])),
        Status.INVALID_ARGUMENT,
        /^trainer 'v': all_params \[b, a\] must list params \[a, b\] in the same order, but 'b' comes before 'a'$/,
      );
      await rejectsWith(
        create(ch, request('v', ['a', 'b'], ['a', 'x'])),
        Status.INVALID_ARGUMENT,
        /^trainer 'v': all_params \[a, x\] must hold every parameter of params \[a, b\], but not 'b'$/,
      );
      await rejectsWith(
        create(ch, request('v', ['a'], ['a', 'x', 'a'])),
        Status.INVALID_ARGUMENT,
        /^trainer 'v': all_params lists parameter 'a' twice in \[a, x, a\]$/,
      );
      // A trainer created without one answers its own list.
      expect((await describeRaw(ch, 'tr')).allParams).toEqual(TRAINER_PARAMS);
    } finally {
      ch.close();
    }
  });

  for (const durability of ['wal-batch', 'checkpoint'] as const)
    it(`is kept through a restart (${durability}) and compared on re-create`, async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'gluonps-all-params-'));
      try {
        const start = () => startInProcess({ port: 0, logLevel: 'silent', dataDir, durability });
        let server = await start();
        const ps = await connect(server.address);
        await (await ps.parameter('p', { shape: [2], init: init.one() })).initialize();
        const ch = await Channel.open(server.address, {});
        expect((await create(ch, request('t', ['p'], ['q', 'p', 'r']))).allParams).toEqual(['q', 'p', 'r']);
        if (durability === 'checkpoint') await ps.checkpoint();
        ch.close();
        await ps.close();
        await server.close(2000);
        server = await start();
        const again = await Channel.open(server.address, {});
        try {
          expect((await describeRaw(again, 't')).allParams).toEqual(['q', 'p', 'r']);
          await rejectsWith(
            create(again, request('t', ['p'], ['p', 'q', 'r'])),
            Status.ALREADY_EXISTS,
            /^trainer 't' already exists with a different spec \(.*params \[p\] of the trainer's \[q, p, r\]\)$/,
          );
          expect((await create(again, request('t', ['p'], ['q', 'p', 'r']))).params).toEqual(['p']);
        } finally {
          again.close();
          await server.close(2000);
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
});
