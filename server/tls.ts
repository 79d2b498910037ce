// tls.ts: the server's transport credentials: plaintext, TLS from a PEM certificate and key, or
// mutual TLS when a client CA is given. The PEM material is parsed here so a wrong file fails at
// start-up with a message naming it, instead of in the first handshake or not at all.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from './config';
import type { ServerTlsOptions } from './config';

export type TlsMode = 'off' | 'tls' | 'mutual';

export interface ServerTransport {
  credentials: grpc.ServerCredentials;
  mode: TlsMode;
  /** The server certificate's expiry, or null without TLS. */
  validTo: Date | null;
}

function pem(what: string, value: Buffer | string | undefined): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new ConfigError(`${what}: expected PEM contents as a Buffer or string`);
}

function certificate(what: string, bytes: Buffer): X509Certificate {
  try {
    return new X509Certificate(bytes);
  } catch (err) {
    // A path passed where the contents belong is the likely mistake when embedding.
    throw new ConfigError(
      `${what}: not a PEM certificate (${(err as Error).message}); pass the file's contents, not its path`,
    );
  }
}

export function serverTransport(tls: ServerTlsOptions | null | undefined): ServerTransport {
  if (tls === undefined || tls === null)
    return { credentials: grpc.ServerCredentials.createInsecure(), mode: 'off', validTo: null };
  const cert = pem('TLS certificate (--tls-cert)', tls.cert);
  const key = pem('TLS key (--tls-key)', tls.key);
  const x509 = certificate('TLS certificate (--tls-cert)', cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(`TLS key (--tls-key): not an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError('TLS key (--tls-key) does not belong to the certificate (--tls-cert)');
  let clientCa: Buffer | null = null;
  if (tls.clientCa !== undefined) {
    clientCa = pem('TLS client CA (--tls-client-ca)', tls.clientCa);
    certificate('TLS client CA (--tls-client-ca)', clientCa);
  }
  return {
    credentials: grpc.ServerCredentials.createSsl(
      clientCa,
      [{ private_key: key, cert_chain: cert }],
      clientCa !== null,
    ),
    mode: clientCa === null ? 'tls' : 'mutual',
    validTo: new Date(x509.validTo),
  };
}
