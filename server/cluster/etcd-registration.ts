// etcd-registration.ts: a server started with --etcd holds its shard index in etcd
// (docs/cluster.md, "Membership with etcd"; keys in common/cluster/etcd-keys.ts):
// - the cluster's layout (shard count, slice bytes, layout version) is written once, by a
//   create-if-absent transaction; a server whose layout differs refuses to start, naming both;
// - the index is claimed by one transaction that succeeds only while no one holds it and no
//   other data dir owns it: `members/I` is created under this server's lease (kept alive; the
//   key goes when the lease ends), `claims/I` counts the claims (the incarnation), and
//   `identities/I` records the data dir's identity (server/cluster/shard-identity.ts) at the
//   first claim. So two processes never hold one index, and a restarted server gets its index
//   back only with its data dir; another data dir, or none, is refused naming both identities.
//   A server restarted after kill -9 finds its previous run's entry still there (same identity)
//   and waits for that lease to end (at most its time to live) before claiming;
// - a server without a data dir (--data-dir none) has no identity: it may hold an index no data
//   dir ever claimed (its state dies with it anyway) and is refused one that a data dir owns;
//   an index held by another server without a data dir is waited for the same way;
// - the lease lost while running (etcd unreachable past the time to live, or the lease revoked):
//   logged as an error, and the index is claimed again with the same identity, retrying while
//   etcd is unreachable; if another process took it meanwhile, the server stops (fatal log);
// - a graceful stop revokes the lease, so clients see the shard leave at once.
// The etcd3 library (maintained, the usual Node client) does the leases, keepalives and
// transactions, over TLS (credentials) and with etcd's authentication (its token fetched again
// when etcd says it expired) when the options say so (etcd-options.ts); the client package reads
// the same keys without it (client/cluster/etcd-wire.ts).
import { hostname } from 'node:os';
import type { Etcd3, IOptions, Lease } from 'etcd3';
import type { Logger } from 'pino';
import {
  claimsKey,
  describeLayout,
  describeMember,
  formatIdentity,
  formatLayout,
  formatMember,
  identityKey,
  layoutKey,
  memberKey,
  parseIdentity,
  parseLayout,
  parseMember,
  type MemberRecord,
} from '../../common/cluster/etcd-keys';
import { explainEtcdError } from '../../common/cluster/etcd-errors';
import type { Route } from '../../common/cluster/route';
import { ConfigError } from '../config';
import {
  advertisedAddress,
  DEFAULT_LEASE_SECONDS,
  describeEtcd,
  etcdOptionsRefusal,
  type EtcdOptions,
} from './etcd-options';
import { ensureIdentity, removeIdentity } from './shard-identity';

export interface JoinOptions {
  etcd: EtcdOptions;
  route: Route;
  /** host:port registered for clients. */
  address: string;
  dataDir: string | null;
  log: Logger;
  /** The index cannot be held any more (lease lost, and another process claimed it): stop serving. */
  stop(reason: string): void;
}

/** How long a start waits for etcd's answers before giving up. */
const START_TIMEOUT_MS = 10_000;
/** How long a graceful stop waits for the lease's revocation. */
const REVOKE_TIMEOUT_MS = 3000;
/** Transactions lost to a concurrent change before the claim gives up. */
const MAX_CLAIM_RACES = 5;

/** A claim refused for good (another holder or owner): never retried. */
export class ClaimRefusedError extends ConfigError {
  override name = 'ClaimRefusedError';
}

interface Kv {
  value: string;
  modRevision: string;
  lease: string;
}

export class EtcdRegistration {
  readonly #client: Etcd3;
  readonly #o: JoinOptions;
  readonly #identity: string | null;
  #lease: Lease | null = null;
  #record: MemberRecord | null = null;
  #closed = false;
  #reclaiming = false;

  private constructor(client: Etcd3, o: JoinOptions, identity: string | null) {
    this.#client = client;
    this.#o = o;
    this.#identity = identity;
  }

  /** Checks the layout and claims the index (state 'recovering'); throws a ConfigError saying why when refused. */
  static async join(o: JoinOptions): Promise<EtcdRegistration> {
    // Loaded only with --etcd: importing etcd3 (its own gRPC stack and protos) takes about a
    // second, which a server without etcd should not pay at every start.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3(etcd3Options(o.etcd));
    let made: string | null = null;
    try {
      await within(o, 'writing or checking the layout', checkLayout(client, o));
      let identity: string | null = null;
      if (o.dataDir !== null) {
        const { cluster, index } = o.route;
        const got = await ensureIdentity(o.dataDir, cluster, index);
        if (got.identity.cluster !== cluster || got.identity.index !== index)
          throw new ConfigError(
            `data dir ${o.dataDir} holds shard ${got.identity.index} of cluster '${got.identity.cluster}' (identity ${got.identity.identity}), but this server was started as shard ${index} of cluster '${cluster}': start it with its own --shard-index and --cluster, or another --data-dir`,
          );
        identity = got.identity.identity;
        if (got.created) made = identity;
      }
      const r = new EtcdRegistration(client, o, identity);
      await r.#claim('recovering', START_TIMEOUT_MS);
      return r;
    } catch (err) {
      if (made !== null && o.dataDir !== null) await removeIdentity(o.dataDir, made);
      client.close();
      throw err;
    }
  }

  /** The registration now in etcd. */
  get record(): MemberRecord | null {
    return this.#record;
  }

  /** Marks the shard serving (its data dir is loaded). */
  async serving(): Promise<void> {
    const record = this.#record;
    const lease = this.#lease;
    if (record === null || lease === null) return;
    record.state = 'serving';
    const key = memberKey(this.#o.route.cluster, this.#o.route.index);
    const id = await lease.grant();
    // Only while this lease still holds the key; a re-claim after a lost lease writes the state itself.
    await within(
      this.#o,
      'marking the shard serving',
      this.#client
        .if(key, 'Lease', '==', id)
        .then(this.#client.put(key).value(formatMember(record)).lease(id))
        .commit(),
    );
  }

  /** Revokes the lease (the shard leaves the membership at once) and closes the etcd client. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const lease = this.#lease;
    if (lease !== null) {
      try {
        await withTimeout(lease.revoke(), REVOKE_TIMEOUT_MS, 'revoking the lease');
      } catch (err) {
        this.#o.log.warn(
          { err: (err as Error).message },
          'could not revoke the etcd lease: the shard stays registered until the lease ends',
        );
      }
    }
    this.#client.close();
  }

  async #get(key: string): Promise<Kv | null> {
    const r = await this.#client.get(key).exec();
    const kv = r.kvs[0];
    return kv === undefined
      ? null
      : { value: kv.value.toString('utf8'), modRevision: String(kv.mod_revision), lease: String(kv.lease) };
  }

  /**
   * One claim of the index: refused (ClaimRefusedError) when another data dir owns it or
   * another process holds it; waits for a previous run's lease (same identity) to end.
   */
  async #claim(state: MemberRecord['state'], timeoutMs: number): Promise<void> {
    const { route, etcd, log, dataDir, address } = this.#o;
    const { cluster, index } = route;
    const mKey = memberKey(cluster, index);
    const iKey = identityKey(cluster, index);
    const cKey = claimsKey(cluster, index);
    const where = `shard ${index} of cluster '${cluster}' in etcd (${describeEtcd(etcd)})`;
    const mine =
      this.#identity === null
        ? 'this server has no data dir (--data-dir none)'
        : `this server's data dir ${dataDir} has identity ${this.#identity}`;
    let waitUntil: number | null = null;
    for (let races = 0; ; ) {
      const [member, owner, claims] = await within(
        this.#o,
        'reading the shard index',
        Promise.all([this.#get(mKey), this.#get(iKey), this.#get(cKey)]),
        timeoutMs,
      );
      const ownerRecord = owner === null ? null : parseIdentity(owner.value);
      if (owner !== null && ownerRecord === null)
        throw new ClaimRefusedError(
          `${where}: the key ${iKey} holds ${JSON.stringify(owner.value)}, not an identity record`,
        );
      if (ownerRecord !== null && ownerRecord.identity !== this.#identity)
        throw new ClaimRefusedError(
          `${where} belongs to the data dir with identity ${ownerRecord.identity} (first claimed at ${ownerRecord.firstClaimed}), but ${mine}: start this shard with its own data dir; only if that data dir is lost for good, release the index with \`etcdctl del ${iKey}\``,
        );
      if (member !== null) {
        const held = parseMember(member.value);
        // A previous run of this data dir (killed), of this memory-only shard (no identity on
        // either side), or this server's own lost lease: its entry goes when that lease ends.
        // One still kept alive after its time to live is a process that is running.
        const ours =
          held !== null &&
          (held.identity === this.#identity || (this.#lease !== null && member.lease === (await this.#lease.grant())));
        if (held !== null && ours) {
          if (waitUntil === null) {
            waitUntil = Date.now() + (held.leaseSeconds + 2) * 1000;
            log.warn(
              { shard: index, cluster, holder: held },
              `the shard index is still registered by ${held.identity === null ? 'a server without a data dir' : "this data dir's identity"}, probably a previous run: waiting for its lease to end`,
            );
          }
          if (Date.now() < waitUntil) {
            await sleep(250);
            continue;
          }
        }
        const alive =
          held?.identity === null
            ? ', whose lease is still kept alive: that server is running'
            : ", whose lease is still kept alive: another process is running with this data dir's identity";
        throw new ClaimRefusedError(
          `${where} is held by ${held === null ? `an unreadable registration ${JSON.stringify(member.value)}` : describeMember(held)}${ours ? alive : ''}; two servers can never hold one index: stop that one, or start this one as another shard`,
        );
      }
      const incarnation = (claims === null ? 0 : Number(claims.value) || 0) + 1;
      const ttl = etcd.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
      const lease = this.#client.lease(ttl, { autoKeepAlive: true });
      const id = await within(this.#o, 'granting a lease', lease.grant(), timeoutMs);
      const record: MemberRecord = {
        address,
        identity: this.#identity,
        incarnation,
        state,
        pid: process.pid,
        host: hostname(),
        since: new Date().toISOString(),
        leaseSeconds: ttl,
      };
      const txn = this.#client
        .if(mKey, 'Create', '==', 0)
        .and(cKey, claims === null ? 'Create' : 'Mod', '==', claims === null ? 0 : claims.modRevision)
        .and(iKey, owner === null ? 'Create' : 'Mod', '==', owner === null ? 0 : owner.modRevision);
      const ops = [
        this.#client.put(mKey).value(formatMember(record)).lease(id),
        this.#client.put(cKey).value(String(incarnation)),
      ];
      if (this.#identity !== null && owner === null)
        ops.push(
          this.#client
            .put(iKey)
            .value(formatIdentity({ identity: this.#identity, incarnation, firstClaimed: record.since })),
        );
      const result = await within(this.#o, 'claiming the shard index', txn.then(...ops).commit(), timeoutMs);
      if (result.succeeded) {
        const previous = this.#lease;
        this.#lease = lease;
        this.#record = record;
        lease.on('lost', (err: Error) => void this.#lost(lease, err));
        previous?.release();
        log.info(
          { shard: index, cluster, address, incarnation, identity: this.#identity, leaseSeconds: ttl },
          'registered in etcd',
        );
        return;
      }
      // Someone changed one of the keys between the read and the transaction: read again.
      await lease.revoke().catch(() => undefined);
      if (++races >= MAX_CLAIM_RACES)
        throw new ConfigError(`${where}: the claim lost ${races} races with other writers of the same keys; try again`);
    }
  }

  /** The lease ended under a running server: log it loudly and claim the index again. */
  async #lost(lease: Lease, err: Error): Promise<void> {
    if (this.#closed || this.#reclaiming || lease !== this.#lease) return;
    this.#reclaiming = true;
    const { log, route } = this.#o;
    const fields = { shard: route.index, cluster: route.cluster };
    log.error(
      { ...fields, err: err.message },
      'etcd lease lost: this shard is no longer registered, so clients following etcd cannot find it; claiming the index again',
    );
    try {
      for (let attempt = 1; !this.#closed; attempt++) {
        try {
          await this.#claim(this.#record?.state ?? 'serving', START_TIMEOUT_MS);
          log.warn(
            { ...fields, incarnation: this.#record?.incarnation },
            'registered in etcd again after the lease was lost',
          );
          return;
        } catch (e) {
          if (e instanceof ClaimRefusedError) {
            log.fatal({ ...fields, err: e.message }, 'cannot claim the shard index again: stopping this server');
            // The process ends once the server has stopped; its exit status says it failed.
            process.exitCode = 1;
            this.#o.stop(e.message);
            return;
          }
          log.error(
            { ...fields, attempt, err: (e as Error).message },
            'cannot reach etcd to claim the shard index again; retrying',
          );
          await sleep(Math.min(1000 * attempt, 5000));
        }
      }
    } finally {
      this.#reclaiming = false;
    }
  }
}

/**
 * startServer's step for --etcd, once the port is bound: checks the options, works out the
 * address to register, and joins (layout checked, index claimed). Throws a ConfigError.
 */
export async function joinEtcd(
  etcd: EtcdOptions,
  o: { route: Route; host: string; port: number; dataDir: string | null; log: Logger; stop(): void },
): Promise<EtcdRegistration> {
  const refused = etcdOptionsRefusal(etcd);
  if (refused !== null) throw new ConfigError(refused);
  const address = advertisedAddress(etcd, o.host, o.port);
  if (address === null)
    throw new ConfigError(
      `--etcd with --host ${o.host} needs --advertise HOST:PORT: clients cannot reach a wildcard address`,
    );
  return EtcdRegistration.join({ etcd, route: o.route, address, dataDir: o.dataDir, log: o.log, stop: () => o.stop() });
}

/** etcd3's options: TLS credentials and etcd's user when given (never logged: they hold the password). */
function etcd3Options(e: EtcdOptions): IOptions {
  const options: IOptions = { hosts: e.endpoints, dialTimeout: START_TIMEOUT_MS };
  if (e.ca !== undefined || e.cert !== undefined)
    options.credentials = {
      // No CA: grpc-js's createSsl takes null as the system's roots (etcd3 types it as required).
      rootCertificate: e.ca ?? (null as unknown as Buffer),
      ...(e.key === undefined ? {} : { privateKey: e.key }),
      ...(e.cert === undefined ? {} : { certChain: e.cert }),
    };
  if (e.user !== undefined && e.password !== undefined) options.auth = { username: e.user, password: e.password };
  return options;
}

/** The flags an error from etcd may point the operator to. */
const FLAG_NAMES = {
  ca: '--etcd-ca',
  cert: '--etcd-cert',
  user: '--etcd-user',
  password: '--etcd-password-file',
  permission: 'readwrite',
} as const;

/** Writes the layout if the cluster has none; refuses to start when etcd has another. */
async function checkLayout(client: Etcd3, o: JoinOptions): Promise<void> {
  const { route, etcd } = o;
  const key = layoutKey(route.cluster);
  const ours = { version: route.layoutVersion, shards: route.count, sliceBytes: route.sliceBytes };
  const result = await client
    .if(key, 'Create', '==', 0)
    .then(client.put(key).value(formatLayout(ours)))
    .else(client.get(key))
    .commit();
  if (result.succeeded) {
    o.log.info({ cluster: route.cluster, layout: ours }, 'wrote the cluster layout to etcd');
    return;
  }
  const kv = result.responses[0]?.response_range?.kvs[0];
  const text = kv?.value.toString('utf8') ?? '';
  const theirs = parseLayout(text);
  const where = `cluster '${route.cluster}' in etcd (${describeEtcd(etcd)})`;
  if (theirs === null)
    throw new ClaimRefusedError(`${where}: the key ${key} holds ${JSON.stringify(text)}, not a layout`);
  if (theirs.version !== ours.version || theirs.shards !== ours.shards || theirs.sliceBytes !== ours.sliceBytes)
    throw new ClaimRefusedError(
      `${where} has ${describeLayout(theirs)}, but this server was started with ${describeLayout(ours)}: every shard of a cluster needs the same --num-shards and --slice-bytes (or use another --cluster)`,
    );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** `p`, or a ConfigError naming etcd's endpoints when it does not settle within `ms`. */
async function within<T>(o: JoinOptions, what: string, p: Promise<T>, ms = START_TIMEOUT_MS): Promise<T> {
  try {
    return await withTimeout(p, ms, what);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `--etcd ${describeEtcd(o.etcd)}: ${what}: ${explainEtcdError((err as Error).message, FLAG_NAMES, o.etcd.ca !== undefined)}`,
    );
  }
}
