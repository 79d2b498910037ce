// Shared helpers of the integration tier: an in-process server on a free loopback port with a
// connected client (or, in the `cluster` project, a cluster of shard processes: suite-target.ts),
// assertions on rejected calls, and small tensor builders.
import { afterAll, beforeAll, expect } from 'vitest';
import { connect } from '../../client/index';
import type { ParameterServerClient, Tensor } from '../../client/index';
import { startServer } from '../../server/index';
import type { RunningServer, ServerOptions } from '../../server/index';
import { connectTarget, onCluster, startSuiteCluster, type RawTarget } from './suite-target';

export interface Harness {
  /** The in-process server; on a cluster there is none, and reading this throws. */
  readonly server: RunningServer;
  ps: ParameterServerClient;
  /** What connect() takes to reach it: the server's address, or every shard's. */
  target: string | string[];
  /** Another client of the same server or cluster (the caller closes it). */
  connect(): Promise<ParameterServerClient>;
  /** Where a raw stub reaches parameter `name` (on a cluster: its home shard, so only for one placed whole). */
  rawTarget(name: string): RawTarget;
  /** Closes the client, then the server. */
  close(): Promise<void>;
}

/** startHarness() in beforeAll (handed to onReady) and its close() in afterAll, for a test file. */
export function useHarness(onReady: (h: Harness) => void, options: ServerOptions = {}): void {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startHarness(options);
    onReady(h);
  });
  afterAll(async () => {
    await h?.close();
  });
}

/**
 * Starts the real server in this process on 127.0.0.1:<free port> and connects a client; on a
 * cluster (GLUONPS_TEST_CLUSTER), starts the shard processes and connects a cluster client.
 */
export async function startHarness(options: ServerOptions = {}): Promise<Harness> {
  if (onCluster) return startClusterHarness(options);
  const server = await startServer({ port: 0, logLevel: 'silent', ...options });
  let ps: ParameterServerClient;
  try {
    ps = await connect(server.address, { connectTimeoutMs: 5000 });
  } catch (err) {
    await server.close(1000);
    throw err;
  }
  return {
    server,
    ps,
    target: server.address,
    connect: () => connectTarget(server.address),
    rawTarget: () => ({ address: server.address, options: {} }),
    close: async () => {
      await ps.close();
      await server.close(2000);
    },
  };
}

async function startClusterHarness(options: ServerOptions): Promise<Harness> {
  const cluster = await startSuiteCluster(options);
  let ps: ParameterServerClient;
  try {
    ps = await connectTarget(cluster.addresses);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return {
    get server(): RunningServer {
      throw new Error('harness.server: the suite runs against a cluster (mark the case singleServerOnly)');
    },
    ps,
    target: cluster.addresses,
    connect: () => connectTarget(cluster.addresses),
    rawTarget: (name) => cluster.rawTarget(name),
    close: async () => {
      try {
        // What the cluster run covered: a file whose parameters all stayed whole tested little new.
        const { parameters, split } = await cluster.splitStats();
        console.log(`cluster run: ${split} of ${parameters} parameters split over ${cluster.addresses.length} shards`);
      } finally {
        await ps.close();
        await cluster.close();
      }
    },
  };
}

/** The call rejects with an Error carrying numeric gRPC `code` and a message matching `message`. */
export async function rejectsWith(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  // The code is a number (the gRPC status), not a string name.
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(typeof (err as { code: unknown }).code).toBe('number');
}

export const f32 = (shape: number[], values: ArrayLike<number>): Tensor<'float32'> => ({
  shape,
  dtype: 'float32',
  data: Float32Array.from(values),
});
export const f64 = (shape: number[], values: ArrayLike<number>): Tensor<'float64'> => ({
  shape,
  dtype: 'float64',
  data: Float64Array.from(values),
});

/** Numbers of a read tensor (int64 as numbers), for comparisons. */
export function numbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** 0, 1, 2, ... n-1 (optionally scaled and offset). */
export function iota(n: number, scale = 1, offset = 0): number[] {
  return Array.from({ length: n }, (_, i) => i * scale + offset);
}

/** Byte view of a tensor's data, for byte-exact comparisons. */
export function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
