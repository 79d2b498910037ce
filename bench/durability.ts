// `npm run bench:durability`: what durability costs, in one run on one disk.
//
// Part 1, checkpoint write and load against the disk (child bench/durability-ckpt.ts, under plain
// node from a bundle with `npm start`'s environment and node flags): --ckpt-bytes (default 1 GiB)
// of float32 parameters in --ckpt-tensors tensors (default 8 x 128 MiB) held by an in-process
// server (startServer, durability 'checkpoint'). Timed: `durability.checkpoint()` (snapshot copy
// + safetensors file + crc32 + fsyncs + manifest + renames) against a plain sequential write of
// the same bytes from preallocated buffers + fsync into a new file in the same directory; and a
// server start on that data dir (full checksum verification + load + tensors rebuilt) against a
// plain sequential read of the raw file into preallocated buffers. Reads are cold (page cache
// dropped before each) when the process may drop it, else both warm; every timed step starts
// after a `sync`. --runs runs (default 5), raw and checkpoint order alternating per run; medians.
// Warm-cache reads are shown for reference. GB/s = 1e9 bytes/s of parameter bytes.
//
// Part 2, sync training steps per second per durability mode (child bench/durability-worker.ts):
// four servers, each the real CLI (server/cli.ts, bundled by scripts/bundle.mjs as `npm start`
// does, into .build/bench-durability-server.mjs, run with the environment and node flags of
// package.json's "start") in its own process: `--data-dir none` (no durability), `--durability
// checkpoint --checkpoint-every-seconds S` (default S = 1, so checkpoints land inside every
// window; the cost per checkpoint is printed, which scales to any interval), `--durability
// wal-batch` and `--durability wal-always` (with --keep-checkpoints 1, see below; else their
// defaults: 10 ms batches, checkpoint every 300 s), each with its own data dir. One worker process (the product client) holds a sync
// SGD-momentum trainer (numWorkers 1) on each server over --params float32 parameters in
// --tensors tensors (default 4 x 1M = 16 MiB); a step = pushGrad of every tensor (concurrently) +
// step(). Windows of --window seconds (default 2), the modes in a rotated order each round,
// --rounds rounds (default 8) after one untimed 1 s window per mode; median steps/s per mode (and
// the median same-round ratio to none). After each window, untimed: the server takes an on-demand
// checkpoint (AdminService.Checkpoint: it waits for a checkpoint in flight, leaves none to run
// into the next window, and drops the write-ahead log it covers, as the WAL servers run with
// --keep-checkpoints 1, so disk use stays bounded), then `sync`, so no window pays for another's
// dirty pages.
//

//
// Output: the figures of every run and window, the target lines, and last one JSON line:
// {"bench":"durability","ckpt_write_gbps":…,"raw_write_gbps":…,"ckpt_load_gbps":…,
//  "raw_read_gbps":…,"raw_read_fresh_gbps":…,"steps_per_s":{"none":…,"checkpoint":…,"wal-batch":…,"wal-always":…}}
//
// Flags: --workers W[,W...] (sync workers per trainer, part 2 once per value; default 2), --runs N, --ckpt-bytes N, --ckpt-tensors N, --rounds N, --window S, --params N,
// --tensors N, --ckpt-every-seconds S, --wal-batch-ms N (passed to the wal-batch server), --dir
// DIR (default .bench-out/durability; must be on the disk to measure), --warm (do not drop the
// page cache), --skip-ckpt / --skip-steps, --server-prof DIR (the step servers under --cpu-prof,
// written at shutdown), --check (exit 1 when a target fails), --deadline S (watchdog, default
// 239). Temporary files are deleted and every child is stopped on the way out, on errors, on
// the watchdog and on SIGINT/SIGTERM. bench/durability-phases.ts (run by hand) times the
// phases of one checkpoint write and load, for diagnosis.
//
// This file measures (the children, both parts, the run); durability-args.ts reads the flags and
// durability-report.ts prints the figures, targets and JSON line.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../protos/load';
import {
  BENCH_NODE_FLAGS,
  childRequests,
  childScope,
  type ChildRequests,
  cpuProfFlags,
  npmStartCommand,
  REPO_ROOT,
  startChild,
  startCliServer,
  type StartedChild,
} from './child-process';
import { fmt, GiB, MODES, parseArgs, type Args, type Mode } from './durability-args';
import type { CkptReply, CkptRunResult } from './durability-ckpt';
import { report, type CkptSummary, type ModeStats, type StepsSummary } from './durability-report';
import type { WindowResult, WorkerReply } from './durability-worker';
import { cpuMs, dirBytes, median, shapeOf } from './measure';

const HERE = path.join(REPO_ROOT, 'bench');

/** `df` line of the filesystem holding `dir`: device, size, mount point. */
function diskOf(dir: string): string {
  try {
    const lines = execFileSync('df', ['-P', '-h', dir], { encoding: 'utf8' }).trim().split('\n');
    const f = lines[lines.length - 1]!.split(/\s+/);
    let type = '';
    try {
      type = execFileSync('findmnt', ['-n', '-o', 'FSTYPE', '--target', dir], { encoding: 'utf8' }).trim();
    } catch {
      // no findmnt
    }
    return `${f[0]} (${type || 'fs'}) mounted on ${f[5]}, ${f[1]} total, ${f[3]} free`;
  } catch {
    return 'unknown disk';
  }
}

/** Bytes a process has caused to be written to storage so far (/proc/<pid>/io write_bytes), or NaN. */
function diskWriteBytes(pid: number): number {
  try {
    const m = /write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Children

/** A child speaking the child-process.ts request / reply protocol, with its process. */
interface Rpc<R> extends ChildRequests<R> {
  started: StartedChild<unknown>;
}

function rpcOf<R>(started: StartedChild<unknown>, name: string): Rpc<R> {
  return { started, ...childRequests<R>(started, name) };
}

interface StepServer {
  mode: Mode;
  address: string;
  pid: number;
  dataDir: string | null;
  /** 'checkpoint written' log lines so far: their id, ms and the log bytes written since start. */
  checkpoints: Array<{ id: string; ms: number; walBytes: number }>;
  stop(): Promise<void>;
}

function bundleServer(): string {
  // server/cli.ts bundled as `npm start` bundles it, under its own name so that a concurrent
  // `npm start` or benchmark never runs a half-written bundle.
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'scripts', 'bundle.mjs'), 'server/cli.ts', 'bench-durability-server'],
    { stdio: 'inherit' },
  );
  return path.join(REPO_ROOT, '.build', 'bench-durability-server.mjs');
}

/** Starts the CLI bundle as `npm start` does; resolves at its "listening" line. */
async function startStepServer(bundle: string, mode: Mode, dataDir: string | null, args: Args): Promise<StepServer> {
  const flags = ['--log-level', 'info', '--data-dir', dataDir ?? 'none'];
  if (mode !== 'none') flags.push('--durability', mode);
  if (mode === 'checkpoint') flags.push('--checkpoint-every-seconds', String(args.ckptEverySeconds));
  if (mode === 'wal-batch' && args.walBatchMs !== null) flags.push('--wal-batch-ms', String(args.walBatchMs));
  // The log is kept back to the oldest kept checkpoint; a WAL mode server checkpoints only
  // between windows (untimed), so keeping one bounds the disk to one window's log.
  if (mode === 'wal-batch' || mode === 'wal-always') flags.push('--keep-checkpoints', '1');
  const prof = cpuProfFlags(args.serverProf, `server-${mode}.cpuprofile`);
  const checkpoints: Array<{ id: string; ms: number; walBytes: number }> = [];
  const { address, child, stop } = await startCliServer({
    bundle,
    extraNodeFlags: prof,
    args: flags,
    label: `${mode} server`,
    onLog: (e) => {
      if (e.msg === 'checkpoint written')
        checkpoints.push({ id: String(e.id), ms: Number(e.ms), walBytes: Number(e.walBytes ?? 0) });
    },
  });
  return { mode, address, pid: child.pid ?? 0, dataDir, checkpoints, stop };
}

/** AdminService.Checkpoint on a server (folds and drops its write-ahead log). */
/** An on-demand checkpoint; resolves to its id. */
function adminCheckpoint(address: string): Promise<string> {
  const protos = loadProtos();
  const client = new protos.gluonps.v1.AdminService(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.Checkpoint(
      { reason: 'bench:durability between windows' },
      { deadline: Date.now() + 120_000 },
      (err, reply) => {
        client.close();
        if (err) reject(err);
        else resolve(String(reply!.id));
      },
    );
  });
}

/** Waits (up to 10 s) for the server's 'checkpoint written' line of checkpoint `id`. */
async function checkpointLogged(s: StepServer, id: string): Promise<void> {
  for (const end = Date.now() + 10_000; !s.checkpoints.some((c) => c.id === id); ) {
    if (Date.now() > end) throw new Error(`${s.mode} server: no 'checkpoint written' line for checkpoint ${id}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------------------------------------
// Parts

async function checkpointPart(args: Args, register: (stop: () => Promise<void>) => void): Promise<CkptSummary> {
  // This child hosts the server (in-process): the node flags of `npm start`, plus --expose-gc
  // so that it can free each run's buffers between (untimed) steps. glibc's hugetlb tunable
  // backs the raw baselines' preallocated buffers with transparent huge pages, as the addon
  // does for the product's tensors (docs/configuration.md): a warm raw read into 4 KiB pages
  // measured 3.2-5 GB/s here against ~15 with huge pages, a baseline weaker than a tuned one.
  const started = await startChild<unknown>(
    path.join(HERE, 'durability-ckpt.ts'),
    [],
    undefined,
    120_000,
    [...npmStartCommand().nodeFlags.filter((f) => f !== '--enable-source-maps'), '--expose-gc'],
    { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
  );
  register(started.stop);
  const ready = started.ready as CkptReply;
  if (!('ready' in ready)) throw new Error('checkpoint child: no ready report');
  if (ready.cacheMode === 'cold' && args.warm) ready.cacheNote = 'warm (--warm): page cache not dropped';
  const rpc = rpcOf<CkptRunResult>(started, 'checkpoint child');
  const runs: CkptRunResult[] = [];
  const dir = path.join(args.dir, 'ckpt');
  console.log(
    `part 1: ${fmt(args.ckptBytes / GiB, 2)} GiB of float32 parameters in ${args.ckptTensors} tensors of ${fmt(args.ckptBytes / args.ckptTensors / 2 ** 20, 0)} MiB; ` +
      `${args.runs} runs; reads ${ready.cacheMode === 'cold' && !args.warm ? ready.cacheNote : 'warm: both reads from the page cache'}`,
  );
  console.log(`  run  order        raw write  ckpt write   raw read  ckpt load  | warm: raw read  ckpt load   (GB/s)`);
  const gbps = (r: CkptRunResult, s: number): number => r.bytes / s / 1e9;
  for (let run = 0; run < args.runs; run++) {
    const r = await rpc.request({
      cmd: 'run',
      run,
      dir,
      bytes: args.ckptBytes,
      tensors: args.ckptTensors,
      dropCaches: ready.cacheMode === 'cold' && !args.warm,
    });
    runs.push(r);
    console.log(
      `  ${String(run + 1).padStart(3)}  ${r.order.padEnd(11)}  ${fmt(gbps(r, r.rawWriteS)).padStart(9)}  ${fmt(gbps(r, r.ckptWriteS)).padStart(10)}  ` +
        `${fmt(gbps(r, r.rawReadS)).padStart(9)}  ${fmt(gbps(r, r.ckptLoadS)).padStart(9)}  | ${fmt(gbps(r, r.rawReadWarmS)).padStart(14)}  ${fmt(gbps(r, r.ckptLoadWarmS)).padStart(9)}` +
        `   (s: ${fmt(r.rawWriteS)} ${fmt(r.ckptWriteS)} ${fmt(r.rawReadS)} ${fmt(r.ckptLoadS)} | ${fmt(r.rawReadWarmS)} ${fmt(r.ckptLoadWarmS)}; ` +
        `cold raw read into fresh buffers ${fmt(gbps(r, r.rawReadFreshS))} GB/s)`,
    );
  }
  await started.stop();
  const med = (f: (r: CkptRunResult) => number): number => median(runs.map(f));
  return {
    runs,
    cacheNote: args.warm ? 'warm (--warm)' : ready.cacheNote,
    rawWrite: med((r) => gbps(r, r.rawWriteS)),
    ckptWrite: med((r) => gbps(r, r.ckptWriteS)),
    rawRead: med((r) => gbps(r, r.rawReadS)),
    ckptLoad: med((r) => gbps(r, r.ckptLoadS)),
    rawReadWarm: med((r) => gbps(r, r.rawReadWarmS)),
    ckptLoadWarm: med((r) => gbps(r, r.ckptLoadWarmS)),
    rawReadFresh: med((r) => gbps(r, r.rawReadFreshS)),
    peakDiskBytes: Math.max(...runs.map((r) => r.ckptDirBytes + r.bytes)),
  };
}

async function stepsPart(
  args: Args,
  workers: number,
  register: (stop: () => Promise<void>) => void,
): Promise<StepsSummary> {
  const bundle = bundleServer();
  const shapes = Array.from({ length: args.tensors }, () => shapeOf(args.params / args.tensors));
  const servers = {} as Record<Mode, StepServer>;
  for (const mode of MODES) {
    const dataDir = mode === 'none' ? null : path.join(args.dir, `steps-w${workers}-${mode}`);
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
    const s = await startStepServer(bundle, mode, dataDir, args);
    register(s.stop);
    servers[mode] = s;
  }
  const started = await startChild<unknown>(
    path.join(HERE, 'durability-worker.ts'),
    [],
    undefined,
    120_000,
    BENCH_NODE_FLAGS,
  );
  register(started.stop);
  const setupDone = new Promise<WorkerReply>((resolve) => {
    const onMsg = (m: WorkerReply): void => {
      if ('ready' in m) {
        started.child.off('message', onMsg);
        resolve(m);
      }
    };
    started.child.on('message', onMsg);
  });
  started.child.send({
    cmd: 'setup',
    servers: MODES.map((mode) => ({ mode, address: servers[mode].address })),
    shapes,
    workers,
  });
  const setup = await setupDone;
  if ('ready' in setup && !setup.ready) throw new Error(`worker setup failed: ${setup.error}`);
  const rpc = rpcOf<WindowResult>(started, 'worker');
  const mib = (args.params * 4) / 2 ** 20;
  console.log(
    `part 2 (W = ${workers}): sync SGD-momentum, ${workers} worker(s) in 1 process, ${args.params} float32 params (${fmt(mib, 0)} MiB) in ${args.tensors} tensors of [${shapes[0]!.join(', ')}]; ` +
      `step = pushGrad x ${args.tensors} (concurrent) + step(); servers = CLI bundle processes: none (--data-dir none), ` +
      `checkpoint (--checkpoint-every-seconds ${args.ckptEverySeconds}), wal-batch and wal-always (--keep-checkpoints 1, else defaults: 10 ms batches, checkpoint every 300 s); ` +
      `${args.window} s windows, ${args.rounds} rounds in rotated order after a 1 s warm-up window each`,
  );

  const stats = Object.fromEntries(
    MODES.map((m) => [
      m,
      {
        windows: [],
        cpuMsPerStep: [],
        diskBytesPerStep: [],
        checkpointsPerWindow: [],
        checkpointMs: [],
        logBytesPerStep: [],
      },
    ]),
  ) as unknown as Record<Mode, ModeStats>;
  let peakDiskBytes = 0;
  /**
   * After a window (untimed): every server with a data dir takes an on-demand checkpoint, which
   * waits for a checkpoint in flight (checkpoint mode's interval one), leaves nothing to
   * checkpoint later (so none runs into the next window), and drops the write-ahead log it
   * covers (disk use stays bounded); then `sync`, so no window pays for another's dirty pages.
   */
  const between = async (mode: Mode): Promise<string | null> => {
    const s = servers[mode];
    if (s.dataDir === null) return null;
    peakDiskBytes = Math.max(peakDiskBytes, dirBytes(args.dir));
    const id = await adminCheckpoint(s.address);
    execFileSync('sync');
    await checkpointLogged(s, id); // the reply can come before the log line
    return id;
  };
  const window = async (mode: Mode, seconds: number, record: boolean): Promise<void> => {
    const s = servers[mode];
    const cpu0 = cpuMs(s.pid);
    const disk0 = diskWriteBytes(s.pid);
    const ck0 = s.checkpoints.length;
    const wal0 = s.checkpoints[ck0 - 1]?.walBytes ?? 0;
    const r = await rpc.request({ cmd: 'window', mode, seconds });
    const cpu = cpuMs(s.pid) - cpu0;
    const disk = diskWriteBytes(s.pid) - disk0;
    const onDemand = await between(mode);
    // The window's interval checkpoints (one in flight at its end included), not the on-demand one.
    const cks = s.checkpoints
      .slice(ck0)
      .filter((c) => c.id !== onDemand)
      .map((c) => c.ms);
    if (!record) return;
    const st = stats[mode];
    // The on-demand checkpoint after the window reports the log bytes written so far.
    const wal1 = s.checkpoints[s.checkpoints.length - 1]?.walBytes ?? 0;
    st.logBytesPerStep.push((wal1 - wal0) / r.steps);
    st.windows.push(r);
    st.cpuMsPerStep.push(cpu / r.steps);
    st.diskBytesPerStep.push(disk / r.steps);
    st.checkpointsPerWindow.push(cks.length);
    st.checkpointMs.push(...cks);
  };
  for (const mode of MODES) await window(mode, 1, false);
  console.log(`  round  ${MODES.map((m) => m.padStart(11)).join('')}   (steps/s)`);
  for (let round = 0; round < args.rounds; round++) {
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
    for (const mode of order) await window(mode, args.window, true);
    console.log(
      `  ${String(round + 1).padStart(5)}  ${MODES.map((m) => fmt(stats[m].windows[round]!.stepsPerS, 1).padStart(11)).join('')}   (order: ${order.join(', ')})`,
    );
  }
  const stepsPerS = Object.fromEntries(
    MODES.map((m) => [m, median(stats[m].windows.map((w) => w.stepsPerS))]),
  ) as Record<Mode, number>;
  return { stats, stepsPerS, peakDiskBytes };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const scope = childScope('bench:durability', args.deadlineS);
  const register = (stop: () => Promise<void>): void => scope.add(stop);
  scope.add(() => rmSync(args.dir, { recursive: true, force: true })); // runs last

  const t0 = performance.now();
  rmSync(args.dir, { recursive: true, force: true });
  mkdirSync(args.dir, { recursive: true });
  console.log(
    `bench:durability: data on ${args.dir}: ${diskOf(args.dir)}; ${execFileSync('nproc', { encoding: 'utf8' }).trim()} CPUs; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  try {
    // Part 2 runs first: part 1 drops the page cache before every step and writes and reads
    // ~20 GiB of 1 GiB files, after which this VM's kernel reclaims the cached pages that part 2's
    // reused checkpoint files and log segments rely on (measured: ~23-32 ms of training time per
    // 32 MiB checkpoint when part 2 runs alone, ~139 ms right after part 1). Part 1 starts every
    // timed step from a dropped cache anyway, so it does not depend on what ran before it.
    const t1 = performance.now();
    const sts: Array<{ workers: number; st: StepsSummary }> = [];
    if (!args.skipSteps) for (const w of args.workers) sts.push({ workers: w, st: await stepsPart(args, w, register) });
    const t2 = performance.now();
    const ck = args.skipCkpt ? null : await checkpointPart(args, register);
    const t3 = performance.now();
    await scope.stopAll();
    const elapsedS = (performance.now() - t0) / 1000;

    const ok = report(args, ck, sts, {
      elapsedS,
      part2S: (t2 - t1) / 1000,
      part1S: (t3 - t2) / 1000,
    });
    return args.check && !ok ? 1 : 0;
  } finally {
    await scope.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench:durability failed:', err);
    process.exit(1);
  },
);
