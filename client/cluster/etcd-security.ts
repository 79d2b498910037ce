// etcd-security.ts: how an etcd:// or etcds:// client reaches a secured etcd (docs/cluster.md,
// "Securing etcd"): `etcds://` means TLS to every endpoint (etcd's certificate checked against
// options.etcd.ca, or the system's roots without one), with a client certificate for etcd's
// --client-cert-auth; options.etcd.user and password authenticate to etcd's RBAC. The checks
// refuse what cannot work before anything is dialled, so a mistake reads as one, not as a timeout.
import { checkKeys } from '../convert';
import { invalidArgument, show } from '../errors';
import type { EtcdSecurity } from './etcd-wire';

/** connect()'s options.etcd: TLS material (PEM bytes) and etcd's user and password. */
export interface EtcdConnectOptions {
  /** CA(s) etcd's certificate must chain to (etcds:// only); default: the system's roots. */
  ca?: Buffer;
  /** Client certificate chain for etcd's --client-cert-auth (etcds:// only; needs `key`). */
  cert?: Buffer;
  /** Private key of `cert`. */
  key?: Buffer;
  /** etcd user (etcd's RBAC, `etcdctl auth enable`); needs `password`. */
  user?: string;
  /** Password of `user`. */
  password?: string;
}

const ETCD_KEYS = ['ca', 'cert', 'key', 'user', 'password'];

/** The checked security of a connection to etcd, for the scheme given (`tls`: etcds://). */
export function etcdSecurity(who: string, url: string, tls: boolean, o: EtcdConnectOptions | undefined): EtcdSecurity {
  if (o === undefined) return tls ? { tls: {} } : {};
  if (typeof o !== 'object' || o === null)
    throw invalidArgument(`${who}: options.etcd must be { ca?, cert?, key?, user?, password? }, got ${show(o)}`);
  checkKeys(`${who}: options.etcd`, o, ETCD_KEYS);
  for (const field of ['ca', 'cert', 'key'] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (!Buffer.isBuffer(v)) throw invalidArgument(`${who}: options.etcd.${field} must be a Buffer of PEM bytes`);
    if (!tls)
      throw invalidArgument(
        `${who}: options.etcd.${field} is TLS material, but ${url} is plaintext: write etcds://... to reach etcd over TLS`,
      );
  }
  if ((o.cert === undefined) !== (o.key === undefined))
    throw invalidArgument(`${who}: options.etcd.cert and options.etcd.key go together (etcd's client certificate)`);
  for (const field of ['user', 'password'] as const) {
    const v = o[field];
    if (v !== undefined && (typeof v !== 'string' || v === ''))
      throw invalidArgument(`${who}: options.etcd.${field} must be a non-empty string`);
  }
  if ((o.user === undefined) !== (o.password === undefined))
    throw invalidArgument(`${who}: options.etcd.user and options.etcd.password go together (etcd's authentication)`);
  const out: EtcdSecurity = {};
  if (tls) {
    out.tls = {};
    if (o.ca !== undefined) out.tls.ca = o.ca;
    if (o.cert !== undefined && o.key !== undefined) {
      out.tls.cert = o.cert;
      out.tls.key = o.key;
    }
  }
  if (o.user !== undefined) {
    out.user = o.user;
    out.password = o.password;
  }
  return out;
}
