// etcd-wire.ts: the two calls of etcd's v3 gRPC API the client needs for etcd:// discovery,
// KV.Range (read a cluster's keys) and Watch.Watch (follow them), over grpc-js with the vendored
// subset of etcd's protos (protos/etcd/, etcd v3.4.23). The client package depends on grpc-js
// and proto-loader only (issue 9), so no etcd client library: these two calls are all it takes
// to read what the servers registered (server/cluster/etcd-registration.ts writes it with the
// etcd3 library). Plaintext connections; etcd's TLS and authentication are not supported yet.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as EtcdProto } from '../../protos/generated/rpc';
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

/** One etcd endpoint (host:port): its KV and Watch stubs on one channel. */
export class EtcdConnection {
  readonly #kv: KVClient;
  readonly #watch: WatchClient;

  constructor(readonly endpoint: string) {
    const p = etcdProto();
    this.#kv = new p.etcdserverpb.KV(endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    this.#watch = new p.etcdserverpb.Watch(endpoint, grpc.credentials.createInsecure(), {
      channelOverride: this.#kv.getChannel(),
    });
  }

  /** Every key starting with `prefix`, and the revision read (KV.Range, linearizable). */
  range(prefix: string, deadlineMs: number): Promise<RangeResult> {
    return new Promise((resolve, reject) => {
      this.#kv.range(
        { key: Buffer.from(prefix, 'utf8'), rangeEnd: prefixEnd(prefix) },
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null, reply?: RangeResponse__Output) => {
          if (err !== null || reply === undefined) {
            reject(err ?? new Error('KV.Range completed without a reply'));
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

  /** Follows every key starting with `prefix` from `startRevision` on (Watch.Watch). */
  watchPrefix(prefix: string, startRevision: number, handlers: WatchHandlers): { cancel(): void } {
    const call = this.#watch.watch();
    let done = false;
    const end = (reason: string): void => {
      if (done) return;
      done = true;
      call.cancel();
      handlers.ended(reason);
    };
    call.on('data', (r: WatchResponse__Output) => {
      if (done) return;
      if (r.canceled || Number(r.compactRevision) > 0) {
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
    call.on('error', (err: Error) => end(err.message));
    call.on('end', () => end('etcd ended the watch stream'));
    const create: WatchRequest = {
      createRequest: { key: Buffer.from(prefix, 'utf8'), rangeEnd: prefixEnd(prefix), startRevision },
    };
    call.write(create);
    return {
      cancel: () => {
        done = true;
        call.cancel();
      },
    };
  }

  close(): void {
    this.#kv.close();
  }
}
