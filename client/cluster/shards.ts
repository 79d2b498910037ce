// shards.ts: a cluster client's view of its shards: one Channel per shard,
// in shard-index order, each sending the routing metadata of its shard (common/cluster/route.ts);
// the layout every shard agreed on at connect(); where each parameter lives (placement, cached
// per name); and the one rule for a shard's failures: a call that needed a shard that is down
// fails UNAVAILABLE (or DEADLINE_EXCEEDED) naming the shard's index and address, and calls that
// do not need it go on (docs/cluster.md). Static membership by default; with a membership source
// attached (etcd), a shard that registers at another address gets its channel re-targeted.
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { ShardInfo__Output } from '../../protos/generated/gluonps/v1/ShardInfo';
import {
  LAYOUT_VERSION,
  place,
  placementFromPart,
  type Layout,
  type Placement,
  type PlacementInput,
} from '../../common/cluster/placement';
import { CLUSTER_NAME_RE, formatRoute, type Route } from '../../common/cluster/route';
import { Channel, type ConnectOptions } from '../channel';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import { Parameter } from '../parameter';
import type { ClusterDescription, ShardDescription } from './types';

/** connect([...])'s options: a single server's, and the cluster's name to insist on. */
export interface ClusterConnectOptions extends ConnectOptions {
  /** Refuse shards of another cluster; default: the name shard 0 reports. */
  cluster?: string;
}

/** A parameter's placement and what assembling its parts needs. */
export interface Resolved {
  placement: Placement;
  /** The whole parameter's shape: known when split; null (or not needed) when whole. */
  fullShape: number[] | null;
  isConstant: boolean;
}

/** A shard's registration as a membership source (etcd) has it. */
export interface MemberState {
  address: string;
  incarnation: number;
  /** Registered as serving (false while it recovers its data dir). */
  serving: boolean;
}

/** Where a cluster's members come from besides the addresses given (etcd: client/cluster/etcd-membership.ts). */
export interface MembershipSource {
  /** Shard i's registration, or null when it has none (its lease ended, or it never registered). */
  state(i: number): MemberState | null;
  /** Starts following: onMove(i, address) when shard i registers at another address. */
  follow(onMove: (index: number, address: string) => void): void;
  close(): void;
}

/** Reconnect backoff of a shard's channel unless the options say otherwise (see open()). */
const SHARD_RECONNECT = { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 1000 };

/** How long cluster() waits for each shard's answer when no deadline is set. */
const DESCRIBE_DEADLINE_MS = 5000;

export class Shards {
  readonly #resolved = new Map<string, Resolved>();
  #membership: MembershipSource | null = null;
  /** The highest declaration order seen on any shard (docs/cluster.md, "Declaration order"). */
  #clock = 0;
  /**
   * Per split parameter, its parts' versions less the first part's, where a difference lasted
   * (a write that failed on some shards): reads take parts at those offsets as one version.
   */
  readonly versionOffsets = new Map<string, string>();

  private constructor(
    readonly channels: readonly Channel[],
    readonly cluster: string,
    readonly layout: Layout,
  ) {}

  /**
   * Opens a channel to every shard and asks each which shard it is: each must be shard i of
   * addresses.length of the same cluster (options.cluster when given) and layout, or connect
   * fails FAILED_PRECONDITION naming the shard, its address and what differs.
   */
  static async open(addresses: readonly string[], options: ClusterConnectOptions = {}): Promise<Shards> {
    const who = 'connect()';
    if (addresses.length === 0 || addresses.some((a) => typeof a !== 'string' || a === ''))
      throw invalidArgument(
        `${who}: a cluster needs every shard's "host:port" address, in shard-index order, got ${show(addresses)}`,
      );
    if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
    const { cluster: wanted, ...given } = options;
    // A shard that restarts is found again within a trainer's retries (their backoff reaches
    // 2 s by default): grpc-js's own reconnect backoff grows to 120 s.
    const own = given.channelOptions as unknown;
    const single =
      own === undefined || (typeof own === 'object' && own !== null && !Array.isArray(own))
        ? { ...given, channelOptions: { ...SHARD_RECONNECT, ...given.channelOptions } }
        : given;
    if (wanted !== undefined && (typeof wanted !== 'string' || !CLUSTER_NAME_RE.test(wanted)))
      throw invalidArgument(`${who}: cluster must be 1-64 letters, digits, '.', '_' or '-', got ${show(wanted)}`);
    const opened = await Promise.allSettled(
      addresses.map((a, i) => onShard(i, a, () => Channel.open(a, single, `${who} shard ${i}`))),
    );
    const channels = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const c of channels) c.close();
      throw failed.reason;
    }
    try {
      const infos = await Promise.all(channels.map((ch, i) => onShard(i, ch.address, () => describeShard(ch))));
      const first = infos[0]!;
      const cluster = wanted ?? first.cluster;
      const layout: Layout = { version: first.layoutVersion, shards: first.numShards, sliceBytes: first.sliceBytes };
      infos.forEach((info, i) => {
        const where = `shard ${i} (${addresses[i]})`;
        const mismatch = (what: string): never => {
          throw new GluonPsError(Status.FAILED_PRECONDITION, `${who}: ${where} ${what}`);
        };
        if (info.numShards !== addresses.length || info.shardIndex !== i)
          mismatch(
            `is shard ${info.shardIndex} of ${info.numShards}, but was given as shard ${i} of ${addresses.length}: list every shard's address in shard-index order`,
          );
        if (info.cluster !== cluster) mismatch(`belongs to cluster '${info.cluster}', not '${cluster}'`);
        if (info.layoutVersion !== LAYOUT_VERSION)
          mismatch(`places parameters by layout ${info.layoutVersion}; this client knows layout ${LAYOUT_VERSION}`);
        if (info.sliceBytes !== layout.sliceBytes)
          mismatch(
            `slices dense parameters over ${info.sliceBytes} bytes, shard 0 over ${layout.sliceBytes}: start every shard with the same --slice-bytes`,
          );
      });
      channels.forEach((ch, i) => {
        const route: Route = {
          cluster,
          index: i,
          count: layout.shards,
          layoutVersion: layout.version,
          sliceBytes: layout.sliceBytes,
        };
        ch.setRoute(formatRoute(route));
      });
      const shards = new Shards(channels, cluster, layout);
      for (const info of infos) shards.observe(info.declareClock);
      return shards;
    } catch (err) {
      for (const c of channels) c.close();
      throw err;
    }
  }

  /**
   * Follows `source`: a shard that registers at another address gets its channel re-targeted
   * there (later calls go to the new address); cluster() reports the registrations.
   */
  attach(source: MembershipSource): void {
    this.#membership = source;
    source.follow((i, address) => this.channels[i]?.retarget(address));
  }

  /** What a declaration sends as `after`: its parameter then lists after every one seen so far. */
  get clock(): number {
    return this.#clock;
  }

  /** Notes a declaration order a shard answered. */
  observe(order: number): void {
    if (order > this.#clock) this.#clock = order;
  }

  get count(): number {
    return this.channels.length;
  }

  address(i: number): string {
    return this.channels[i]!.address;
  }

  /** Runs `fn` as a call needing shard i: its transport failures name the shard. */
  on<T>(i: number, fn: (ch: Channel) => Promise<T>): Promise<T> {
    return onShard(i, this.address(i), () => fn(this.channels[i]!));
  }

  /** A plain handle of `name` on shard i (its part, or the whole parameter on its home shard). */
  handle(i: number, name: string): Parameter {
    return new Parameter(this.channels[i]!, name);
  }

  /**
   * Runs `fn` on every listed shard at once and waits for all of them; the first failure in
   * shard order is thrown, so which error a caller sees does not depend on timing.
   */
  async all<T>(shards: readonly number[], fn: (i: number, ch: Channel) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(shards.map((i) => this.on(i, (ch) => fn(i, ch))));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  // --- Placement -----------------------------------------------------------------------------

  /** The placement a declaration asks for (remember() it once the shards accepted it). */
  plan(input: PlacementInput, isConstant: boolean): Resolved {
    const placement = place(input, this.layout);
    return { placement, fullShape: placement.kind === 'whole' ? null : [...input.shape!], isConstant };
  }

  /** Remembers where a parameter lives (its placement never changes once declared). */
  remember(name: string, r: Resolved): void {
    this.#resolved.set(name, r);
  }

  /** Where `name` lives: remembered, or rebuilt from what its home shard holds (one Get). */
  async resolve(name: string): Promise<Resolved> {
    const known = this.#resolved.get(name);
    if (known) return known;
    const home = place({ name, shape: null, dtype: 'float32', stype: 'default' }, this.layout).home;
    const info = await this.on(home, (ch) =>
      ch.unary<ParameterInfo__Output>((md, o, cb) => ch.parameters.get({ name }, md, o, cb)),
    );
    return this.learn(name, info);
  }

  /** Remembers a parameter's placement from its home shard's description. */
  learn(name: string, info: ParameterInfo__Output): Resolved {
    const part = info.spec?.part ?? null;
    const placement = placementFromPart(name, this.layout, part);
    const r: Resolved = { placement, fullShape: part ? [...part.fullShape] : null, isConstant: info.isConstant };
    this.#resolved.set(name, r);
    return r;
  }

  /** The home shard of a name: where a whole parameter lives and where a split one's description comes from. */
  home(name: string): number {
    return place({ name, shape: null, dtype: 'float32', stype: 'default' }, this.layout).home;
  }

  // --- Description ---------------------------------------------------------------------------

  /** Every shard's index, address and whether it answers and serves (ps.cluster()). */
  async describe(deadlineMs: number | undefined): Promise<ClusterDescription> {
    const shards = await Promise.all(
      this.channels.map(async (ch, index): Promise<ShardDescription> => {
        const d = await this.#describeOne(ch, index, deadlineMs);
        if (this.#membership === null) return d;
        // With a membership source, a shard serves only while it is registered as serving.
        const member = this.#membership.state(index);
        if (member === null)
          return {
            ...d,
            serving: false,
            error: `not registered: its lease ended (the server stopped or lost etcd)${d.error === undefined ? '' : `; ${d.error}`}`,
          };
        return { ...d, address: member.address, incarnation: member.incarnation, serving: d.serving && member.serving };
      }),
    );
    return { cluster: this.cluster, layout: { ...this.layout }, shards };
  }

  async #describeOne(ch: Channel, index: number, deadlineMs: number | undefined): Promise<ShardDescription> {
    try {
      const info = await describeShard(ch, deadlineMs ?? DESCRIBE_DEADLINE_MS);
      return { index, address: ch.address, serving: info.serving };
    } catch (err) {
      return { index, address: ch.address, serving: false, error: (err as Error).message };
    }
  }

  close(): void {
    this.#membership?.close();
    for (const c of this.channels) c.close();
  }
}

/** AdminService.DescribeShard on `ch` (answered unrouted, and while the server recovers). */
export function describeShard(ch: Channel, deadlineMs = ch.deadlineMs): Promise<ShardInfo__Output> {
  return ch.unary<ShardInfo__Output>((md, o, cb) => ch.admin.describeShard({}, md, o, cb), deadlineMs);
}

/** gRPC's own deadline text (a trainer's barrier timeout is DEADLINE_EXCEEDED too, with its own text). */
const GRPC_DEADLINE = /^deadline exceeded\b/i;

/**
 * Runs a call that needs shard `i`: UNAVAILABLE and gRPC's DEADLINE_EXCEEDED (the shard is down,
 * unreachable or too slow) are given the shard's index and address; every other answer is the
 * shard's own, as one server would give it.
 */
export async function onShard<T>(i: number, address: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (
      err instanceof GluonPsError &&
      (err.code === Status.UNAVAILABLE || (err.code === Status.DEADLINE_EXCEEDED && GRPC_DEADLINE.test(err.message))) &&
      !err.message.startsWith('shard ')
    ) {
      throw new GluonPsError(err.code, `shard ${i} (${address}): ${err.message}`, {
        cause: err,
        metadata: err.metadata,
      });
    }
    throw err;
  }
}
