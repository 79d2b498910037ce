// auth.ts: bearer-token authentication of the gluon-ps services. With tokens configured, every
// call but health checks must carry `authorization: Bearer <token>` naming one of them
// (UNAUTHENTICATED otherwise); read-only tokens may call only READ_METHODS (PERMISSION_DENIED
// otherwise). Also the start-up warnings about a server exposed without protection.
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { checkTokens, ConfigError } from './config';
import type { AuthOptions } from './config';
import type { TlsMode } from './tls';

/**
 * Methods a read-only token may call, per service: those that change nothing. Anything not
 * listed, a method added later included, needs a full-access token, so a forgotten entry
 * fails closed. AdminService has none: a checkpoint writes to disk and admin is for operators.
 */
export const READ_METHODS: Readonly<Record<string, ReadonlySet<string>>> = {
  ParameterService: new Set([
    'Get',
    'List',
    'Describe',
    'Data',
    'ListData',
    'Grad',
    'ListGrad',
    'ListCtx',
    'RowSparseData',
    'ListRowSparseData',
    'Var',
  ]),
  // SaveStates streams a snapshot of the optimizer states and changes nothing.
  TrainerService: new Set(['DescribeTrainer', 'SaveStates']),
  AdminService: new Set(),
  // gRPC server reflection (--reflection): describes the services, changes nothing.
  ServerReflection: new Set(['ServerReflectionInfo']),
};

export type Role = 'full' | 'read-only';

interface Refusal {
  code: grpc.status;
  details: string;
}

const MISSING: Refusal = {
  code: grpc.status.UNAUTHENTICATED,
  details: 'missing bearer token: this server requires `authorization: Bearer <token>` metadata',
};
const MALFORMED: Refusal = {
  code: grpc.status.UNAUTHENTICATED,
  details: 'malformed authorization metadata: expected one `authorization: Bearer <token>` value',
};
const UNKNOWN: Refusal = { code: grpc.status.UNAUTHENTICATED, details: 'unknown bearer token' };
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

// Digests have one length whatever the token's, which timingSafeEqual needs, and comparing
// them does not reveal how much of a token matched.
const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export class Authenticator {
  private constructor(private readonly keys: ReadonlyArray<{ digest: Buffer; role: Role }>) {}

  /** Checks the configured tokens; null when there is none (authentication off). */
  static create(options: AuthOptions | undefined): Authenticator | null {
    const full = options?.tokens ?? [];
    const readOnly = options?.readOnlyTokens ?? [];
    checkTokens('auth.tokens', full);
    checkTokens('auth.readOnlyTokens', readOnly);
    if (full.length === 0 && readOnly.length === 0) return null;
    const fullSet = new Set(full);
    if (readOnly.some((t) => fullSet.has(t))) {
      throw new ConfigError('a token is configured both as full-access and as read-only; give each token one role');
    }
    const keys = [...fullSet].map((t) => ({ digest: digest(t), role: 'full' as Role }));
    for (const t of new Set(readOnly)) keys.push({ digest: digest(t), role: 'read-only' });
    return new Authenticator(keys);
  }

  get counts(): { tokens: number; readOnlyTokens: number } {
    const full = this.keys.filter((k) => k.role === 'full').length;
    return { tokens: full, readOnlyTokens: this.keys.length - full };
  }

  /** The role of `token`, or null. Every key is compared, so the time taken says nothing of which matched. */
  roleOf(token: string): Role | null {
    const d = digest(token);
    let role: Role | null = null;
    for (const k of this.keys) {
      if (timingSafeEqual(d, k.digest)) role = k.role;
    }
    return role;
  }

  /** Why a call to `method` ("Service/Method") with `metadata` is refused, or null when allowed. */
  check(metadata: grpc.Metadata, method: string, readOnlyAllowed: boolean): Refusal | null {
    const values = metadata.get('authorization');
    if (values.length === 0) return MISSING;
    const m = values.length === 1 && typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
    if (m === null) return MALFORMED;
    const role = this.roleOf(m[1]!);
    if (role === null) return UNKNOWN;
    if (role === 'read-only' && !readOnlyAllowed)
      return { code: grpc.status.PERMISSION_DENIED, details: `read-only token may not call ${method}` };
    return null;
  }
}

interface ServerCallLike {
  metadata: grpc.Metadata;
  getPeer(): string;
  emit(event: string, value: unknown): void;
}

/**
 * Wraps every handler of `service` (e.g. 'ParameterService') so it runs only for an accepted
 * token. The check comes before the handler is called, so a refused upload has none of its
 * messages read. Unary and client-streaming handlers answer through the callback,
 * server-streaming ones by emitting the status.
 */
export function withAuth<T extends object>(handlers: T, service: string, auth: Authenticator, log: Logger): T {
  const reads = READ_METHODS[service] ?? new Set<string>();
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as Array<[string, (...args: unknown[]) => unknown]>) {
    const method = `${service}/${name}`;
    const readOnlyAllowed = reads.has(name);
    out[name] = (call: ServerCallLike, callback?: (err: unknown) => void) => {
      const refusal = auth.check(call.metadata, method, readOnlyAllowed);
      if (refusal === null) return fn(call, callback);
      // The reason is one of the fixed texts above: it never holds the presented token. The
      // call's info line is the call observer's (it logs every failed call).
      log.debug(
        { method, code: grpc.status[refusal.code], peer: call.getPeer(), reason: refusal.details },
        'call refused',
      );
      if (callback) callback(refusal);
      else call.emit('error', refusal);
      return undefined;
    };
  }
  return out as T;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 0) return false; // a name may resolve to any interface
  return LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why serving `host` this way is refused (reachable from other machines, and nobody is
 * authenticated: no token, no mutual TLS), or null. --insecure overrides it.
 */
export function exposureRefusal(host: string, authenticated: boolean, tls: TlsMode): string | null {
  if (isLoopbackHost(host) || authenticated || tls === 'mutual') return null;
  return (
    `--host ${host} is not a loopback address and no caller would be authenticated: anyone who can reach the port could read and overwrite every parameter. ` +
    'Set --auth-token-file (and --tls-cert/--tls-key), or --tls-client-ca, or pass --insecure (GLUONPS_INSECURE=1) to serve it without authentication anyway (docs/configuration.md, "Security")'
  );
}

/** Warnings to log at start-up when `host` is reachable from other machines without protection. */
export function exposureWarnings(host: string, authenticated: boolean, tls: TlsMode): string[] {
  if (isLoopbackHost(host)) return [];
  const see = '(docs/configuration.md, "Security")';
  if (!authenticated && tls !== 'mutual') {
    const fix =
      tls === 'off' ? 'set --auth-token-file and --tls-cert/--tls-key' : 'set --auth-token-file or --tls-client-ca';
    return [
      `listening on ${host} without authentication${tls === 'off' ? ' or TLS' : ''}: anyone who can reach this port can read and overwrite every parameter; ${fix} ${see}`,
    ];
  }
  if (authenticated && tls === 'off') {
    return [
      `listening on ${host} with bearer tokens but without TLS: tokens and tensors cross the network in clear text; set --tls-cert and --tls-key ${see}`,
    ];
  }
  return [];
}
