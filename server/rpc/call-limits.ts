// call-limits.ts: limits every call of a service is held to before its handler runs: the size
// of its request metadata and the number of calls in flight on the whole server (HTTP/2 bounds
// the streams of one connection; this bounds all connections together). A refused call is
// RESOURCE_EXHAUSTED naming the limit and its flag, and its handler never runs.
import * as grpc from '@grpc/grpc-js';
import { overLimit } from '../limits';

export interface CallLimits {
  /** Calls in flight at once, every connection together. */
  maxConcurrentCalls: number;
  /** Bytes of one call's request metadata (names plus values). */
  maxMetadataBytes: number;
}

/** Counts calls in flight across every service wrapped with the same counter. */
export class CallCounter {
  inFlight = 0;
}

/** Bytes of a call's metadata as received: every name and every value. */
export function metadataBytes(metadata: grpc.Metadata): number {
  let n = 0;
  for (const [key, value] of Object.entries(metadata.toJSON())) {
    for (const v of value as Array<string | Buffer>)
      n += key.length + (typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  }
  return n;
}

interface AnyCall {
  metadata: grpc.Metadata;
  once(event: 'cancelled', listener: () => void): unknown;
  emit(event: 'error', value: unknown): boolean;
}

/** Wraps every handler of `handlers` with the limits; `counter` is shared by every service. */
export function withCallLimits<T extends object>(
  service: string,
  handlers: T,
  limits: CallLimits,
  counter: CallCounter,
): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (...args: unknown[]) => unknown]>) {
    out[name] = (call: AnyCall, callback?: (err: unknown) => void) => {
      const refuse = (err: Error): undefined => {
        const status = { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message };
        if (callback) callback(status);
        else call.emit('error', status);
        return undefined;
      };
      const bytes = metadataBytes(call.metadata);
      if (bytes > limits.maxMetadataBytes)
        return refuse(
          overLimit(
            `${service}/${name}: request metadata of`,
            `${bytes} bytes`,
            `${limits.maxMetadataBytes} bytes`,
            '--max-metadata-bytes',
          ),
        );
      if (counter.inFlight >= limits.maxConcurrentCalls)
        return refuse(
          overLimit(
            `${service}/${name}: calls in flight`,
            counter.inFlight + 1,
            limits.maxConcurrentCalls,
            '--max-concurrent-calls',
          ),
        );
      counter.inFlight++;
      // grpc-js emits 'cancelled' once at the end of every call, finished or cut.
      call.once('cancelled', () => counter.inFlight--);
      return fn(call, callback);
    };
  }
  return out as T;
}
