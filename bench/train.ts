// `npm run bench:train`: sync data-parallel training through the product against the tuned raw
// grpc-js transport moving the same bytes, in one run, with the rounds interleaved so that drift
// on this noisy 2-core VM hits both alike.
//
// Process layout (the same for both systems):
//   - product:     server = the real CLI bundle (.build/gluonps-server.mjs) launched exactly as
//                  package.json's "start" script launches it (its environment and node flags),
//                  memory-only (--data-dir none) unless --durable; 2 worker processes, each with
//                  the product client (client/index.ts) attached to one sync SGD-momentum
//                  trainer (numWorkers 2);
//   - raw grpc-js: server = bench/transport-baselines.ts's grpc child (identity serializers,
//                  windows raised by server/rpc/transport.ts, fresh receive buffers); 2 client
//                  processes using its rawGrpcClient.
// Every server and worker runs under plain node from an esbuild bundle (tsx halves throughput,
// see bench/child-process.ts); workers and the raw server get MALLOC_TUNING_ENV and
// BENCH_NODE_FLAGS from child-process.ts, as in bench:transport. This process only sends
// commands over IPC and waits; it measures nothing itself. Everything binds 127.0.0.1.
//
// Model: --params float32 parameters (default 16,777,216 = 64 MiB) in --tensors equal tensors
// (default 4 x [2048, 2048]). One product step, per worker: pull every parameter (`p.data()`,
// all tensors concurrently), push a gradient for each (`tr.pushGrad`, a fixed random
// Float32Array per tensor prepared once, all concurrently), then `tr.step(batch)`, which
// resolves when both workers stepped and the server applied SGD-momentum. One raw round, per
// client: pull every tensor's bytes (server-streamed 1 MiB messages, concurrently), then push
// them (client-streamed, concurrently): the same bytes in the same tensor sizes and the same
// concurrency, with no barrier and no optimizer. Both workers of a system are told to start at
// once; a round's time is the slower worker's (its own performance.now() around the step), so
// step_ms includes the wait at the barrier for the other worker. Medians over --rounds rounds
// after --warmup untimed ones, product and raw rounds alternating (order flipped each round).
//
// --metrics: the cost of observability instead of the raw baseline: the same product steps on a
// second server with --metrics-port set (scraped every 5 s and its status page polled every 2 s,
// bench/scraper.ts) against the product without it, rounds interleaved, target at most 3 %
// slower.
//
// Flags: --rounds N (default 10), --warmup N (default 2), --tensors N (default 4), --params N
// (default 16777216), --sequential (per-tensor transfers one after another instead of
// concurrently, both systems), --server-prof DIR (product server under --cpu-prof, written at
// shutdown), --worker-prof DIR (every worker under --cpu-prof, in DIR/product and DIR/raw),
// --server-flags / --worker-flags "FLAGS" (extra node flags for the product server / every
// worker, for diagnosis, e.g. "--trace-gc"; printed with the results), --durable (the server
// persists to a fresh temporary --data-dir with its default durability), --check (exit 1 when
// the target fails), --deadline S (watchdog, default 170). Every child is stopped on the way
// out, on errors, on the watchdog and on SIGINT/SIGTERM.
//
// Besides the times, the table gives the CPU time (user + system, all threads, from /proc) each
// system's server and workers used per measured round, and each process's peak RSS: on a
// 2-core machine the CPU a step costs, more than any one process's wall time, bounds it.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  DRIVER_FLAG as BASELINE_DRIVER_FLAG,
  SERVER_FLAG as BASELINE_SERVER_FLAG,
  rawGrpcClient,
  startBaselineServer,
} from './transport-baselines';
import {
  argReader,
  BENCH_NODE_FLAGS,
  childRequests,
  childScope,
  cpuProfFlags,
  MALLOC_TUNING_ENV,
  npmStartCommand,
  REPO_ROOT,
  serveRequests,
  startChild,
  startCliServer,
  type StartedChild,
} from './child-process';
import { cpuMs, median, withTimeout, workerGradients } from './measure';
import { POLL_EVERY_MS, SCRAPE_EVERY_MS, startScrapeLoad, type ScrapeLoad } from './scraper';

const SELF = fileURLToPath(import.meta.url);
const WORKER_FLAG = '--train-bench-worker';
const NUM_WORKERS = 2;
const BATCH_SIZE = 32;
/** Longest one step or round may take before the run is declared stuck. */

/** 'metrics': the product server with --metrics-port set and scraped (--metrics). */
type System = 'product' | 'raw' | 'metrics';

interface WorkerConfig {
  system: System;
  /** host:port of this system's server. */
  address: string;
  workerId: number;
  /** Shape of each tensor of the model. */
  shapes: number[][];
  sequential: boolean;
}

/** Milliseconds of one step at one worker, total and by phase. */
interface StepTimes {
  total: number;
  pull: number;
  push: number;
  /** Product only: tr.step() (barrier wait + optimizer apply + reply). */
  step: number;
}

type Reply = { ready: true } | { ready: false; error: string } | { id: number; result?: StepTimes; error?: string };

// ---------------------------------------------------------------------------------------------
// Worker child: one client of one system; runs a step when told and reports its times.

/** Runs ops concurrently, or one after another. */
async function all(ops: Array<() => Promise<void>>, sequential: boolean): Promise<void> {
  if (sequential) for (const op of ops) await op();
  else await Promise.all(ops.map((op) => op()));
}

interface Session {
  step(): Promise<StepTimes>;
  close(): Promise<void> | void;
}

async function productSession(config: WorkerConfig): Promise<Session> {
  // Imported here so the raw children, which share this bundle, never load the client.
  const { connect } = await import('../client/index');
  const ps = await connect(config.address);
  const params: Array<Awaited<ReturnType<typeof ps.parameter>>> = [];
  for (let i = 0; i < config.shapes.length; i++) {
    const p = await ps.parameter(`bench_train_w${i}`, { shape: config.shapes[i]!, dtype: 'float32' });
    if (config.workerId === 0) await p.initialize({ seed: 1000 + i }); // workers start one after another
    params.push(p);
  }
  const tr = await ps.trainer(
    'bench_train',
    params,
    'sgd',
    { learningRate: 0.01, momentum: 0.9 },
    { mode: 'sync', numWorkers: NUM_WORKERS, workerId: config.workerId },
  );
  const grads = workerGradients(config.shapes, config.workerId);
  const bytes = grads.map((g) => g.data.byteLength);
  return {
    async step() {
      const t0 = performance.now();
      await all(
        params.map((p, i) => async () => {
          const t = await p.data();
          if (t.data.byteLength !== bytes[i])
            throw new Error(`product pull of ${p.name} got ${t.data.byteLength} bytes`);
        }),
        config.sequential,
      );
      const t1 = performance.now();
      await all(
        params.map((p, i) => async () => {
          await tr.pushGrad(p, grads[i]!);
        }),
        config.sequential,
      );
      const t2 = performance.now();
      await tr.step(BATCH_SIZE);
      const t3 = performance.now();
      return { total: t3 - t0, pull: t1 - t0, push: t2 - t1, step: t3 - t2 };
    },
    close: () => ps.close(),
  };
}

function rawSession(config: WorkerConfig): Session {
  const sizes = new Set(config.shapes.map((s) => s.reduce((a, b) => a * b, 1) * 4));
  if (sizes.size !== 1)
    throw new Error('raw baseline: every tensor must have the same size (its server holds one payload)');
  const [sizeBytes] = [...sizes] as [number];
  const port = Number(config.address.slice(config.address.lastIndexOf(':') + 1));
  const c = rawGrpcClient(port, { sizeBytes, smallBytes: 0 });
  const n = config.shapes.length;
  return {
    async step() {
      const t0 = performance.now();
      await all(
        Array.from({ length: n }, () => c.pullStream),
        config.sequential,
      );
      const t1 = performance.now();
      await all(
        Array.from({ length: n }, () => c.pushStream),
        config.sequential,
      );
      const t2 = performance.now();
      return { total: t2 - t0, pull: t1 - t0, push: t2 - t1, step: 0 };
    },
    close: () => c.close(),
  };
}

function workerMain(config: WorkerConfig): Promise<void> {
  return serveRequests<Session, { id: number }>(
    'worker',
    async () => (config.system === 'raw' ? rawSession(config) : productSession(config)),
    (session) => withTimeout(session.step(), `${config.system} step`),
  );
}

// ---------------------------------------------------------------------------------------------
// Parent: servers, workers, interleaved rounds, report.

interface Worker {
  name: string;
  pid: number;
  step(): Promise<StepTimes>;
  stop(): Promise<void>;
}

async function startWorker(config: WorkerConfig, execArgv: string[]): Promise<Worker> {
  const name = `${config.system} worker ${config.workerId}`;
  const started: StartedChild<Reply> = await startChild<Reply>(
    SELF,
    [WORKER_FLAG, JSON.stringify(config)],
    undefined,
    120_000,
    execArgv,
  );
  if (!('ready' in started.ready) || !started.ready.ready) {
    await started.stop();
    const error = 'error' in started.ready ? started.ready.error : 'no ready report';
    throw new Error(`${name} failed to start: ${error}`);
  }
  const requests = childRequests<StepTimes>(started, name);
  return {
    name,
    pid: started.child.pid ?? 0,
    step: () => requests.request({}),
    stop: () => started.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// Peak memory per process (Linux /proc; NaN elsewhere).

/** Peak resident set size of a process in MiB (Linux /proc), or NaN. */
function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The pid of our child process whose command line contains `flag` (the baseline server), or 0. */
function childPidWith(flag: string): number {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(flag)) return Number(entry);
      } catch {
        // the process went away while we looked
      }
    }
  } catch {
    // no /proc
  }
  return 0;
}

interface Args {
  rounds: number;
  warmup: number;
  tensors: number;
  params: number;
  sequential: boolean;
  serverProf: string | null;
  workerProf: string | null;
  serverFlags: string[];
  workerFlags: string[];
  durable: boolean;
  check: boolean;
  deadlineS: number;
  metrics: boolean;
}

function parseArgs(argv: string[]): Args {
  const { value, num: int } = argReader(argv);
  const args: Args = {
    rounds: int('--rounds', 10, 1),
    warmup: int('--warmup', 2, 0),
    tensors: int('--tensors', 4, 1),
    params: int('--params', 16 * 1024 * 1024, 1),
    sequential: argv.includes('--sequential'),
    serverProf: value('--server-prof'),
    workerProf: value('--worker-prof'),
    serverFlags: (value('--server-flags') ?? '').split(/\s+/).filter((x) => x !== ''),
    workerFlags: (value('--worker-flags') ?? '').split(/\s+/).filter((x) => x !== ''),
    durable: argv.includes('--durable'),
    check: argv.includes('--check'),
    deadlineS: int('--deadline', 170, 10),
    metrics: argv.includes('--metrics'),
  };
  if (args.params % args.tensors !== 0)
    throw new Error(`--params (${args.params}) must be a multiple of --tensors (${args.tensors})`);
  return args;
}

/** Equal tensors of `params / tensors` elements each, square-ish 2-D when possible. */
function modelShapes(params: number, tensors: number): number[][] {
  const each = params / tensors;
  let rows = Math.floor(Math.sqrt(each));
  while (each % rows !== 0) rows--;
  return Array.from({ length: tensors }, () => [rows, each / rows]);
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** A round's figure is its slower worker's; phases are the per-worker figures of that worker. */
const slowestOf = (rounds: StepTimes[][]): StepTimes[] =>
  rounds.map((r) => r.reduce((a, b) => (b.total > a.total ? b : a)));

/** --metrics: the product's step with metrics on (scraped) against off, from the same interleaved rounds. */
function reportMetrics(
  args: Args,
  samples: Record<System, StepTimes[][]>,
  cpu: Record<System, { server: number[]; workers: number[] }>,
  peakRss: { productServer: number; rawServer: number },
  load: { scrapes: number; polls: number; bytes: number; medianMs: number },
  elapsedS: number,
): number {
  const off = slowestOf(samples.product);
  const on = slowestOf(samples.metrics);
  const rows: Array<[string, number[]]> = [
    ['step, metrics off (slower worker)', off.map((t) => t.total)],
    ['step, metrics on + scraped', on.map((t) => t.total)],
    ['  pull, off / on', off.map((t) => t.pull)],
    ['', on.map((t) => t.pull)],
    ['  push, off / on', off.map((t) => t.push)],
    ['', on.map((t) => t.push)],
    ['  step(), off / on', off.map((t) => t.step)],
    ['', on.map((t) => t.step)],
    ['CPU ms per step: server, off / on', cpu.product.server],
    ['', cpu.metrics.server],
    ['CPU ms per step: workers, off / on', cpu.product.workers],
    ['', cpu.metrics.workers],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(
    `bench:train --metrics: ${args.params} float32 params in ${args.tensors} tensors, ${NUM_WORKERS} worker processes per server, ` +
      `sync SGD-momentum; two product servers, one with --metrics-port (scraped every ${SCRAPE_EVERY_MS / 1000} s, ` +
      `status page polled every ${POLL_EVERY_MS / 1000} s); ${args.rounds} interleaved rounds after ${args.warmup} warm-up; ${fmt(elapsedS, 0)} s`,
  );
  console.log(
    `${'ms'.padEnd(width)}  ${'median'.padStart(8)}  ${'min'.padStart(8)}  ${'max'.padStart(8)}  ${'n'.padStart(3)}`,
  );
  for (const [label, xs] of rows)
    console.log(
      `${label.padEnd(width)}  ${fmt(median(xs)).padStart(8)}  ${fmt(Math.min(...xs)).padStart(8)}  ` +
        `${fmt(Math.max(...xs)).padStart(8)}  ${String(xs.length).padStart(3)}`,
    );
  console.log(
    `peak RSS MiB: server off ${fmt(peakRss.productServer, 0)}, on ${fmt(peakRss.rawServer, 0)}; metrics load: ` +
      `${load.scrapes} scrapes, ${load.polls} status polls, ${fmt(load.bytes / 1e6)} MB, median ${fmt(load.medianMs)} ms each`,
  );
  // CPU is what the metrics cost, and on a shared machine it is steadier than wall time.
  const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
  console.log(
    `CPU with metrics / without, all rounds: server ${fmt(sum(cpu.metrics.server) / sum(cpu.product.server), 3)} x, ` +
      `workers ${fmt(sum(cpu.metrics.workers) / sum(cpu.product.workers), 3)} x`,
  );
  const offMs = median(off.map((t) => t.total));
  const onMs = median(on.map((t) => t.total));
  const ratio = onMs / offMs;
  const ok = ratio <= 1.03;
  console.log(
    `target: step with metrics <= 1.03 x without: ${fmt(onMs)} / ${fmt(offMs)} = ${fmt(ratio, 3)} x: ${ok ? 'PASS' : 'FAIL'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'train-metrics',
      params: args.params,
      step_ms: Number(offMs.toFixed(1)),
      metrics_step_ms: Number(onMs.toFixed(1)),
      ratio: Number(ratio.toFixed(3)),
    }),
  );
  return args.check && !ok ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const shapes = modelShapes(args.params, args.tensors);
  // Workers first (they close their connections), then servers.
  const scope = childScope('bench:train', args.deadlineS);

  const t0 = performance.now();
  try {
    // Memory only by default: this measures transfer and training. --durable gives the server a
    // fresh temporary --data-dir with its default durability (removed afterwards).
    const dataDir = args.durable ? mkdtempSync(path.join(tmpdir(), 'gluonps-bench-train-')) : 'none';
    if (args.durable) scope.add(async () => rmSync(dataDir, { recursive: true, force: true }));
    const product = await startCliServer({
      extraNodeFlags: [...args.serverFlags, ...cpuProfFlags(args.serverProf)],
      args: ['--data-dir', dataDir],
      graceMs: 15_000,
    });
    scope.add(product.stop);
    // The baseline: raw grpc-js moving the same bytes, or (--metrics) the product observed.
    const other: System = args.metrics ? 'metrics' : 'raw';
    const systems: [System, System] = ['product', other];
    let otherAddress: string;
    let otherPid = 0;
    let scrapeLoad: ScrapeLoad | null = null;
    if (args.metrics) {
      let metricsUrl = '';
      const observedDir = args.durable ? mkdtempSync(path.join(tmpdir(), 'gluonps-bench-train-')) : 'none';
      if (args.durable) scope.add(async () => rmSync(observedDir, { recursive: true, force: true }));
      const observed = await startCliServer({
        extraNodeFlags: args.serverFlags,
        args: ['--data-dir', observedDir, '--metrics-port', '0'],
        graceMs: 15_000,
        label: 'server (metrics)',
        onLog: (l) => {
          if (l.msg === 'listening' && typeof l.metrics === 'string') metricsUrl = l.metrics;
        },
      });
      scope.add(observed.stop);
      otherAddress = observed.address;
      otherPid = observed.child.pid ?? 0;
      if (metricsUrl === '') throw new Error('the metrics server did not report its metrics URL');
      scrapeLoad = startScrapeLoad(metricsUrl);
      scope.add(async () => void (await scrapeLoad?.stop().catch(() => undefined)));
    } else {
      const tensorBytes = (args.params / args.tensors) * 4;
      const raw = await startBaselineServer('grpc', { sizeBytes: tensorBytes, smallBytes: 0 });
      scope.add(raw.stop);
      otherAddress = `127.0.0.1:${raw.port}`;
    }

    const workers: Record<System, Worker[]> = { product: [], raw: [], metrics: [] };
    for (const system of systems) {
      const address = system === 'product' ? product.address : otherAddress;
      // One after another: the first product worker declares and initializes the parameters.
      for (let workerId = 0; workerId < NUM_WORKERS; workerId++) {
        const prof = cpuProfFlags(args.workerProf === null ? null : path.join(args.workerProf, system));
        const w = await startWorker({ system, address, workerId, shapes, sequential: args.sequential }, [
          ...BENCH_NODE_FLAGS,
          ...args.workerFlags,
          ...prof,
        ]);
        scope.add(w.stop);
        workers[system].push(w);
      }
    }

    /** One round of a system: every worker steps at once; per-worker times. */
    const round = (system: System): Promise<StepTimes[]> => Promise.all(workers[system].map((w) => w.step()));
    const serverPid: Record<System, number> = {
      product: product.child.pid ?? 0,
      raw: args.metrics ? 0 : childPidWith(BASELINE_SERVER_FLAG),
      metrics: otherPid,
    };
    /** CPU ms per measured round: the system's server, and its workers together. */
    const cpu: Record<System, { server: number[]; workers: number[] }> = {
      product: { server: [], workers: [] },
      raw: { server: [], workers: [] },
      metrics: { server: [], workers: [] },
    };
    const measuredRound = async (system: System): Promise<StepTimes[]> => {
      const pids = [serverPid[system], ...workers[system].map((w) => w.pid)];
      const before = pids.map(cpuMs);
      const times = await round(system);
      const used = pids.map((pid, i) => cpuMs(pid) - before[i]!);
      cpu[system].server.push(used[0]!);
      cpu[system].workers.push(used.slice(1).reduce((a, b) => a + b, 0));
      return times;
    };
    for (let i = 0; i < args.warmup; i++) {
      await round('product');
      await round(other);
    }
    const samples: Record<System, StepTimes[][]> = { product: [], raw: [], metrics: [] };
    for (let i = 0; i < args.rounds; i++) {
      const order: System[] = i % 2 === 0 ? systems : [other, 'product'];
      for (const system of order) samples[system].push(await measuredRound(system));
    }
    const peakRss = {
      productServer: peakRssMiB(serverPid.product),
      productWorker: Math.max(...workers.product.map((w) => peakRssMiB(w.pid))),
      rawServer: peakRssMiB(serverPid[other]),
      rawClient: Math.max(...workers[other].map((w) => peakRssMiB(w.pid))),
    };
    const load = await (scrapeLoad as ScrapeLoad | null)?.stop();
    scrapeLoad = null;
    await scope.stopAll();
    if (args.metrics) return reportMetrics(args, samples, cpu, peakRss, load!, (performance.now() - t0) / 1000);
    const elapsedS = (performance.now() - t0) / 1000;

    // A round's figure is its slower worker's; phases are the per-worker figures of that worker.
    const product_ = slowestOf(samples.product);
    const raw_ = slowestOf(samples.raw);
    const stepMs = median(product_.map((t) => t.total));
    const rawMs = median(raw_.map((t) => t.total));
    const mib = (args.params * 4) / (1 << 20);

    const rows: Array<[string, number[]]> = [
      ['product step, total (slower worker)', product_.map((t) => t.total)],
      ['  pull: data() of every tensor', product_.map((t) => t.pull)],
      ['  push: pushGrad() of every tensor', product_.map((t) => t.push)],
      ['  step(): barrier + optimizer + reply', product_.map((t) => t.step)],
      ['raw grpc-js round, total (slower client)', raw_.map((t) => t.total)],
      ['  pull: every tensor', raw_.map((t) => t.pull)],
      ['  push: every tensor', raw_.map((t) => t.push)],
      ['CPU ms per step: product server', cpu.product.server],
      ['CPU ms per step: product workers (both)', cpu.product.workers],
      ['CPU ms per round: raw grpc-js server', cpu.raw.server],
      ['CPU ms per round: raw grpc-js clients (both)', cpu.raw.workers],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(
      `bench:train: ${args.params} float32 params (${fmt(mib, 0)} MiB) in ${args.tensors} tensors of ` +
        `[${shapes[0]!.join(', ')}]; ${NUM_WORKERS} worker processes + 1 server, sync SGD-momentum; per step each worker ` +
        `pulls and pushes ${fmt(mib, 0)} MiB (${args.sequential ? 'tensors one after another' : 'tensors concurrently'}); ` +
        `raw grpc-js: the same bytes in the same tensor sizes from ${NUM_WORKERS} client processes; ` +
        `${args.rounds} interleaved rounds after ${args.warmup} warm-up; ${fmt(elapsedS, 0)} s`,
    );
    const start = npmStartCommand();
    const serverCmd = [
      ...Object.entries(start.env).map(([k, v]) => `${k}=${v}`),
      'node',
      ...start.nodeFlags,
      ...args.serverFlags,
    ].join(' ');
    console.log(
      `  product server: ${serverCmd} ${path.relative(REPO_ROOT, start.script)} --data-dir ${args.durable ? '<fresh temp dir>' : 'none'} ` +
        `(as npm start${args.serverFlags.length > 0 ? ', plus --server-flags' : ''}); ` +
        `workers and raw server: ${[...Object.entries(process.env.GLUONPS_BENCH_MALLOC === 'default' ? {} : MALLOC_TUNING_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...BENCH_NODE_FLAGS, ...args.workerFlags].join(' ')}` +
        `${args.workerFlags.length > 0 ? ' (workers only: --worker-flags)' : ''}`,
    );
    console.log(
      `${'ms'.padEnd(width)}  ${'median'.padStart(8)}  ${'min'.padStart(8)}  ${'max'.padStart(8)}  ${'n'.padStart(3)}`,
    );
    for (const [label, xs] of rows) {
      console.log(
        `${label.padEnd(width)}  ${fmt(median(xs)).padStart(8)}  ${fmt(Math.min(...xs)).padStart(8)}  ` +
          `${fmt(Math.max(...xs)).padStart(8)}  ${String(xs.length).padStart(3)}`,
      );
    }
    console.log(
      `peak RSS MiB: product server ${fmt(peakRss.productServer, 0)}, product worker ${fmt(peakRss.productWorker, 0)}; ` +
        `raw server ${fmt(peakRss.rawServer, 0)}, raw client ${fmt(peakRss.rawClient, 0)}`,
    );
    const ratio = stepMs / rawMs;
    const ok = ratio <= 1.3;
    console.log(
      `target: step_ms <= 1.3 x raw_transfer_ms: ${fmt(stepMs)} / ${fmt(rawMs)} = ${fmt(ratio, 2)} x: ${ok ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'train',
        params: args.params,
        step_ms: Number(stepMs.toFixed(1)),
        raw_transfer_ms: Number(rawMs.toFixed(1)),
      }),
    );
    return args.check && !ok ? 1 : 0;
  } finally {
    await scope.close();
  }
}

// This bundle is also the entry of the baseline server child (transport-baselines.ts checks its
// own flags at load) and of our worker children; only a plain invocation runs the benchmark.
const role = process.argv[2];
if (role === WORKER_FLAG) {
  void workerMain(JSON.parse(process.argv[3] ?? '{}') as WorkerConfig);
} else if (role !== BASELINE_SERVER_FLAG && role !== BASELINE_DRIVER_FLAG) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error('bench:train failed:', err);
      process.exit(1);
    },
  );
}
