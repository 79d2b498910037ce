// etcd-membership.ts: connect('etcd://host:port[,host:port]/NAME'), or etcds:// for TLS to etcd
// (client/cluster/etcd-security.ts: certificates, etcd's user and password). Reads cluster NAME's layout
// and members from etcd (common/cluster/etcd-keys.ts: what the servers registered), opens the
// shards as connect([...]) does (client/cluster/shards.ts), then follows the members with a
// watch: when a shard registers at another address (restarted elsewhere, or on another port),
// its channel is re-targeted and later calls go there. A watch that ends (etcd member down,
// history compacted) is re-established on the next endpoint after a fresh read, so no change is
// missed. ps.cluster() reports each shard's address, incarnation and serving state from here.
import type { Layout } from '../../common/cluster/placement';
import {
  clusterPrefix,
  describeLayout,
  isClusterName,
  layoutKey,
  memberIndexOf,
  parseLayout,
  parseMember,
  type MemberRecord,
} from '../../common/cluster/etcd-keys';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import { explainEtcdError } from '../../common/cluster/etcd-errors';
import { etcdSecurity, type EtcdConnectOptions } from './etcd-security';
import { EtcdAuthError, EtcdConnection, type EtcdEvent, type EtcdSecurity, type RangeResult } from './etcd-wire';
import { Shards, type ClusterConnectOptions, type MembershipSource, type MemberState } from './shards';

/** Where to find a cluster: etcd's client endpoints, whether over TLS (etcds://), and the cluster's name. */
export interface EtcdTarget {
  endpoints: string[];
  cluster: string;
  tls: boolean;
}

/** connect()'s options for a cluster found in etcd: a cluster's, and how to reach a secured etcd. */
export interface EtcdClusterConnectOptions extends ClusterConnectOptions {
  etcd?: EtcdConnectOptions;
}

export const ETCD_SCHEME = 'etcd://';
/** etcd over TLS. */
export const ETCDS_SCHEME = 'etcds://';
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** How often connect() reads etcd again while shards have not registered yet. */
const POLL_MS = 200;
/** Backoff of a watch that ended, before it is re-established. */
const REWATCH_MIN_MS = 100;
const REWATCH_MAX_MS = 5000;
/** How connect()'s messages name the settings of a secured etcd. */
const OPTION_NAMES = {
  ca: 'options.etcd.ca',
  cert: 'options.etcd.cert and key',
  user: 'options.etcd.user',
  password: 'options.etcd.password',
  permission: 'read',
} as const;
/** Deadline of one read of the cluster's keys. */
const RANGE_DEADLINE_MS = 5000;

/** Parses `etcd://host:port[,host:port...]/NAME`. */
export function parseEtcdTarget(who: string, url: string): EtcdTarget {
  const usage = `expected 'etcd://host:port[,host:port...]/NAME' (etcds:// for TLS)`;
  const m = /^etcd(s?):\/\/([^/]+)\/([^/]+)$/.exec(url);
  if (m === null) throw invalidArgument(`${who}: ${usage}, got ${show(url)}`);
  const endpoints = m[2]!.split(',');
  for (const e of endpoints) {
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(e) || Number(e.slice(e.lastIndexOf(':') + 1)) > 65535)
      throw invalidArgument(`${who}: etcd endpoint ${show(e)} is not host:port; ${usage}, got ${show(url)}`);
  }
  const cluster = m[3]!;
  if (!isClusterName(cluster))
    throw invalidArgument(
      `${who}: the cluster name must be 1-64 letters, digits, '.', '_' or '-', got ${show(cluster)} in ${show(url)}`,
    );
  return { endpoints, cluster, tls: m[1] === 's' };
}

/**
 * Opens a cluster client's shards from etcd: waits (up to options.connectTimeoutMs) until the
 * cluster's layout and every shard's registration are there, opens the shards at the registered
 * addresses, checks they agree with the layout in etcd, and follows the members.
 */
export async function openFromEtcd(url: string, all: EtcdClusterConnectOptions = {}): Promise<Shards> {
  const who = 'connect()';
  const target = parseEtcdTarget(who, url);
  if (typeof all !== 'object' || all === null) throw invalidArgument(`${who}: options must be an object`);
  const { etcd, ...options } = all;
  const security = etcdSecurity(who, url, target.tls, etcd);
  if (options.cluster !== undefined && options.cluster !== target.cluster)
    throw invalidArgument(
      `${who}: options.cluster ${show(options.cluster)} differs from the cluster '${target.cluster}' named in ${url}`,
    );
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const membership = new EtcdMembership(target, security);
  try {
    const layout = await membership.waitForAll(timeoutMs);
    const addresses = Array.from({ length: layout.shards }, (_, i) => membership.member(i)!.address);
    const shards = await Shards.open(addresses, { ...options, cluster: target.cluster });
    if (shards.layout.version !== layout.version || shards.layout.sliceBytes !== layout.sliceBytes) {
      shards.close();
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `${who}: the shards of cluster '${target.cluster}' place parameters by ${describeLayout(shards.layout)}, but etcd (${target.endpoints.join(',')}) says ${describeLayout(layout)}`,
      );
    }
    shards.attach(membership);
    return shards;
  } catch (err) {
    membership.close();
    throw err;
  }
}

/** A cluster's members as etcd has them, kept current by a watch once follow() is called. */
export class EtcdMembership implements MembershipSource {
  readonly #target: EtcdTarget;
  readonly #connections: EtcdConnection[];
  readonly #caGiven: boolean;
  #current = 0;
  #layout: Layout | null = null;
  readonly #members = new Map<number, MemberRecord>();
  #revision = 0;
  #onMove: ((index: number, address: string) => void) | null = null;
  #watch: { cancel(): void } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #backoffMs = REWATCH_MIN_MS;
  #closed = false;

  constructor(target: EtcdTarget, security: EtcdSecurity = {}) {
    this.#target = target;
    this.#connections = target.endpoints.map((e) => new EtcdConnection(e, security));
    this.#caGiven = security.tls?.ca !== undefined;
  }

  /** The registration of shard i, or null when it has none (never registered, or its lease ended). */
  member(i: number): MemberRecord | null {
    return this.#members.get(i) ?? null;
  }

  state(i: number): MemberState | null {
    const m = this.#members.get(i);
    return m === undefined ? null : { address: m.address, incarnation: m.incarnation, serving: m.state === 'serving' };
  }

  /** Reads etcd until the layout and every shard's registration are there; UNAVAILABLE naming what is missing after `timeoutMs`. */
  async waitForAll(timeoutMs: number): Promise<Layout> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      let lastError: string | null = null;
      try {
        this.#apply(await this.#read(Math.max(1, Math.min(RANGE_DEADLINE_MS, end - Date.now()))), false);
      } catch (err) {
        // Wrong user, password or permissions: no point waiting for the timeout.
        if (err instanceof EtcdAuthError) throw this.#refused(err);
        lastError = explainEtcdError((err as Error).message, OPTION_NAMES, this.#caGiven);
      }
      const layout = this.#layout;
      const missing =
        layout === null ? [] : Array.from({ length: layout.shards }, (_, i) => i).filter((i) => !this.#members.has(i));
      if (lastError === null && layout !== null && missing.length === 0) return layout;
      if (Date.now() + POLL_MS > end) {
        const where = `cluster '${this.#target.cluster}' in etcd (${this.#target.endpoints.join(',')})`;
        const what =
          lastError !== null
            ? `cannot read ${where}: ${lastError}`
            : layout === null
              ? `${where} has no layout: no server of it has registered (start its servers with --etcd and --cluster ${this.#target.cluster})`
              : `${where}: shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${layout.shards} not registered`;
        throw new GluonPsError(Status.UNAVAILABLE, `connect(): ${what} after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  #refused(err: EtcdAuthError): GluonPsError {
    const code = err.code === Status.PERMISSION_DENIED ? Status.PERMISSION_DENIED : Status.UNAUTHENTICATED;
    const why = explainEtcdError(err.message, OPTION_NAMES, this.#caGiven);
    return new GluonPsError(
      code,
      `connect(): etcd (${this.#target.endpoints.join(',')}) refused reading cluster '${this.#target.cluster}': ${why}`,
    );
  }

  /** Starts following the members: onMove(i, address) when shard i registers at another address. */
  follow(onMove: (index: number, address: string) => void): void {
    this.#onMove = onMove;
    this.#startWatch();
  }

  close(): void {
    this.#closed = true;
    this.#watch?.cancel();
    this.#watch = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const c of this.#connections) c.close();
  }

  /** The cluster's keys from the current endpoint, or the next ones in turn when it fails. */
  async #read(deadlineMs: number): Promise<RangeResult> {
    let last: unknown;
    for (let k = 0; k < this.#connections.length; k++) {
      const i = (this.#current + k) % this.#connections.length;
      try {
        const r = await this.#connections[i]!.range(clusterPrefix(this.#target.cluster), deadlineMs);
        this.#current = i;
        return r;
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /** Replaces what is known by a full read; with `notify`, reports the shards that moved. */
  #apply(r: RangeResult, notify: boolean): void {
    const seen = new Set<number>();
    for (const { key, value } of r.entries) {
      if (key === layoutKey(this.#target.cluster)) this.#layout = parseLayout(value) ?? this.#layout;
      const i = memberIndexOf(this.#target.cluster, key);
      if (i === null) continue;
      seen.add(i);
      this.#put(i, value, notify);
    }
    for (const i of [...this.#members.keys()]) if (!seen.has(i)) this.#members.delete(i);
    this.#revision = Math.max(this.#revision, r.revision);
  }

  #put(i: number, value: string, notify: boolean): void {
    const record = parseMember(value);
    if (record === null) return; // not a registration this client understands: keep the last one
    const before = this.#members.get(i);
    this.#members.set(i, record);
    if (notify && before?.address !== record.address) this.#onMove?.(i, record.address);
  }

  #onEvents(events: EtcdEvent[], revision: number): void {
    this.#backoffMs = REWATCH_MIN_MS;
    for (const e of events) {
      const i = memberIndexOf(this.#target.cluster, e.key);
      if (i === null) continue;
      if (e.type === 'delete') this.#members.delete(i);
      else this.#put(i, e.value, true);
    }
    this.#revision = Math.max(this.#revision, revision);
  }

  #startWatch(): void {
    if (this.#closed) return;
    const conn = this.#connections[this.#current]!;
    this.#watch = conn.watchPrefix(clusterPrefix(this.#target.cluster), this.#revision + 1, {
      events: (events, revision) => this.#onEvents(events, revision),
      ended: () => this.#rewatch(),
    });
  }

  /** After a watch ended: wait, read everything again (from the next endpoint), watch from there. */
  #rewatch(): void {
    this.#watch = null;
    if (this.#closed) return;
    this.#current = (this.#current + 1) % this.#connections.length;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(REWATCH_MAX_MS, this.#backoffMs * 2);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#read(RANGE_DEADLINE_MS).then(
        (r) => {
          if (this.#closed) return;
          this.#apply(r, true);
          this.#startWatch();
        },
        () => this.#rewatch(),
      );
    }, wait);
    this.#timer.unref();
  }
}
