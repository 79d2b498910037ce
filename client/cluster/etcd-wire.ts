// etcd-wire.ts: the calls of etcd's v3 gRPC API the client needs for etcd:// discovery,
// KV.Range (read a cluster's keys) and Watch.Watch (follow them), over grpc-js with the vendored
// subset of etcd's protos (protos/etcd/, etcd v3.4.23). The client package depends on grpc-js
// and proto-loader only (issue 9), so no etcd client library: these calls are all it takes
// to read what the servers registered (server/cluster/etcd-registration.ts writes it with the
// etcd3 library). Plaintext or TLS (mutual TLS with a client certificate, for etcd's
// --client-cert-auth); with a user and password, Auth.Authenticate gets the token etcd's RBAC
// wants as `token` metadata on every Range and Watch, fetched again when etcd says it expired.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as EtcdProto } from '../../protos/generated/rpc';
import type { AuthClient } from '../../protos/generated/etcdserverpb/Auth';
import type { AuthenticateResponse__Output } from '../../protos/generated/etcdserverpb/AuthenticateResponse';
import type { KVClient } from '../../protos/generated/etcdserverpb/KV';
import type { RangeResponse__Output } from '../../protos/generated/etcdserverpb/RangeResponse';
import type { WatchClient } from '../../protos/generated/etcdserverpb/Watch';
import type { WatchRequest } from '../../protos/generated/etcdserverpb/WatchRequest';
import type { WatchResponse__Output } from '../../protos/generated/etcdserverpb/WatchResponse';
import { LOADER_OPTIONS } from '../../protos/load';
import { prefixEnd } from '../../common/cluster/etcd-keys';

/** The vendored etcd protos, relative to protos/. */
export const ETCD_PROTO_FILES: readonly string[] = ['etcd/etcdserverpb/rpc.proto'];

let proto: EtcdProto | undefined;

function etcdProto(): EtcdProto {
  proto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync([...ETCD_PROTO_FILES], LOADER_OPTIONS),
  ) as unknown as EtcdProto;
  return proto;
}

/** A key and its value as UTF-8 text (every gluon-ps key and value is). */
export interface EtcdEntry {
  key: string;
  value: string;
}

export interface RangeResult {
  /** The store's revision the read saw: a watch from revision + 1 misses nothing after it. */
  revision: number;
  entries: EtcdEntry[];
}

export type EtcdEvent = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

export interface WatchHandlers {
  /** Events of one revision, in order. */
  events(events: EtcdEvent[], revision: number): void;
  /** The watch ended (stream error, etcd gone, compacted, cancelled by etcd); not after cancel(). */
  ended(reason: string): void;
}

/**
 * Pings a quiet watch stream so a dead etcd member ends it (and the client moves to another
 * endpoint). etcd answers pings more often than every 5 s with GOAWAY (--grpc-keepalive-min-time).
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

/** How to reach etcd: TLS (PEM bytes; no `ca`: the system's roots) and etcd's user and password. */
export interface EtcdSecurity {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } | null;
  user?: string;
  password?: string;
}

/** etcd refused the user, password or permissions: trying again or elsewhere will not help. */
export class EtcdAuthError extends Error {
  override name = 'EtcdAuthError';
  constructor(
    message: string,
    /** The gRPC status etcd answered with. */
    readonly code: grpc.status,
  ) {
    super(message);
  }
}

/** Deadline of the Auth.Authenticate before a watch. */
const AUTH_DEADLINE_MS = 5000;
/**
 * etcd's answers to a token it no longer takes: expired or revoked (ErrGRPCInvalidAuthToken), or
 * issued before the auth store changed (ErrGRPCAuthOldRevision: a JWT token after any user, role
 * or password change). Either way a new token is fetched and the call made again.
 */
const STALE_TOKEN = ['etcdserver: invalid auth token', 'etcdserver: revision of auth store is old'];
/** Answers that say the credentials or permissions are wrong, not that etcd is unreachable. */
const AUTH_REFUSALS = [
  'etcdserver: authentication failed',
  'etcdserver: permission denied',
  'etcdserver: user name is empty',
  'etcdserver: authentication is not enabled',
  'etcdserver: user name not found',
];

function isInvalidToken(err: unknown): boolean {
  return err instanceof Error && STALE_TOKEN.some((m) => err.message.includes(m));
}

/** An auth refusal of etcd as an EtcdAuthError, anything else as it is. */
function classify(err: grpc.ServiceError): Error {
  return AUTH_REFUSALS.some((m) => err.message.includes(m)) ? new EtcdAuthError(err.details, err.code) : err;
}

/** One etcd endpoint (host:port): its KV, Watch and Auth stubs on one channel. */
export class EtcdConnection {
  readonly #kv: KVClient;
  readonly #watch: WatchClient;
  readonly #auth: AuthClient;
  readonly #security: EtcdSecurity;
  /** The token being fetched or held (with a user and password), null until needed. */
  #token: Promise<string> | null = null;

  constructor(
    readonly endpoint: string,
    security: EtcdSecurity = {},
  ) {
    const p = etcdProto();
    this.#security = security;
    const tls = security.tls;
    const credentials =
      tls === undefined || tls === null
        ? grpc.credentials.createInsecure()
        : grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
    this.#kv = new p.etcdserverpb.KV(endpoint, credentials, CHANNEL_OPTIONS);
    const shared = { channelOverride: this.#kv.getChannel() };
    this.#watch = new p.etcdserverpb.Watch(endpoint, credentials, shared);
    this.#auth = new p.etcdserverpb.Auth(endpoint, credentials, shared);
  }

  /** The metadata of a call: etcd's token when a user is set (Auth.Authenticate once, then kept). */
  async #metadata(deadline: number): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    const { user, password } = this.#security;
    if (user === undefined) return md;
    const fetching = (this.#token ??= new Promise<string>((resolve, reject) => {
      this.#auth.authenticate(
        { name: user, password: password ?? '' },
        { deadline },
        (err: grpc.ServiceError | null, reply?: AuthenticateResponse__Output) => {
          if (err !== null || reply === undefined) reject(err === null ? new Error('no reply') : classify(err));
          else resolve(reply.token);
        },
      );
    }));
    try {
      md.set('token', await fetching);
    } catch (err) {
      if (this.#token === fetching) this.#token = null; // the next call asks again
      throw err;
    }
    return md;
  }

  /** Every key starting with `prefix`, and the revision read (KV.Range, linearizable). */
  async range(prefix: string, deadlineMs: number): Promise<RangeResult> {
    const deadline = Date.now() + deadlineMs;
    try {
      return await this.#range(prefix, deadline);
    } catch (err) {
      if (!isInvalidToken(err) || this.#security.user === undefined) throw err;
      this.#token = null; // expired (etcd's --auth-token-ttl) or revoked: authenticate again, once
      return this.#range(prefix, deadline);
    }
  }

  async #range(prefix: string, deadline: number): Promise<RangeResult> {
    const metadata = await this.#metadata(deadline);
    return new Promise((resolve, reject) => {
      this.#kv.range(
        { key: Buffer.from(prefix, 'utf8'), rangeEnd: prefixEnd(prefix) },
        metadata,
        { deadline },
        (err: grpc.ServiceError | null, reply?: RangeResponse__Output) => {
          if (err !== null || reply === undefined) {
            reject(err === null ? new Error('KV.Range completed without a reply') : classify(err));
            return;
          }
          resolve({
            revision: Number(reply.header?.revision ?? 0),
            entries: reply.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8') })),
          });
        },
      );
    });
  }

  /**
   * Follows every key starting with `prefix` from `startRevision` on (Watch.Watch). With a user,
   * the stream opens once the token is there; a watch etcd cancels (an expired token shows as
   * "permission denied" there) drops the token, so the next read authenticates again.
   */
  watchPrefix(prefix: string, startRevision: number, handlers: WatchHandlers): { cancel(): void } {
    let call: ReturnType<WatchClient['watch']> | null = null;
    let done = false;
    const end = (reason: string): void => {
      if (done) return;
      done = true;
      call?.cancel();
      handlers.ended(reason);
    };
    const open = (metadata: grpc.Metadata): void => {
      if (done) return;
      const c = this.#watch.watch(metadata);
      call = c;
      c.on('data', (r: WatchResponse__Output) => {
        if (done) return;
        if (r.canceled || Number(r.compactRevision) > 0) {
          if (r.canceled && this.#security.user !== undefined) this.#token = null;
          end(
            Number(r.compactRevision) > 0
              ? `etcd compacted the history past revision ${startRevision}`
              : `etcd cancelled the watch${r.cancelReason ? `: ${r.cancelReason}` : ''}`,
          );
          return;
        }
        if (r.events.length === 0) return; // created, or a progress notification
        const events: EtcdEvent[] = r.events.map((e) => {
          const key = e.kv?.key.toString('utf8') ?? '';
          return e.type === 'DELETE'
            ? { type: 'delete', key }
            : { type: 'put', key, value: e.kv!.value.toString('utf8') };
        });
        handlers.events(events, Number(r.header?.revision ?? 0));
      });
      c.on('error', (err: Error) => {
        if (isInvalidToken(err)) this.#token = null;
        end(err.message);
      });
      c.on('end', () => end('etcd ended the watch stream'));
      const create: WatchRequest = {
        createRequest: { key: Buffer.from(prefix, 'utf8'), rangeEnd: prefixEnd(prefix), startRevision },
      };
      c.write(create);
    };
    void this.#metadata(Date.now() + AUTH_DEADLINE_MS).then(open, (err: Error) => end(err.message));
    return {
      cancel: () => {
        done = true;
        call?.cancel();
      },
    };
  }

  close(): void {
    this.#kv.close();
  }
}
