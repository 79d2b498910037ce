// A shard that is down (kill -9 of one of three shard processes): every call that needs it
// fails UNAVAILABLE naming the shard's index and address (it never hangs: grpc-js fails a call
// on a refused connection at once, and deadlines bound the rest), and every call that needs only
// the other shards goes on working: whole parameters elsewhere, rows of a row_sparse parameter
// that live elsewhere, a trainer over the other shards. connect() names the shard it cannot
// reach, and cluster() reports it not serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { homeShard } from '../../common/cluster/placement';
import { FAST_RECONNECT, useServerBundle } from './crash-harness';
import { connectCluster, startCluster, type Cluster } from './cluster-helpers';
import { f32, rejectsWith } from './helpers';

const bundle = useServerBundle('cluster-failure');
let cluster: Cluster;
let ps: ParameterServerClient;

/** A name whose home shard (of 3) is `shard`. */
function nameOn(shard: number, tag: string): string {
  for (let k = 0; ; k++) if (homeShard(`${tag}${k}`, 3) === shard) return `${tag}${k}`;
}

const [a0, a1, a2] = [0, 1, 2].map((s) => nameOn(s, 'whole'));

beforeAll(async () => {
  cluster = await startCluster(bundle, 3);
  ps = await connectCluster(cluster, { channelOptions: FAST_RECONNECT, deadlineMs: 20_000 });
  for (const n of [a0!, a1!, a2!]) await (await ps.parameter(n, { shape: [4], init: init.one() })).initialize();
  await (await ps.parameter('split', { shape: [301, 3, 2], init: init.one() })).initialize();
  await (await ps.parameter('emb', { shape: [30, 4], stype: 'row_sparse', init: init.one() })).initialize();
}, 60_000);

afterAll(async () => {
  await ps?.close();
});

describe('a shard that is down', () => {
  it('fails the calls that need it, naming it, and not the others', async () => {
    const down = cluster.addresses[2]!.replace(/\./g, '\\.');
    const named = new RegExp(`^shard 2 \\(${down}\\): `);
    const t01 = await ps.trainer('t01', [a0!, a1!], 'sgd', { learningRate: 0.5 }, { retry: { maxAttempts: 2 } });
    const t2 = await ps.trainer('t2', [a2!, 'split'], 'sgd', { learningRate: 0.5 }, { retry: { maxAttempts: 2 } });
    await cluster.shards[2]!.kill();

    // Needs shard 2.
    await rejectsWith(ps.get(a2!), Status.UNAVAILABLE, named);
    const split = await ps.get('split');
    await rejectsWith(split.data(), Status.UNAVAILABLE, named);
    await rejectsWith(split.setData(f32([301, 3, 2], new Float32Array(1806))), Status.UNAVAILABLE, named);
    const emb = await ps.get('emb');
    await rejectsWith(emb.rowSparseData([2, 0]), Status.UNAVAILABLE, named); // row 2 lives on shard 2
    await rejectsWith(t2.pushGrad(a2!, f32([4], [1, 1, 1, 1])), Status.UNAVAILABLE, named);
    await rejectsWith(ps.list(), Status.UNAVAILABLE, named);

    // Needs only shards 0 and 1.
    for (const n of [a0!, a1!]) {
      const p = await ps.get(n);
      await p.setData([1, 2, 3, 4]);
      expect([...((await p.data()).data as Float32Array)]).toEqual([1, 2, 3, 4]);
    }
    const rows = await emb.rowSparseData([3, 0, 4]); // rows 0 and 3 on shard 0, row 4 on shard 1
    expect([...rows.indices]).toEqual([0n, 3n, 4n]);
    await t01.pushGrad(a0!, f32([4], [2, 2, 2, 2]));
    await t01.pushGrad(a1!, f32([4], [2, 2, 2, 2]));
    expect((await t01.step(1)).step).toBe(1);
    expect([...((await (await ps.get(a0!)).data()).data as Float32Array)]).toEqual([0, 1, 2, 3]);

    const c = await ps.cluster();
    expect(c.shards.map((s) => s.serving)).toEqual([true, true, false]);
    expect(c.shards[2]).toMatchObject({ index: 2, address: cluster.addresses[2], error: expect.any(String) });

    // A new client cannot start without every shard, and says which one is missing.
    await rejectsWith(connect(cluster.addresses, { connectTimeoutMs: 500 }), Status.UNAVAILABLE, named);
  });
});
