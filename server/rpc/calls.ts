// calls.ts: adapters from async functions to grpc-js handlers. They are the one place where
// errors become statuses: a StatusError (ServerError, or a shared validation's) keeps its code and message; anything else is logged
// with its detail and reaches the client as INTERNAL with a generic message.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { StatusError } from '../errors';

export interface CallContext {
  log: Logger;
  method: string;
}

function toStatus(ctx: CallContext, err: unknown, param: string | undefined): Partial<grpc.StatusObject> {
  if (err instanceof StatusError) {
    ctx.log.info({ method: ctx.method, param, code: grpc.status[err.code], msg: err.message }, 'call failed');
    return { code: err.code, details: err.message };
  }
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
  return (call) => {
    const abort = new AbortController();
    let settled = false;
    // grpc-js emits 'cancelled' after every call, finished or not; aborting (which builds a
    // DOMException) only matters while the handler still runs.
    call.on('cancelled', () => {
      if (!settled) abort.abort();
    });
    fn(call.request, call, abort.signal).then(
      () => {
        settled = true;
        call.end();
      },
      (err: unknown) => {
        settled = true;
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
  return (call, callback) => {
    let param: string | undefined;
    fn(call, (name) => (param = name)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toStatus(ctx, err, param)),
    );
  };
}
