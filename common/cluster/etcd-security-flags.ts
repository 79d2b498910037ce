// etcd-security-flags.ts: the flags that reach a secured etcd (docs/cluster.md, "Securing etcd"),
// one table for the server (server/cluster/etcd-options.ts) and the gluonps CLI
// (client/cli/etcd-args.ts), which take them alike: each flag's parseArgs entry and its
// GLUONPS_* variable.

/** parseArgs' entries of the secured-etcd flags. */
export const ETCD_SECURITY_ARGS = {
  'etcd-ca': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'etcd-user': { type: 'string' },
  'etcd-password-file': { type: 'string' },
} as const;

export type EtcdSecurityFlag = keyof typeof ETCD_SECURITY_ARGS;

/** Each flag's GLUONPS_* variable. */
export const ETCD_SECURITY_VARIABLES: Record<EtcdSecurityFlag, string> = {
  'etcd-ca': 'GLUONPS_ETCD_CA',
  'etcd-cert': 'GLUONPS_ETCD_CERT',
  'etcd-key': 'GLUONPS_ETCD_KEY',
  'etcd-user': 'GLUONPS_ETCD_USER',
  'etcd-password-file': 'GLUONPS_ETCD_PASSWORD_FILE',
};
