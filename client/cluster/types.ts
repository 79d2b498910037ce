// types.ts: what ps.cluster() says about a cluster (or a single server, a cluster of one).
// Kept apart so the single-server client can name the type without importing the cluster code.

/** One shard as ps.cluster() sees it. */
export interface ShardDescription {
  index: number;
  address: string;
  /** It answered and serves calls (false: down, unreachable, recovering, or its log failed). */
  serving: boolean;
  /** Why it did not answer, when it did not. */
  error?: string;
  /**
   * How many times its index has been claimed in etcd, this run included (etcd:// clients only;
   * a restarted shard's is one more than before).
   */
  incarnation?: number;
}

/** What ps.cluster() resolves to. */
export interface ClusterDescription {
  /** The cluster's name ('default' unless its servers were started with --cluster). */
  cluster: string;
  /** How parameters are placed: the rules' version, the shard count, the slice size. */
  layout: { version: number; shards: number; sliceBytes: number };
  /** Every shard, in index order. */
  shards: ShardDescription[];
}
