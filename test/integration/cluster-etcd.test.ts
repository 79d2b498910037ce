// Membership with etcd (docs/cluster.md): a real etcd (etcd-harness.ts) and shard processes of
// the real server CLI started with --etcd on loopback. A client connected with
// etcd://.../NAME gets the same results as one connected with every address; a second server
// claiming a held index, a server whose layout differs, and a server with another data dir (or
// none) claiming an index a data dir owns are each refused at start, naming both sides; a shard
// killed with kill -9 leaves etcd when its lease ends; a shard restarted on its data dir (on
// another port) gets its index back, and the etcd:// client follows it there; a shard whose
// lease is revoked under it claims its index again, or stops when a process with a copy of its
// data dir took the index meanwhile.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { parseMember } from '../../common/cluster/etcd-keys';
import { FAST_RECONNECT, spawnServer, startServer, untilAvailable, useServerBundle } from './crash-harness';
import type { ServerProcess } from './crash-harness';
import { seen } from './cluster-helpers';
import { startEtcd, type Etcd } from './etcd-harness';
import { sleep } from './trainer-helpers';
import { f32 } from './helpers';

const bundle = useServerBundle('cluster-etcd');
let etcd: Etcd;
const work = mkdtempSync(path.join(tmpdir(), 'gluonps-etcd-test-'));

beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);

afterAll(async () => {
  await etcd?.stop();
  rmSync(work, { recursive: true, force: true });
});

const LEASE_SECONDS = 2;

/** The CLI flags of shard `index` of `count` of `cluster`, registered in the test's etcd. */
function etcdArgs(cluster: string, index: number, count: number, more: string[] = []): string[] {
  return [
    '--shard-index',
    String(index),
    '--num-shards',
    String(count),
    '--cluster',
    cluster,
    '--slice-bytes',
    '1KiB',
    '--etcd',
    etcd.url,
    '--etcd-lease-seconds',
    String(LEASE_SECONDS),
    ...more,
  ];
}

function startShard(cluster: string, index: number, count: number, dataDir = 'none', more: string[] = []) {
  return startServer(bundle, { dataDir, args: etcdArgs(cluster, index, count, more) });
}

/** Spawns a server expected to be refused at start; resolves to its exit code and stderr. */
async function refusedStart(
  cluster: string,
  index: number,
  count: number,
  dataDir = 'none',
  more: string[] = [],
): Promise<{ code: number | null; stderr: string }> {
  const srv = spawnServer(bundle, { dataDir, args: etcdArgs(cluster, index, count, more) });
  const { code } = await srv.exited;
  return { code, stderr: srv.stderr };
}

function etcdTarget(cluster: string): `etcd://${string}` {
  return `etcd://${etcd.endpoint}/${cluster}`;
}

/** Waits (bounded) until `pred` holds. */
async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * A scenario over parameters named with `prefix`: declare, initialize, write, train; what it
 * read. No random initializer (their draws depend on the name): the same values whatever the
 * prefix, wherever the names place the parameters.
 */
async function scenario(ps: ParameterServerClient, prefix: string): Promise<unknown> {
  const out: unknown[] = [];
  const w = await ps.parameter(`${prefix}w`, { shape: [301, 3, 2], init: init.one() }); // split
  const b = await ps.parameter(`${prefix}b`, { shape: [6], init: init.zero() }); // whole
  const e = await ps.parameter(`${prefix}e`, { shape: [30, 4], stype: 'row_sparse', init: init.one() });
  for (const p of [w, b, e]) await p.initialize();
  out.push(seen(await w.data()), seen(await b.data()));
  await w.setData(
    f32(
      [301, 3, 2],
      Array.from({ length: 1806 }, (_, i) => Math.sin(i)),
    ),
  );
  await b.setData(f32([6], [1, 2, 3, 4, 5, 6]));
  const tr = await ps.trainer(`${prefix}t`, [w, b, e], 'adam', { learningRate: 0.01 });
  for (let k = 1; k <= 2; k++) {
    await tr.pushGrad(
      w,
      f32(
        [301, 3, 2],
        Array.from({ length: 1806 }, (_, i) => ((i * k) % 7) - 3),
      ),
    );
    await tr.pushGrad(b, f32([6], [k, -k, 0.5, 0, 1, 2]));
    await tr.pushGrad(e, {
      indices: [1, 5, 29],
      values: f32(
        [3, 4],
        Array.from({ length: 12 }, (_, i) => i - k),
      ),
    });
    await tr.step(4);
  }
  out.push(seen(await w.data()), seen(await b.data()));
  const rows = await e.rowSparseData([29, 1, 2]);
  out.push([...rows.indices], seen(rows.values));
  const mine = (await ps.list()).filter((d) => d.name.startsWith(prefix));
  out.push(mine.map((d) => [d.name.slice(prefix.length), d.shape]).sort());
  return out;
}

describe('a cluster registered in etcd', () => {
  let shards: ServerProcess[] = [];
  let viaEtcd: ParameterServerClient;
  let viaAddresses: ParameterServerClient;

  beforeAll(async () => {
    shards = await Promise.all([0, 1, 2].map((i) => startShard('blue', i, 3)));
    viaEtcd = await connect(etcdTarget('blue'), { connectTimeoutMs: 20_000 });
    viaAddresses = await connect(
      shards.map((s) => s.address),
      { connectTimeoutMs: 10_000 },
    );
  }, 60_000);

  afterAll(async () => {
    await viaEtcd?.close();
    await viaAddresses?.close();
    await Promise.all(shards.map((s) => s.stop()));
  });

  it('registers each shard, and an etcd:// client finds them all', async () => {
    const members = await etcd.read('/gluonps/blue/members/');
    expect(members.map((m) => [m.key, parseMember(m.value)?.address])).toEqual(
      shards.map((s, i) => [`/gluonps/blue/members/${i}`, s.address]),
    );
    expect(JSON.parse((await etcd.read('/gluonps/blue/layout'))[0]!.value)).toEqual({
      version: 1,
      shards: 3,
      sliceBytes: 1024,
    });
    const c = await viaEtcd.cluster();
    expect(c).toMatchObject({ cluster: 'blue', layout: { version: 1, shards: 3, sliceBytes: 1024 } });
    expect(c.shards).toEqual(shards.map((s, i) => ({ index: i, address: s.address, serving: true, incarnation: 1 })));
    expect(viaEtcd.address).toBe(viaAddresses.address);
  });

  it('gives the same results as a client given every address', async () => {
    const [a, b] = [await scenario(viaEtcd, 'e_'), await scenario(viaAddresses, 's_')];
    expect(a).toEqual(b);
    // And each reads what the other wrote.
    expect(seen(await (await viaAddresses.get('e_w')).data())).toEqual(seen(await (await viaEtcd.get('e_w')).data()));
  });

  it('refuses a second server claiming a held index, naming the index, the cluster and the holder', async () => {
    const r = await refusedStart('blue', 1, 3);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `shard 1 of cluster 'blue' in etcd \\(.*\\) is held by a server without a data dir \\(pid ${shards[1]!.child.pid} .*at ${shards[1]!.address.replace(/\./g, '\\.')}.*, whose lease is still kept alive: that server is running`,
      ),
    );
    // The holder is untouched.
    expect((await viaEtcd.cluster()).shards[1]).toMatchObject({ address: shards[1]!.address, serving: true });
  });

  it('refuses a server whose layout differs, naming both', async () => {
    const count = await refusedStart('blue', 0, 2);
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(
      /cluster 'blue' in etcd \(.*\) has 3 shards, layout 1, slices over 1024 bytes, but this server was started with 2 shards, layout 1, slices over 1024 bytes/,
    );
    const slices = await refusedStart('blue', 2, 3, 'none', ['--slice-bytes', '2KiB']);
    expect(slices.code).toBe(2);
    expect(slices.stderr).toMatch(
      /has 3 shards, layout 1, slices over 1024 bytes, but this server was started with 3 shards, layout 1, slices over 2048 bytes/,
    );
  });

  it('claims its index again when its lease is lost while it runs', async () => {
    // Revoke shard 2's lease behind its back (as etcd does when keepalives stop arriving).
    const admin = new Etcd3({ hosts: etcd.url });
    try {
      const kv = (await admin.get('/gluonps/blue/members/2').exec()).kvs[0]!;
      await admin.leaseClient.leaseRevoke({ ID: kv.lease });
    } finally {
      admin.close();
    }
    await shards[2]!.waitForLog((l) => l.msg === 'registered in etcd again after the lease was lost');
    expect(shards[2]!.logs.find((l) => String(l.msg).startsWith('etcd lease lost'))).toMatchObject({
      level: 50, // error
      shard: 2,
      cluster: 'blue',
    });
    const [member] = await etcd.read('/gluonps/blue/members/2');
    expect(parseMember(member!.value)).toMatchObject({
      address: shards[2]!.address,
      incarnation: 2,
      state: 'serving',
    });
    await until('the client sees incarnation 2', async () => (await viaEtcd.cluster()).shards[2]!.incarnation === 2);
    expect((await viaEtcd.cluster()).shards[2]).toMatchObject({ serving: true, address: shards[2]!.address });
    expect(seen(await (await viaEtcd.get('e_b')).data())).toEqual(seen(await (await viaAddresses.get('e_b')).data()));
  });

  it('drops a shard killed with kill -9 when its lease ends', async () => {
    await shards[0]!.kill();
    await until('members/0 gone from etcd', async () => (await etcd.read('/gluonps/blue/members/0')).length === 0);
    expect((await etcd.read('/gluonps/blue/members/')).map((m) => m.key)).toEqual([
      '/gluonps/blue/members/1',
      '/gluonps/blue/members/2',
    ]);
    const c = await viaEtcd.cluster();
    expect(c.shards[0]).toMatchObject({ index: 0, serving: false, error: expect.stringMatching(/^not registered/) });
    expect(c.shards[1]).toMatchObject({ serving: true });
  });
});

describe('a shard restarted on its data dir', () => {
  const dirs = [0, 1, 2].map((i) => path.join(work, `shard${i}`));
  let shards: ServerProcess[] = [];
  let ps: ParameterServerClient;

  beforeAll(async () => {
    shards = await Promise.all([0, 1, 2].map((i) => startShard('green', i, 3, dirs[i])));
    ps = await connect(etcdTarget('green'), {
      connectTimeoutMs: 20_000,
      channelOptions: FAST_RECONNECT,
      deadlineMs: 20_000,
    });
  }, 60_000);

  afterAll(async () => {
    await ps?.close();
    await Promise.all(shards.map((s) => s.stop()));
  });

  it('gets its index back after kill -9, on another port, and the etcd:// client carries on there', async () => {
    const w = await ps.parameter('w', { shape: [301, 3, 2], init: init.zero() }); // a slice on every shard
    await w.initialize();
    const value = f32(
      [301, 3, 2],
      Array.from({ length: 1806 }, (_, i) => i / 7),
    );
    await w.setData(value);
    const old = shards[1]!;
    await old.kill();
    // Port 0: the restarted server listens elsewhere. It waits for its previous run's lease.
    shards[1] = await startShard('green', 1, 3, dirs[1]);
    expect(shards[1]!.address).not.toBe(old.address);
    const [member] = await etcd.read('/gluonps/green/members/1');
    expect(parseMember(member!.value)).toMatchObject({ address: shards[1]!.address, incarnation: 2 });
    // The client follows the registration; reads retried while the new address reaches it.
    expect(seen(await untilAvailable(() => w.data(), 30_000))).toEqual(seen(value));
    const c = await ps.cluster();
    expect(c.shards[1]).toEqual({ index: 1, address: shards[1]!.address, serving: true, incarnation: 2 });
    expect(ps.address.split(',')[1]).toBe(shards[1]!.address);
    // Writes reach the new process.
    const next = f32(
      [301, 3, 2],
      Array.from({ length: 1806 }, (_, i) => -i),
    );
    await w.setData(next);
    expect(seen(await w.data())).toEqual(seen(next));
  });

  it('refuses another data dir, or none, for an index a data dir owns, naming both identities', async () => {
    await shards[2]!.stop(); // graceful: the lease is revoked, the index is free to its owner
    await until('members/2 gone', async () => (await etcd.read('/gluonps/green/members/2')).length === 0, 10_000);
    const owner = JSON.parse((await etcd.read('/gluonps/green/identities/2'))[0]!.value) as { identity: string };
    const other = path.join(work, 'other');
    const r = await refusedStart('green', 2, 3, other);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `shard 2 of cluster 'green' in etcd \\(.*\\) belongs to the data dir with identity ${owner.identity} .*but this server's data dir ${other} has identity [0-9a-f-]{36}`,
      ),
    );
    const none = await refusedStart('green', 2, 3, 'none');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      new RegExp(`belongs to the data dir with identity ${owner.identity} .*but this server has no data dir`),
    );
    // Its own data dir gets it back.
    shards[2] = await startShard('green', 2, 3, dirs[2]);
    const [member] = await etcd.read('/gluonps/green/members/2');
    expect(parseMember(member!.value)).toMatchObject({ identity: owner.identity, incarnation: 2, state: 'serving' });
    await until('the client follows shard 2', async () => ps.address.split(',')[2] === shards[2]!.address, 10_000);
    expect((await ps.cluster()).shards[2]).toMatchObject({ serving: true, incarnation: 2 });
  });

  it('never lets two processes hold one index, even with a copy of the data dir', async () => {
    // A copy of shard 0's data dir (its identity with it; not its lock, so the copy can start).
    const copy = path.join(work, 'copy0');
    cpSync(dirs[0]!, copy, { recursive: true, filter: (src) => path.basename(src) !== 'LOCK' });
    const original = shards[0]!;
    const twin = spawnServer(bundle, { dataDir: copy, args: etcdArgs('green', 0, 3) });
    // Same identity: it takes the registration for a previous run's and waits for its lease.
    await twin.waitForLog((l) => String(l.msg).includes('waiting for its lease to end'));
    // The original's lease ends under it (as when etcd stops hearing from it): the twin claims
    // the index, and the original, claiming it again, finds the twin's kept alive and stops.
    const admin = new Etcd3({ hosts: etcd.url });
    try {
      const kv = (await admin.get('/gluonps/green/members/0').exec()).kvs[0]!;
      expect(parseMember(kv.value.toString('utf8'))).toMatchObject({ address: original.address });
      await admin.leaseClient.leaseRevoke({ ID: kv.lease });
    } finally {
      admin.close();
    }
    // Both now claim with one identity: whichever is first holds the index, and the other,
    // finding it kept alive past its time to live, gives up: the original stops (fatal, exit
    // status 1), or the twin is refused at start (exit status 2).
    await Promise.race([original.exited, twin.waitForLog((l) => l.msg === 'listening').catch(() => undefined)]);
    const keptAlive = `whose lease is still kept alive: another process is running with this data dir's identity`;
    let holder: ServerProcess;
    if (twin.running) {
      const listening = await twin.waitForLog((l) => l.msg === 'listening');
      twin.address = listening.address as string;
      expect((await original.exited).code).toBe(1);
      expect(original.logs.find((l) => l.level === 60)).toMatchObject({
        msg: 'cannot claim the shard index again: stopping this server',
        err: expect.stringMatching(
          new RegExp(
            `^shard 0 of cluster 'green' in etcd \\(.*\\) is held by identity .*\\(pid ${twin.child.pid} .*${keptAlive}`,
          ),
        ),
      });
      holder = twin;
      shards[0] = twin;
    } else {
      expect((await twin.exited).code).toBe(2);
      expect(twin.stderr).toMatch(new RegExp(`is held by identity .*\\(pid ${original.child.pid} .*${keptAlive}`));
      holder = original;
    }
    const [member] = await etcd.read('/gluonps/green/members/0');
    expect(parseMember(member!.value)).toMatchObject({ address: holder.address, incarnation: 2, state: 'serving' });
    expect(holder.running).toBe(true);
  });

  it('refuses a data dir of another shard', async () => {
    const r = await refusedStart('green', 0, 3, dirs[1]!);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holds shard 1 of cluster 'green' .*but this server was started as shard 0 of cluster 'green'/,
    );
  });
});

describe('connect(etcd://...)', () => {
  it('fails UNAVAILABLE naming what is not registered', async () => {
    await expect(connect(etcdTarget('nobody'), { connectTimeoutMs: 3000 })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      message: expect.stringMatching(/cluster 'nobody' in etcd \(.*\) has no layout: no server of it has registered/),
    });
  });

  it('refuses a malformed target', async () => {
    await expect(connect('etcd://127.0.0.1:2379' as `etcd://${string}`)).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      message: expect.stringMatching(/expected 'etcd:\/\/host:port\[,host:port\.\.\.\]\/NAME'/),
    });
  });
});

describe('etcd restarting under a cluster', () => {
  it('the client watches again and follows a shard that moved afterwards; a memory-only shard restarts', async () => {
    const first = await startShard('red', 0, 1);
    let second: ServerProcess | undefined;
    const ps = await connect(etcdTarget('red'), { connectTimeoutMs: 20_000, channelOptions: FAST_RECONNECT });
    try {
      await (await ps.parameter('x', { shape: [3], init: init.one() })).initialize();
      // etcd goes away and comes back (keys and leases survive): the client's watch ends and
      // is established again; the server's keepalives resume (or it claims its index again).
      await etcd.restart();
      await first.kill();
      // Without a data dir: it waits for the killed run's lease to end, then claims.
      second = await startShard('red', 0, 1);
      await until('the client follows shard 0', async () => ps.address === second!.address);
      expect((await ps.cluster()).shards).toEqual([
        { index: 0, address: second.address, serving: true, incarnation: 2 },
      ]);
      // A memory-only shard starts empty.
      await expect(untilAvailable(() => ps.get('x'))).rejects.toMatchObject({ code: Status.NOT_FOUND });
    } finally {
      await ps.close();
      await first.kill();
      await second?.stop();
    }
  });
});
