// calls.ts: adapters from async functions to grpc-js handlers. They are the one place where
// errors become statuses: a StatusError (ServerError, or a shared validation's) keeps its code and message (and its typed
// reason, as trailing metadata); anything else is logged
// with its detail and reaches the client as INTERNAL with a generic message. They also bound
// stalled streams (StreamBounds): an upload that goes quiet and a read that is not taken.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { exhausted, StatusError } from '../errors';
import { REASON_FIELD_PREFIX, REASON_METADATA_KEY, type ErrorInfo } from '../../common/error-reason';
import { DEFAULT_READ_TIMEOUT_MS, DEFAULT_STREAM_IDLE_TIMEOUT_MS } from '../limits';
import { resetStream } from './stream-reset';
import { memoryError } from '../memory';

/** How long a stream may stall (docs/configuration.md, "Limits"). */
export interface StreamBounds {
  /** An upload (client stream) with no message for this long fails; its staged bytes are freed. */
  idleMs: number;
  /** A streamed read running longer than this fails; the version it pinned is released. */
  readMs: number;
}

export const DEFAULT_STREAM_BOUNDS: StreamBounds = {
  idleMs: DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  readMs: DEFAULT_READ_TIMEOUT_MS,
};

export interface CallContext {
  log: Logger;
  method: string;
  /** Stalled-stream bounds; DEFAULT_STREAM_BOUNDS when absent. */
  bounds?: StreamBounds;
}

/**
 * After a read's status was queued, how long it may wait behind unread messages before the
 * stream is reset: a client that reads nothing never lets the status through.
 */
const RESET_GRACE_MS = 1000;

/**
 * The longest status message sent: it travels in the trailers, one HTTP/2 header, and one that
 * does not fit leaves the call without a status until its deadline. Messages name what a
 * request holds (names, lists), so a hostile request could otherwise make them that large.
 */
export const MAX_DETAILS_CHARS = 4096;

function boundedDetails(message: string): string {
  if (message.length <= MAX_DETAILS_CHARS) return message;
  return `${message.slice(0, MAX_DETAILS_CHARS)}... (${message.length} characters in all)`;
}

/** A typed reason as trailing metadata (common/error-reason.ts): raw gRPC clients read it too. */
function infoMetadata(info: ErrorInfo): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(REASON_METADATA_KEY, info.reason);
  for (const [k, v] of Object.entries(info.fields ?? {})) md.set(`${REASON_FIELD_PREFIX}${k}`, v);
  return md;
}

function toStatus(ctx: CallContext, err: unknown, param: string | undefined): Partial<grpc.StatusObject> {
  if (err instanceof StatusError) {
    // The info line of a failed call is the call observer's (server/observability/call-observer.ts).
    const details = boundedDetails(err.message);
    ctx.log.debug({ method: ctx.method, param, code: grpc.status[err.code], reason: details }, 'status error');
    return err.info === undefined
      ? { code: err.code, details }
      : { code: err.code, details, metadata: infoMetadata(err.info) };
  }
  // Memory is the caller's problem wherever it runs out (the budget, or the allocator): never INTERNAL.
  const memory = memoryError(`${ctx.method}${param === undefined ? '' : ` of '${param}'`}`, err);
  if (memory !== null) return toStatus(ctx, memory, param);
  const e = err as { code?: unknown; message?: unknown };
  // A client that went away mid-call: a cancellation, not a bug.
  if (e?.code === grpc.status.CANCELLED) {
    ctx.log.debug({ method: ctx.method, param }, 'call cancelled');
    return { code: grpc.status.CANCELLED, details: 'cancelled' };
  }
  ctx.log.error({ method: ctx.method, param, err }, 'internal error');
  return { code: grpc.status.INTERNAL, details: `internal error in ${ctx.method}; see the server log` };
}

/** The parameter a request names, for log lines. */
function paramOf(request: unknown): string | undefined {
  const name = (request as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export function unary<Req, Res>(
  ctx: CallContext,
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toStatus(ctx, err, paramOf(call.request))),
      );
  };
}

export function serverStream<Req, Res>(
  ctx: CallContext,
  fn: (request: Req, call: grpc.ServerWritableStream<Req, Res>, signal: AbortSignal) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  const { readMs } = ctx.bounds ?? DEFAULT_STREAM_BOUNDS;
  return (call) => {
    const abort = new AbortController();
    let settled = false;
    let finished = false;
    let timedOut = false;
    // A read that outlives the bound (a client that stopped reading keeps the handler waiting
    // for room forever, pinning the version it reads): the handler is aborted, which releases
    // what it holds, and the call ends RESOURCE_EXHAUSTED.
    //
    // The bound holds after the handler finished too: its last messages may be accepted by the
    // HTTP/2 layer (the write callbacks fire) without the client reading them, and then the
    // status waits behind them for good. Such a call is reset once the bound and a grace passed.
    const timer = setTimeout(() => {
      if (finished) return;
      if (settled) {
        setTimeout(() => {
          if (!finished) resetStream(call, ctx.log);
        }, RESET_GRACE_MS).unref();
        return;
      }
      timedOut = true;
      abort.abort();
    }, readMs);
    timer.unref();
    // grpc-js emits 'cancelled' after every call, finished or not; aborting (which builds a
    // DOMException) only matters while the handler still runs.
    call.on('cancelled', () => {
      finished = true;
      clearTimeout(timer);
      if (!settled) abort.abort();
    });
    fn(call.request, call, abort.signal).then(
      () => {
        settled = true;
        call.end();
      },
      (err: unknown) => {
        settled = true;
        if (timedOut && !finished) {
          const param = paramOf(call.request);
          const status = toStatus(
            ctx,
            exhausted(
              `${ctx.method}${param === undefined ? '' : ` of '${param}'`}: the read took over the limit of ${readMs} ms (--read-timeout-ms raises it); read the stream as it arrives`,
            ),
            param,
          );
          call.emit('error', status);
          // The status waits behind the messages already queued; a client that reads none of
          // them gets the stream reset instead (grpc-js reports that as RESOURCE_EXHAUSTED).
          setTimeout(() => {
            if (!finished) resetStream(call, ctx.log);
          }, RESET_GRACE_MS).unref();
          return;
        }
        if (abort.signal.aborted) return; // the client went away; nothing to tell it
        call.emit('error', toStatus(ctx, err, paramOf(call.request)));
      },
    );
  };
}

export function clientStream<Req, Res>(
  ctx: CallContext,
  fn: (call: grpc.ServerReadableStream<Req, Res>, onName: (name: string) => void) => Promise<Res>,
): grpc.handleClientStreamingCall<Req, Res> {
  const { idleMs } = ctx.bounds ?? DEFAULT_STREAM_BOUNDS;
  return (call, callback) => {
    let param: string | undefined;
    watchIdle(ctx, call, idleMs, () => param);
    fn(call, (name) => (param = name)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toStatus(ctx, err, param)),
    );
  };
}

/**
 * Fails an upload that receives no message for `idleMs`: the stream is destroyed with a
 * RESOURCE_EXHAUSTED error, which the handler's reader rejects with (it then frees its staged
 * tensor and answers that status). Every message and the end of the stream reach the handler
 * through the stream's `push`, so wrapping it sees them without reading (a 'data' listener
 * here would start the stream before the handler listens).
 */
function watchIdle(
  ctx: CallContext,
  call: grpc.ServerReadableStream<unknown, unknown>,
  idleMs: number,
  param: () => string | undefined,
): void {
  const stream = call as unknown as { push(chunk: unknown, encoding?: BufferEncoding): boolean };
  const push = stream.push.bind(call);
  const timer = setTimeout(() => {
    const who = param();
    call.destroy(
      exhausted(
        `${ctx.method}${who === undefined ? '' : ` of '${who}'`}: no message from the client for ${idleMs} ms, the limit (--stream-idle-timeout-ms raises it); the upload was dropped`,
      ),
    );
  }, idleMs);
  const stop = (): void => clearTimeout(timer);
  stream.push = (chunk, encoding) => {
    if (chunk === null) stop();
    else timer.refresh();
    return push(chunk, encoding);
  };
  call.on('cancelled', stop);
  call.on('close', stop);
}
