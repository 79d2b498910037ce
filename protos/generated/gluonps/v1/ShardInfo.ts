// Original file: protos/gluonps/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Which shard of which cluster a server is, and the layout its clients place parameters by
 * (docs/cluster.md). A server started without --num-shards is shard 0 of 1.
 */
export interface ShardInfo {
  /**
   * Name of the cluster ("default" unless --cluster names one).
   */
  'cluster'?: (string);
  /**
   * This server's index: 0 <= shard_index < num_shards.
   */
  'shardIndex'?: (number);
  /**
   * Shards in the cluster.
   */
  'numShards'?: (number);
  /**
   * Version of the placement rules (common/cluster/placement.ts, LAYOUT_VERSION).
   */
  'layoutVersion'?: (number);
  /**
   * Dense tensors over this many bytes are sliced over the shards (--slice-bytes).
   */
  'sliceBytes'?: (number | string | Long);
  /**
   * Whether the server serves calls now (false while it recovers its data dir, or after its
   * write-ahead log failed).
   */
  'serving'?: (boolean);
  /**
   * The highest declaration order this server assigned (ParameterInfo.order): a cluster client
   * declares above every shard's, so its parameters list after those declared before it connected.
   */
  'declareClock'?: (number | string | Long);
}

/**
 * Which shard of which cluster a server is, and the layout its clients place parameters by
 * (docs/cluster.md). A server started without --num-shards is shard 0 of 1.
 */
export interface ShardInfo__Output {
  /**
   * Name of the cluster ("default" unless --cluster names one).
   */
  'cluster': (string);
  /**
   * This server's index: 0 <= shard_index < num_shards.
   */
  'shardIndex': (number);
  /**
   * Shards in the cluster.
   */
  'numShards': (number);
  /**
   * Version of the placement rules (common/cluster/placement.ts, LAYOUT_VERSION).
   */
  'layoutVersion': (number);
  /**
   * Dense tensors over this many bytes are sliced over the shards (--slice-bytes).
   */
  'sliceBytes': (number);
  /**
   * Whether the server serves calls now (false while it recovers its data dir, or after its
   * write-ahead log failed).
   */
  'serving': (boolean);
  /**
   * The highest declaration order this server assigned (ParameterInfo.order): a cluster client
   * declares above every shard's, so its parameters list after those declared before it connected.
   */
  'declareClock': (number);
}
