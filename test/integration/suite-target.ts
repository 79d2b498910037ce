// Where the parameter and trainer suites run (issue 13: "the existing suites re-run against a
// 3-shard cluster"): one server in this process (the default), or, with GLUONPS_TEST_CLUSTER=N
// (the `cluster` project of vitest.config.ts), N real shard processes of the server CLI on
// loopback and a cluster client over all of them (connect([...])). The shards slice dense
// tensors over SUITE_SLICE_BYTES (16 bytes), so the suites' small tensors are really split:
// [2,3] float32 is cut in two, [6,5] in three, row_sparse ones go by row (r mod N); a [4]
// float32 stays whole on its home shard. A case that needs one server (its store, a raw stub
// sending a part's bytes) calls singleServerOnly(ctx, reason), which skips it on a cluster.
import * as grpc from '@grpc/grpc-js';
import { inject } from 'vitest';
import { Channel } from '../../client/channel';
import { connect } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { homeShard, LAYOUT_VERSION } from '../../common/cluster/placement';
import { formatRoute, ROUTE_METADATA_KEY } from '../../common/cluster/route';
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import type { ServerOptions } from '../../server/index';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The server CLI bundle the cluster project's global setup built once (cluster-suites.setup.ts). */
    suiteServerBundle: string;
  }
}

/** Shards of the suites' cluster; 0: one server in this process. */
export const CLUSTER_SHARDS = ((): number => {
  const v = process.env.GLUONPS_TEST_CLUSTER ?? '';
  if (v === '' || v === '0') return 0;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1 || n > 16)
    throw new Error(`GLUONPS_TEST_CLUSTER must be a shard count from 1 to 16 (or 0), got '${v}'`);
  return n;
})();

/** True when the suites run against a cluster. */
export const onCluster = CLUSTER_SHARDS > 0;

/**
 * The shards' --slice-bytes: small enough that the suites' tensors of more than 4 float32s split
 * (GLUONPS_TEST_SLICE_BYTES overrides it, to explore: 1 splits every tensor of several rows).
 */
export const SUITE_SLICE_BYTES = Number(process.env.GLUONPS_TEST_SLICE_BYTES ?? 16);

const CLUSTER_NAME = 'suites';

/**
 * First thing in a case that needs one server: skips it on a cluster, the note saying why (the
 * test context's skip). Use sparingly: the point of the cluster run is to find where it differs.
 */
export function singleServerOnly(ctx: { skip(condition: boolean, note?: string): void }, reason: string): void {
  ctx.skip(onCluster, `single server only: ${reason}`);
}

/** Where a raw gRPC stub reaches the parameter `name` whole: its address and channel options. */
export interface RawTarget {
  address: string;
  /** Client options adding the routing metadata of the shard (empty on one server). */
  options: grpc.ClientOptions;
}

/** An interceptor sending `route` as every call's routing metadata. */
function routeInterceptor(route: string): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set(ROUTE_METADATA_KEY, route);
        nextStart(metadata, listener);
      },
    });
}

/** The suites' cluster: its shards' addresses, raw targets, and how to stop it. */
export interface SuiteCluster {
  addresses: string[];
  /** The home shard of `name` with its route: where a parameter placed whole lives. */
  rawTarget(name: string): RawTarget;
  /** How many parameters (and constants) the shards hold, and how many of them are split. */
  splitStats(): Promise<{ parameters: number; split: number }>;
  close(): Promise<void>;
}

/** What startCluster() turns into CLI flags; anything else is refused (add it here when a suite needs it). */
const FLAGS: Partial<Record<keyof ServerOptions, string>> = {
  maxTensorBytes: '--max-tensor-bytes',
  maxCpuContexts: '--max-cpu-contexts',
  maxWorkersPerTrainer: '--max-workers-per-trainer',
  maxTrainers: '--max-trainers',
};

function flagsOf(options: ServerOptions): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (key === 'port' || key === 'logLevel' || value === undefined) continue;
    const flag = FLAGS[key as keyof ServerOptions];
    if (flag === undefined)
      throw new Error(`suite-target: server option '${key}' has no CLI flag mapped for a cluster`);
    args.push(flag, String(value));
  }
  return args;
}

/** Starts CLUSTER_SHARDS shard processes (memory only, cpu) with `options` as flags. */
export async function startSuiteCluster(options: ServerOptions = {}): Promise<SuiteCluster> {
  // Loaded only here: the crash harness spawns processes, which a single-server run never needs.
  const h = await import('./crash-harness');
  // Shards outlive nothing: not a beforeAll that timed out before its harness could be closed.
  process.once('exit', h.killAll);
  const provided = inject('suiteServerBundle');
  const own = provided ? null : await h.buildServerBundle('suites');
  const bundle = { path: provided ?? own!.path, remove: () => own?.remove() };
  const n = CLUSTER_SHARDS;
  const started = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      h.startServer(bundle, {
        dataDir: 'none',
        args: [
          '--shard-index',
          String(i),
          '--num-shards',
          String(n),
          '--cluster',
          CLUSTER_NAME,
          '--slice-bytes',
          String(SUITE_SLICE_BYTES),
          ...flagsOf(options),
        ],
      }),
    ),
  );
  const shards = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const close = async (): Promise<void> => {
    await Promise.all(shards.map((s) => s.kill()));
    bundle.remove();
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const addresses = shards.map((s) => s.address);
  const routeOf = (index: number): string =>
    formatRoute({
      cluster: CLUSTER_NAME,
      index,
      count: n,
      layoutVersion: LAYOUT_VERSION,
      sliceBytes: SUITE_SLICE_BYTES,
    });
  return {
    addresses,
    rawTarget: (name) => {
      const index = homeShard(name, n);
      return { address: addresses[index]!, options: { interceptors: [routeInterceptor(routeOf(index))] } };
    },
    splitStats: async () => {
      const held = await Promise.all(
        addresses.map(async (address, i) => {
          const ch = await Channel.open(address, { connectTimeoutMs: 10_000 });
          try {
            ch.setRoute(routeOf(i));
            return (await ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb))).parameters;
          } finally {
            ch.close();
          }
        }),
      );
      const names = new Set<string>();
      const split = new Set<string>();
      for (const info of held.flat()) {
        names.add(info.spec!.name);
        if (info.spec!.part) split.add(info.spec!.name);
      }
      return { parameters: names.size, split: split.size };
    },
    close,
  };
}

/** A client of `target`: one server's address, or every shard's. */
export function connectTarget(target: string | readonly string[]): Promise<ParameterServerClient> {
  return typeof target === 'string'
    ? connect(target, { connectTimeoutMs: 10_000 })
    : connect(target, { connectTimeoutMs: 10_000 });
}
