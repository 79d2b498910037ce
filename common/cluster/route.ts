// route.ts: the routing metadata a cluster client sends with every call, and how both ends
// write it in messages. A shard compares it with what it is (server/rpc/routing.ts) and refuses
// a call meant for another shard, cluster or layout with FAILED_PRECONDITION naming both, so a
// client whose address list is out of order, or built for another cluster or layout, can never
// read or write the wrong part of a parameter (docs/cluster.md, "Routing").
import { LAYOUT_VERSION, MAX_SHARDS } from './placement';

/** The metadata key; its value is formatRoute()'s. */
export const ROUTE_METADATA_KEY = 'gluonps-route';
/** The cluster name of a server started without --cluster (a standalone server is shard 0 of 1 of it). */
export const DEFAULT_CLUSTER = 'default';
/** What a cluster name may be: it travels in metadata and shows in messages. */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Which shard of which cluster, placing parameters by which layout. */
export interface Route {
  cluster: string;
  index: number;
  count: number;
  layoutVersion: number;
  sliceBytes: number;
}

/** `cluster=NAME;shard=I;of=N;layout=V;slice=BYTES` */
export function formatRoute(r: Route): string {
  return `cluster=${r.cluster};shard=${r.index};of=${r.count};layout=${r.layoutVersion};slice=${r.sliceBytes}`;
}

const ROUTE_RE = /^cluster=([A-Za-z0-9._-]{1,64});shard=(\d{1,10});of=(\d{1,10});layout=(\d{1,10});slice=(\d{1,16})$/;

/** The route in a metadata value, or null when the value is not one. */
export function parseRoute(text: string): Route | null {
  const m = ROUTE_RE.exec(text);
  if (m === null) return null;
  const [index, count, layoutVersion, sliceBytes] = [m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (count < 1 || count > MAX_SHARDS || index >= count || !Number.isSafeInteger(sliceBytes) || sliceBytes < 1)
    return null;
  return { cluster: m[1]!, index, count, layoutVersion, sliceBytes };
}

/** `shard 1 of 3 of cluster 'a' (layout 1, slices over 4194304 bytes)`, for messages. */
export function describeRoute(r: Route): string {
  return `shard ${r.index} of ${r.count} of cluster '${r.cluster}' (layout ${r.layoutVersion}, slices over ${r.sliceBytes} bytes)`;
}

/** Why a call routed `got` may not be served by a server that is `self`, or null when it may. */
export function routeMismatch(self: Route, got: Route): string | null {
  const same =
    self.cluster === got.cluster &&
    self.index === got.index &&
    self.count === got.count &&
    self.layoutVersion === got.layoutVersion &&
    self.sliceBytes === got.sliceBytes;
  return same ? null : `this server is ${describeRoute(self)}, but the call was routed for ${describeRoute(got)}`;
}

export { LAYOUT_VERSION };
