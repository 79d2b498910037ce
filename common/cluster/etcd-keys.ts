// etcd-keys.ts: how a cluster is written in etcd (docs/cluster.md, "Membership with etcd"),
// shared by the servers that register there (server/cluster/etcd-registration.ts) and the
// clients that read and watch it (client/cluster/etcd-membership.ts). Under /gluonps/NAME/:
// - `layout`: the placement layout, written once by the first server (create-if-absent), so
//   every later server and client checks against the same one;
// - `members/I`: shard I's registration, under its server's lease (gone when the lease ends):
//   where it listens, which data dir identity holds it, its incarnation and whether it serves;
// - `identities/I`: the identity of the data dir that first claimed shard I (no lease: it
//   outlives every process), so only that data dir gets the index back;
// - `claims/I`: how many times shard I was claimed (a decimal): each claim's incarnation.
// Values are JSON; a value that does not parse is reported, never trusted.
import type { Layout } from './placement';
import { CLUSTER_NAME_RE } from './route';

/** Every cluster's keys live under this prefix. */
export const ETCD_ROOT = '/gluonps/';

export const clusterPrefix = (cluster: string): string => `${ETCD_ROOT}${cluster}/`;
export const layoutKey = (cluster: string): string => `${clusterPrefix(cluster)}layout`;
export const memberPrefix = (cluster: string): string => `${clusterPrefix(cluster)}members/`;
export const memberKey = (cluster: string, index: number): string => `${memberPrefix(cluster)}${index}`;
export const identityKey = (cluster: string, index: number): string => `${clusterPrefix(cluster)}identities/${index}`;
export const claimsKey = (cluster: string, index: number): string => `${clusterPrefix(cluster)}claims/${index}`;

/** The end of etcd's range of keys starting with `prefix` (its last byte plus one). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key (not reached: prefixes here end in '/')
}

/** Shard I of a `members/I` key of `cluster`, or null when the key is not one. */
export function memberIndexOf(cluster: string, key: string): number | null {
  const prefix = memberPrefix(cluster);
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  return /^(0|[1-9]\d{0,9})$/.test(rest) ? Number(rest) : null;
}

/** `3 shards, layout 1, slices over 4194304 bytes`, for messages. */
export function describeLayout(l: Layout): string {
  return `${l.shards} shard${l.shards === 1 ? '' : 's'}, layout ${l.version}, slices over ${l.sliceBytes} bytes`;
}

export function formatLayout(l: Layout): string {
  return JSON.stringify({ version: l.version, shards: l.shards, sliceBytes: l.sliceBytes });
}

/** The layout in a `layout` value, or null when it is not one. */
export function parseLayout(text: string): Layout | null {
  const v = parseObject(text);
  if (v === null) return null;
  const { version, shards, sliceBytes } = v;
  if (!isCount(version) || !isCount(shards) || !isCount(sliceBytes)) return null;
  return { version, shards, sliceBytes };
}

/** A shard's registration (`members/I`). */
export interface MemberRecord {
  /** host:port clients reach it at (--advertise). */
  address: string;
  /** The identity of its data dir (server/cluster/shard-identity.ts); null: no data dir. */
  identity: string | null;
  /** How many times this index has been claimed, this claim included (1 for the first). */
  incarnation: number;
  /** 'recovering' until its data dir is loaded, then 'serving'. */
  state: 'recovering' | 'serving';
  /** The holder's process id and host name, for messages. */
  pid: number;
  host: string;
  /** When it claimed the index (ISO 8601). */
  since: string;
  /** Its lease's time to live: an entry left by a killed server goes within this. */
  leaseSeconds: number;
}

export function formatMember(m: MemberRecord): string {
  return JSON.stringify(m);
}

/** The registration in a `members/I` value, or null when it is not one. */
export function parseMember(text: string): MemberRecord | null {
  const v = parseObject(text);
  if (v === null) return null;
  const { address, identity, incarnation, state, pid, host, since, leaseSeconds } = v;
  if (typeof address !== 'string' || !/^.+:\d{1,5}$/.test(address)) return null;
  if (identity !== null && typeof identity !== 'string') return null;
  if (!isCount(incarnation) || (state !== 'recovering' && state !== 'serving')) return null;
  if (!Number.isSafeInteger(pid) || typeof host !== 'string' || typeof since !== 'string') return null;
  if (!isCount(leaseSeconds)) return null;
  return {
    address,
    identity: identity as string | null,
    incarnation,
    state,
    pid: pid as number,
    host,
    since,
    leaseSeconds,
  };
}

/** `identity 3f2a... (pid 12, host h, at 127.0.0.1:5000, since ...)`, for messages. */
export function describeMember(m: MemberRecord): string {
  const who = m.identity === null ? 'a server without a data dir' : `identity ${m.identity}`;
  return `${who} (pid ${m.pid} on ${m.host}, at ${m.address}, incarnation ${m.incarnation}, since ${m.since})`;
}

/** Which data dir owns an index (`identities/I`). */
export interface IdentityRecord {
  identity: string;
  /** The incarnation of its first claim. */
  incarnation: number;
  /** When the index was first claimed (ISO 8601). */
  firstClaimed: string;
}

export function formatIdentity(r: IdentityRecord): string {
  return JSON.stringify(r);
}

export function parseIdentity(text: string): IdentityRecord | null {
  const v = parseObject(text);
  if (v === null) return null;
  const { identity, incarnation, firstClaimed } = v;
  if (typeof identity !== 'string' || identity === '' || !isCount(incarnation) || typeof firstClaimed !== 'string')
    return null;
  return { identity, incarnation, firstClaimed };
}

/** A cluster name as keys carry it (the same rule as --cluster). */
export function isClusterName(name: string): boolean {
  return CLUSTER_NAME_RE.test(name);
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}
