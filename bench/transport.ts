// `npm run bench:transport`: the product's tensor transport against its two baselines, in one
// run, with the rounds interleaved so that drift on this noisy 2-core VM hits all of them alike.
//
// Process layout (the same for every system, so the comparison is fair):
//   - product:     server = the real CLI bundle (.build/gluonps-server.mjs) launched exactly as
//                  package.json's "start" script launches it (its environment, e.g. the malloc
//                  settings, and its node flags, read from package.json); client = the product
//                  client (client/index.ts) in a driver child;
//   - raw grpc-js: server = bench/transport-baselines.ts's grpc child (identity serializers,
//                  windows raised by server/rpc/transport.ts); client = a driver child;
//   - raw socket:  server = the baselines' net child; client = a driver child.
// Every server and driver runs under plain node from an esbuild bundle (tsx halves
// throughput, see bench/child-process.ts); the drivers and baseline servers get
// MALLOC_TUNING_ENV (the same settings as npm start) and BENCH_NODE_FLAGS (see
// child-process.ts). This process only sends commands over IPC and waits; it measures nothing
// itself. All sockets bind 127.0.0.1.
//
// Figures: 64 MiB float32 pull (`p.data()`) and push (`p.setData(t)`) in GB/s (1e9 bytes/s),
// and `data()` calls/s on a 4 KiB parameter with 64 calls in flight; for raw grpc-js both
// streamed (1 MiB chunks) and unary transfers, the faster of each counting as the baseline,
// and the faster of unary / server-stream small calls. Each round runs every system once
// (order rotated per round): one untimed transfer per direction, then `--runs` timed ones, then
// one small-call rate of `--calls` calls. Medians over all rounds. After the table come the
// target lines and, last, one JSON line.
//
// --metrics: the cost of observability instead: the product with --metrics-port set (scraped
// every 5 s and its status page polled every 2 s, bench/scraper.ts) against the product without
// it, same rounds, target at most 3 % slower (system 'metrics' against 'product').
//
// Flags: --rounds N (default 7), --runs N timed transfers per direction per round (default 2),
// --calls N small calls per round (default 4000), --systems product,grpc,socket,metrics (default
// product,grpc,socket; product,metrics with --metrics),
// --check (exit 1 when a target fails), --durable (the server persists to a fresh temporary
// --data-dir with its default durability instead of running memory-only). For diagnosis: --server-flags "FLAGS" (extra node flags
// for the product server, printed with the results), --server-prof DIR / --client-prof DIR
// (product server / product driver under --cpu-prof, profiles written to DIR at exit).
// Bounded: a watchdog ends everything after --deadline seconds (default 300); every child is
// stopped on the way out, on errors and on SIGINT/SIGTERM too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  DRIVER_FLAG as BASELINE_DRIVER_FLAG,
  SERVER_FLAG as BASELINE_SERVER_FLAG,
  measureRate,
  rawGrpcClient,
  rawSocketClient,
  startBaselineServer,
  type Op,
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
import { median, withTimeout } from './measure';
import { POLL_EVERY_MS, SCRAPE_EVERY_MS, startScrapeLoad, type ScrapeLoad } from './scraper';

const SELF = fileURLToPath(import.meta.url);
const DRIVER_FLAG = '--transport-bench-driver';
const MiB = 1 << 20;
const SIZE_BYTES = 64 * MiB;
const SMALL_BYTES = 4096;
const IN_FLIGHT = 64;

/** 'metrics': the product server with --metrics-port set and scraped. */
type System = 'product' | 'grpc' | 'socket' | 'metrics';

interface DriverConfig {
  system: System;
  /** host:port of the server for this system. */
  address: string;
}

/** Parent -> driver. */
type CommandBody =
  | { kind: 'transfer'; op: string; runs: number; warmup: number }
  | { kind: 'rate'; op: string; calls: number; warmup: number };
type Command = CommandBody & { id: number };

/** Driver -> parent: first a ready report, then one reply per command. */
type Reply = { ready: true } | { ready: false; error: string } | { id: number; result?: number[]; error?: string };

// ---------------------------------------------------------------------------------------------
// Driver child: one client of one system; runs what the parent asks and reports the figures.

async function productOps(address: string): Promise<{ ops: Record<string, Op>; close(): Promise<void> }> {
  // Imported here so the baseline children, which share this bundle, never load the client.
  const { connect } = await import('../client/index');
  const ps = await connect(address);
  const elements = SIZE_BYTES / 4;
  const big = await ps.parameter('bench_transport_64mib', { shape: [elements], dtype: 'float32' });
  await big.initialize();
  const value = new Float32Array(elements);
  for (let i = 0; i < elements; i++) value[i] = (i % 1021) * 0.5;
  const tensor = { shape: [elements], dtype: 'float32' as const, data: value };
  await big.setData(tensor);
  const check = await big.data();
  if (
    check.data.length !== elements ||
    check.data[12345] !== value[12345] ||
    check.data[elements - 1] !== value[elements - 1]
  ) {
    throw new Error('product: data() after setData() returned different values');
  }
  const small = await ps.parameter('bench_transport_4kib', { shape: [SMALL_BYTES / 4], dtype: 'float32' });
  await small.initialize();
  return {
    ops: {
      pull: async () => {
        const t = await big.data();
        if (t.data.byteLength !== SIZE_BYTES) throw new Error(`product pull got ${t.data.byteLength} bytes`);
      },
      push: async () => {
        await big.setData(tensor);
      },
      small: async () => {
        const t = await small.data();
        if (t.data.byteLength !== SMALL_BYTES) throw new Error(`product small pull got ${t.data.byteLength} bytes`);
      },
    },
    close: () => ps.close(),
  };
}

async function openOps(config: DriverConfig): Promise<{ ops: Record<string, Op>; close(): Promise<void> | void }> {
  const port = Number(config.address.slice(config.address.lastIndexOf(':') + 1));
  if (config.system === 'product' || config.system === 'metrics') return productOps(config.address);
  if (config.system === 'grpc') {
    const c = rawGrpcClient(port, { sizeBytes: SIZE_BYTES, smallBytes: SMALL_BYTES });
    const { pullStream, pushStream, pullUnary, pushUnary, small, smallStream } = c;
    return { ops: { pullStream, pushStream, pullUnary, pushUnary, small, smallStream }, close: () => c.close() };
  }
  const c = await rawSocketClient(port, { sizeBytes: SIZE_BYTES });
  return { ops: { pull: c.pull, push: c.push }, close: () => c.close() };
}

async function runCommand(ops: Record<string, Op>, cmd: Command): Promise<number[]> {
  const op = ops[cmd.op];
  if (op === undefined) throw new Error(`no op '${cmd.op}'`);
  if (cmd.kind === 'transfer') {
    for (let i = 0; i < cmd.warmup; i++) await withTimeout(op(), cmd.op);
    const out: number[] = [];
    for (let i = 0; i < cmd.runs; i++) {
      const t0 = performance.now();
      await withTimeout(op(), cmd.op);
      out.push(SIZE_BYTES / ((performance.now() - t0) / 1000) / 1e9);
    }
    return out;
  }
  if (cmd.warmup > 0) await withTimeout(measureRate(op, IN_FLIGHT, cmd.warmup), cmd.op);
  return [await withTimeout(measureRate(op, IN_FLIGHT, cmd.calls), cmd.op)];
}

function driverMain(config: DriverConfig): Promise<void> {
  return serveRequests(
    'driver',
    () => openOps(config),
    (session, cmd: Command) => runCommand(session.ops, cmd),
  );
}

// ---------------------------------------------------------------------------------------------
// Parent: servers, drivers, interleaved rounds, report.

interface Driver {
  system: System;
  run(cmd: CommandBody): Promise<number[]>;
  stop(): Promise<void>;
}

async function startDriver(config: DriverConfig, execArgv: string[]): Promise<Driver> {
  const started: StartedChild<Reply> = await startChild<Reply>(
    SELF,
    [DRIVER_FLAG, JSON.stringify(config)],
    undefined,
    120_000,
    [...BENCH_NODE_FLAGS, ...execArgv],
  );
  if (!('ready' in started.ready) || !started.ready.ready) {
    await started.stop();
    const error = 'error' in started.ready ? started.ready.error : 'no ready report';
    throw new Error(`${config.system} driver failed to start: ${error}`);
  }
  const requests = childRequests<number[]>(started, `${config.system} driver`);
  return {
    system: config.system,
    run: (cmd) => requests.request(cmd),
    stop: () => started.stop(),
  };
}

interface Args {
  rounds: number;
  runs: number;
  calls: number;
  serverFlags: string[];
  durable: boolean;
  serverProf: string | null;
  clientProf: string | null;
  check: boolean;
  deadlineS: number;
  systems: System[];
}

function parseArgs(argv: string[]): Args {
  const { value, num: int } = argReader(argv);
  return {
    rounds: int('--rounds', 7, 1),
    runs: int('--runs', 2, 1),
    calls: int('--calls', 4000, 64),
    serverFlags: (value('--server-flags') ?? '').split(/\s+/).filter((f) => f !== ''),
    durable: argv.includes('--durable'),
    serverProf: value('--server-prof'),
    clientProf: value('--client-prof'),
    check: argv.includes('--check'),
    deadlineS: int('--deadline', 300, 10),
    systems: (value('--systems') ?? (argv.includes('--metrics') ? 'product,metrics' : 'product,grpc,socket'))
      .split(',')
      .map((x) => {
        if (x !== 'product' && x !== 'grpc' && x !== 'socket' && x !== 'metrics')
          throw new Error(`--systems: unknown system '${x}'`);
        return x;
      }),
  };
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // Drivers first (they close their connections), then servers.
  const scope = childScope('bench:transport', args.deadlineS);

  const t0 = performance.now();
  // Memory only by default: this measures the transport. --durable gives the server a fresh
  // data directory (default durability, wal-batch) that is deleted afterwards.
  const dataDir = args.durable ? mkdtempSync(path.join(tmpdir(), 'gluonps-bench-')) : 'none';
  try {
    const configs: DriverConfig[] = [];
    let scrapeLoad: ScrapeLoad | null = null;
    for (const system of args.systems) {
      if (system === 'product' || system === 'metrics') {
        let metricsUrl = '';
        const product = await startCliServer({
          extraNodeFlags: [...args.serverFlags, ...cpuProfFlags(args.serverProf)],
          args: ['--data-dir', dataDir, ...(system === 'metrics' ? ['--metrics-port', '0'] : [])],
          graceMs: 15_000,
          label: system === 'metrics' ? 'server (metrics)' : 'server',
          onLog: (l) => {
            if (l.msg === 'listening' && typeof l.metrics === 'string') metricsUrl = l.metrics;
          },
        });
        scope.add(product.stop);
        if (system === 'metrics') {
          if (metricsUrl === '') throw new Error('the metrics server did not report its metrics URL');
          scrapeLoad = startScrapeLoad(metricsUrl);
          scope.add(async () => void (await scrapeLoad?.stop().catch(() => undefined)));
        }
        configs.push({ system, address: product.address });
      } else {
        const server = await startBaselineServer(system, {
          sizeBytes: SIZE_BYTES,
          smallBytes: system === 'grpc' ? SMALL_BYTES : 0,
        });
        scope.add(server.stop);
        configs.push({ system, address: `127.0.0.1:${server.port}` });
      }
    }
    const drivers: Driver[] = [];
    for (const config of configs) {
      const d = await startDriver(
        config,
        config.system !== 'grpc' && config.system !== 'socket' ? cpuProfFlags(args.clientProf) : [],
      );
      scope.add(d.stop);
      drivers.push(d);
    }

    const transfers: Record<System, string[]> = {
      product: ['pull', 'push'],
      metrics: ['pull', 'push'],
      grpc: ['pullStream', 'pushStream', 'pullUnary', 'pushUnary'],
      socket: ['pull', 'push'],
    };
    const rates: Record<System, string[]> = {
      product: ['small'],
      metrics: ['small'],
      grpc: ['small', 'smallStream'],
      socket: [],
    };
    const samples = new Map<string, number[]>();
    const add = (key: string, values: number[]): void => {
      samples.set(key, [...(samples.get(key) ?? []), ...values]);
    };

    // Warm-up: JIT, connection windows, malloc's reusable blocks, the server's first allocations.
    for (const d of drivers) {
      for (const op of transfers[d.system]) await d.run({ kind: 'transfer', op, runs: 0, warmup: 2 });
      for (const op of rates[d.system]) await d.run({ kind: 'rate', op, calls: 0, warmup: 1000 });
    }
    for (let round = 0; round < args.rounds; round++) {
      const order = drivers.map((_, i) => drivers[(i + round) % drivers.length]!);
      for (const d of order) {
        for (const op of transfers[d.system])
          add(`${d.system}.${op}`, await d.run({ kind: 'transfer', op, runs: args.runs, warmup: 1 }));
        for (const op of rates[d.system])
          add(`${d.system}.${op}`, await d.run({ kind: 'rate', op, calls: args.calls, warmup: 0 }));
      }
    }
    const load = await (scrapeLoad as ScrapeLoad | null)?.stop();
    scrapeLoad = null;
    await scope.stopAll();
    const elapsedS = (performance.now() - t0) / 1000;

    const med = (key: string): number => median(samples.get(key) ?? []);
    const pullGbps = med('product.pull');
    const pushGbps = med('product.push');
    const rawPullStream = med('grpc.pullStream');
    const rawPullUnary = med('grpc.pullUnary');
    const rawPushStream = med('grpc.pushStream');
    const rawPushUnary = med('grpc.pushUnary');
    const rawPull = Math.max(rawPullStream, rawPullUnary);
    const rawPush = Math.max(rawPushStream, rawPushUnary);
    const socketGbps = median([...(samples.get('socket.pull') ?? []), ...(samples.get('socket.push') ?? [])]);
    const smallPerS = med('product.small');
    const rawSmallUnary = med('grpc.small');
    const rawSmallStream = med('grpc.smallStream');
    const rawSmall = Math.max(rawSmallUnary, rawSmallStream);

    const rows: Array<[string, string, number, number]> = [
      ['product pull, data() GB/s', 'product.pull', 2, 0],
      ['product push, setData() GB/s', 'product.push', 2, 0],
      ['raw grpc-js pull, 1 MiB stream GB/s', 'grpc.pullStream', 2, 0],
      ['raw grpc-js push, 1 MiB stream GB/s', 'grpc.pushStream', 2, 0],
      ['raw grpc-js pull, unary GB/s', 'grpc.pullUnary', 2, 0],
      ['raw grpc-js push, unary GB/s', 'grpc.pushUnary', 2, 0],
      ['raw socket pull GB/s', 'socket.pull', 2, 0],
      ['raw socket push GB/s', 'socket.push', 2, 0],
      ['product 4 KiB data() calls/s, 64 in flight', 'product.small', 0, 0],
      ['product + metrics pull GB/s', 'metrics.pull', 2, 0],
      ['product + metrics push GB/s', 'metrics.push', 2, 0],
      ['product + metrics 4 KiB calls/s, 64 in flight', 'metrics.small', 0, 0],
      ['raw grpc-js 4 KiB unary calls/s, 64 in flight', 'grpc.small', 0, 0],
      ['raw grpc-js 4 KiB server-stream calls/s, 64 in flight', 'grpc.smallStream', 0, 0],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    const start = npmStartCommand();
    const serverCmd = [
      ...Object.entries(start.env).map(([k, v]) => `${k}=${v}`),
      'node',
      ...start.nodeFlags,
      ...args.serverFlags,
    ].join(' ');
    console.log(
      `bench:transport: ${SIZE_BYTES / MiB} MiB float32 over 127.0.0.1, every server and client in its own plain-node ` +
        `process; ${args.rounds} interleaved rounds x ${args.runs} timed transfers (+1 untimed) per direction, ` +
        `${args.calls} small calls per round; ${fmt(elapsedS, 0)} s`,
    );
    console.log(
      `  product server: ${serverCmd} ${path.relative(REPO_ROOT, start.script)} --data-dir ${args.durable ? '<fresh temp dir>' : 'none'} ` +
        `(as npm start${args.serverFlags.length > 0 ? ', plus --server-flags' : ''}); ` +
        `other processes: ${[...Object.entries(process.env.GLUONPS_BENCH_MALLOC === 'default' ? {} : MALLOC_TUNING_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...BENCH_NODE_FLAGS].join(' ')}`,
    );
    console.log(
      `${'figure'.padEnd(width)}  ${'median'.padStart(8)}  ${'min'.padStart(8)}  ${'max'.padStart(8)}  ${'n'.padStart(3)}`,
    );
    for (const [label, key, digits] of rows) {
      const xs = samples.get(key) ?? [];
      if (xs.length === 0) continue; // a system not run
      console.log(
        `${label.padEnd(width)}  ${fmt(median(xs), digits).padStart(8)}  ${fmt(Math.min(...xs), digits).padStart(8)}  ` +
          `${fmt(Math.max(...xs), digits).padStart(8)}  ${String(xs.length).padStart(3)}`,
      );
    }

    const targets: Array<[string, number, number, number, string]> = [
      ['pull vs raw grpc-js', pullGbps, rawPull, 0.85, rawPullStream >= rawPullUnary ? 'stream' : 'unary'],
      ['pull vs raw socket', pullGbps, socketGbps, 0.45, 'both directions'],
      ['push vs raw grpc-js', pushGbps, rawPush, 0.85, rawPushStream >= rawPushUnary ? 'stream' : 'unary'],
      ['push vs raw socket', pushGbps, socketGbps, 0.45, 'both directions'],
      [
        'small calls vs raw grpc-js',
        smallPerS,
        rawSmall,
        0.7,
        rawSmallUnary >= rawSmallStream ? 'unary' : 'server-stream',
      ],
    ];
    if (args.systems.includes('metrics')) {
      targets.push(
        ['metrics on: pull', med('metrics.pull'), pullGbps, 0.97, 'vs off'],
        ['metrics on: push', med('metrics.push'), pushGbps, 0.97, 'vs off'],
        ['metrics on: small calls', med('metrics.small'), smallPerS, 0.97, 'vs off'],
      );
      if (load)
        console.log(
          `metrics load: ${load.scrapes} scrapes of /metrics (every ${SCRAPE_EVERY_MS / 1000} s) and ${load.polls} polls of ` +
            `/status.json (every ${POLL_EVERY_MS / 1000} s), ${fmt(load.bytes / 1e6, 1)} MB, median ${fmt(load.medianMs, 1)} ms each`,
        );
    }
    let failed = 0;
    console.log('targets:');
    for (const [label, ours, base, min, mode] of targets) {
      if (!Number.isFinite(ours) || !Number.isFinite(base)) continue; // a system not run
      const ratio = ours / base;
      const ok = ratio >= min;
      if (!ok) failed++;
      const digits = label.includes('small') ? 0 : 2;
      console.log(
        `  ${label.padEnd(27)} ${fmt(ours, digits)} / ${fmt(base, digits)} (${mode}) = ${fmt(ratio, 2)} x, ` +
          `target >= ${min.toFixed(2)} x: ${ok ? 'PASS' : 'FAIL'}`,
      );
    }
    console.log(
      JSON.stringify({
        bench: 'transport',
        size_bytes: SIZE_BYTES,
        pull_gbps: Number(pullGbps.toFixed(3)),
        push_gbps: Number(pushGbps.toFixed(3)),
        raw_pull_gbps: Number(rawPull.toFixed(3)),
        raw_push_gbps: Number(rawPush.toFixed(3)),
        raw_socket_gbps: Number(socketGbps.toFixed(3)),
        small_rpc_per_s: Math.round(smallPerS),
        raw_small_rpc_per_s: Math.round(rawSmall),
        ...(args.systems.includes('metrics')
          ? {
              metrics_pull_gbps: Number(med('metrics.pull').toFixed(3)),
              metrics_push_gbps: Number(med('metrics.push').toFixed(3)),
              metrics_small_rpc_per_s: Math.round(med('metrics.small')),
            }
          : {}),
      }),
    );
    return args.check && failed > 0 ? 1 : 0;
  } finally {
    await scope.close();
    if (dataDir !== 'none') rmSync(dataDir, { recursive: true, force: true });
  }
}

// This bundle is also the entry of the baseline children (transport-baselines.ts checks its
// own flags at load) and of our driver children; only a plain invocation runs the benchmark.
const role = process.argv[2];
if (role === DRIVER_FLAG) {
  void driverMain(JSON.parse(process.argv[3] ?? '{}') as DriverConfig);
} else if (role !== BASELINE_SERVER_FLAG && role !== BASELINE_DRIVER_FLAG) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error('bench:transport failed:', err);
      process.exit(1);
    },
  );
}
