// The routing metadata (common/cluster/route.ts) and a shard's check of it (server/rpc/routing.ts):
// format and parse round-trip, malformed values are no route, and a shard serves exactly the
// calls routed for it (and unrouted ones only when it is the only shard).
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { formatRoute, parseRoute, ROUTE_METADATA_KEY, type Route } from '../../common/cluster/route';
import { routingRefusal } from '../../server/rpc/routing';

const self: Route = { cluster: 'blue', index: 1, count: 3, layoutVersion: 1, sliceBytes: 4096 };

function md(...values: string[]): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const v of values) m.add(ROUTE_METADATA_KEY, v);
  return m;
}

describe('routing metadata', () => {
  it('round-trips, and anything else is no route', () => {
    expect(parseRoute(formatRoute(self))).toEqual(self);
    for (const bad of [
      '',
      'cluster=blue;shard=1;of=3;layout=1',
      'cluster=blue;shard=3;of=3;layout=1;slice=4096', // index past the count
      'cluster=blue;shard=0;of=0;layout=1;slice=4096',
      'cluster=bl ue;shard=0;of=3;layout=1;slice=4096',
      'cluster=blue;shard=0;of=3;layout=1;slice=0',
      `${formatRoute(self)};extra=1`,
    ])
      expect(parseRoute(bad), bad).toBeNull();
  });

  it('a shard serves its own route only; unrouted calls only when it is the only shard', () => {
    expect(routingRefusal(self, md(formatRoute(self)))).toBeNull();
    expect(routingRefusal(self, md(formatRoute({ ...self, index: 2 })))).toBe(
      "this server is shard 1 of 3 of cluster 'blue' (layout 1, slices over 4096 bytes), but the call was routed for shard 2 of 3 of cluster 'blue' (layout 1, slices over 4096 bytes)",
    );
    expect(routingRefusal(self, md())).toMatch(/carries no cluster routing \(gluonps-route metadata\)/);
    expect(routingRefusal({ ...self, index: 0, count: 1 }, md())).toBeNull();
    // Services about the server itself (admin, reflection) serve unrouted calls, not misrouted ones.
    expect(routingRefusal(self, md(), true)).toBeNull();
    expect(routingRefusal(self, md(formatRoute({ ...self, index: 0 })), true)).toMatch(/routed for shard 0 of 3/);
    expect(routingRefusal(self, md('nonsense'))).toMatch(/^malformed gluonps-route metadata/);
    expect(routingRefusal(self, md(formatRoute(self), formatRoute(self)))).toMatch(/^malformed gluonps-route metadata/);
  });
});
