// Files on a cluster and re-sharding (docs/cluster.md, "Re-sharding"): a 3-shard cluster and one
// lone server (real processes on loopback, --slice-bytes 1KiB so small tensors are split) given
// the same declarations write the same file bytes, with and without names, because a cluster
// lists parameters in the declaration order one server keeps; a file exported from 3 shards by
// the gluonps CLI is imported into a fresh 2-shard cluster with data dirs, which then holds every
// value bit for bit, exports the same bytes, keeps its order across a checkpoint and restarts,
// and trains exactly as the original cluster and one server do; and bad files are refused on a
// cluster with the same errors as on one server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init } from '../../client/index';
import type { ParameterServerClient, Tensor } from '../../client/index';
import { main, parseCommand } from '../../client/cli';
import { homeShard } from '../../common/cluster/placement';
import { writeTensorFile } from '../../common/formats/index';
import { restart, startServer, tempDir, useServerBundle, type ServerProcess } from './crash-harness';
import { onBoth, outcome, seen, shardArgs, startCluster, type Cluster } from './cluster-helpers';
import { lcg, randomF32 } from './trainer-helpers';

const bundle = useServerBundle('reshard');
let three: Cluster;
let lone: ServerProcess;
let cps: ParameterServerClient;
let sps: ParameterServerClient;
let dir: string;

beforeAll(async () => {
  [three, lone] = await Promise.all([
    startCluster(bundle, 3, { name: 'three' }),
    startServer(bundle, { dataDir: 'none', args: ['--slice-bytes', '1KiB'] }),
  ]);
  cps = await connect(three.addresses, { connectTimeoutMs: 10_000 });
  sps = await connect(lone.address, { connectTimeoutMs: 10_000 });
  dir = mkdtempSync(path.join(tmpdir(), 'gluonps-reshard-'));
}, 60_000);

afterAll(async () => {
  await cps?.close();
  await sps?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the gluonps CLI in this process; resolves with its exit status and output. */
async function gluonps(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await main([...args, '--quiet'], {}, out);
  return { code, stdout, stderr };
}

/** A model covering every placement at 3 and 2 shards with 1 KiB slices, in declaration order. */
const MODEL: Array<{
  name: string;
  shape: number[];
  dtype?: 'float16' | 'float64';
  stype?: 'row_sparse';
  constant?: boolean;
}> = [
  { name: 'enc.w', shape: [64, 8] }, // 2 KiB: sliced
  { name: 'enc.b', shape: [8] },
  { name: 'emb', shape: [40, 4], stype: 'row_sparse' }, // rows r mod N
  { name: 'scale', shape: [3], constant: true },
  { name: 'dec.w', shape: [301, 3, 2] }, // 7224 B: sliced over every shard
  { name: 'table', shape: [100, 5], constant: true }, // a sliced constant
  { name: 'dec.b', shape: [5], dtype: 'float64' },
  { name: 'half', shape: [20, 30], dtype: 'float16' },
  { name: 'gamma', shape: [7] },
  { name: 'a.bias', shape: [9] },
];
const NAMES = MODEL.map((m) => m.name);
/** The float32 parameters a trainer updates after re-sharding. */
const TRAINED = ['enc.w', 'enc.b', 'emb', 'dec.w', 'gamma'];

/** Declares and initializes MODEL (seeded) through `ps`, one declaration after the other. */
async function declareModel(ps: ParameterServerClient): Promise<void> {
  for (const [i, m] of MODEL.entries()) {
    if (m.constant) {
      const n = m.shape.reduce((a, b) => a * b, 1);
      const c = await ps.constant(m.name, { shape: m.shape, dtype: 'float32', data: randomF32(lcg(i), n) });
      await c.initialize();
    } else {
      const p = await ps.parameter(m.name, {
        shape: m.shape,
        ...(m.dtype ? { dtype: m.dtype } : {}),
        ...(m.stype ? { stype: m.stype } : {}),
        init: init.normal(),
      });
      await p.initialize({ seed: 100 + i });
    }
  }
}

/** Every value of `names` as exact bytes (row_sparse: every row). */
async function values(ps: ParameterServerClient, names: readonly string[]): Promise<unknown[]> {
  return Promise.all(
    names.map(async (n) => {
      const p = await ps.get(n);
      const d = await p.describe();
      const value =
        d.stype === 'row_sparse'
          ? (await p.rowSparseData([...Array(d.shape![0]!).keys()])).values
          : ((await p.data()) as Tensor);
      return { name: n, shape: d.shape, dtype: d.dtype, stype: d.stype, value: seen(value) };
    }),
  );
}

const file = (name: string): string => path.join(dir, name);
const bytesOf = (f: string): string => readFileSync(f).toString('hex');

describe('files from a cluster and from one server', () => {
  beforeAll(async () => {
    await Promise.all([declareModel(cps), declareModel(sps)]);
  }, 30_000);

  it('list() gives the declaration order, as one server does', async () => {
    // Listing shard by shard would not give it: the home shards are not in declaration order.
    const homes = NAMES.map((n) => homeShard(n, 3));
    expect([...homes].sort()).not.toEqual(homes);
    expect((await cps.list()).map((d) => d.name)).toEqual(NAMES);
    expect((await sps.list()).map((d) => d.name)).toEqual(NAMES);
  });

  it('saveParameters without names (and with) writes the same bytes as one server', async () => {
    const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => {
      const tag = ps === cps ? 'c' : 's';
      const out: unknown[] = [];
      for (const format of ['params', 'safetensors', 'npz'] as const) {
        const all = file(`all-${tag}.${format}`);
        const { file: _a, ...saved } = await ps.saveParameters(all, { format });
        out.push(saved, bytesOf(all));
        const some = file(`some-${tag}.${format}`);
        const { file: _s, ...savedSome } = await ps.saveParameters(some, { format, names: ['gamma', 'emb', 'enc.w'] });
        out.push(savedSome, bytesOf(some));
      }
      return out;
    });
    expect((a as unknown[])[0]).toMatchObject({ names: NAMES });
    expect(a).toEqual(b);
  });

  it('declarations by several clients list as on one server when each saw the ones before', async () => {
    const run = async (first: ParameterServerClient, connectAgain: () => Promise<ParameterServerClient>) => {
      const names: string[] = [];
      const declare = async (ps: ParameterServerClient, name: string): Promise<void> => {
        const p = await ps.parameter(name, { shape: [4], init: init.one() });
        await p.initialize();
        names.push(name);
      };
      for (const n of ['mc.z', 'mc.y', 'mc.x']) await declare(first, n);
      // A client connected after them declares after them...
      const second = await connectAgain();
      try {
        for (const n of ['mc.w', 'mc.v']) await declare(second, n);
        // ... and so does one that read them (get, list).
        await first.get('mc.v');
        await declare(first, 'mc.u');
        await second.list();
        await (
          await second.constant('mc.t', { shape: [2], dtype: 'float32', data: Float32Array.from([1, 2]) })
        ).initialize();
        names.push('mc.t');
        await declare(first, 'mc.s');
      } finally {
        await second.close();
      }
      return { names, listed: (await first.list()).map((d) => d.name).filter((n) => n.startsWith('mc.')) };
    };
    const [a, b] = await Promise.all([run(cps, () => connect(three.addresses)), run(sps, () => connect(lone.address))]);
    expect(a.listed).toEqual(a.names);
    expect(b.listed).toEqual(b.names);
  });
});

describe('re-sharding 3 to 2 through export and import', () => {
  let two: ServerProcess[];
  let fresh: ServerProcess;
  const twoAddresses = (): string => two.map((s) => s.address).join(',');

  beforeAll(async () => {
    two = await Promise.all(
      [0, 1].map((i) => startServer(bundle, { dataDir: tempDir(`two${i}`), args: shardArgs(i, 2, 'two', '1KiB') })),
    );
    fresh = await startServer(bundle, { dataDir: 'none', args: ['--slice-bytes', '1KiB'] });
  }, 60_000);

  it('re-shard 3 to 2 through export/import: the same values, files, order; training goes on identically', async () => {
    const exported = file('three.params');
    // Everything declared in this file so far (the model and the other test's parameters).
    const names = (await cps.list()).map((d) => d.name);
    expect(names.slice(0, NAMES.length)).toEqual(NAMES);

    const ex = await gluonps(['export', '--server', three.addresses.join(','), '--file', exported]);
    expect(ex).toMatchObject({ code: 0, stderr: '' });
    expect(ex.stdout).toMatch(new RegExp(`^exported ${names.length} parameters to `));
    // The same file as one server's export of the same parameters.
    const single = file('single.params');
    expect((await gluonps(['export', '--server', lone.address, '--file', single])).code).toBe(0);
    expect(bytesOf(exported)).toBe(bytesOf(single));

    const im = await gluonps(['import', '--server', twoAddresses(), '--declare', '--file', exported]);
    expect(im).toMatchObject({ code: 0, stderr: '' });
    expect(im.stdout).toMatch(new RegExp(`^imported ${names.length} parameters .*; ${names.length} declared`));
    expect((await gluonps(['import', '--server', fresh.address, '--declare', '--file', exported])).code).toBe(0);

    let tps = await connect(two.map((s) => s.address));
    const fps = await connect(fresh.address);
    try {
      expect((await tps.cluster()).layout.shards).toBe(2);
      expect((await tps.list()).map((d) => d.name)).toEqual(names);
      expect(await values(tps, names)).toEqual(await values(cps, names));
      // Exporting the new cluster gives the same bytes, in every format.
      for (const format of ['params', 'safetensors', 'npz']) {
        const [a, b] = [file(`two.${format}`), file(`three.${format}`)];
        expect((await gluonps(['export', '--server', twoAddresses(), '--format', format, '--file', a])).code).toBe(0);
        const c = three.addresses.join(',');
        expect((await gluonps(['export', '--server', c, '--format', format, '--file', b])).code).toBe(0);
        expect(bytesOf(a)).toBe(bytesOf(b));
      }

      // The order is part of each shard's state: a checkpoint, one more declaration (in the log
      // only), and both shards restarted on their data dirs keep it.
      const ck = await gluonps(['checkpoint', '--server', twoAddresses(), '--reason', 're-shard']);
      expect(ck.code).toBe(0);
      expect(ck.stdout).toMatch(
        /^shard 0: checkpoint \d+ written in .*\nshard 1: checkpoint \d+ written in .*\n2 shards/,
      );
      await (await tps.parameter('late', { shape: [3], init: init.one() })).initialize();
      await tps.close();
      two = await Promise.all(two.map((s) => restart(bundle, s)));
      tps = await connect(two.map((s) => s.address));
      expect((await tps.list()).map((d) => d.name)).toEqual([...names, 'late']);
      expect(await values(tps, names)).toEqual(await values(cps, names));

      // Training goes on alike on the original cluster, the new one and one server restored
      // from the same file, with trainers created after the import: sgd (no state) over some
      // parameters, adam (its states start afresh, as after one server's import) over the others.
      const runs = await Promise.all(
        [cps, tps, fps].map(async (ps, k) => {
          const sgd = await ps.trainer(`sgd${k}`, ['enc.w', 'emb', 'gamma'], 'sgd', { learningRate: 0.1, wd: 0.01 });
          const adam = await ps.trainer(`adam${k}`, ['enc.b', 'dec.w'], 'adam', { learningRate: 0.01 });
          const out: unknown[] = [];
          for (let step = 0; step < 3; step++) {
            const r = lcg(1000 + step);
            await sgd.pushGrad('enc.w', { shape: [64, 8], dtype: 'float32', data: randomF32(r, 512) });
            await adam.pushGrad('enc.b', { shape: [8], dtype: 'float32', data: randomF32(r, 8) });
            const ids = [3, 0, 39, 3, 17];
            await sgd.pushGrad('emb', {
              indices: ids,
              values: { shape: [5, 4], dtype: 'float32', data: randomF32(r, 20) },
            });
            await adam.pushGrad('dec.w', { shape: [301, 3, 2], dtype: 'float32', data: randomF32(r, 1806) });
            await sgd.pushGrad('gamma', { shape: [7], dtype: 'float32', data: randomF32(r, 7) });
            await Promise.all([sgd.step(8), adam.step(8)]);
            out.push(await values(ps, TRAINED));
          }
          return out;
        }),
      );
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
    } finally {
      await tps.close();
      await fps.close();
    }
  }, 120_000);
});

describe('bad files and bad command lines', () => {
  it('a cluster refuses a bad file with the same errors as one server, and changes nothing', async () => {
    const bad = {
      missing: file('no-such-file.params'),
      corrupt: file('corrupt.params'),
      fewer: file('fewer.params'),
      extra: file('extra.params'),
      shape: file('shape.params'),
      dtype: file('dtype.safetensors'),
    };
    writeFileSync(bad.corrupt, Buffer.from('this is not a tensor file at all'));
    expect((await sps.saveParameters(bad.fewer, { names: ['gamma', 'enc.b'] })).names).toEqual(['gamma', 'enc.b']);
    const t = (name: string, shape: number[], dtype: 'float32' | 'float64' = 'float32') => ({
      name,
      shape,
      dtype,
      stype: 'default' as const,
      data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * (dtype === 'float64' ? 8 : 4)),
    });
    await writeTensorFile(bad.extra, 'params', [t('gamma', [7]), t('nobody', [2])]);
    await writeTensorFile(bad.shape, 'params', [t('enc.w', [8, 64]), t('gamma', [7])]);
    await writeTensorFile(bad.dtype, 'safetensors', [t('gamma', [7], 'float64')]);
    const watched = ['enc.w', 'gamma', 'enc.b'];
    const before = await values(cps, watched);

    const { cluster: a, single: b } = await onBoth(cps, sps, async (ps) => [
      await outcome(ps.loadParameters(bad.missing)),
      await outcome(ps.loadParameters(bad.corrupt)),
      await outcome(ps.loadParameters(bad.fewer)),
      await outcome(ps.loadParameters(bad.fewer, { names: ['gamma', 'enc.b', 'enc.w'] })),
      await outcome(ps.loadParameters(bad.extra, { names: ['gamma'] })),
      await outcome(ps.loadParameters(bad.shape, { names: ['enc.w', 'gamma'] })),
      await outcome(ps.loadParameters(bad.dtype, { names: ['gamma'] })),
      await outcome(ps.loadParameters(bad.fewer, { names: ['gamma', 'nobody'] })),
    ]);
    expect(a).toEqual(b);
    // Every one of them was refused (the messages are checked against one server's above).
    expect((a as Array<{ code?: number }>).every((o) => typeof o.code === 'number')).toBe(true);
    expect(await values(cps, watched)).toEqual(before);

    // The CLI says the same on both.
    for (const [f, extra] of [
      [bad.corrupt, []],
      [bad.shape, ['--names', 'enc.w,gamma']],
      [bad.fewer, ['--names', 'gamma,enc.b,enc.w']],
    ] as const) {
      const onCluster = await gluonps(['import', '--server', three.addresses.join(','), '--file', f, ...extra]);
      const onOne = await gluonps(['import', '--server', lone.address, '--file', f, ...extra]);
      expect(onCluster.code).toBe(1);
      expect(onCluster).toEqual(onOne);
    }
    expect(await values(cps, watched)).toEqual(before);
  });

  it('--server takes every shard of a cluster, in shard-index order', async () => {
    const cmd = parseCommand(['list', '--server', '127.0.0.1:1, 127.0.0.1:2,h:3']);
    expect(cmd.servers).toEqual(['127.0.0.1:1', '127.0.0.1:2', 'h:3']);
    expect(parseCommand(['list'], { GLUONPS_SERVER: 'a:1,b:2' }).servers).toEqual(['a:1', 'b:2']);
    expect(() => parseCommand(['list', '--server', 'a:1,a:1'])).toThrow(/"a:1" is listed twice/);
    expect(() => parseCommand(['list', '--server', 'a:1,,b:2'])).toThrow(/--server: "" is not host:port/);
    expect(() => parseCommand(['list', '--server', 'a:1', '--cluster', 'no way'])).toThrow(/--cluster must be/);
    // Shards given out of order are refused by the shards, naming them.
    const [s0, s1, s2] = three.addresses;
    const r = await gluonps(['list', '--server', `${s1},${s0},${s2}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/shard 0 \(.*\) is shard 1 of 3, but was given as shard 0 of 3/);
    const wrong = await gluonps(['list', '--server', three.addresses.join(','), '--cluster', 'blue']);
    expect(wrong.stderr).toMatch(/belongs to cluster 'three', not 'blue'/);
    const listed = await gluonps(['list', '--server', three.addresses.join(','), '--json']);
    expect(listed.code).toBe(0);
    const doc = JSON.parse(listed.stdout) as { parameters: Array<{ name: string }> };
    expect(doc.parameters.map((p) => p.name).slice(0, NAMES.length)).toEqual(NAMES);
  });
});
