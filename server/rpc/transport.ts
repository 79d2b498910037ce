// The server's side of the HTTP/2 tuning for tensor traffic: server options and the
// server-side flow-control hack. The numbers (window, message limit) and the client's channel
// options are in common/wire/channel.ts, shared with the client and the benchmark baselines.
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
import { FLOW_CONTROL_WINDOW_BYTES, MAX_MESSAGE_BYTES } from '../../common/wire/channel';

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
    warn(
      'flow control: @grpc/grpc-js Server has no createHttp2Server method (internals changed?); ' +
        'server receive windows stay at 64 KiB and pushes will be slow',
    );
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
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.updateSettings !== 'function' ||
    typeof candidate.on !== 'function'
  ) {
    warn(
      'flow control: grpc-js createHttp2Server no longer returns a Node http2 server; ' +
        'server receive windows stay at 64 KiB',
    );
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
        warn(
          `flow control: setLocalWindowSize failed (${(err as Error).message}); ` +
            'the connection window stays at 64 KiB',
        );
      }
      return;
    }
    onSession?.(session);
  });
}
