// `npm run bench:cluster`: sync training over a cluster of K shard hosts, K = 1, 2, 4, with W = 4
// worker hosts, each host a Linux network namespace whose link `tc` limits (default 400 Mbit/s
// both ways, --link-mbit); then, on plain loopback, a 1-shard cluster against a direct server.
//
// Hosts (bench/cluster-plan.ts builds the plan, bench/cluster-net.ts runs it): a bridge in its
// own namespace, one namespace per host with a veth pair to it, addresses in 10.253.0.0/24 that
// exist only there. Shard i of K is the real server CLI, started as `npm start` starts it but
// under `ip netns exec` on its host's address (`--shard-index i --num-shards K --data-dir none
// --insecure`: a private address without a token). Each worker (bench/cluster-worker.ts) runs
// the product client in its host: connect([every shard]), the model declared and initialized
// once, one sync SGD-momentum trainer over it (numWorkers W); one step per worker = pull every
// tensor, push a gradient for each, step(). A round is every worker stepping at once; its time is
// the slowest worker's. Medians over --rounds rounds after --warmup, per K; speedup_4 =
// step(K=4) / step(K=1), target <= 0.35 (the shards' links are the bottleneck at K = 1: each
// carries W times the model per phase, against the model once per worker link at K = W).
//
// The model (--params float32 in --tensors equal tensors, default 64 MiB as 4 x [2048, 2048])
// is over the 4 MiB slice size, so every tensor is cut into K slices, one per shard.
//
// Loopback part (no namespaces, no tc, 127.0.0.1): one server, W workers connecting with
// connect([address]) (a 1-shard cluster) and W connecting with connect(address), each set with
// its own copy of the model and trainer on that server; rounds alternate between the two, order
// flipped each round; ratio = median cluster / median direct, target <= 1.05.
//
// On a 2-core machine the CPU can become the bottleneck instead of the links: the table gives the
// link-bound step (what the links alone allow), the share of it reached, our processes' CPU per
// step and how busy the whole machine was, so a CPU-bound figure is visible, not hidden (a lower
// --link-mbit moves the bottleneck back to the links).
//
// Everything is torn down at the end, on errors, on the watchdog and on SIGINT/SIGTERM: workers,
// then servers, then the namespaces (and the veth pairs and qdiscs in them); an exit hook removes
// the namespaces if anything else ends the process. It refuses to run the namespace part without
// root or without `ip`/`tc`, naming what is missing (the npm script installs iproute2 as root).
// Flags: bench/cluster-plan.ts USAGE; --check exits 1 when a target fails.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  BENCH_NODE_FLAGS,
  childRequests,
  childScope,
  REPO_ROOT,
  startChild,
  startCliServer,
  npmStartCommand,
  type ChildScope,
} from './child-process';
import {
  buildNetwork,
  inNamespace,
  linkDrops,
  netPreflight,
  removeStaleNamespaces,
  teardownNetwork,
} from './cluster-net';
import { linkBoundStepMs, netPlan, parseClusterArgs, type ClusterBenchArgs, type NetPlan } from './cluster-plan';
import { clusterWorkerMain, WORKER_FLAG, type ClusterWorkerConfig, type StepTimes } from './cluster-worker';
import { cpuMs, median, shapeOf } from './measure';

const SELF = fileURLToPath(import.meta.url);
/** Server warnings this benchmark causes on purpose (see runNetns), not echoed. */
const QUIET_WARNINGS = /without authentication or TLS|^slow call$/;

interface Worker {
  pid: number;
  step(): Promise<StepTimes>;
  stop(): Promise<void>;
}

async function startWorker(config: ClusterWorkerConfig, prefix: readonly string[], label: string): Promise<Worker> {
  const started = await startChild<{ ready: boolean; error?: string }>(
    SELF,
    [WORKER_FLAG, JSON.stringify(config)],
    undefined,
    120_000,
    BENCH_NODE_FLAGS,
    {},
    prefix,
  );
  if (!started.ready.ready) {
    await started.stop();
    throw new Error(`${label} failed to start: ${started.ready.error ?? 'no ready report'}`);
  }
  const requests = childRequests<StepTimes>(started, label);
  return { pid: started.child.pid ?? 0, step: () => requests.request({}), stop: () => started.stop() };
}

/** The whole machine's CPU jiffies so far: busy (all but idle and iowait) and total (/proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

const loadAverage = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '-';
  }
};

/** What the measured rounds of one system gave: per round, the slowest worker's times and the CPU. */
interface Measured {
  rounds: StepTimes[];
  /** CPU ms per round: servers together, workers together. */
  serverCpu: number[];
  workerCpu: number[];
  /** Share of the whole machine's CPU busy during the measured rounds (0..1, every process). */
  machineBusy: number;
  /** Packets the links' tbfs dropped over the warm-up and measured rounds (netns part only). */
  drops?: number;
}

function newMeasured(): Measured {
  return { rounds: [], serverCpu: [], workerCpu: [], machineBusy: Number.NaN };
}

/** One round: every worker steps at once; the slowest worker's times, with the CPU the round used. */
async function measuredRound(workers: Worker[], serverPids: number[], into: Measured): Promise<void> {
  const sum = (pids: number[]): number => pids.map(cpuMs).reduce((a, b) => a + b, 0);
  const workerPids = workers.map((w) => w.pid);
  const before = { servers: sum(serverPids), workers: sum(workerPids) };
  const times = await Promise.all(workers.map((w) => w.step()));
  into.serverCpu.push(sum(serverPids) - before.servers);
  into.workerCpu.push(sum(workerPids) - before.workers);
  into.rounds.push(times.reduce((a, b) => (b.total > a.total ? b : a)));
}

/** Runs `rounds` measured rounds (after `warmup`) and notes the machine's busy share over them. */
async function measure(workers: Worker[], serverPids: number[], warmup: number, rounds: number): Promise<Measured> {
  for (let i = 0; i < warmup; i++) await Promise.all(workers.map((w) => w.step()));
  const m = newMeasured();
  const j0 = machineJiffies();
  for (let i = 0; i < rounds; i++) await measuredRound(workers, serverPids, m);
  const j1 = machineJiffies();
  m.machineBusy = (j1.busy - j0.busy) / (j1.total - j0.total);
  return m;
}

interface Model {
  shapes: number[][];
  bytes: number;
}

function modelOf(args: ClusterBenchArgs): Model {
  const shape = shapeOf(args.params / args.tensors);
  return { shapes: Array.from({ length: args.tensors }, () => shape), bytes: args.params * 4 };
}

/** How long one worker step may take: ample for the slowest K at this link rate. */
function opTimeoutMs(args: ClusterBenchArgs, model: Model): number {
  return Math.ceil(Math.max(120_000, 20 * linkBoundStepMs(model.bytes, args.workers, 1, args.linkMbit)));
}

function serverBundle(): string {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bundle.mjs'), 'server/cli.ts', 'gluonps-server'], {
    stdio: 'inherit',
  });
  return npmStartCommand().script;
}

/** Part 1: K shard hosts and W worker hosts over the limited links, for each K. */
async function runNetns(
  args: ClusterBenchArgs,
  model: Model,
  bundle: string,
  plan: NetPlan,
  scope: ChildScope,
): Promise<Map<number, Measured>> {
  const results = new Map<number, Measured>();
  for (const k of args.shards) {
    const stops: Array<() => Promise<void>> = [];
    const stopAll = async (): Promise<void> => {
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    };
    scope.add(stopAll);
    try {
      const servers = await Promise.all(
        plan.shards.slice(0, k).map((host, i) =>
          startCliServer({
            bundle,
            prefix: inNamespace(host.ns),
            host: host.address,
            args: ['--data-dir', 'none', '--insecure', '--shard-index', String(i), '--num-shards', String(k)],
            label: `shard ${i} of ${k}`,
            // --insecure on a private address that exists only in the namespaces, on purpose; and
            // a 16 MiB transfer over a 400 Mbit/s link shared by 4 workers is a "slow call".
            quietWarnings: QUIET_WARNINGS,
            graceMs: 15_000,
          }),
        ),
      );
      for (const s of servers) stops.push(s.stop);
      const addresses = servers.map((s) => s.address);
      const workers: Worker[] = [];
      // One after another: worker 0 declares and initializes the model, the others attach.
      for (const host of plan.workers) {
        const config: ClusterWorkerConfig = {
          target: addresses,
          workerId: host.index,
          numWorkers: args.workers,
          shapes: model.shapes,
          prefix: 'bench_cluster',
          opTimeoutMs: opTimeoutMs(args, model),
        };
        const w = await startWorker(config, inNamespace(host.ns), `worker ${host.index} (K = ${k})`);
        stops.push(w.stop);
        workers.push(w);
      }
      const serverPids = servers.map((s) => s.child.pid ?? 0);
      const drops = linkDrops(plan);
      const m = await measure(workers, serverPids, args.warmup, args.rounds);
      m.drops = linkDrops(plan) - drops;
      results.set(k, m);
      process.stderr.write(
        `bench:cluster: K = ${k}: ${median(results.get(k)!.rounds.map((t) => t.total)).toFixed(0)} ms per step\n`,
      );
    } finally {
      await stopAll();
    }
  }
  return results;
}

/** Part 2: on loopback, a 1-shard cluster client against a direct client, one server, rounds alternating. */
async function runLoopback(
  args: ClusterBenchArgs,
  model: Model,
  bundle: string,
  scope: ChildScope,
): Promise<{ cluster: Measured; direct: Measured }> {
  const server = await startCliServer({
    bundle,
    args: ['--data-dir', 'none'],
    label: 'loopback server',
    graceMs: 15_000,
    quietWarnings: QUIET_WARNINGS,
  });
  scope.add(server.stop);
  const systems = ['direct', 'cluster'] as const;
  const workers: Record<(typeof systems)[number], Worker[]> = { direct: [], cluster: [] };
  for (const system of systems)
    for (let id = 0; id < args.workers; id++) {
      const config: ClusterWorkerConfig = {
        target: system === 'direct' ? server.address : [server.address],
        workerId: id,
        numWorkers: args.workers,
        shapes: model.shapes,
        prefix: `bench_cluster_${system}`,
        opTimeoutMs: opTimeoutMs(args, model),
      };
      const w = await startWorker(config, [], `loopback ${system} worker ${id}`);
      scope.add(w.stop);
      workers[system].push(w);
    }
  const pids = [server.child.pid ?? 0];
  for (let i = 0; i < args.warmup; i++)
    for (const system of systems) await Promise.all(workers[system].map((w) => w.step()));
  const out = { cluster: newMeasured(), direct: newMeasured() };
  const j0 = machineJiffies();
  for (let i = 0; i < args.loopbackRounds; i++) {
    const order = i % 2 === 0 ? [...systems] : [...systems].reverse();
    for (const system of order) await measuredRound(workers[system], pids, out[system]);
  }
  const j1 = machineJiffies();
  out.cluster.machineBusy = out.direct.machineBusy = (j1.busy - j0.busy) / (j1.total - j0.total);
  return out;
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const medianOf = (m: Measured, pick: (t: StepTimes) => number): number => median(m.rounds.map(pick));

function reportNetns(args: ClusterBenchArgs, model: Model, results: Map<number, Measured>): void {
  const cores = cpus().length;
  console.log(
    `K shard hosts, ${args.workers} worker hosts, links ${args.linkMbit} Mbit/s each way (tbf); ${args.rounds} rounds after ${args.warmup} warm-up per K; ms are medians of the slowest worker per round`,
  );
  const header = [
    'K',
    'step',
    'min',
    'max',
    'pull',
    'push',
    'step()',
    'link-bound',
    'link use',
    'CPU/step servers',
    'workers',
    'ours/cores',
    'machine busy',
    'tbf drops (warm-up too)',
  ];
  console.log(header.join('  '));
  for (const [k, m] of results) {
    const step = medianOf(m, (t) => t.total);
    const bound = linkBoundStepMs(model.bytes, args.workers, k, args.linkMbit);
    const cpu = median(m.serverCpu) + median(m.workerCpu);
    console.log(
      [
        String(k),
        fmt(step),
        fmt(Math.min(...m.rounds.map((t) => t.total))),
        fmt(Math.max(...m.rounds.map((t) => t.total))),
        fmt(medianOf(m, (t) => t.pull)),
        fmt(medianOf(m, (t) => t.push)),
        fmt(medianOf(m, (t) => t.step)),
        fmt(bound),
        `${fmt((100 * bound) / step)} %`,
        fmt(median(m.serverCpu)),
        fmt(median(m.workerCpu)),
        `${fmt((100 * cpu) / (step * cores))} %`,
        `${fmt(100 * m.machineBusy)} %`,
        fmt(m.drops ?? Number.NaN),
      ].join('  '),
    );
    // The links are the bottleneck when the step is near what they allow; when it is far from it
    // and the machine is nearly saturated, the CPU is.
    if (bound / step < 0.75 && m.machineBusy > 0.85)
      console.log(
        `  K = ${k}: CPU-bound, not link-bound: the step reaches ${fmt((100 * bound) / step)} % of what the links allow while the machine was ${fmt(100 * m.machineBusy)} % busy ` +
          `(this benchmark's processes ${fmt((100 * cpu) / (step * cores))} % of ${cores} cores, the rest other work); try a lower --link-mbit`,
      );
  }
}

async function main(): Promise<number> {
  const args = parseClusterArgs(process.argv.slice(2));
  const model = modelOf(args);
  const netns = args.skipNetns ? null : netPreflight();
  if (netns !== null) throw new Error(netns);
  const bound = (k: number): number => linkBoundStepMs(model.bytes, args.workers, k, args.linkMbit);
  const deadlineS =
    args.deadlineS ??
    Math.ceil(
      600 +
        (args.skipNetns
          ? 0
          : args.shards.reduce((s, k) => s + 60 + (3 * (args.warmup + args.rounds) * bound(k)) / 1000, 0)) +
        (args.skipLoopback ? 0 : 30 * (args.warmup + args.loopbackRounds)),
    );
  const scope = childScope('bench:cluster', deadlineS);
  const t0 = performance.now();
  const loadBefore = loadAverage();
  let plan: NetPlan | null = null;
  const removeNetwork = (): void => {
    if (plan !== null) teardownNetwork(plan);
    plan = null;
  };
  process.on('exit', removeNetwork); // last resort; the scope removes it first
  try {
    const bundle = serverBundle();
    let netResults = new Map<number, Measured>();
    if (!args.skipNetns) {
      const stale = removeStaleNamespaces();
      if (stale.length > 0)
        process.stderr.write(`bench:cluster: removed namespaces of killed runs: ${stale.join(', ')}\n`);
      plan = netPlan({
        pid: process.pid,
        workers: args.workers,
        shards: Math.max(...args.shards),
        linkMbit: args.linkMbit,
      });
      scope.add(removeNetwork); // registered first: runs after every process is stopped
      buildNetwork(plan);
      netResults = await runNetns(args, model, bundle, plan, scope);
    }
    const loop = args.skipLoopback ? null : await runLoopback(args, model, bundle, scope);
    await scope.stopAll();
    const loadAfter = loadAverage();

    const mib = model.bytes / (1 << 20);
    console.log(
      `bench:cluster: ${args.params} float32 params (${fmt(mib)} MiB) in ${args.tensors} tensors of [${model.shapes[0]!.join(', ')}], ` +
        `sync SGD-momentum, ${args.workers} workers; ${fmt((performance.now() - t0) / 1000)} s; load average ${loadBefore} before, ${loadAfter} after; ${cpus().length} cores`,
    );
    if (netResults.size > 0) reportNetns(args, model, netResults);
    let ratio = Number.NaN;
    if (loop !== null) {
      const c = medianOf(loop.cluster, (t) => t.total);
      const d = medianOf(loop.direct, (t) => t.total);
      ratio = c / d;
      const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
      console.log(
        `loopback, one server, ${args.workers} workers per client kind, ${args.loopbackRounds} alternating rounds: ` +
          `1-shard cluster ${fmt(c)} ms (pull ${fmt(medianOf(loop.cluster, (t) => t.pull))}, push ${fmt(medianOf(loop.cluster, (t) => t.push))}, step() ${fmt(medianOf(loop.cluster, (t) => t.step))}), ` +
          `direct ${fmt(d)} ms (pull ${fmt(medianOf(loop.direct, (t) => t.pull))}, push ${fmt(medianOf(loop.direct, (t) => t.push))}, step() ${fmt(medianOf(loop.direct, (t) => t.step))}); ` +
          `CPU ms per step (median): workers ${fmt(median(loop.cluster.workerCpu))} / ${fmt(median(loop.direct.workerCpu))}, server ${fmt(median(loop.cluster.serverCpu))} / ${fmt(median(loop.direct.serverCpu))}; ` +
          `CPU cluster / direct, all rounds: workers ${fmt(sum(loop.cluster.workerCpu) / sum(loop.direct.workerCpu), 3)} x, server ${fmt(sum(loop.cluster.serverCpu) / sum(loop.direct.serverCpu), 3)} x; machine ${fmt(100 * loop.cluster.machineBusy)} % busy`,
      );
    }
    const step = (k: number): number => {
      const m = netResults.get(k);
      return m === undefined ? Number.NaN : medianOf(m, (t) => t.total);
    };
    const speedup4 = step(4) / step(1);
    const okSpeedup = Number.isFinite(speedup4) ? speedup4 <= 0.35 : null;
    const okLoop = Number.isFinite(ratio) ? ratio <= 1.05 : null;
    const verdict = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'PASS' : 'FAIL');
    console.log(`target: speedup_4 = step(K=4) / step(K=1) <= 0.35: ${fmt(speedup4, 3)}: ${verdict(okSpeedup)}`);
    console.log(`target: loopback 1-shard cluster / direct <= 1.05: ${fmt(ratio, 3)}: ${verdict(okLoop)}`);
    const num = (x: number, digits: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
    console.log(
      JSON.stringify({
        bench: 'cluster',
        link_mbit: args.linkMbit,
        workers: args.workers,
        step_ms: Object.fromEntries([...netResults.keys()].map((k) => [String(k), num(step(k), 1)])),
        speedup_4: num(speedup4, 3),
        loopback_1shard_vs_direct: num(ratio, 3),
      }),
    );
    return args.check && (okSpeedup === false || okLoop === false) ? 1 : 0;
  } finally {
    await scope.close();
    removeNetwork();
  }
}

// This bundle is also the entry of the worker children; only a plain invocation runs the benchmark.
if (process.argv[2] === WORKER_FLAG) {
  void clusterWorkerMain(JSON.parse(process.argv[3] ?? '{}') as ClusterWorkerConfig);
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error('bench:cluster failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
