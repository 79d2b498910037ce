// A 3-shard cluster (three real server processes on loopback, --slice-bytes 1KiB so that small
// tensors are split too) against one lone server: the same parameter and trainer sequences give
// bit-identical values, descriptions and errors on both (onBoth runs each scenario on both and
// the test compares what they observed). Also the routing contract: connect() refuses shards out
// of order or of another cluster, and a shard refuses a call routed for another shard or layout,
// or an unrouted call, with FAILED_PRECONDITION naming both.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init, Status } from '../../client/index';
import type { OptimizerName, OptimizerParams, ParameterServerClient, Tensor } from '../../client/index';
import { Channel } from '../../client/channel';
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import { homeShard, LAYOUT_VERSION } from '../../common/cluster/placement';
import { formatRoute } from '../../common/cluster/route';
import { startServer, useServerBundle, type ServerProcess } from './crash-harness';
import { connectCluster, onBoth, outcome, seen, startCluster, type Cluster } from './cluster-helpers';
import { f32, rejectsWith } from './helpers';
import { lcg, randomF32 } from './trainer-helpers';

const bundle = useServerBundle('cluster');
let cluster: Cluster;
let lone: ServerProcess;
let cps: ParameterServerClient;
let sps: ParameterServerClient;

beforeAll(async () => {
  [cluster, lone] = await Promise.all([
    startCluster(bundle, 3),
    startServer(bundle, { dataDir: 'none', args: ['--slice-bytes', '1KiB'] }),
  ]);
  cps = await connectCluster(cluster);
  sps = await connect(lone.address, { connectTimeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await cps?.close();
  await sps?.close();
});

/** Zeros of a file test parameter's shape. */
function zeros(name: string): Tensor<'float32'> {
  const shape = name === 'file_split' ? [300, 3] : [5];
  return f32(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

/** Every read a parameter answers, as comparable data. */
async function readAll(ps: ParameterServerClient, name: string): Promise<unknown> {
  const p = await ps.get(name);
  const d = await p.describe();
  return {
    describe: d,
    listCtx: await outcome(p.listCtx()),
    var: await outcome(p.var()),
    data: await outcome(p.data(), seen),
    listData: await outcome(p.listData(), (l) => l.map((t) => ({ ...seen(t), version: t.version, ctx: t.ctx }))),
    grad: await outcome(p.grad(), seen),
    listGrad: await outcome(p.listGrad(), (l) => l.map(seen)),
    rows: await outcome(p.rowSparseData([7, 2, 7, 0, 29]), (r) => ({
      indices: [...r.indices],
      values: seen(r.values),
      version: r.version,
      ctx: r.ctx,
    })),
    listRows: await outcome(p.listRowSparseData([5, 1]), (l) => l.map((r) => [[...r.indices], seen(r.values)])),
  };
}

/** Parameters covering every placement at 3 shards and 1 KiB slices. */
const SHAPES: Array<{ name: string; shape: number[]; stype?: 'row_sparse'; dtype?: 'float16' | 'float64' }> = [
  { name: 'small', shape: [6, 5] }, // 120 B: whole on its home shard
  { name: 'two_slices', shape: [64, 8] }, // 2 KiB: 2 slices
  { name: 'three_slices', shape: [301, 3, 2] }, // 7224 B: 3 slices of 101, 100, 100 rows
  { name: 'half', shape: [200, 4], dtype: 'float16' }, // 1600 B: 2 slices
  { name: 'wide', shape: [700, 2], dtype: 'float64' },
  { name: 'emb', shape: [30, 4], stype: 'row_sparse' }, // rows r mod 3
  { name: 'tiny_emb', shape: [2, 4], stype: 'row_sparse' }, // fewer rows than shards: whole
];

describe('parameters on a cluster and on one server', () => {
  it('place as the layout says (the cluster really splits them)', async () => {
    const c = await cps.cluster();
    expect(c.layout).toEqual({ version: LAYOUT_VERSION, shards: 3, sliceBytes: 1024 });
    expect(c.shards.map((s) => [s.index, s.address, s.serving])).toEqual(cluster.addresses.map((a, i) => [i, a, true]));
    expect(await sps.cluster()).toMatchObject({ cluster: 'default', layout: { shards: 1 } });
    for (const s of SHAPES) await cps.parameter(`placed_${s.name}`, { shape: s.shape, stype: s.stype, dtype: s.dtype });
    // Each shard's own List: which parts it holds.
    const held = await Promise.all(
      cluster.addresses.map(async (address, i) => {
        const ch = await Channel.open(address, {});
        ch.setRoute(
          formatRoute({ cluster: 'test', index: i, count: 3, layoutVersion: LAYOUT_VERSION, sliceBytes: 1024 }),
        );
        const l = await ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb));
        ch.close();
        return new Map(l.parameters.map((p) => [p.spec!.name, p.spec!]));
      }),
    );
    const holders = (n: string): number[] => held.flatMap((m, i) => (m.has(n) ? [i] : []));
    expect(holders('placed_small')).toEqual([homeShard('placed_small', 3)]);
    expect(holders('placed_two_slices')).toHaveLength(2);
    expect(holders('placed_three_slices')).toEqual([0, 1, 2]);
    expect(held.map((m) => m.get('placed_three_slices')!.shape[0]).sort()).toEqual([100, 100, 101]);
    expect(holders('placed_emb')).toEqual([0, 1, 2]);
    expect(held.map((m) => m.get('placed_emb')!.part!.rowStep)).toEqual([3, 3, 3]);
    expect(holders('placed_tiny_emb')).toHaveLength(1);
  });

  it('initialize (every initializer, seeded, two contexts) and every read are bit-identical', async () => {
    const inits = [
      init.uniform({ scale: 0.5 }),
      init.normal({ sigma: 2 }),
      init.xavier({ rndType: 'gaussian', factorType: 'in' }),
      init.msraPrelu(),
      init.orthogonal(),
      init.constant(0.25),
      init.one(),
    ];
    const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => {
      const out: unknown[] = [];
      for (const [k, kind] of inits.entries()) {
        for (const s of SHAPES) {
          const name = `init${k}_${s.name}`;
          const p = await ps.parameter(name, { shape: s.shape, stype: s.stype, dtype: s.dtype, init: kind });
          out.push(await p.initialize({ ctx: [cpu(0), cpu(1)], seed: 1000 + k }));
          out.push(await readAll(ps, name));
        }
      }
      return out;
    });
    expect(a).toEqual(b);
  });

  it('writes, casts, contexts, shapes, constants and their errors are identical', async () => {
    const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => {
      const out: unknown[] = [];
      const r = lcg(7);
      for (const s of SHAPES) {
        const name = `rw_${s.name}`;
        const p = await ps.parameter(name, { shape: s.shape, stype: s.stype, dtype: s.dtype, init: init.zero() });
        await p.initialize({ ctx: [cpu(0), cpu(3)] });
        const n = s.shape.reduce((x, y) => x * y, 1);
        out.push(await outcome(p.setData(f32(s.shape, randomF32(r, n)))));
        out.push(await readAll(ps, name));
        out.push(await outcome(p.setData(f32([...s.shape.slice(0, -1), s.shape.at(-1)! + 1], []))));
        out.push(await outcome(p.setData(f32([5], [1, 2, 3, 4, 5]))));
        out.push(await outcome(p.rowSparseData([0, 1e6])));
        out.push(await outcome(p.zeroGrad()));
        out.push(await outcome(p.cast('float64')));
        out.push(await readAll(ps, name));
        out.push(await outcome(p.resetCtx([cpu(2)])));
        out.push(await readAll(ps, name));
        out.push(await outcome(p.setShape(s.shape)));
        out.push(await outcome(p.setShape([...s.shape.slice(0, -1), 99])));
        // Another spec for the same name.
        out.push(await outcome(ps.parameter(name, { shape: [s.shape[0]! + 3, ...s.shape.slice(1)] })));
        out.push(
          await outcome(ps.parameter(name, { shape: s.shape, stype: s.stype, dtype: s.dtype, init: init.one() })),
        );
      }
      // Constants, whole and split.
      const c1 = await ps.constant('const_small', [
        [1, 2],
        [3, 4],
      ]);
      out.push(await c1.initialize({ ctx: [cpu(0), cpu(1)] }), await readAll(ps, 'const_small'));
      const big = f32([100, 5], randomF32(r, 500));
      const c2 = await ps.constant('const_big', big);
      out.push(await c2.initialize(), await readAll(ps, 'const_big'));
      out.push(await outcome(ps.constant('const_big', f32([100, 5], new Float32Array(500)))));
      // Deferred initialization: the shape comes later (placed whole: the declared shape is unknown).
      const d = await ps.parameter('deferred', { shape: [0, 40], allowDeferredInit: true, init: init.xavier() });
      out.push(await d.initialize({ seed: 3 }), await outcome(d.data()));
      out.push(await d.setShape([50, 40]), await readAll(ps, 'deferred'));
      out.push(await outcome(ps.get('missing')));
      // Those of this scenario (the cluster also holds the placement test's).
      const mine = (await ps.list()).filter((x) => /^(rw_|const_|deferred)/.test(x.name));
      out.push(mine.map((x) => [x.name, x.shape, x.dtype, x.version]).sort());
      return out;
    });
    expect(a).toEqual(b);
  });
});

describe('files on a cluster and on one server', () => {
  it('saveParameters writes the same bytes, and loadParameters restores the same values', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-cluster-files-'));
    try {
      const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => {
        const tag = ps === cps ? 'c' : 's';
        const names = ['file_split', 'file_whole', 'file_emb'];
        const specs = [{ shape: [300, 3] }, { shape: [5] }, { shape: [40, 2], stype: 'row_sparse' as const }];
        for (const [i, n] of names.entries()) {
          const p = await ps.parameter(n, { ...specs[i], init: init.normal() });
          await p.initialize({ seed: 50 + i });
        }
        const out: unknown[] = [];
        for (const format of ['params', 'safetensors', 'npz'] as const) {
          const file = path.join(dir, `${tag}.${format}`);
          const { file: _file, ...saved } = await ps.saveParameters(file, { names, format });
          out.push(saved);
          out.push(readFileSync(file).toString('hex'));
        }
        const before = await Promise.all(names.slice(0, 2).map(async (n) => seen(await (await ps.get(n)).data())));
        for (const n of names.slice(0, 2)) await (await ps.get(n)).setData(zeros(n));
        out.push(await ps.loadParameters(path.join(dir, `${tag}.params`), { names }));
        const after = await Promise.all(names.slice(0, 2).map(async (n) => seen(await (await ps.get(n)).data())));
        out.push(after, before);
        out.push(seen((await (await ps.get('file_emb')).rowSparseData([...Array(40).keys()])).values));
        return out;
      });
      expect(a).toEqual(b);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface TrainCase {
  optimizer: OptimizerName;
  params: OptimizerParams;
}

const CASES: TrainCase[] = [
  { optimizer: 'sgd', params: { learningRate: 0.1, momentum: 0.9, wd: 0.01 } },
  { optimizer: 'nag', params: { learningRate: 0.05, momentum: 0.8 } },
  { optimizer: 'adam', params: { learningRate: 0.01, wd: 0.001 } },
  { optimizer: 'adam', params: { learningRate: 0.01, lazyUpdate: false, clipGradient: 0.5 } },
  { optimizer: 'adamw', params: { learningRate: 0.01, wd: 0.1 } },
  { optimizer: 'adagrad', params: { learningRate: 0.1 } },
  { optimizer: 'rmsprop', params: { learningRate: 0.01, centered: true } },
  { optimizer: 'ftrl', params: { learningRate: 0.1, lamda1: 0.01 } },
];

/**
 * Two workers (their own clients) train four parameters (split dense, whole dense, split
 * row_sparse, and a split dense one taking row_sparse gradients) for 4 sync steps; steps 2 and 3
 * push rows that all lie on one shard (the others get pushes of no rows). Observes every step's
 * result and every parameter's value after it.
 */
async function train(
  ps: ParameterServerClient,
  workers: ParameterServerClient[],
  tag: string,
  c: TrainCase,
): Promise<unknown> {
  const specs = [
    { name: `${tag}_w`, shape: [64, 8] },
    { name: `${tag}_b`, shape: [8] },
    { name: `${tag}_emb`, shape: [30, 4], stype: 'row_sparse' as const },
    { name: `${tag}_sg`, shape: [90, 4], gradStype: 'row_sparse' as const },
  ];
  for (const { name, ...s } of specs) {
    const p = await ps.parameter(name, { ...s, init: init.uniform({ scale: 1 }) });
    await p.initialize({ ctx: [cpu(0), cpu(1)], seed: 77 });
  }
  const names = specs.map((s) => s.name);
  const trainers = await Promise.all(
    workers.map((w, id) =>
      w.trainer(tag, names, c.optimizer, c.params, { numWorkers: 2, workerId: id, stepTimeoutMs: 30_000 }),
    ),
  );
  const out: unknown[] = [];
  const rowsFor = (step: number, id: number): number[] =>
    step === 1 || step === 2 ? [3, 0, 27, 3] : [id + step, 29 - id, (5 * step) % 30, 11];
  for (let step = 0; step < 4; step++) {
    const results = await Promise.all(
      trainers.map(async (tr, id) => {
        const r = lcg(100 * step + id);
        const ids = rowsFor(step, id);
        await tr.pushGrad(names[0]!, f32([64, 8], randomF32(r, 512)));
        await tr.pushGrad(names[1]!, f32([8], randomF32(r, 8)));
        await tr.pushGrad(names[2]!, { indices: ids, values: f32([ids.length, 4], randomF32(r, ids.length * 4)) });
        await tr.pushGrad(names[3]!, {
          indices: ids.map((x) => x * 3),
          values: f32([ids.length, 4], randomF32(r, ids.length * 4)),
        });
        return tr.step(16 + id);
      }),
    );
    out.push(results);
    for (const n of [names[0]!, names[1]!, names[3]!]) out.push(seen(await (await ps.get(n)).data(cpu(1))));
    out.push(seen((await (await ps.get(names[2]!)).rowSparseData([...Array(30).keys()])).values));
  }
  out.push(await trainers[0]!.describe());
  return out;
}

describe('trainers on a cluster and on one server', () => {
  let workers: { cluster: ParameterServerClient[]; single: ParameterServerClient[] };
  beforeAll(async () => {
    workers = {
      cluster: await Promise.all([0, 1].map(() => connectCluster(cluster))),
      single: await Promise.all([0, 1].map(() => connect(lone.address))),
    };
  });
  afterAll(async () => {
    for (const w of [...(workers?.cluster ?? []), ...(workers?.single ?? [])]) await w.close();
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.optimizer} ${JSON.stringify(c.params)}: every step and value is bit-identical`, async () => {
      const tag = `tr${i}`;
      const [a, b] = await Promise.all([train(cps, workers.cluster, tag, c), train(sps, workers.single, tag, c)]);
      expect(a).toEqual(b);
    });
  }

  it('LAMB: refused over a split parameter, identical over one declared whole', async () => {
    const w = await cps.parameter('lamb_split', { shape: [64, 8], init: init.one() });
    await w.initialize();
    await rejectsWith(
      cps.trainer('lamb_t', [w], 'lamb'),
      Status.FAILED_PRECONDITION,
      /trainer 'lamb_t': lamb needs norms of whole tensors, but parameter 'lamb_split' is split over shards \[\d, \d\]; declare it with \{ placement: 'whole' \}/,
    );
    const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => {
      const p = await ps.parameter('lamb_whole', { shape: [64, 8], init: init.normal(), placement: 'whole' });
      await p.initialize({ seed: 4 });
      const tr = await ps.trainer('lamb_w', [p], 'lamb', { learningRate: 0.01 });
      const out: unknown[] = [];
      for (let k = 0; k < 3; k++) {
        await tr.pushGrad(p, f32([64, 8], randomF32(lcg(k), 512)));
        out.push(await tr.step(4), seen(await p.data()));
      }
      return out;
    });
    expect(a).toEqual(b);
  });

  it('saveStates / loadStates of a cluster trainer restore every shard', async () => {
    const p = await cps.parameter('st_w', { shape: [64, 8], init: init.zero() });
    await p.initialize();
    const tr = await cps.trainer('st', [p], 'adam', { learningRate: 0.1 });
    await tr.pushGrad(p, f32([64, 8], randomF32(lcg(1), 512)));
    await tr.step(1);
    const states = await tr.saveStates();
    const value1 = await p.data();
    await tr.pushGrad(p, f32([64, 8], randomF32(lcg(2), 512)));
    await tr.step(1);
    const after2 = seen(await p.data());
    // Back to step 1 (states and value), then the same step again gives the same value.
    await tr.loadStates(states);
    expect((await tr.describe()).step).toBe(1);
    await p.setData(value1);
    await tr.pushGrad(p, f32([64, 8], randomF32(lcg(2), 512)));
    await tr.step(1);
    expect(seen(await p.data())).toEqual(after2);
    await rejectsWith(
      tr.loadStates(Buffer.from('nope')),
      Status.INVALID_ARGUMENT,
      /not a saved optimizer-state snapshot: missing the GPSSTAT1 magic/,
    );
  });
});

describe('server-level calls on a cluster', () => {
  it("listTrainers lists every shard's trainers once; status merges the shards' (cluster-status.test.ts)", async () => {
    const names = (await cps.listTrainers()).map((t) => t.name);
    expect(names).toEqual([...new Set(names)].sort());
    expect(names).toEqual(expect.arrayContaining(['tr0', 'tr7', 'lamb_w', 'st']));
    const status = await cps.status();
    expect(status.trainers.map((t) => t.name)).toEqual(names);
    expect(status.shards!.map((s) => s.index)).toEqual([0, 1, 2]);
    const checkpoint = cps.checkpoint();
    // The shards run without a data dir: each refuses, the first in shard order answers.
    await rejectsWith(checkpoint, Status.FAILED_PRECONDITION, /this server runs without a data directory/);
  });
});

describe('routing', () => {
  it('connect() refuses shards out of order, of another cluster, or missing', async () => {
    const [s0, s1, s2] = cluster.addresses as [string, string, string];
    await rejectsWith(
      connect([s1, s0, s2]),
      Status.FAILED_PRECONDITION,
      new RegExp(`shard 0 \\(${s1.replace(/\./g, '\\.')}\\) is shard 1 of 3, but was given as shard 0 of 3`),
    );
    await rejectsWith(connect([s0, s1]), Status.FAILED_PRECONDITION, /is shard 0 of 3, but was given as shard 0 of 2/);
    await rejectsWith(
      connect(cluster.addresses, { cluster: 'blue' }),
      Status.FAILED_PRECONDITION,
      /shard 0 \(.*\) belongs to cluster 'test', not 'blue'/,
    );
  });

  it('a shard refuses a call routed for another shard, cluster or layout, naming both', async () => {
    const ch = await Channel.open(cluster.addresses[1]!, {});
    try {
      const list = (): Promise<unknown> =>
        ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb));
      const route = { cluster: 'test', index: 1, count: 3, layoutVersion: LAYOUT_VERSION, sliceBytes: 1024 };
      ch.setRoute(formatRoute(route));
      await list(); // its own route: served
      for (const [other, named] of [
        [{ ...route, index: 2 }, /routed for shard 2 of 3 of cluster 'test'/],
        [{ ...route, cluster: 'blue' }, /routed for shard 1 of 3 of cluster 'blue'/],
        [
          { ...route, sliceBytes: 4096 },
          /routed for shard 1 of 3 of cluster 'test' \(layout 1, slices over 4096 bytes\)/,
        ],
        [{ ...route, layoutVersion: 2 }, /\(layout 2, slices over 1024 bytes\)/],
      ] as const) {
        ch.setRoute(formatRoute(other));
        await rejectsWith(
          list(),
          Status.FAILED_PRECONDITION,
          new RegExp(
            `this server is shard 1 of 3 of cluster 'test' \\(layout 1, slices over 1024 bytes\\), but the call was routed for .*${named.source.replace(/^routed for /, '')}`,
          ),
        );
      }
    } finally {
      ch.close();
    }
  });

  it('a shard refuses unrouted calls, but tells which shard it is; a lone server is a cluster of one', async () => {
    const direct = await connect(cluster.addresses[2]!);
    try {
      await rejectsWith(
        direct.list(),
        Status.FAILED_PRECONDITION,
        /this server is shard 2 of 3 of cluster 'test' .* holds only its part of the parameters, but the call carries no cluster routing .*connect\(\) with every shard's address/,
      );
      expect(await direct.cluster()).toMatchObject({ cluster: 'test', layout: { shards: 3 }, shards: [{ index: 2 }] });
      // The services about the server itself answer an operator's unrouted calls on a shard.
      expect((await direct.status()).health.status).toBe('SERVING');
      expect(Array.isArray(await direct.listTrainers())).toBe(true);
    } finally {
      await direct.close();
    }
    const one = await connect([lone.address]);
    try {
      const p = await one.parameter('lone_as_cluster', { shape: [4], init: init.one() });
      await p.initialize();
      expect([...((await (await sps.get('lone_as_cluster')).data()).data as Float32Array)]).toEqual([1, 1, 1, 1]);
    } finally {
      await one.close();
    }
  });
});
