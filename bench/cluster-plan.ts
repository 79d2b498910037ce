// cluster-plan.ts: the pure parts of `npm run bench:cluster` (bench/cluster.ts): its arguments,
// the simulated network (which namespaces, veth pairs, addresses and `tc` limits, as the exact
// `ip`/`tc` command lines that build it and take it down), which leftover namespaces of a killed
// run may be removed, the step time the links alone allow, and the drops in `tc -s` output.
// Nothing here runs a command, so
// test/unit/bench-cluster-plan.test.ts checks it without root.
//
// The network: one namespace holds a Linux bridge; every host (W worker hosts, then as many
// shard hosts as the largest K) is a namespace with one veth pair, `eth0` inside the host, its
// peer on the bridge. Each host's link is limited in both directions, as a full-duplex NIC is:
// a tbf on `eth0` (what the host sends) and one on the bridge's port (what it receives).
// Addresses are in 10.253.0.0/24 and exist only inside those namespaces: nothing is added to
// the namespace the benchmark runs in, so its routes and interfaces are untouched.
import { argReader } from './child-process';

/** Every namespace of a run is named `gpsbench-<pid>-<host>`, so leftovers can be told apart. */
export const NS_PREFIX = 'gpsbench';
/** The /24 the hosts' addresses are taken from (inside the namespaces only). */
export const SUBNET = '10.253.0';
/** Most hosts of one role (worker addresses are .10 + i, shard addresses .100 + i). */
export const MAX_HOSTS = 64;
/** tbf's queue: how long a packet may wait before it is dropped (its limit is rate x this + burst). */
export const TBF_LATENCY_MS = 25;

export interface ClusterBenchArgs {
  /** Each host's link rate in Mbit/s (both directions). */
  linkMbit: number;
  workers: number;
  /** The shard counts to measure, in order (K = 1 is needed for speedup_4's baseline). */
  shards: number[];
  /** Measured steps per K after `warmup` untimed ones. */
  rounds: number;
  warmup: number;
  /** Measured rounds per system on loopback (1-shard cluster and direct alternate). */
  loopbackRounds: number;
  /** float32 elements of the model, in `tensors` equal tensors. */
  params: number;
  tensors: number;
  skipNetns: boolean;
  skipLoopback: boolean;
  check: boolean;
  /** Watchdog in seconds; null: estimated from the link rate and the rounds. */
  deadlineS: number | null;
}

export const USAGE = `npm run bench:cluster -- [--link-mbit 400] [--workers 4] [--shards 1,2,4] [--rounds 5]
  [--warmup 1] [--loopback-rounds 8] [--params 16777216] [--tensors 4] [--skip-netns] [--skip-loopback]
  [--check] [--deadline S]`;

/** The benchmark's flags (throws naming the flag, what it needs and what it got). */
export function parseClusterArgs(argv: readonly string[]): ClusterBenchArgs {
  const known = new Set([
    '--link-mbit',
    '--workers',
    '--shards',
    '--rounds',
    '--warmup',
    '--loopback-rounds',
    '--params',
    '--tensors',
    '--skip-netns',
    '--skip-loopback',
    '--check',
    '--deadline',
  ]);
  const switches = new Set(['--skip-netns', '--skip-loopback', '--check']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!known.has(a)) throw new Error(`bench:cluster: unknown argument '${a}'\nusage: ${USAGE}`);
    if (switches.has(a)) continue;
    if (argv[i + 1] === undefined) throw new Error(`bench:cluster: ${a} needs a value\nusage: ${USAGE}`);
    i++; // its value
  }
  const { value, num } = argReader(argv);
  const shardsText = value('--shards') ?? '1,2,4';
  const shards = shardsText.split(',').map((s) => Number(s));
  if (shards.some((k) => !Number.isInteger(k) || k < 1 || k > MAX_HOSTS) || new Set(shards).size !== shards.length)
    throw new Error(`--shards must be distinct integers in [1, ${MAX_HOSTS}] separated by commas, got ${shardsText}`);
  const args: ClusterBenchArgs = {
    linkMbit: num('--link-mbit', 400, 1),
    workers: num('--workers', 4, 1),
    shards,
    rounds: num('--rounds', 5, 1),
    warmup: num('--warmup', 1, 0),
    loopbackRounds: num('--loopback-rounds', 8, 1),
    params: num('--params', 16 * 1024 * 1024, 1),
    tensors: num('--tensors', 4, 1),
    skipNetns: argv.includes('--skip-netns'),
    skipLoopback: argv.includes('--skip-loopback'),
    check: argv.includes('--check'),
    deadlineS: value('--deadline') === null ? null : num('--deadline', 0, 10),
  };
  if (args.linkMbit > 100_000) throw new Error(`--link-mbit must be at most 100000, got ${args.linkMbit}`);
  if (args.workers > MAX_HOSTS) throw new Error(`--workers must be at most ${MAX_HOSTS}, got ${args.workers}`);
  if (args.params % args.tensors !== 0)
    throw new Error(`--params (${args.params}) must be a multiple of --tensors (${args.tensors})`);
  if (args.skipNetns && args.skipLoopback) throw new Error('--skip-netns and --skip-loopback leave nothing to measure');
  return args;
}

/** One simulated host: its namespace, its interface's peer on the bridge and its address. */
export interface NetHost {
  role: 'worker' | 'shard';
  index: number;
  /** Its network namespace. */
  ns: string;
  /** The name of its veth peer, a port of the bridge (in the bridge's namespace). */
  port: string;
  /** Its IPv4 address (inside the namespaces only). */
  address: string;
}

export interface NetPlan {
  linkMbit: number;
  /** The namespace holding the bridge. */
  bridgeNs: string;
  workers: NetHost[];
  shards: NetHost[];
  /** argv of every command that builds the network, in order (each program is `ip` or `tc`). */
  setup: string[][];
  /** argv of every command that removes it (deleting a namespace deletes its veth ends too). */
  teardown: string[][];
}

/** tbf's bucket: at least 256 KiB (a 64 KiB GSO packet passes whole), and 4 ms of the rate (HZ 250). */
export function tbfBurstBytes(linkMbit: number): number {
  return Math.max(256 * 1024, Math.ceil((linkMbit * 1e6) / 8 / 250));
}

/** The tbf limiting what leaves `dev` (in namespace `ns`) to `linkMbit`. */
function tbf(ns: string, dev: string, linkMbit: number): string[] {
  return [
    'tc',
    '-n',
    ns,
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${linkMbit}mbit`,
    'burst',
    String(tbfBurstBytes(linkMbit)),
    'latency',
    `${TBF_LATENCY_MS}ms`,
  ];
}

/** The network of a run: `workers` worker hosts and `shards` shard hosts on one bridge. */
export function netPlan(options: { pid: number; workers: number; shards: number; linkMbit: number }): NetPlan {
  const { pid, workers, shards, linkMbit } = options;
  if (workers > MAX_HOSTS || shards > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts of each role`);
  const tag = `${NS_PREFIX}-${pid}`;
  const bridgeNs = `${tag}-br`;
  const host = (role: 'worker' | 'shard', index: number): NetHost => {
    const short = `${role === 'worker' ? 'w' : 's'}${index}`;
    return {
      role,
      index,
      ns: `${tag}-${short}`,
      port: short,
      address: `${SUBNET}.${(role === 'worker' ? 10 : 100) + index}`,
    };
  };
  const ws = Array.from({ length: workers }, (_, i) => host('worker', i));
  const ss = Array.from({ length: shards }, (_, i) => host('shard', i));
  const setup: string[][] = [
    ['ip', 'netns', 'add', bridgeNs],
    ['ip', '-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge'],
    ['ip', '-n', bridgeNs, 'link', 'set', 'br0', 'up'],
  ];
  for (const h of [...ws, ...ss]) {
    setup.push(
      ['ip', 'netns', 'add', h.ns],
      ['ip', '-n', h.ns, 'link', 'set', 'lo', 'up'],
      // Created inside the host's namespace, its peer straight into the bridge's: the
      // benchmark's own namespace never holds either end, even for a moment.
      ['ip', '-n', h.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', h.port, 'netns', bridgeNs],
      ['ip', '-n', bridgeNs, 'link', 'set', h.port, 'master', 'br0'],
      ['ip', '-n', bridgeNs, 'link', 'set', h.port, 'up'],
      ['ip', '-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0'],
      ['ip', '-n', h.ns, 'link', 'set', 'eth0', 'up'],
      tbf(h.ns, 'eth0', linkMbit), // what the host sends
      tbf(bridgeNs, h.port, linkMbit), // what it receives
    );
  }
  const teardown = [...ws, ...ss].map((h) => ['ip', 'netns', 'del', h.ns]);
  teardown.push(['ip', 'netns', 'del', bridgeNs]);
  return { linkMbit, bridgeNs, workers: ws, shards: ss, setup, teardown };
}

/**
 * Namespaces a killed run left behind: ours by name (`gpsbench-<pid>-...`, from `ip netns list`
 * output) whose run's process is gone. A live run's namespaces are never listed.
 */
export function staleNamespaces(ipNetnsList: string, isAlive: (pid: number) => boolean): string[] {
  const out: string[] = [];
  for (const line of ipNetnsList.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = new RegExp(`^${NS_PREFIX}-(\\d+)-(br|[ws]\\d+)$`).exec(name);
    if (m && !isAlive(Number(m[1]))) out.push(name);
  }
  return out;
}

/**
 * The step time the links alone allow, in ms: each worker pulls then pushes `modelBytes`; in
 * each phase a shard's link carries workers x modelBytes / K and a worker's link modelBytes, so
 * the busier of the two sets the time (headers not counted).
 */
export function linkBoundStepMs(modelBytes: number, workers: number, shards: number, linkMbit: number): number {
  const busiest = Math.max((workers * modelBytes) / shards, modelBytes);
  return ((2 * busiest * 8) / (linkMbit * 1e6)) * 1000;
}

/** Packets the qdiscs of `tc -s qdisc show` output dropped, summed (tbf drops what overflows its queue). */
export function tcDrops(tcStatsOutput: string): number {
  let n = 0;
  for (const m of tcStatsOutput.matchAll(/\(dropped (\d+),/g)) n += Number(m[1]);
  return n;
}
