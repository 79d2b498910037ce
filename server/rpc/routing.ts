// routing.ts: a shard of a cluster serves only calls routed for it. Cluster clients send
// `gluonps-route` metadata on every call (common/cluster/route.ts); a call routed for another
// shard, cluster or layout is refused with FAILED_PRECONDITION naming both, before its handler
// runs. A shard of N > 1 also refuses calls with no routing at all: it holds only its part of
// the parameters, and a client that does not know it would read parts as wholes; only services
// about the server itself (admin, reflection: `unroutedAllowed`) serve unrouted calls there, for
// operators' tools pointed at one shard. A server that is the only shard (started without
// --num-shards, or with --num-shards 1) serves unrouted calls as it always did.
import * as grpc from '@grpc/grpc-js';
import { describeRoute, parseRoute, ROUTE_METADATA_KEY, routeMismatch, type Route } from '../../common/cluster/route';

interface AnyCall {
  metadata: grpc.Metadata;
  emit(event: 'error', value: unknown): boolean;
}

/** Why a call with `metadata` may not be served by shard `self`, or null when it may. */
export function routingRefusal(self: Route, metadata: grpc.Metadata, unroutedAllowed = false): string | null {
  const values = metadata.get(ROUTE_METADATA_KEY);
  if (values.length === 0) {
    if (self.count === 1 || unroutedAllowed) return null;
    return `this server is ${describeRoute(self)} and holds only its part of the parameters, but the call carries no cluster routing (${ROUTE_METADATA_KEY} metadata): connect() with every shard's address, in shard-index order`;
  }
  const route = values.length === 1 && typeof values[0] === 'string' ? parseRoute(values[0]) : null;
  if (route === null)
    return `malformed ${ROUTE_METADATA_KEY} metadata: expected one value 'cluster=NAME;shard=I;of=N;layout=V;slice=BYTES'`;
  return routeMismatch(self, route);
}

/**
 * Wraps every handler but those in `exempt` so a call routed for another shard (or unrouted, on
 * a shard of N > 1, unless `unroutedAllowed`) is answered FAILED_PRECONDITION with
 * routingRefusal's message.
 */
export function withRouting<T extends object>(
  handlers: T,
  self: Route,
  rules: { exempt: ReadonlySet<string>; unroutedAllowed: boolean },
): T {
  const { exempt, unroutedAllowed } = rules;
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (...args: unknown[]) => unknown]>) {
    if (exempt.has(name)) {
      out[name] = fn;
      continue;
    }
    out[name] = (call: AnyCall, callback?: (err: unknown) => void) => {
      const details = routingRefusal(self, call.metadata, unroutedAllowed);
      if (details === null) return fn(call, callback);
      const refused = { code: grpc.status.FAILED_PRECONDITION, details };
      if (callback) callback(refused);
      else call.emit('error', refused);
      return undefined;
    };
  }
  return out as T;
}
