// malformed.ts: a request that is not valid protobuf is INVALID_ARGUMENT, not INTERNAL. grpc-js
// answers INTERNAL ("Error deserializing request") when a method's deserializer throws, which
// reads as a server bug. So every method's deserializer is wrapped to return a marker instead,
// and rejectMalformed refuses a call whose request (or any streamed message) is that marker,
// before its handler sees it. Found by the RPC fuzzer (tools/fuzz-rpc.ts).
import * as grpc from '@grpc/grpc-js';
import { invalid } from '../errors';

const MALFORMED = Symbol('gluonps.malformed');

interface Malformed {
  [MALFORMED]: string;
}

function malformedOf(m: unknown): string | null {
  return typeof m === 'object' && m !== null && MALFORMED in m ? (m as Malformed)[MALFORMED] : null;
}

/** A copy of `service` whose request deserializers return a marker instead of throwing. */
export function withSafeDeserializers<S extends grpc.ServiceDefinition>(service: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    const decode = def.requestDeserialize;
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err.message : String(err) } satisfies Malformed;
        }
      },
    };
  }
  return out as S;
}

interface AnyCall {
  request?: unknown;
  push?: (chunk: unknown, encoding?: BufferEncoding) => boolean;
  destroy?: (err?: Error) => unknown;
  emit(event: 'error', value: unknown): boolean;
}

/** Refuses, INVALID_ARGUMENT, a call whose request or streamed message did not decode. */
export function rejectMalformed<T extends object>(service: string, handlers: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (...args: unknown[]) => unknown]>) {
    const what = (detail: string): string =>
      `${service}/${name}: the request is not a valid protobuf message (${detail})`;
    out[name] = (call: AnyCall, callback?: (err: unknown) => void) => {
      const bad = malformedOf(call.request);
      if (bad !== null) {
        const status = { code: grpc.status.INVALID_ARGUMENT, details: what(bad) };
        if (callback) callback(status);
        else call.emit('error', status);
        return undefined;
      }
      if (call.request === undefined && typeof call.push === 'function' && typeof call.destroy === 'function') {
        // A client stream: each message passes through push on its way to the handler.
        const push = call.push.bind(call);
        const destroy = call.destroy.bind(call);
        call.push = (chunk, encoding) => {
          const detail = malformedOf(chunk);
          if (detail === null) return push(chunk, encoding);
          const err = invalid(what(detail));
          destroy(err);
          return false;
        };
      }
      return fn(call, callback);
    };
  }
  return out as T;
}
