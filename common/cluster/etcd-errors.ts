// etcd-errors.ts: what an error from a secured etcd means for whoever configured it (docs/cluster.md,
// "Securing etcd"), shared by the server (its --etcd-* flags) and the client (options.etcd), which
// name the settings differently. grpc-js and etcd say "unable to verify the first certificate" or
// "etcdserver: user name is empty"; the hint says which setting to change.

/** How the caller names its settings, e.g. `--etcd-ca` or `options.etcd.ca`. */
export interface EtcdSettingNames {
  ca: string;
  cert: string;
  user: string;
  password: string;
  /** The permission its role needs on the cluster's prefix: a server writes, a client reads. */
  permission: 'read' | 'readwrite';
}

/** What etcd or the TLS layer refused: the TLS handshake, or etcd's authentication. */
export type EtcdRefusal =
  | 'server-certificate'
  | 'client-certificate'
  | 'password'
  | 'no-user'
  | 'permission'
  | 'no-auth';

/** The kind of refusal an error message shows, or null for anything else (unreachable, timeouts). */
export function etcdRefusal(message: string): EtcdRefusal | null {
  if (
    /unable to verify|self[- ]signed|certificate verify failed|unable to get (local )?issuer|altnames|Hostname\/IP does not match/i.test(
      message,
    )
  )
    return 'server-certificate';
  if (/alert bad certificate|certificate required|alert number (42|116)|alert handshake failure/i.test(message))
    return 'client-certificate';
  if (/authentication failed|invalid user ID or password/i.test(message)) return 'password';
  if (/user name is empty/i.test(message)) return 'no-user';
  if (/permission denied/i.test(message)) return 'permission';
  if (/authentication is not enabled/i.test(message)) return 'no-auth';
  return null;
}

/** `message` on one line, with a hint naming the setting to change when the refusal is known. */
export function explainEtcdError(message: string, names: EtcdSettingNames, caGiven: boolean): string {
  const line = message.replace(/\s*\n\s*/g, ' ').replace(/ Resolution note: ?/, ' ');
  const kind = etcdRefusal(line);
  const hint =
    kind === 'server-certificate'
      ? caGiven
        ? `etcd's certificate is not signed by ${names.ca}, or does not name the host dialled`
        : `etcd's certificate is not trusted by the system's CAs: give ${names.ca} with the CA that signed it`
      : kind === 'client-certificate'
        ? `etcd refused the client certificate (it requires one, --client-cert-auth): give ${names.cert} signed by a CA in etcd's --trusted-ca-file`
        : kind === 'password'
          ? `check ${names.user} and ${names.password}`
          : kind === 'no-user'
            ? `etcd has authentication enabled: give ${names.user} and ${names.password}`
            : kind === 'permission'
              ? `${names.user} needs a role with ${names.permission} on the cluster's prefix /gluonps/NAME/ (docs/cluster.md, "Securing etcd")`
              : kind === 'no-auth'
                ? `etcd has authentication disabled: leave out ${names.user}, or enable it (etcdctl auth enable)`
                : null;
  return hint === null ? line : `${line} (${hint})`;
}
