// connect(): one server at 'host:port', or a cluster from every shard's address in shard-index
// order, or from etcd ('etcd://host:port/NAME') (docs/cluster.md). Apart from client.ts so
// that the cluster client, a subclass of the single server's, can import it without a cycle.
import { Channel, type ConnectOptions } from './channel';
import { ParameterServerClient } from './client';
import { ClusterClient } from './cluster/client';
import { ETCD_SCHEME, ETCDS_SCHEME, openFromEtcd, type EtcdClusterConnectOptions } from './cluster/etcd-membership';
import { Shards, type ClusterConnectOptions } from './cluster/shards';

/**
 * Connects to a cluster found in etcd: `etcd://host:port[,host:port]/NAME` reads cluster NAME's
 * layout and members, opens every shard, and follows the members (a shard that registers at
 * another address is reached there). Fails UNAVAILABLE naming the shards not registered within
 * connectTimeoutMs (docs/cluster.md, "Membership with etcd"). `etcds://` reaches etcd over TLS;
 * options.etcd gives its CA, a client certificate, and etcd's user and password ("Securing etcd");
 * etcd refusing them fails UNAUTHENTICATED (or PERMISSION_DENIED) naming etcd.
 */
export async function connect(
  target: `etcd://${string}` | `etcds://${string}`,
  options?: EtcdClusterConnectOptions,
): Promise<ParameterServerClient>;
/**
 * Opens a channel to a gluon-ps server at `address` (host:port) and waits until it is ready,
 * so a wrong address or a server that is down fails here (UNAVAILABLE naming the address)
 * rather than on the first call.
 */
export async function connect(address: string, options?: ConnectOptions): Promise<ParameterServerClient>;
/**
 * Connects to a cluster: every shard's address, in shard-index order. Each shard must say it is
 * shard i of addresses.length of one cluster (options.cluster when given) with one layout, or
 * this fails FAILED_PRECONDITION naming the shard; an unreachable shard fails it UNAVAILABLE
 * naming the shard. The client answers every method as one server would (docs/cluster.md).
 */
export async function connect(
  addresses: readonly string[],
  options?: ClusterConnectOptions,
): Promise<ParameterServerClient>;
export async function connect(
  target: string | readonly string[],
  options: EtcdClusterConnectOptions = {},
): Promise<ParameterServerClient> {
  if (Array.isArray(target)) return new ClusterClient(await Shards.open(target, options));
  if (typeof target === 'string' && (target.startsWith(ETCD_SCHEME) || target.startsWith(ETCDS_SCHEME)))
    return new ClusterClient(await openFromEtcd(target, options));
  return new ParameterServerClient(await Channel.open(target as string, options));
}
