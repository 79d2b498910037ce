// Transport baselines for `npm run bench:transport`: the same bytes moved between two
// processes by (1) a raw grpc-js service with identity serializers (Buffer in, Buffer out),
// tuned with the product's own flow-control helpers from server/rpc/transport.ts, and (2) a
// raw Node `net` socket, the loopback ceiling. The server half of each runs in a child
// process (this file with SERVER_FLAG); runIsolated() also moves the client half into a
// child (DRIVER_FLAG) so that both ends run under plain node (see bench/child-process.ts),
// every child with MALLOC_TUNING_ENV and BENCH_NODE_FLAGS.
// Everything binds 127.0.0.1, loops are bounded, and children exit when told or orphaned.
//
// Both baselines land received bytes in a buffer of their own (one copy per chunk), as the
// product must, so the comparison measures transport overhead, not skipped work.
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { FLOW_CONTROL_WINDOW_BYTES, MAX_CHUNK_BYTES, clientChannelOptions } from '../common/wire/channel';
import { applyServerFlowControl, serverOptions } from '../server/rpc/transport';
import { BENCH_NODE_FLAGS, defaultRuntime, exitWithParent, startChild, type ChildRuntime } from './child-process';
import { median } from './measure';

/** This module's own file: the .ts source under tsx, or its bundle under plain node. */
const SELF = fileURLToPath(import.meta.url);
export const SERVER_FLAG = '--transport-baseline-server';
export const DRIVER_FLAG = '--transport-baseline-driver';
const MiB = 1 << 20;
/** Message limit for the unary variant only: a 64 MiB unary message needs it raised. */
const UNARY_LIMIT = 128 * MiB;

// ---------------------------------------------------------------------------------------
// Measurement helpers (exported so the product benchmark measures the same way).

/** Runs `op` (moving `bytes` bytes) warmup + runs times; returns GB/s (1e9 bytes/s) per run. */
export async function measureThroughput(
  op: () => Promise<void>,
  bytes: number,
  runs: number,
  warmup = 2,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await op();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await op();
    out.push(bytes / ((performance.now() - t0) / 1000) / 1e9);
  }
  return out;
}

/** Issues `total` calls keeping `inFlight` outstanding; returns completed calls per second. */
export async function measureRate(call: () => Promise<void>, inFlight: number, total: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return total / ((performance.now() - t0) / 1000);
}

/** Runs measureRate warmup + runs times; returns calls/s per run. */
export async function measureRates(
  call: () => Promise<void>,
  inFlight: number,
  total: number,
  runs: number,
): Promise<number[]> {
  await measureRate(call, inFlight, Math.min(total, 1000));
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await measureRate(call, inFlight, total));
  return out;
}

// ---------------------------------------------------------------------------------------
// Child process plumbing.

type ChildRole = 'grpc' | 'socket';
interface ChildConfig {
  role: ChildRole;
  sizeBytes: number;
  smallBytes: number;
  serverWindow: number | null;
  fresh: boolean;
}

/**
 * Where received bytes land. `fresh` allocates a new buffer per transfer, as the product
 * must (data() hands the caller a buffer it owns; set_data stages the value before swapping
 * it in). Fresh 64 MiB buffers are page-faulted in on first write (THP is madvise-only
 * here), which measured ~35 ms per 64 MiB on this VM, so the reuse mode is also offered to
 * separate the transport from the allocation.
 */
function destinationFactory(fresh: boolean): (size: number) => Buffer {
  let cached: Buffer | null = null;
  return (size) => {
    if (fresh) return Buffer.allocUnsafeSlow(size);
    if (cached === null || cached.length < size) cached = Buffer.allocUnsafeSlow(size);
    return cached.subarray(0, size);
  };
}

interface Child {
  port: number;
  stop(): Promise<void>;
}

/** Starts this file as a server child and resolves once it reports its port. */
async function startServerChild(config: ChildConfig): Promise<Child> {
  const started = await startChild<{ port: number }>(
    SELF,
    [SERVER_FLAG, JSON.stringify(config)],
    undefined,
    undefined,
    BENCH_NODE_FLAGS,
  );
  return { port: started.ready.port, stop: () => started.stop() };
}

export interface BaselineServerOptions {
  sizeBytes?: number;
  smallBytes?: number;
  /** grpc only: server receive window via applyServerFlowControl; null = grpc-js default. */
  serverWindow?: number | null;
  /** Land pushed bytes in a fresh buffer per transfer (default true) or reuse one. */
  fresh?: boolean;
}

/**
 * Starts the server half of a baseline in a child process under plain node (the same child
 * runIsolated's driver starts), for benchmarks that keep one server up across interleaved
 * rounds. `stop()` ends it; it also exits if this process goes away.
 */
export function startBaselineServer(kind: BaselineKind, options: BaselineServerOptions = {}): Promise<Child> {
  return startServerChild({
    role: kind,
    sizeBytes: options.sizeBytes ?? 64 * MiB,
    smallBytes: options.smallBytes ?? 4096,
    serverWindow:
      kind === 'grpc' ? (options.serverWindow === undefined ? FLOW_CONTROL_WINDOW_BYTES : options.serverWindow) : null,
    fresh: options.fresh ?? true,
  });
}

function filled(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) b[i] = i & 0xff;
  return b;
}

// ---------------------------------------------------------------------------------------
// (1) Raw grpc-js with identity serializers.

const identity = (b: Buffer): Buffer => b;
const method = (
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/gluonps.bench.RawTransport/${name}`,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const RAW_SERVICE = {
  Pull: method('Pull', false, true),
  Push: method('Push', true, false),
  PullUnary: method('PullUnary', false, false),
  PushUnary: method('PushUnary', false, false),
  Small: method('Small', false, false),
  SmallStream: method('SmallStream', false, true),
} satisfies grpc.ServiceDefinition;

async function serveGrpc(config: ChildConfig): Promise<number> {
  const payload = filled(config.sizeBytes);
  const small = filled(config.smallBytes);
  const destination = destinationFactory(config.fresh);
  const server = new grpc.Server(
    serverOptions({
      'grpc.max_receive_message_length': UNARY_LIMIT,
      'grpc.max_send_message_length': UNARY_LIMIT,
    }),
  );
  if (config.serverWindow !== null) applyServerFlowControl(server, { windowBytes: config.serverWindow });
  const impl: grpc.UntypedServiceImplementation = {
    Pull: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      void (async () => {
        for (let off = 0; off < payload.length; off += MAX_CHUNK_BYTES) {
          if (!call.write(payload.subarray(off, off + MAX_CHUNK_BYTES))) await once(call, 'drain');
        }
        call.end();
      })().catch(() => call.destroy());
    },
    Push: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      // First message: 8-byte length (the raw stand-in for a header); then chunks.
      let dest: Buffer | null = null;
      let got = 0;
      call.on('data', (m: Buffer) => {
        if (dest === null) dest = destination(Number(m.readBigUInt64LE(0)));
        else {
          dest.set(m, got);
          got += m.length;
        }
      });
      call.on('end', () => cb(null, Buffer.from([dest !== null && got === dest.length ? 1 : 0])));
    },
    PullUnary: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, payload),
    PushUnary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      destination(call.request.length).set(call.request); // land it in a buffer of our own, as the stream path does
      cb(null, Buffer.from([call.request.length === config.sizeBytes ? 1 : 0]));
    },
    Small: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, small),
    SmallStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      call.write(small);
      call.end();
    },
  };
  server.addService(RAW_SERVICE, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  exitWithParent(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return port;
}

export interface RawGrpcOptions {
  sizeBytes?: number;
  runs?: number;
  smallBytes?: number;
  inFlight?: number;
  smallCalls?: number;
  /** Server receive window via applyServerFlowControl; null = grpc-js default (64 KiB). */
  serverWindow?: number | null;
  /** Client receive window via clientChannelOptions; null = grpc-js default (64 KiB). */
  clientWindow?: number | null;
  /** Also time 64 MiB unary calls (needs raised message limits) to compare with streams. */
  unary?: boolean;
  /** Skip the small-call rate. */
  skipSmall?: boolean;
  /** Land each transfer in a fresh buffer (default true, as the product must) or reuse one. */
  fresh?: boolean;
}

export interface RawGrpcResult {
  /** Per-run GB/s of streamed (1 MiB chunk) transfers. */
  pullStreamGbps: number[];
  pushStreamGbps: number[];
  /** Per-run GB/s of one unary message (empty unless options.unary). */
  pullUnaryGbps: number[];
  pushUnaryGbps: number[];
  /** Per-run calls/s returning smallBytes with inFlight outstanding: unary, and server-streaming. */
  smallPerS: number[];
  smallStreamPerS: number[];
  /** Medians of the faster mode per direction, and which mode that was. */
  pullGbps: number;
  pushGbps: number;
  pullMode: 'stream' | 'unary';
  pushMode: 'stream' | 'unary';
  /** Median calls/s of the faster small-call shape, and which it was. */
  smallRpcPerS: number;
  smallMode: 'unary' | 'stream';
}

/** One transfer or call; resolves when it completed and its result was checked. */
export type Op = () => Promise<void>;

export interface RawGrpcClientOptions {
  sizeBytes?: number;
  smallBytes?: number;
  /** Client receive window via clientChannelOptions; null = grpc-js default (64 KiB). */
  clientWindow?: number | null;
  /** Land each pulled transfer in a fresh buffer (default true) or reuse one. */
  fresh?: boolean;
}

/** The client half of baseline (1), connected to a raw grpc server child on `port`. */
export interface RawGrpcClient {
  /** `sizeBytes` in MAX_CHUNK_BYTES messages (server stream / client stream). */
  pullStream: Op;
  pushStream: Op;
  /** `sizeBytes` as one unary message (message limits raised for this variant only). */
  pullUnary: Op;
  pushUnary: Op;
  /** A 16-byte request answered with `smallBytes`: unary, and a one-message server stream. */
  small: Op;
  smallStream: Op;
  close(): void;
}

export function rawGrpcClient(port: number, options: RawGrpcClientOptions = {}): RawGrpcClient {
  const sizeBytes = options.sizeBytes ?? 64 * MiB;
  const smallBytes = options.smallBytes ?? 4096;
  const destination = destinationFactory(options.fresh ?? true);
  const limits = { 'grpc.max_receive_message_length': UNARY_LIMIT, 'grpc.max_send_message_length': UNARY_LIMIT };
  const channel =
    options.clientWindow === null
      ? limits
      : clientChannelOptions(options.clientWindow ?? FLOW_CONTROL_WINDOW_BYTES, limits);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channel);
  const payload = filled(sizeBytes);
  const sizeMsg = Buffer.alloc(8);
  sizeMsg.writeBigUInt64LE(BigInt(sizeBytes));
  const pullStream = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const dest = destination(sizeBytes);
      let got = 0;
      const call = client.makeServerStreamRequest(RAW_SERVICE.Pull.path, identity, identity, sizeMsg);
      call.on('data', (m: Buffer) => {
        dest.set(m, got);
        got += m.length;
      });
      call.on('error', reject);
      call.on('end', () => (got === sizeBytes ? resolve() : reject(new Error(`pull got ${got} bytes`))));
    });
  const pushStream = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const call = client.makeClientStreamRequest(RAW_SERVICE.Push.path, identity, identity, (e, r) =>
        e ? reject(e) : r?.[0] === 1 ? resolve() : reject(new Error('push incomplete')),
      );
      void (async () => {
        call.write(sizeMsg);
        for (let off = 0; off < sizeBytes; off += MAX_CHUNK_BYTES) {
          if (!call.write(payload.subarray(off, off + MAX_CHUNK_BYTES))) await once(call, 'drain');
        }
        call.end();
      })().catch(reject);
    });
  const unary = (path: string, arg: Buffer, check: (r: Buffer) => boolean) => (): Promise<void> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, identity, identity, arg, (e, r) =>
        e ? reject(e) : r !== undefined && check(r) ? resolve() : reject(new Error(`${path} failed`)),
      );
    });
  const request16 = Buffer.alloc(16);
  const smallStream = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let got = 0;
      const call = client.makeServerStreamRequest(RAW_SERVICE.SmallStream.path, identity, identity, request16);
      call.on('data', (m: Buffer) => {
        got += m.length;
      });
      call.on('error', reject);
      call.on('end', () => (got === smallBytes ? resolve() : reject(new Error('small stream incomplete'))));
    });
  return {
    pullStream,
    pushStream,
    pullUnary: unary(RAW_SERVICE.PullUnary.path, sizeMsg, (r) => {
      destination(r.length).set(r); // land it in a buffer of our own, as the stream path does
      return r.length === sizeBytes;
    }),
    pushUnary: unary(RAW_SERVICE.PushUnary.path, payload, (r) => r[0] === 1),
    small: unary(RAW_SERVICE.Small.path, request16, (r) => r.length === smallBytes),
    smallStream,
    close: () => client.close(),
  };
}

/** Baseline (1): raw grpc-js, server in a child process, windows raised by the product's helpers. */
export async function runRawGrpcBaseline(options: RawGrpcOptions = {}): Promise<RawGrpcResult> {
  const sizeBytes = options.sizeBytes ?? 64 * MiB;
  const runs = options.runs ?? 7;
  const smallBytes = options.smallBytes ?? 4096;
  const fresh = options.fresh ?? true;
  const child = await startBaselineServer('grpc', { sizeBytes, smallBytes, serverWindow: options.serverWindow, fresh });
  let client: RawGrpcClient | null = null;
  try {
    client = rawGrpcClient(child.port, { sizeBytes, smallBytes, clientWindow: options.clientWindow, fresh });
    const pullStreamGbps = await measureThroughput(client.pullStream, sizeBytes, runs);
    const pushStreamGbps = await measureThroughput(client.pushStream, sizeBytes, runs);
    const pullUnaryGbps = options.unary === true ? await measureThroughput(client.pullUnary, sizeBytes, runs) : [];
    const pushUnaryGbps = options.unary === true ? await measureThroughput(client.pushUnary, sizeBytes, runs) : [];
    const rateRuns = Math.max(3, Math.min(runs, 5));
    const inFlight = options.inFlight ?? 64;
    const smallCalls = options.smallCalls ?? 20_000;
    const smallPerS =
      options.skipSmall === true ? [] : await measureRates(client.small, inFlight, smallCalls, rateRuns);
    const smallStreamPerS =
      options.skipSmall === true ? [] : await measureRates(client.smallStream, inFlight, smallCalls, rateRuns);
    const pick = (stream: number[], un: number[]): [number, 'stream' | 'unary'] =>
      un.length > 0 && median(un) > median(stream) ? [median(un), 'unary'] : [median(stream), 'stream'];
    const [pullGbps, pullMode] = pick(pullStreamGbps, pullUnaryGbps);
    const [pushGbps, pushMode] = pick(pushStreamGbps, pushUnaryGbps);
    const smallMode = smallStreamPerS.length > 0 && median(smallStreamPerS) > median(smallPerS) ? 'stream' : 'unary';
    return {
      pullStreamGbps,
      pushStreamGbps,
      pullUnaryGbps,
      pushUnaryGbps,
      smallPerS,
      smallStreamPerS,
      pullGbps,
      pushGbps,
      pullMode,
      pushMode,
      smallRpcPerS: median(smallMode === 'stream' ? smallStreamPerS : smallPerS),
      smallMode,
    };
  } finally {
    client?.close();
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------
// (2) Raw TCP socket: the loopback ceiling.

async function serveSocket(config: ChildConfig): Promise<number> {
  const payload = filled(config.sizeBytes);
  const destination = destinationFactory(config.fresh);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    // Request: 1 byte op ('P' pull / 'U' push) + u64 size; a push's bytes follow.
    let pending = Buffer.alloc(0);
    let pushDest: Buffer | null = null;
    let got = 0;
    socket.on('data', (data: Buffer) => {
      let buf = data;
      while (buf.length > 0) {
        if (pushDest !== null) {
          const take = Math.min(buf.length, pushDest.length - got);
          pushDest.set(buf.subarray(0, take), got);
          got += take;
          buf = buf.subarray(take);
          if (got === pushDest.length) {
            pushDest = null;
            socket.write('K');
          }
          continue;
        }
        pending = Buffer.concat([pending, buf]);
        buf = Buffer.alloc(0);
        if (pending.length < 9) break;
        const op = String.fromCharCode(pending[0] as number);
        const size = Number(pending.readBigUInt64LE(1));
        buf = pending.subarray(9);
        pending = Buffer.alloc(0);
        if (op === 'P') socket.write(payload.subarray(0, size));
        else {
          pushDest = destination(size);
          got = 0;
          if (size === 0) {
            pushDest = null;
            socket.write('K');
          }
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  exitWithParent(() => {
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

export interface RawSocketResult {
  pullGbps: number[];
  pushGbps: number[];
  /** Median over both directions' runs. */
  socketGbps: number;
}

/** The client half of baseline (2): one TCP connection to a raw socket server child. */
export interface RawSocketClient {
  pull: Op;
  push: Op;
  close(): void;
}

export async function rawSocketClient(
  port: number,
  options: { sizeBytes?: number; fresh?: boolean } = {},
): Promise<RawSocketClient> {
  const sizeBytes = options.sizeBytes ?? 64 * MiB;
  const destination = destinationFactory(options.fresh ?? true);
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const payload = filled(sizeBytes);
  const request = (op: 'P' | 'U'): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = op.charCodeAt(0);
    b.writeBigUInt64LE(BigInt(sizeBytes), 1);
    return b;
  };
  const pull = (): Promise<void> =>
    new Promise((resolve) => {
      const dest = destination(sizeBytes);
      let got = 0;
      const onData = (d: Buffer): void => {
        dest.set(d, got);
        got += d.length;
        if (got >= sizeBytes) {
          socket.removeListener('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(request('P'));
    });
  const push = (): Promise<void> =>
    new Promise((resolve) => {
      socket.once('data', () => resolve());
      socket.write(request('U'));
      socket.write(payload);
    });
  return { pull, push, close: () => socket.destroy() };
}

/** Baseline (2): one TCP connection between two processes, 64 MiB each way. */
export async function runRawSocketBaseline(
  options: { sizeBytes?: number; runs?: number; fresh?: boolean } = {},
): Promise<RawSocketResult> {
  const sizeBytes = options.sizeBytes ?? 64 * MiB;
  const runs = options.runs ?? 7;
  const fresh = options.fresh ?? true;
  const child = await startBaselineServer('socket', { sizeBytes, smallBytes: 0, fresh });
  let client: RawSocketClient | null = null;
  try {
    client = await rawSocketClient(child.port, { sizeBytes, fresh });
    const pullGbps = await measureThroughput(client.pull, sizeBytes, runs);
    const pushGbps = await measureThroughput(client.push, sizeBytes, runs);
    return { pullGbps, pushGbps, socketGbps: median([...pullGbps, ...pushGbps]) };
  } finally {
    client?.close();
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Isolated runs and the child entry point.

export type BaselineKind = 'grpc' | 'socket';
type BaselineOptions<K extends BaselineKind> = K extends 'grpc'
  ? RawGrpcOptions
  : { sizeBytes?: number; runs?: number; fresh?: boolean };
type BaselineResult<K extends BaselineKind> = K extends 'grpc' ? RawGrpcResult : RawSocketResult;

/**
 * Runs a baseline with its client in a child process as well (the calling process only
 * waits), so both ends run under `runtime` (plain node from a bundle by default).
 */
export async function runIsolated<K extends BaselineKind>(
  kind: K,
  options: BaselineOptions<K>,
  runtime: ChildRuntime = defaultRuntime(),
): Promise<BaselineResult<K>> {
  const driver = await startChild<{ result?: BaselineResult<K>; error?: string }>(
    SELF,
    [DRIVER_FLAG, JSON.stringify({ kind, options })],
    runtime,
    10 * 60_000,
    BENCH_NODE_FLAGS,
  );
  await driver.stop();
  if (driver.ready.result === undefined)
    throw new Error(`baseline ${kind} failed: ${driver.ready.error ?? 'no result'}`);
  return driver.ready.result;
}

async function drive(task: { kind: BaselineKind; options: RawGrpcOptions }): Promise<RawGrpcResult | RawSocketResult> {
  return task.kind === 'grpc' ? runRawGrpcBaseline(task.options) : runRawSocketBaseline(task.options);
}

if (process.argv[2] === SERVER_FLAG) {
  const config = JSON.parse(process.argv[3] ?? '{}') as ChildConfig;
  const start = config.role === 'grpc' ? serveGrpc(config) : serveSocket(config);
  start.then(
    (port) => process.send?.({ port }),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (process.argv[2] === DRIVER_FLAG) {
  exitWithParent();
  drive(JSON.parse(process.argv[3] ?? '{}') as { kind: BaselineKind; options: RawGrpcOptions }).then(
    (result) => process.send?.({ result }),
    (err: unknown) => process.send?.({ error: String(err) }),
  );
}
