// etcd-options.ts: the server's etcd membership options (--etcd, --advertise,
// --etcd-lease-seconds, and for a secured etcd --etcd-ca, --etcd-cert, --etcd-key, --etcd-user,
// --etcd-password-file; docs/configuration.md, docs/cluster.md "Securing etcd"), their flags,
// help lines and checks. Kept apart from config.ts so the membership code (etcd-registration.ts)
// and its options live together; the checks return the message and config.ts throws it as a
// ConfigError. Combinations that cannot work (TLS material for http:// endpoints, a certificate
// without its key, a user without a password) are refused here, before etcd is dialled.
import { ETCD_SECURITY_ARGS, ETCD_SECURITY_VARIABLES } from '../../common/cluster/etcd-security-flags';

/** Register this server as its shard in etcd (docs/cluster.md, "Membership with etcd"). */
export interface EtcdOptions {
  /** etcd client URLs, all `http://host:port` (plaintext) or all `https://host:port` (TLS). */
  endpoints: string[];
  /**
   * host:port clients reach this server at, as registered; default: --host and the bound port
   * (required when --host is a wildcard such as 0.0.0.0).
   */
  advertise?: string;
  /** Time to live of the shard's lease, in seconds (default 10): a killed server's entry goes within it. */
  leaseSeconds?: number;
  /** PEM CA(s) etcd's certificate must chain to (https:// endpoints); default: the system's roots. */
  ca?: Buffer;
  /** PEM client certificate chain, for etcd's --client-cert-auth (https:// endpoints; needs `key`). */
  cert?: Buffer;
  /** PEM private key of `cert`. */
  key?: Buffer;
  /** etcd user (etcd's RBAC); needs `password`. */
  user?: string;
  /** Password of `user`; never logged (from --etcd-password-file on the command line). */
  password?: string;
}

/** The flags of etcd membership, as node:util parseArgs takes them (config.ts spreads them in). */
export const ETCD_ARGS = {
  etcd: { type: 'string' },
  advertise: { type: 'string' },
  'etcd-lease-seconds': { type: 'string' },
  ...ETCD_SECURITY_ARGS,
} as const;

export type EtcdFlag = keyof typeof ETCD_ARGS;

/** Each flag's GLUONPS_* variable. */
const ETCD_VARIABLES: Record<EtcdFlag, string> = {
  etcd: 'GLUONPS_ETCD',
  advertise: 'GLUONPS_ADVERTISE',
  'etcd-lease-seconds': 'GLUONPS_ETCD_LEASE_SECONDS',
  ...ETCD_SECURITY_VARIABLES,
};

/** The flags' lines of the server's --help. */
export const ETCD_USAGE = `  --etcd <urls>              register as this shard in etcd: http:// or https://host:port, comma-separated  GLUONPS_ETCD (default: off)
  --advertise <host:port>    the address registered for clients  GLUONPS_ADVERTISE (default: --host and the port)
  --etcd-lease-seconds <n>   time to live of the shard's etcd lease  GLUONPS_ETCD_LEASE_SECONDS (default 10)
  --etcd-ca <file>           PEM CA(s) https:// etcd's certificate must chain to  GLUONPS_ETCD_CA (default: system's)
  --etcd-cert <file>         PEM client certificate for etcd's --client-cert-auth  GLUONPS_ETCD_CERT
  --etcd-key <file>          PEM private key of --etcd-cert         GLUONPS_ETCD_KEY
  --etcd-user <name>         etcd user (etcd's authentication)     GLUONPS_ETCD_USER
  --etcd-password-file <file>  its password: the file's first line  GLUONPS_ETCD_PASSWORD_FILE`;

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

/**
 * --etcd's list as etcd3 takes it (`http://host:port` or `https://host:port` each; a bare
 * host:port is http), or a message saying what is wrong. One scheme for all: etcd3 uses one
 * kind of credentials for every endpoint.
 */
export function parseEtcdEndpoints(text: string): string[] | string {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) return `--etcd: expected etcd client URLs such as http://127.0.0.1:2379, got '${text}'`;
  const out: string[] = [];
  for (const item of items) {
    const scheme = /^https:\/\//i.test(item) ? 'https' : 'http';
    const bare = item.replace(/^https?:\/\//i, '').replace(/\/$/, '');
    if (hostPort(bare) === null)
      return `--etcd: '${item}' is not an etcd client URL: expected http://host:port, https://host:port or host:port`;
    out.push(`${scheme}://${bare}`);
  }
  if (new Set(out.map(isTls)).size > 1)
    return `--etcd: ${out.join(',')} mixes http:// and https:// endpoints: give all of one kind (all https:// when etcd serves TLS)`;
  return out;
}

const isTls = (url: string): boolean => url.startsWith('https://');

/** --advertise, or a message saying what is wrong. */
export function checkAdvertise(text: string): string | null {
  return hostPort(text) === null
    ? `--advertise: expected the host:port clients reach this server at (port 1-65535), got '${text}'`
    : null;
}

/**
 * The etcd flags (or GLUONPS_* variables; `get` picks one): the options, undefined without
 * --etcd, or a message saying what is wrong. `read` reads a file a flag names (throwing what
 * config.ts throws for an unreadable one).
 */
export function parseEtcdFlags(
  get: (flag: EtcdFlag, variable: string) => string | undefined,
  read: (flag: string, file: string) => Buffer,
): EtcdOptions | undefined | string {
  const v = (flag: EtcdFlag): string | undefined => get(flag, ETCD_VARIABLES[flag]);
  const etcd = v('etcd');
  if (etcd === undefined) {
    const given = (Object.keys(ETCD_ARGS) as EtcdFlag[]).filter((f) => f !== 'etcd' && v(f) !== undefined);
    return given.length === 0
      ? undefined
      : `${given.map((f) => `--${f}`).join(', ')} need${given.length === 1 ? 's' : ''} --etcd: ${given.length === 1 ? 'it describes' : 'they describe'} the etcd registration`;
  }
  const endpoints = parseEtcdEndpoints(etcd);
  if (typeof endpoints === 'string') return endpoints;
  const options: EtcdOptions = { endpoints };
  const advertise = v('advertise');
  if (advertise !== undefined) {
    const refused = checkAdvertise(advertise);
    if (refused !== null) return refused;
    options.advertise = advertise;
  }
  const lease = v('etcd-lease-seconds');
  if (lease !== undefined) {
    const n = Number(lease);
    if (!/^\s*\d+\s*$/.test(lease) || n < 1 || n > MAX_LEASE_SECONDS)
      return `--etcd-lease-seconds: expected an integer from 1 to ${MAX_LEASE_SECONDS}, got '${lease}'`;
    options.leaseSeconds = n;
  }
  const [ca, cert, key] = (['etcd-ca', 'etcd-cert', 'etcd-key'] as const).map((f) => {
    const file = v(f);
    return file === undefined ? undefined : read(`--${f}`, file);
  });
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  const user = v('etcd-user');
  if (user !== undefined) options.user = user;
  const passwordFile = v('etcd-password-file');
  if (passwordFile !== undefined) {
    // The first line, without its line ending: `echo secret > file` writes one.
    const password = read('--etcd-password-file', passwordFile).toString('utf8').split(/\r?\n/)[0]!;
    if (password === '') return `--etcd-password-file: ${passwordFile}: the first line (the password) is empty`;
    options.password = password;
  }
  return securityRefusal(options, 'flags');
}

/**
 * The TLS and authentication fields against each other and the endpoints: the options, or what
 * is wrong, named by flag (`flags`) or by startServer's option field (`fields`).
 */
function securityRefusal<T extends EtcdOptions>(o: T, as: 'flags' | 'fields'): T | string {
  const name = (flag: string, field: string): string => (as === 'flags' ? `--${flag}` : `etcd.${field}`);
  const tls = o.endpoints.every(isTls);
  for (const [flag, field] of [
    ['etcd-ca', 'ca'],
    ['etcd-cert', 'cert'],
    ['etcd-key', 'key'],
  ] as const) {
    if (o[field] === undefined) continue;
    if (as === 'fields' && !Buffer.isBuffer(o[field])) return `${name(flag, field)}: expected a Buffer of PEM bytes`;
    if (!tls)
      return `${name(flag, field)} is TLS material, but the etcd endpoints ${o.endpoints.join(',')} are http://: give https:// endpoints when etcd serves TLS`;
  }
  if (o.cert !== undefined && o.key === undefined)
    return `${name('etcd-cert', 'cert')} needs ${name('etcd-key', 'key')} too: etcd's client certificate needs its private key`;
  if (o.key !== undefined && o.cert === undefined)
    return `${name('etcd-key', 'key')} needs ${name('etcd-cert', 'cert')} too: the private key is of a client certificate`;
  if (as === 'fields')
    for (const field of ['user', 'password'] as const) {
      const x = o[field] as unknown;
      if (x !== undefined && (typeof x !== 'string' || x === ''))
        return `etcd.${field}: expected a non-empty string, got ${typeof x === 'string' ? "''" : typeof x}`;
    }
  if (o.user !== undefined && o.password === undefined)
    return `${name('etcd-user', 'user')} needs ${name('etcd-password-file', 'password')}: etcd authenticates a user by its password`;
  if (o.password !== undefined && o.user === undefined)
    return `${name('etcd-password-file', 'password')} needs ${name('etcd-user', 'user')}: whose password is it?`;
  return o;
}

/** Checks options given in code (startServer({ etcd })): null when fine, else what is wrong. */
export function etcdOptionsRefusal(o: EtcdOptions): string | null {
  if (typeof o !== 'object' || o === null)
    return 'etcd: expected { endpoints, advertise?, leaseSeconds?, ca?, cert?, key?, user?, password? }';
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0)
    return 'etcd.endpoints: expected one or more etcd client URLs';
  for (const e of o.endpoints) {
    const r = typeof e === 'string' ? parseEtcdEndpoints(e) : `etcd.endpoints: expected strings, got ${String(e)}`;
    if (typeof r === 'string') return r;
  }
  const all = parseEtcdEndpoints(o.endpoints.join(','));
  if (typeof all === 'string') return all;
  if (o.advertise !== undefined) {
    const r = typeof o.advertise === 'string' ? checkAdvertise(o.advertise) : '--advertise: expected host:port';
    if (r !== null) return r;
  }
  const ttl = o.leaseSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_SECONDS))
    return `--etcd-lease-seconds: expected an integer from 1 to ${MAX_LEASE_SECONDS}, got ${String(ttl)}`;
  const r = securityRefusal({ ...o, endpoints: all }, 'fields');
  return typeof r === 'string' ? r : null;
}

/** The etcd endpoints with how they are secured, for messages and logs (never the password). */
export function describeEtcd(o: EtcdOptions): string {
  const how = [
    ...(o.ca !== undefined ? ['CA given'] : o.endpoints.every(isTls) ? ["system's CAs"] : []),
    ...(o.cert !== undefined ? ['client certificate'] : []),
    ...(o.user !== undefined ? [`user ${o.user}`] : []),
  ];
  return `${o.endpoints.join(',')}${how.length === 0 ? '' : ` (${how.join(', ')})`}`;
}

/** The address to register: --advertise, or --host with the bound port (null: --host is a wildcard). */
export function advertisedAddress(o: EtcdOptions, host: string, port: number): string | null {
  if (o.advertise !== undefined) return o.advertise;
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '[::]') return null;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
