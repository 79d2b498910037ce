// Shared helpers of the integration tier: an in-process server on a free loopback port with a
// connected client, assertions on rejected calls, and small tensor builders.
import { afterAll, beforeAll, expect } from 'vitest';
import { connect } from '../../client/index';
import type { ParameterServerClient, Tensor } from '../../client/index';
import { startServer } from '../../server/index';
import type { RunningServer, ServerOptions } from '../../server/index';

export interface Harness {
  server: RunningServer;
  ps: ParameterServerClient;
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

/** Starts the real server in this process on 127.0.0.1:<free port> and connects a client. */
export async function startHarness(options: ServerOptions = {}): Promise<Harness> {
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
    close: async () => {
      await ps.close();
      await server.close(2000);
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
