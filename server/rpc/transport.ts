// The one place that tunes HTTP/2 transport for tensor traffic: channel options for clients,
// server options, and the server-side flow-control hack. The product server, the client and
// the benchmark baselines all take their settings from here, so what the benchmark calls
// "tuned raw grpc-js" is exactly what the product runs with.
//
// Why a hack: HTTP/2 lets a receiver have at most `window` unacknowledged bytes in flight per
// stream and per connection; the default is 64 KiB, and on loopback a 64 KiB window caps a
// stream at ~0.2 GB/s because every window refill waits for the receiving event loop.
// grpc-js >= 1.14 raises the CLIENT's receive windows with `grpc-node.flow_control_window`,
// which fixes pulls (server -> client). The SERVER's receive window (client -> server, i.e.
// pushes / set_data) has no grpc-js option: grpc-js builds its http2 server from private
// options that only carry maxConcurrentStreams.
//
// How: grpc-js creates every http2 server (bound ports and connection injectors alike) in one
// private method, `Server.prototype.createHttp2Server(credentials)`. We wrap that method on
// the instance, and on each http2 server it returns we use only public Node APIs:
//   - `http2Server.updateSettings({ initialWindowSize })` raises the per-stream window that
//     every new session advertises in its first SETTINGS frame;
//   - on 'session', `session.setLocalWindowSize(n)` raises the connection window (there is no
//     setting for it; this sends a WINDOW_UPDATE on stream 0), which is what grpc-js itself
//     does on the client side.
// The private touch point is a single method name. It is present in grpc-js 1.10 through 1.14
// (verified on the installed 1.14.7); if a later grpc-js renames it, applyServerFlowControl
// logs a warning and returns false, and the server keeps working at default window sizes.
import type * as grpc from '@grpc/grpc-js';
import type * as http2 from 'node:http2';

/** Largest data payload of one transport message (the chunk size of tensor streams). */
export const MAX_CHUNK_BYTES = 1 << 20;

/**
 * Receive window (bytes) per stream and per connection on both ends. Measured on this 2-core
 * VM, raw grpc-js moving 64 MiB between two plain-node processes in 1 MiB messages, all
 * window sizes interleaved in one run, medians (pull / push GB/s): grpc-js default 64 KiB
 * 0.50 / 0.47; 1 MiB 1.6-1.85 / 1.65-1.9; 4 MiB 1.8-2.0 / 1.4-1.7; 16 MiB 1.6-1.9 / 1.4;
 * 64 MiB 1.7-1.8 / 1.2-1.3. Pulls flatten from 1 MiB up, pushes get worse past it: a bigger
 * window lets the sender queue more frames than the receiving event loop drains. 1 MiB still
 * allows 5 GB/s at 0.2 ms RTT; raise it (both helpers take a size) for high-latency links.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 1 << 20;

/**
 * Largest single gRPC message either end accepts. A message holds at most one 1 MiB chunk
 * plus a header (whose row-id list is bounded by the request that asked for it), so 8 MiB is
 * ample; tensors never depend on this limit because they are chunked.
 */
export const MAX_MESSAGE_BYTES = 8 << 20;

/** Callback for the soft failures of the flow-control hook; defaults to process.emitWarning. */
export type TransportWarn = (message: string) => void;

export interface FlowControlOptions {
  /** Receive window in bytes; defaults to FLOW_CONTROL_WINDOW_BYTES. */
  windowBytes?: number;
  /** Where to report that the hook could not be installed or applied. */
  warn?: TransportWarn;
  /** Called with every new HTTP/2 session after its window was raised (tests, metrics). */
  onSession?: (session: http2.ServerHttp2Session) => void;
}

const defaultWarn: TransportWarn = (message) => {
  process.emitWarning(message, { code: 'GLUONPS_FLOW_CONTROL' });
};

/** Options for `new grpc.Server(...)`; pair it with applyServerFlowControl before binding. */
export function serverOptions(overrides: grpc.ServerOptions = {}): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...overrides,
  };
}

/** Channel options for every client of the server (product client and benchmarks). */
export function clientChannelOptions(
  windowBytes: number = FLOW_CONTROL_WINDOW_BYTES,
  overrides: grpc.ChannelOptions = {},
): grpc.ChannelOptions {
  return {
    // Raises the client's per-stream initial window and its connection window (grpc-js >= 1.14).
    'grpc-node.flow_control_window': windowBytes,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...overrides,
  };
}

type AnyHttp2Server = http2.Http2Server | http2.Http2SecureServer;
type CreateHttp2Server = (this: grpc.Server, credentials: grpc.ServerCredentials) => AnyHttp2Server;

/** The one private member of grpc-js's Server this module touches. */
interface ServerInternals {
  createHttp2Server?: unknown;
}

const patchedServers = new WeakSet<grpc.Server>();

/**
 * Raises the server's HTTP/2 receive windows (per stream and per connection) on every
 * connection `server` accepts from now on. Call it after `new grpc.Server(...)` and BEFORE
 * `bindAsync` / `createConnectionInjector`. Returns whether the hook is installed; on false a
 * warning was emitted and the server runs at grpc-js's default windows. Idempotent.
 */
export function applyServerFlowControl(server: grpc.Server, options: FlowControlOptions = {}): boolean {
  const windowBytes = options.windowBytes ?? FLOW_CONTROL_WINDOW_BYTES;
  const warn = options.warn ?? defaultWarn;
  if (patchedServers.has(server)) return true;
  const internals = server as unknown as ServerInternals;
  const original = internals.createHttp2Server;
  if (typeof original !== 'function') {
    warn('flow control: @grpc/grpc-js Server has no createHttp2Server method (internals changed?); ' +
      'server receive windows stay at 64 KiB and pushes will be slow');
    return false;
  }
  const create = original as CreateHttp2Server;
  internals.createHttp2Server = function wrappedCreateHttp2Server(
    this: grpc.Server,
    credentials: grpc.ServerCredentials,
  ): AnyHttp2Server {
    const http2Server = create.call(this, credentials);
    tuneHttp2Server(http2Server, windowBytes, warn, options.onSession);
    return http2Server;
  };
  patchedServers.add(server);
  return true;
}

/** Applies the windows to one Node http2 server using public Node APIs only. */
function tuneHttp2Server(
  http2Server: unknown,
  windowBytes: number,
  warn: TransportWarn,
  onSession: ((session: http2.ServerHttp2Session) => void) | undefined,
): void {
  const candidate = http2Server as Partial<AnyHttp2Server> | null;
  if (candidate === null || typeof candidate !== 'object' ||
      typeof candidate.updateSettings !== 'function' || typeof candidate.on !== 'function') {
    warn('flow control: grpc-js createHttp2Server no longer returns a Node http2 server; ' +
      'server receive windows stay at 64 KiB');
    return;
  }
  const server = candidate as AnyHttp2Server;
  // initialWindowSize is capped by HTTP/2 at 2^31-1.
  server.updateSettings({ initialWindowSize: Math.min(windowBytes, 2 ** 31 - 1) });
  let warned = false;
  server.on('session', (session: http2.ServerHttp2Session) => {
    if (session.destroyed) return;
    try {
      session.setLocalWindowSize(windowBytes);
    } catch (err) {
      if (!warned) {
        warned = true;
        warn(`flow control: setLocalWindowSize failed (${(err as Error).message}); ` +
          'the connection window stays at 64 KiB');
      }
      return;
    }
    onSession?.(session);
  });
}
