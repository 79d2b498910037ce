// Helpers of the cluster tests: N shard processes of the real server CLI on loopback (the crash
// harness's bundle and process handling), one lone server beside them, and `onBoth`, which runs
// one scenario against the cluster and against the lone server and returns what each observed,
// so a test asserts the two are identical (tensor bytes included).
import { connect } from '../../client/index';
import type { ParameterServerClient, Tensor } from '../../client/index';
import type { ClusterConnectOptions } from '../../client/index';
import { startServer, type Bundle, type ServerProcess } from './crash-harness';

export interface Cluster {
  shards: ServerProcess[];
  addresses: string[];
  name: string;
}

/** The flags of shard `index` of `count`. */
export function shardArgs(index: number, count: number, name: string, sliceBytes: string): string[] {
  return [
    '--shard-index',
    String(index),
    '--num-shards',
    String(count),
    '--cluster',
    name,
    '--slice-bytes',
    sliceBytes,
  ];
}

/** Starts `count` shards (in memory, cpu only) and waits until each listens. */
export async function startCluster(
  bundle: Bundle,
  count: number,
  options: { name?: string; sliceBytes?: string } = {},
): Promise<Cluster> {
  const name = options.name ?? 'test';
  const shards = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startServer(bundle, { dataDir: 'none', args: shardArgs(i, count, name, options.sliceBytes ?? '1KiB') }),
    ),
  );
  return { shards, addresses: shards.map((s) => s.address), name };
}

/** A client of the cluster. */
export function connectCluster(c: Cluster, options: ClusterConnectOptions = {}): Promise<ParameterServerClient> {
  return connect(c.addresses, { connectTimeoutMs: 10_000, ...options });
}

/** What a scenario observed: anything deep-equal comparable (tensors become { shape, dtype, hex }). */
export type Observed = unknown;

/** A tensor as comparable data: its shape, dtype and exact bytes (hex). */
export function seen(t: Tensor): { shape: number[]; dtype: string; hex: string } {
  return {
    shape: [...t.shape],
    dtype: t.dtype,
    hex: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex'),
  };
}

/** A settled call as comparable data: its value, or its error's code and message. */
export async function outcome<T>(p: Promise<T>, map: (v: T) => Observed = (v) => v): Promise<Observed> {
  try {
    return { ok: map(await p) };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return { code: e.code, message: e.message };
  }
}

/**
 * Runs `scenario` on the cluster and on the lone server (each its own client, the same names)
 * and returns both observations.
 */
export async function onBoth(
  cluster: ParameterServerClient,
  single: ParameterServerClient,
  scenario: (ps: ParameterServerClient) => Promise<Observed>,
): Promise<{ cluster: Observed; single: Observed }> {
  const [a, b] = await Promise.all([scenario(cluster), scenario(single)]);
  return { cluster: a, single: b };
}
