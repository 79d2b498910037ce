// etcd-options.ts: the server's etcd membership options (--etcd, --advertise,
// --etcd-lease-seconds; docs/configuration.md) and their checks. Kept apart from config.ts so the
// membership code (etcd-registration.ts) and its options live together; the checks return the
// message and config.ts throws it as a ConfigError.

/** Register this server as its shard in etcd (docs/cluster.md, "Membership with etcd"). */
export interface EtcdOptions {
  /** etcd client URLs, `http://host:port` (plaintext; etcd's TLS and authentication are not supported yet). */
  endpoints: string[];
  /**
   * host:port clients reach this server at, as registered; default: --host and the bound port
   * (required when --host is a wildcard such as 0.0.0.0).
   */
  advertise?: string;
  /** Time to live of the shard's lease, in seconds (default 10): a killed server's entry goes within it. */
  leaseSeconds?: number;
}

export const DEFAULT_LEASE_SECONDS = 10;
export const MAX_LEASE_SECONDS = 3600;

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** `host:port` with a port from 1 to 65535, or null. */
function hostPort(text: string): string | null {
  const m = HOST_PORT.exec(text);
  if (m === null) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? text : null;
}

/** --etcd's list as etcd3 takes it (`http://host:port` each), or a message saying what is wrong. */
export function parseEtcdEndpoints(text: string): string[] | string {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) return `--etcd: expected etcd client URLs such as http://127.0.0.1:2379, got '${text}'`;
  const out: string[] = [];
  for (const item of items) {
    if (/^https:\/\//i.test(item))
      return `--etcd: ${item}: TLS to etcd is not supported yet; use an http:// client URL (docs/cluster.md)`;
    const bare = item.replace(/^http:\/\//i, '').replace(/\/$/, '');
    if (hostPort(bare) === null)
      return `--etcd: '${item}' is not an etcd client URL: expected http://host:port or host:port`;
    out.push(`http://${bare}`);
  }
  return out;
}

/** --advertise, or a message saying what is wrong. */
export function checkAdvertise(text: string): string | null {
  return hostPort(text) === null
    ? `--advertise: expected the host:port clients reach this server at (port 1-65535), got '${text}'`
    : null;
}

/**
 * --etcd, --advertise and --etcd-lease-seconds (flags or GLUONPS_* variables): the options,
 * undefined without --etcd, or a message saying what is wrong.
 */
export function parseEtcdFlags(
  etcd: string | undefined,
  advertise: string | undefined,
  lease: string | undefined,
): EtcdOptions | undefined | string {
  if (etcd === undefined)
    return advertise === undefined && lease === undefined
      ? undefined
      : '--advertise and --etcd-lease-seconds need --etcd: they describe the etcd registration';
  const endpoints = parseEtcdEndpoints(etcd);
  if (typeof endpoints === 'string') return endpoints;
  const options: EtcdOptions = { endpoints };
  if (advertise !== undefined) {
    const refused = checkAdvertise(advertise);
    if (refused !== null) return refused;
    options.advertise = advertise;
  }
  if (lease !== undefined) {
    const n = Number(lease);
    if (!/^\s*\d+\s*$/.test(lease) || n < 1 || n > MAX_LEASE_SECONDS)
      return `--etcd-lease-seconds: expected an integer from 1 to ${MAX_LEASE_SECONDS}, got '${lease}'`;
    options.leaseSeconds = n;
  }
  return options;
}

/** Checks options given in code (startServer({ etcd })): null when fine, else what is wrong. */
export function etcdOptionsRefusal(o: EtcdOptions): string | null {
  if (typeof o !== 'object' || o === null) return 'etcd: expected { endpoints, advertise?, leaseSeconds? }';
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0)
    return 'etcd.endpoints: expected one or more etcd client URLs';
  for (const e of o.endpoints) {
    const r = typeof e === 'string' ? parseEtcdEndpoints(e) : `etcd.endpoints: expected strings, got ${String(e)}`;
    if (typeof r === 'string') return r;
  }
  if (o.advertise !== undefined) {
    const r = typeof o.advertise === 'string' ? checkAdvertise(o.advertise) : '--advertise: expected host:port';
    if (r !== null) return r;
  }
  const ttl = o.leaseSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_SECONDS))
    return `--etcd-lease-seconds: expected an integer from 1 to ${MAX_LEASE_SECONDS}, got ${String(ttl)}`;
  return null;
}

/** The address to register: --advertise, or --host with the bound port (null: --host is a wildcard). */
export function advertisedAddress(o: EtcdOptions, host: string, port: number): string | null {
  if (o.advertise !== undefined) return o.advertise;
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '[::]') return null;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
