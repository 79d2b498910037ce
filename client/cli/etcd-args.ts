// etcd-args.ts: the gluonps CLI's `--server etcd://host:port/NAME` (etcds:// for TLS to etcd) and
// the options that reach a secured etcd, the same as the server's: --etcd-ca, --etcd-cert,
// --etcd-key, --etcd-user, --etcd-password-file (docs/cluster.md, "Securing etcd"). The password
// comes from a file (or GLUONPS_ETCD_PASSWORD_FILE), never from the command line, which ps shows.
import { readFileSync } from 'node:fs';
import {
  ETCD_SECURITY_ARGS,
  ETCD_SECURITY_VARIABLES as VARIABLES,
  type EtcdSecurityFlag as EtcdFlag,
} from '../../common/cluster/etcd-security-flags';
import type { EtcdConnectOptions } from '../cluster/etcd-security';

/** parseArgs' entries of the etcd options (the server's own: common/cluster/etcd-security-flags.ts). */
export const ETCD_CLI_OPTIONS = ETCD_SECURITY_ARGS;

export const ETCD_CLI_FLAGS = Object.keys(ETCD_CLI_OPTIONS) as EtcdFlag[];

/** The help lines of the etcd options. */
export const ETCD_CLI_HELP = `  --server etcd://<host:port[,...]>/<name>  a cluster found in etcd (etcds:// for TLS to etcd)
  --etcd-ca <path>          etcds://: the CA etcd's certificate must chain to (PEM)   GLUONPS_ETCD_CA
  --etcd-cert <path>        etcds://: client certificate for etcd (PEM; needs --etcd-key)   GLUONPS_ETCD_CERT
  --etcd-key <path>         its private key (PEM)   GLUONPS_ETCD_KEY
  --etcd-user <name>        etcd user, when etcd has authentication enabled   GLUONPS_ETCD_USER
  --etcd-password-file <path>  its password (the file's first line)   GLUONPS_ETCD_PASSWORD_FILE`;

/** Whether --server names a cluster in etcd rather than host:port addresses. */
export const isEtcdServer = (server: string): boolean => /^etcds?:\/\//.test(server);

/**
 * The etcd options from the flags (or GLUONPS_* variables, only with an etcd:// server), or
 * undefined when none is given; `fail` throws the caller's usage error. connect() checks the
 * combinations (TLS material needs etcds://, a certificate its key, a user its password).
 */
export function etcdOptionsFrom(
  values: Partial<Record<EtcdFlag, string>>,
  env: NodeJS.ProcessEnv,
  server: string,
  fail: (message: string) => never,
): EtcdConnectOptions | undefined {
  const given = ETCD_CLI_FLAGS.filter((f) => values[f] !== undefined);
  if (!isEtcdServer(server)) {
    if (given.length > 0) fail(`--${given[0]} applies to --server etcd://... or etcds://... only`);
    return undefined;
  }
  const pick = (f: EtcdFlag): [string, string] | undefined => {
    const v = values[f] ?? (env[VARIABLES[f]] || undefined);
    return v === undefined ? undefined : [values[f] !== undefined ? `--${f}` : VARIABLES[f], v];
  };
  const read = ([from, file]: [string, string]): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      return fail(`${from}: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`);
    }
  };
  const out: EtcdConnectOptions = {};
  const [ca, cert, key, user, passwordFile] = ETCD_CLI_FLAGS.map(pick);
  if (ca !== undefined) out.ca = read(ca);
  if (cert !== undefined) out.cert = read(cert);
  if (key !== undefined) out.key = read(key);
  if (user !== undefined) out.user = user[1];
  if (passwordFile !== undefined) {
    const password = read(passwordFile).toString('utf8').split(/\r?\n/)[0]!;
    if (password === '') fail(`${passwordFile[0]}: the first line of ${JSON.stringify(passwordFile[1])} is empty`);
    out.password = password;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
