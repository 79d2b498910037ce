// Optimizer-state snapshots on a cluster are one server's (docs/cluster.md, "Optimizer states"):
// a 3-shard cluster, a 2-shard cluster (--slice-bytes 16, so small tensors split) and one lone
// server, real processes on loopback. The same training gives the same saveStates() bytes on
// the 3-shard cluster and on one server (sgd with momentum and adam; a sliced dense parameter,
// a whole one, a row_sparse one by row id, a sliced one taking row_sparse gradients, each on
// two contexts); the 3-shard snapshot loads into the 2-shard cluster and into one server, one
// server's into the 3-shard cluster (each shard then holds exactly what its own saveStates gave
// before), and training on from there gives every parameter bit for bit. Bad snapshots get one
// server's errors on a cluster and leave every shard as it was; an old cluster snapshot
// (GPSCLUS1) loads only on its own shards.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init, Status } from '../../client/index';
import type { OptimizerName, OptimizerParams, ParameterServerClient, Tensor, Trainer } from '../../client/index';
import { LAYOUT_VERSION } from '../../common/cluster/placement';
import { formatRoute, ROUTE_METADATA_KEY } from '../../common/cluster/route';
import { readStates, writeStates, type SavedStates } from '../../common/formats/states';
import { startServer, useServerBundle, type ServerProcess } from './crash-harness';
import { connectCluster, outcome, seen, startCluster, type Cluster } from './cluster-helpers';
import { f32 } from './helpers';
import { lcg, randomF32, RawTrainerService } from './trainer-helpers';

const bundle = useServerBundle('states');
const SLICE = 16;
let three: Cluster;
let two: Cluster;
let lone: ServerProcess;
let c3: ParameterServerClient;
let c2: ParameterServerClient;
let s1: ParameterServerClient;

beforeAll(async () => {
  [three, two, lone] = await Promise.all([
    startCluster(bundle, 3, { name: 'three', sliceBytes: String(SLICE) }),
    startCluster(bundle, 2, { name: 'two', sliceBytes: String(SLICE) }),
    startServer(bundle, { dataDir: 'none' }),
  ]);
  [c3, c2, s1] = await Promise.all([
    connectCluster(three),
    connectCluster(two),
    connect(lone.address, { connectTimeoutMs: 10_000 }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([c3?.close(), c2?.close(), s1?.close()]);
});

/** The model of `tag`: every placement at 3 and 2 shards with 16-byte slices. */
function model(tag: string): Array<{ name: string; shape: number[]; stype?: 'row_sparse'; gradStype?: 'row_sparse' }> {
  return [
    { name: `${tag}_w`, shape: [12, 3] }, // 144 B: sliced over every shard
    { name: `${tag}_b`, shape: [3] }, // 12 B: whole
    { name: `${tag}_emb`, shape: [10, 2], stype: 'row_sparse' }, // row r on shard r mod N
    { name: `${tag}_sg`, shape: [9, 2], gradStype: 'row_sparse' }, // sliced, row_sparse gradients
  ];
}

/** Declares and initializes (seeded, on two contexts) the model of `tag`; its parameter names. */
async function declare(ps: ParameterServerClient, tag: string): Promise<string[]> {
  for (const { name, ...s } of model(tag)) {
    const p = await ps.parameter(name, { ...s, init: init.uniform({ scale: 1 }) });
    await p.initialize({ ctx: [cpu(0), cpu(1)], seed: 77 });
  }
  return model(tag).map((m) => m.name);
}

/**
 * Step `k`'s gradients (the same on every side) pushed, then the step. Step 0 updates only the
 * second and third parameters, so states are first made out of the trainer's order.
 */
async function trainStep(tr: Trainer, names: string[], k: number): Promise<unknown> {
  const r = lcg(1000 + k);
  // Step 1's rows all lie on shard 0 of 3 (the other parts get pushes of no rows).
  const ids = k === 1 ? [0, 9, 3] : [k % 10, (3 * k + 1) % 10, 7];
  if (k > 0) await tr.pushGrad(names[0]!, f32([12, 3], randomF32(r, 36)));
  await tr.pushGrad(names[1]!, f32([3], randomF32(r, 3)));
  await tr.pushGrad(names[2]!, { indices: ids, values: f32([3, 2], randomF32(r, 6)) });
  if (k > 0) await tr.pushGrad(names[3]!, { indices: ids.map((x) => x % 9), values: f32([3, 2], randomF32(r, 6)) });
  const { step, versions } = await tr.step(4);
  return { step, versions };
}

/** Every parameter's value on both contexts, comparable. */
async function values(ps: ParameterServerClient, names: string[]): Promise<unknown> {
  const out: unknown[] = [];
  for (const n of names) {
    const p = await ps.get(n);
    if (n.endsWith('_emb')) out.push(seen((await p.rowSparseData([...Array(10).keys()], cpu(1))).values));
    else out.push(seen(await p.data(cpu(0))), seen(await p.data(cpu(1))));
  }
  return out;
}

/** Every parameter's value (to set back with setData). */
async function snapshotValues(ps: ParameterServerClient, names: string[]): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const n of names) {
    const p = await ps.get(n);
    out.set(n, n.endsWith('_emb') ? (await p.rowSparseData([...Array(10).keys()])).values : await p.data());
  }
  return out;
}

async function setValues(ps: ParameterServerClient, saved: Map<string, Tensor>): Promise<void> {
  for (const [n, t] of saved) await (await ps.get(n)).setData(t);
}

/** Each shard's own snapshot of `trainer` (hex), read with that shard's route; an error's code where it has none. */
async function shardStates(c: Cluster, trainer: string): Promise<string[]> {
  const n = c.addresses.length;
  return Promise.all(
    c.addresses.map(async (address, index) => {
      const route = formatRoute({ cluster: c.name, index, count: n, layoutVersion: LAYOUT_VERSION, sliceBytes: SLICE });
      const interceptor: grpc.Interceptor = (options, next) =>
        new grpc.InterceptingCall(next(options), {
          start(metadata, listener, nextStart) {
            metadata.set(ROUTE_METADATA_KEY, route);
            nextStart(metadata, listener);
          },
        });
      const raw = new RawTrainerService(address, { interceptors: [interceptor] });
      try {
        return (await raw.saveStates(trainer)).toString('hex');
      } catch (err) {
        return `error ${(err as { code?: unknown }).code}`;
      } finally {
        raw.close();
      }
    }),
  );
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const K = 3;
const M = 2;

const CASES: Array<{ tag: string; optimizer: OptimizerName; params: OptimizerParams }> = [
  { tag: 'sgdm', optimizer: 'sgd', params: { learningRate: 0.1, momentum: 0.9, wd: 0.01 } },
  { tag: 'adam', optimizer: 'adam', params: { learningRate: 0.01 } },
];

/** What each case left for the checks of bad snapshots. */
const after = new Map<string, { t3: Trainer; t2: Trainer; t1: Trainer; snap: Buffer; names: string[] }>();

describe('optimizer-state snapshots on a cluster are one server’s and re-shard', () => {
  for (const c of CASES) {
    it(`${c.tag}: 3 shards and one server save the same bytes; the snapshots load across 3, 2 and 1 shards and train on bit for bit`, async () => {
      const trainer = `${c.tag}_t`;
      const [names] = await Promise.all([declare(c3, c.tag), declare(s1, c.tag), declare(c2, c.tag)]);
      const [t3, t1] = await Promise.all([
        c3.trainer(trainer, names!, c.optimizer, c.params),
        s1.trainer(trainer, names!, c.optimizer, c.params),
      ]);
      for (let k = 0; k < K; k++) expect(await trainStep(t3, names!, k)).toEqual(await trainStep(t1, names!, k));
      const atK = await snapshotValues(s1, names!);
      expect(await values(c3, names!)).toEqual(await values(s1, names!));
      const snap3 = await t3.saveStates();
      const snap1 = await t1.saveStates();
      expect(snap3.subarray(0, 8).toString('latin1')).toBe('GPSSTAT1');
      expect(hex(snap3)).toBe(hex(snap1));
      // The snapshot holds every parameter, whole, in the trainer's order.
      const parsed = readStates('test', snap3);
      expect(parsed.params.map((p) => [p.name, p.shape, p.tensors.length])).toEqual(
        model(c.tag).map((m) => [m.name, m.shape, 2]),
      );
      const shardsAtK = await shardStates(three, trainer);
      // The shards hold parts: 'w' in three slices, 'emb' by row id, 'b' whole on one.
      const held = shardsAtK.map((h) => readStates('test', Buffer.from(h, 'hex')).params);
      const rowsOf = (name: string): number[] => held.map((ps) => ps.find((p) => p.name === name)?.shape[0] ?? 0);
      expect(rowsOf(`${c.tag}_w`)).toEqual([4, 4, 4]);
      expect(rowsOf(`${c.tag}_emb`)).toEqual([4, 3, 3]);
      expect(rowsOf(`${c.tag}_b`).filter((r) => r > 0)).toEqual([3]);

      // The reference: M more steps on the sources.
      for (let k = K; k < K + M; k++) expect(await trainStep(t3, names!, k)).toEqual(await trainStep(t1, names!, k));
      const want = await values(s1, names!);
      const wantStates = hex(await t1.saveStates());
      expect(await values(c3, names!)).toEqual(want);
      expect(hex(await t3.saveStates())).toBe(wantStates);

      // 3 shards -> 2 shards.
      await setValues(c2, atK);
      const t2 = await c2.trainer(trainer, names!, c.optimizer, c.params);
      await t2.loadStates(snap3);
      expect((await t2.describe()).step).toBe(K);
      expect(hex(await t2.saveStates())).toBe(hex(snap1));
      for (let k = K; k < K + M; k++) await trainStep(t2, names!, k);
      expect(await values(c2, names!)).toEqual(want);
      expect(hex(await t2.saveStates())).toBe(wantStates);

      // 3 shards -> one server (rewound to step K).
      await setValues(s1, atK);
      await t1.loadStates(snap3);
      expect(t1.currentStep).toBe(K);
      for (let k = K; k < K + M; k++) await trainStep(t1, names!, k);
      expect(await values(s1, names!)).toEqual(want);
      expect(hex(await t1.saveStates())).toBe(wantStates);

      // One server -> 3 shards (rewound to step K): each shard gets exactly what it saved then.
      await setValues(c3, atK);
      await t3.loadStates(snap1);
      expect(await shardStates(three, trainer)).toEqual(shardsAtK);
      expect(t3.currentStep).toBe(K);
      for (let k = K; k < K + M; k++) await trainStep(t3, names!, k);
      expect(await values(c3, names!)).toEqual(want);
      expect(hex(await t3.saveStates())).toBe(wantStates);

      after.set(c.tag, { t3, t2, t1, snap: snap1, names: names! });
    }, 60_000);
  }
});

/** `saved` with `edit` applied, written again. */
function edited(snap: Buffer, edit: (s: SavedStates) => void): Buffer {
  const s = readStates('test', snap);
  const copy: SavedStates = { ...s, params: s.params.map((p) => ({ ...p, tensors: p.tensors.map((l) => [...l]) })) };
  edit(copy);
  return writeStates(copy);
}

describe('bad snapshots on a cluster', () => {
  it("get one server's errors, and no shard loads anything", async () => {
    const adam = after.get('adam')!;
    const sgdm = after.get('sgdm')!;
    expect(adam).toBeDefined();
    const good = adam.snap;
    const bad: Array<[string, Uint8Array]> = [
      ['not a snapshot', Buffer.from('nope')],
      ['truncated', good.subarray(0, good.length - 3)],
      ['a byte more', Buffer.concat([good, Buffer.alloc(1)])],
      ['far too large', Buffer.concat([good, Buffer.alloc(1 << 16)])],
      ['another optimizer', sgdm.snap],
      ['another trainer’s parameter', edited(good, (s) => void (s.params[1]!.name = 'adam_other'))],
      [
        'another shape',
        edited(good, (s) => {
          s.params[0]!.shape = [6, 6];
          s.params[0]!.layout = s.params[0]!.layout.replace('|12,3', '|6,6');
        }),
      ],
      ['a state tensor short', edited(good, (s) => void s.params[2]!.tensors[1]!.pop())],
      [
        'a state of the wrong size',
        edited(good, (s) => void (s.params[0]!.tensors[0]![1] = s.params[0]!.tensors[0]![1]!.subarray(4))),
      ],
    ];
    const before = {
      three: await shardStates(three, 'adam_t'),
      two: await shardStates(two, 'adam_t'),
      one: hex(await adam.t1.saveStates()),
    };
    for (const [what, bytes] of bad) {
      const one = await outcome(adam.t1.loadStates(bytes));
      expect(one, what).toMatchObject({ code: Status.INVALID_ARGUMENT });
      expect(await outcome(adam.t3.loadStates(bytes)), what).toEqual(one);
      expect(await outcome(adam.t2.loadStates(bytes)), what).toEqual(one);
    }
    expect(await shardStates(three, 'adam_t')).toEqual(before.three);
    expect(await shardStates(two, 'adam_t')).toEqual(before.two);
    expect(hex(await adam.t1.saveStates())).toBe(before.one);
  });

  it('an old cluster snapshot (GPSCLUS1) loads on its own shards only', async () => {
    const { t3, t2, names } = after.get('adam')!;
    const blobs = (await shardStates(three, 'adam_t')).map((h) => Buffer.from(h, 'hex'));
    const header = Buffer.from(
      JSON.stringify({ trainer: 'adam_t', shards: blobs.map((b, index) => ({ index, bytes: b.byteLength })) }),
    );
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.byteLength);
    const old = Buffer.concat([Buffer.from('GPSCLUS1', 'latin1'), length, header, ...blobs]);
    const saved = hex(await t3.saveStates());
    // Trained on, then loaded: the old snapshot's states and step come back.
    await trainStep(t3, names, 100);
    expect(hex(await t3.saveStates())).not.toBe(saved);
    await t3.loadStates(old);
    expect(hex(await t3.saveStates())).toBe(saved);
    expect(await outcome(t2.loadStates(old))).toEqual({
      code: Status.INVALID_ARGUMENT,
      message: expect.stringMatching(
        /^trainer 'adam_t': an old cluster \(GPSCLUS1\) snapshot saved on shards \[0, 1, 2\] loads only into a trainer on the same shards, and this one lives on shards \[0, 1\]; load it where it was saved and save it again/,
      ) as unknown,
    });
  });
});
