// call-observer.ts: the one grpc-js server interceptor every call of every service passes
// through (the gluonps services, health, reflection): it counts the call into the
// go-grpc-prometheus series (grpc-metrics.ts) when metrics are on, gives it a request id (the
// client's `x-request-id`, or a new one) that is echoed in the trailing metadata, and writes the
// one log line of a call that failed or took at least --slow-call-ms: method, parameter or
// trainer, worker, status, duration, bytes, request id.
//
// Why an interceptor and not one more wrapper in server/index.ts guard(): it sees the status the
// client actually gets, whoever produced it (a handler, the auth or limit wrappers, grpc-js's own
// deadline, a cancellation), for health and reflection too, and it adds the trailer in one place
// for every kind of call. Per message it does a counter increment and, for tensor chunks, adds
// the chunk's length: nothing is allocated per chunk here.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GrpcMetrics, MethodSeries } from './grpc-metrics';
import { grpcTypeOf } from './grpc-metrics';

export const REQUEST_ID_KEY = 'x-request-id';
/** A client's request id is used as it is when it is 1-128 visible ASCII characters. */
const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** Longest status message quoted in a log line. */
const MAX_LOGGED_DETAILS = 300;

export interface CallObserverOptions {
  log: Logger;
  /** Calls taking at least this long are logged even when they succeed (0: every call). */
  slowCallMs: number;
  /** The gRPC series, or null when metrics are off. */
  metrics: GrpcMetrics | null;
}

/** A series nobody exports: the target of the counters when metrics are off. */
function unexported(path: string): MethodSeries {
  const slash = path.lastIndexOf('/');
  const v = (): { value: number } => ({ value: 0 });
  return {
    service: path.slice(1, slash),
    method: path.slice(slash + 1),
    started: v(),
    handled: Array.from({ length: 17 }, v),
    seconds: { observe: () => undefined } as unknown as MethodSeries['seconds'],
    received: v(),
    sent: v(),
    bytesIn: v(),
    bytesOut: v(),
  };
}

/** What one call did, filled in as it runs. */
class ObservedCall {
  readonly start = performance.now();
  requestId = '';
  param: string | undefined = undefined;
  trainer: string | undefined = undefined;
  worker: number | undefined = undefined;
  received = 0;
  sent = 0;
  bytesIn = 0;
  bytesOut = 0;
  done = false;

  constructor(readonly series: MethodSeries) {}

  /** Names the call's subject from its first message (every request names it in the same fields). */
  describe(m: Record<string, unknown>, trainerService: boolean): void {
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    this.param = str(m.param) ?? (trainerService ? undefined : str(m.name));
    this.trainer = str(m.trainer) ?? (trainerService ? str(m.name) : undefined);
    const key = m.key as { workerId?: unknown } | null | undefined;
    const worker = key?.workerId ?? m.workerId;
    if (typeof worker === 'number') this.worker = worker;
  }
}

function requestIdOf(metadata: grpc.Metadata): string {
  const v = metadata.get(REQUEST_ID_KEY);
  const first = v.length === 1 ? v[0] : undefined;
  return typeof first === 'string' && VALID_REQUEST_ID.test(first) ? first : randomUUID();
}

/** Whether the call's deadline has passed (grpc-js answers DEADLINE_EXCEEDED without the interceptors). */
function pastDeadline(call: grpc.ServerInterceptingCallInterface): boolean {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) && ms <= Date.now();
}

export function callObserver(options: CallObserverOptions): grpc.ServerInterceptor {
  const { log, slowCallMs, metrics } = options;
  const quiet = new Map<string, MethodSeries>();
  const seriesOf = (path: string, def: grpc.ServerMethodDefinition<unknown, unknown>): MethodSeries => {
    if (metrics !== null) return metrics.series(path, grpcTypeOf(def));
    let s = quiet.get(path);
    if (s === undefined) quiet.set(path, (s = unexported(path)));
    return s;
  };

  const finish = (rec: ObservedCall, code: number, details: string | undefined, peer: () => string): void => {
    if (rec.done) return;
    rec.done = true;
    const s = rec.series;
    const seconds = (performance.now() - rec.start) / 1000;
    (s.handled[code] ?? s.handled[grpc.status.UNKNOWN]!).value++;
    s.seconds.observe(seconds);
    s.received.value += rec.received;
    s.sent.value += rec.sent;
    s.bytesIn.value += rec.bytesIn;
    s.bytesOut.value += rec.bytesOut;
    const ms = seconds * 1000;
    const failed = code !== grpc.status.OK;
    if (!failed && ms < slowCallMs) return;
    const fields = {
      requestId: rec.requestId,
      grpcService: s.service.slice(s.service.lastIndexOf('.') + 1),
      method: s.method,
      param: rec.param,
      trainer: rec.trainer,
      worker: rec.worker,
      code: grpc.status[code] ?? String(code),
      ms: Math.round(ms * 10) / 10,
      bytesReceived: rec.bytesIn,
      bytesSent: rec.bytesOut,
      peer: peer(),
      details: failed && details !== undefined ? details.slice(0, MAX_LOGGED_DETAILS) : undefined,
    };
    if (!failed) log.warn(fields, 'slow call');
    // A client that went away is routine (a closed watch, a cancelled read) unless it was slow.
    else if (code === grpc.status.CANCELLED && ms < slowCallMs) log.debug(fields, 'call failed');
    else log.info({ ...fields, slow: ms >= slowCallMs || undefined }, 'call failed');
  };

  return (def, call) => {
    const rec = new ObservedCall(seriesOf(def.path, def));
    rec.series.started.value++;
    const trainerService = rec.series.service.endsWith('.TrainerService');
    const peer = (): string => call.getPeer();
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, next) => {
            rec.requestId = requestIdOf(metadata);
            next(metadata);
          },
          onReceiveMessage: (message: Record<string, unknown> | null, next) => {
            if (rec.received++ === 0 && message !== null && typeof message === 'object')
              rec.describe(message, trainerService);
            const chunk = message?.chunk as Uint8Array | undefined;
            if (chunk !== undefined) rec.bytesIn += chunk.byteLength;
            next(message);
          },
          onCancel: () => {
            finish(rec, pastDeadline(call) ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED, undefined, peer);
          },
        }),
      sendMessage: (message: Record<string, unknown> | null, next) => {
        rec.sent++;
        const chunk = message?.chunk as Uint8Array | undefined;
        if (chunk !== undefined) rec.bytesOut += chunk.byteLength;
        next(message);
      },
      sendStatus: (status, next) => {
        finish(rec, status.code, status.details, peer);
        const metadata = status.metadata ?? new grpc.Metadata();
        metadata.set(REQUEST_ID_KEY, rec.requestId);
        next({ ...status, metadata });
      },
    });
  };
}
