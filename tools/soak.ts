// soak.ts: `npm run soak -- --minutes N` (default 10) runs one server process (the CLI, started
// as `npm start` starts it) on a fresh data dir under a mixed load for N minutes, and prints one
// JSON line: calls and statuses per kind of client, unexpected statuses, steps per trainer, the
// server's RSS, open file descriptors and data-dir size at start, after warm-up, at the middle
// and at the end, its log size, and checkpoints written. Exit status 1 when a status was
// unexpected, the server died, or it did not stop cleanly at the end.
//
// The load, each client on a connection of its own:
// - workers: 2 per trainer, for 4 trainers: dense sync (SGD with momentum), dense async (Adam),
//   row_sparse sync (lazy SGD) and row_sparse async (AdaGrad); each pulls its rows or weights,
//   pushes a gradient and steps, as fast as the server answers. Expected: OK only.
// - readers: 2 clients pulling data, every copy and rows. Expected: OK only.
// - hostile: 2 clients sending fuzzed requests to every method (tools/fuzz-rpc.ts). Expected:
//   anything but UNKNOWN or INTERNAL, within the deadline.
// - stalled: an upload that sends its header and stops, a 16 MiB pull that is never read, and
//   connections that open and do nothing, over and over. Expected: RESOURCE_EXHAUSTED from the
//   stream bounds (or CANCELLED when the client gives up first).
// The server runs with count limits (hostile declarations cannot grow the state without bound)
// and short stream bounds, so every kind of refusal happens many times during the run.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { connect, init, type ParameterServerClient, type Trainer } from '../client/index';
import type { OptimizerName, OptimizerParams, TrainerMode } from '../client/index';
import type { ParameterServiceClient } from '../protos/generated/gluonps/v1/ParameterService';
import type { TrainerServiceClient } from '../protos/generated/gluonps/v1/TrainerService';
import type { TensorUpload } from '../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../protos/load';
import { startCliServer } from '../bench/child-process';
import { FORBIDDEN, fuzzCase, fuzzMethods, fuzzTarget, runCase } from './fuzz-rpc';
import { MAX_SPARE_FILES } from '../server/durability/checkpoint-dir';
import { DEFAULT_MAX_RECYCLED_SEGMENTS } from '../server/durability/wal-segments';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes ?? 10);
if (!(minutes > 0)) throw new Error(`--minutes: expected a positive number, got ${values.minutes}`);
const seed = values.seed !== undefined ? Number(values.seed) : 7;
const durationMs = minutes * 60_000;
/** RSS growth is judged from here on (the heap, the keyed-result tables and the caches fill first). */
const warmupMs = Math.min(120_000, durationMs / 5);
const SAMPLE_MS = 5000;
const IDLE_MS = 2000;
const READ_MS = 5000;
const MiB = 1 << 20;
const KEEP = 2;

const scratch = mkdtempSync(path.join(tmpdir(), 'gluonps-soak-'));
const dataDir = path.join(scratch, 'data');
let logBytes = 0;
let checkpoints = 0;
/** The largest checkpoint's tensor bytes, and the most log bytes written between two checkpoints. */
let checkpointBytes = 0;
let walBetween = 0;
let walAtLast = 0;
const serverErrors: string[] = [];
const server = await startCliServer({
  label: 'soak server',
  args: [
    ...['--data-dir', dataDir, '--checkpoint-every-seconds', '30', '--keep-checkpoints', String(KEEP)],
    ...['--stream-idle-timeout-ms', String(IDLE_MS), '--read-timeout-ms', String(READ_MS)],
    ...['--max-parameters', '200', '--max-constants', '50', '--max-trainers', '24', '--max-workers-per-trainer', '64'],
    ...['--max-declared-bytes', '256MiB', '--max-tensor-bytes', '64MiB'],
  ],
  onLog: (e) => {
    logBytes += Buffer.byteLength(JSON.stringify(e)) + 1;
    if (e.msg === 'checkpoint written') {
      checkpoints++;
      checkpointBytes = Math.max(checkpointBytes, Number(e.bytes));
      // walBytes counts since start: the log between two checkpoints is the difference.
      walBetween = Math.max(walBetween, Number(e.walBytes) - walAtLast);
      walAtLast = Number(e.walBytes);
    }
    if (typeof e.level === 'number' && e.level >= 50) serverErrors.push(String(e.msg));
  },
});
const pid = server.child.pid!;
let serverDied = false;
server.child.once('exit', () => (serverDied = true));

// --- Counting ----------------------------------------------------------------------------------

type Kind = 'workers' | 'readers' | 'hostile' | 'stalled';
const calls: Record<Kind, number> = { workers: 0, readers: 0, hostile: 0, stalled: 0 };
const statuses: Record<Kind, Record<string, number>> = { workers: {}, readers: {}, hostile: {}, stalled: {} };
const unexpected: string[] = [];

function count(kind: Kind, code: number, what: string, details = ''): void {
  calls[kind]++;
  const name = grpc.status[code] ?? String(code);
  statuses[kind][name] = (statuses[kind][name] ?? 0) + 1;
  const ok =
    kind === 'workers' || kind === 'readers'
      ? code === grpc.status.OK
      : kind === 'hostile'
        ? !FORBIDDEN.has(code)
        : code === grpc.status.RESOURCE_EXHAUSTED || code === grpc.status.CANCELLED;
  if (!ok && unexpected.length < 50) unexpected.push(`${kind} ${what}: ${name} ${details.slice(0, 300)}`);
}

/** Runs `fn` as one counted call of `kind`. */
async function counted<T>(kind: Kind, what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    const r = await fn();
    count(kind, grpc.status.OK, what);
    return r;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    count(kind, typeof code === 'number' ? code : grpc.status.UNKNOWN, what, (err as Error).message);
    return null;
  }
}

let stopping = false;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const clients: ParameterServerClient[] = [];
async function client(): Promise<ParameterServerClient> {
  const c = await connect(server.address, { connectTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

// --- The model and its trainers -----------------------------------------------------------------

const DENSE = [256, 256];
const EMB = [20_000, 32];
const ROWS = 64;
const setup = await client();
interface Job {
  trainer: string;
  param: string;
  sparse: boolean;
  mode: TrainerMode;
  optimizer: OptimizerName;
  params: OptimizerParams;
}
const JOBS: Job[] = [
  {
    trainer: 'soak_sync',
    param: 'soak_dense_s',
    sparse: false,
    mode: 'sync',
    optimizer: 'sgd',
    params: { learningRate: 0.01, momentum: 0.9 },
  },
  {
    trainer: 'soak_async',
    param: 'soak_dense_a',
    sparse: false,
    mode: 'async',
    optimizer: 'adam',
    params: { learningRate: 0.001 },
  },
  {
    trainer: 'soak_rsync',
    param: 'soak_emb_s',
    sparse: true,
    mode: 'sync',
    optimizer: 'sgd',
    params: { learningRate: 0.05, lazyUpdate: true },
  },
  {
    trainer: 'soak_rasync',
    param: 'soak_emb_a',
    sparse: true,
    mode: 'async',
    optimizer: 'adagrad',
    params: { learningRate: 0.05 },
  },
];
for (const j of JOBS) {
  const p = await setup.parameter(j.param, {
    shape: j.sparse ? EMB : DENSE,
    init: init.uniform({ scale: 0.1 }),
    ...(j.sparse ? { stype: 'row_sparse' as const, gradStype: 'row_sparse' as const } : {}),
  });
  await p.initialize({ seed: 1 });
}
await (await setup.parameter('soak_stall', { shape: [256, 1024], init: init.zero() })).initialize();
await (await setup.parameter('soak_big', { shape: [2048, 2048], init: init.one() })).initialize();
await fuzzTarget(setup);

const rng = fc.sample(fc.integer({ min: 0, max: EMB[0]! - 1 }), { seed, numRuns: 100_000 });
let at = 0;
const rows = (): number[] =>
  [...new Set(Array.from({ length: ROWS }, () => rng[at++ % rng.length]!))].sort((a, b) => a - b);
const denseGrad = new Float32Array(DENSE[0]! * DENSE[1]!).map((_, i) => Math.sin(i) * 1e-3);

async function worker(job: Job, id: number): Promise<void> {
  const ps = await client();
  const p = await ps.get(job.param);
  const tr: Trainer = await ps.trainer(job.trainer, [job.param], job.optimizer, job.params, {
    mode: job.mode,
    numWorkers: 2,
    workerId: id,
  });
  while (!stopping) {
    if (job.sparse) {
      const ids = rows();
      await counted('workers', 'rowSparseData', () => p.rowSparseData(ids));
      const values = {
        shape: [ids.length, EMB[1]!],
        dtype: 'float32' as const,
        data: new Float32Array(ids.length * EMB[1]!).fill(1e-3),
      };
      await counted('workers', 'pushGrad', () => tr.pushGrad(job.param, { indices: ids, values }));
    } else {
      await counted('workers', 'data', () => p.data());
      await counted('workers', 'pushGrad', () =>
        tr.pushGrad(job.param, { shape: DENSE, dtype: 'float32', data: denseGrad }),
      );
    }
    await counted('workers', 'step', () => tr.step(32));
  }
  // The sync partner may still wait for this worker's step: leaving ends that.
  await tr.leave().catch(() => undefined);
}

async function reader(): Promise<void> {
  const ps = await client();
  const dense = await ps.get('soak_dense_s');
  const emb = await ps.get('soak_emb_a');
  while (!stopping) {
    await counted('readers', 'data', () => dense.data());
    await counted('readers', 'listData', () => dense.listData());
    await counted('readers', 'rowSparseData', () => emb.rowSparseData(rows()));
    await counted('readers', 'describe', () => emb.describe());
  }
}

async function hostile(n: number): Promise<void> {
  const methods = fuzzMethods();
  const raw = new grpc.Client(server.address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  for (let round = 0; !stopping; round++) {
    for (const c of fc.sample(fuzzCase(methods), { seed: seed * 1000 + n * 100_000 + round, numRuns: 50 })) {
      if (stopping) break;
      const out = await runCase(raw, methods, c, 3000);
      const m = methods[c.method]!;
      count('hostile', out.code, m.name, out.details);
      if (out.ms > 3000 + 2000 && unexpected.length < 50)
        unexpected.push(`hostile ${m.name}: ended after ${out.ms} ms`);
    }
  }
  raw.close();
}

type Ctor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => C;

async function stalled(): Promise<void> {
  const params = new (loadProtos().gluonps.v1.ParameterService as unknown as Ctor<ParameterServiceClient>)(
    server.address,
    grpc.credentials.createInsecure(),
    { 'grpc.use_local_subchannel_pool': 1 },
  );
  const idle: grpc.Client[] = [];
  while (!stopping) {
    // An upload: its header (1 MiB staged), then nothing.
    const upload = new Promise<void>((resolve) => {
      const call = params.setData((err) => {
        count('stalled', err?.code ?? grpc.status.OK, 'setData header only', err?.details);
        resolve();
      });
      call.write({
        name: 'soak_stall',
        header: { shape: [256, 1024], dtype: 'DTYPE_FLOAT32', byteLength: MiB },
      } as TensorUpload);
    });
    // A 16 MiB pull nobody reads: the read bound ends it (or the client gives up after twice it).
    const pull = new Promise<void>((resolve) => {
      const call = params.data({ name: 'soak_big' });
      let done = false;
      const finish = (code: number, details: string): void => {
        if (done) return;
        done = true;
        clearTimeout(giveUp);
        count('stalled', code, 'data never read', details);
        resolve();
      };
      const giveUp = setTimeout(() => call.cancel(), 2 * READ_MS + 2000);
      call.on('error', (e: grpc.ServiceError) => finish(e.code, e.details));
      call.on('status', (s: grpc.StatusObject) => finish(s.code, s.details));
    });
    // A connection that opens and does nothing (the keepalive and the server's limits hold it).
    const quiet = new grpc.Client(server.address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    quiet.getChannel().getConnectivityState(true);
    idle.push(quiet);
    if (idle.length > 8) idle.shift()!.close();
    await Promise.all([upload, pull]);
  }
  for (const c of idle) c.close();
  params.close();
}

// --- Measuring ----------------------------------------------------------------------------------

interface Sample {
  t: number;
  rssMiB: number;
  fds: number;
  dataDirBytes: number;
}
function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}
function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    try {
      total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
    } catch {
      // removed meanwhile (a pruned checkpoint)
    }
  }
  return total;
}
const samples: Sample[] = [];
const start = Date.now();
const sample = (): Sample => {
  const s = {
    t: Date.now() - start,
    rssMiB: rssMiB(),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    dataDirBytes: dirBytes(dataDir),
  };
  samples.push(s);
  return s;
};
const first = sample();

const running = [
  ...JOBS.flatMap((j) => [worker(j, 0), worker(j, 1)]),
  reader(),
  reader(),
  hostile(0),
  hostile(1),
  stalled(),
];
const sampler = setInterval(() => {
  if (serverDied) return;
  const s = sample();
  if (s.t % 60_000 < SAMPLE_MS)
    process.stderr.write(
      `soak: ${Math.round(s.t / 1000)} s, RSS ${s.rssMiB} MiB, ${s.fds} fds, data dir ${Math.round(s.dataDirBytes / MiB)} MiB, calls ${JSON.stringify(calls)}\n`,
    );
}, SAMPLE_MS);
while (Date.now() - start < durationMs && !serverDied) await sleep(1000);
const last = serverDied ? samples[samples.length - 1]! : sample();
clearInterval(sampler);
stopping = true;
await Promise.race([Promise.allSettled(running), sleep(30_000)]);

const steps: Record<string, number> = {};
const trainers = new (loadProtos().gluonps.v1.TrainerService as unknown as Ctor<TrainerServiceClient>)(
  server.address,
  grpc.credentials.createInsecure(),
);
for (const j of JOBS) {
  steps[j.trainer] = await new Promise<number>((resolve) =>
    trainers.describeTrainer({ name: j.trainer }, (err, info) => resolve(err ? -1 : Number(info!.step))),
  );
}
trainers.close();
for (const c of clients) await c.close().catch(() => undefined);
const diedDuringRun = serverDied;
const endFds = serverDied ? NaN : readdirSync(`/proc/${pid}/fd`).length;
const stopStarted = Date.now();
await server.stop();
const exit = { code: server.child.exitCode, signal: server.child.signalCode, ms: Date.now() - stopStarted };

const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
const at_ = (t: number): Sample => samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best));
const warm = at_(warmupMs);
const middle = at_(durationMs / 2);
const afterWarm = samples.filter((s) => s.t >= warm.t);
const halfway = (warm.t + last.t) / 2;
const firstHalf = afterWarm.filter((s) => s.t < halfway);
const secondHalf = afterWarm.filter((s) => s.t >= halfway);
function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0
    ? NaN
    : v.length % 2 === 1
      ? v[(v.length - 1) / 2]!
      : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}
const result = {
  minutes,
  seed,
  calls,
  statuses,
  unexpected: unexpected.length,
  unexpectedSamples: unexpected.slice(0, 10),
  steps,
  rssMiB: {
    start: first.rssMiB,
    warm: warm.rssMiB,
    middle: middle.rssMiB,
    end: last.rssMiB,
    maxAfterWarmup: Math.max(...afterWarm.map((s) => s.rssMiB)),
    growthAfterWarmupPct: Math.round(((last.rssMiB - warm.rssMiB) / warm.rssMiB) * 1000) / 10,
    // RSS swings with what is in flight (a checkpoint's copy, 16 MiB reads): a trend shows in
    // the medians of the two halves after warm-up better than in two single samples.
    medianFirstHalf: median(firstHalf.map((s) => s.rssMiB)),
    medianSecondHalf: median(secondHalf.map((s) => s.rssMiB)),
    medianGrowthPct:
      Math.round(
        ((median(secondHalf.map((s) => s.rssMiB)) - median(firstHalf.map((s) => s.rssMiB))) /
          median(firstHalf.map((s) => s.rssMiB))) *
          1000,
      ) / 10,
  },
  openFds: { start: first.fds, warm: warm.fds, middle: middle.fds, end: endFds },
  dataDirMiB: {
    warm: mib(warm.dataDirBytes),
    middle: mib(middle.dataDirBytes),
    end: mib(last.dataDirBytes),
    max: mib(Math.max(...samples.map((s) => s.dataDirBytes))),
  },
  checkpoints,
  largestCheckpointMiB: mib(checkpointBytes),
  mostLogBetweenCheckpointsMiB: mib(walBetween),
  // What the settings let the data dir hold: the kept checkpoints and the spare files of pruned
  // ones, each at most the largest checkpoint; the log back to the oldest kept checkpoint, the
  // segment being written and the recycled segments, each at most the log between checkpoints.
  diskBoundMiB: mib(
    (KEEP + MAX_SPARE_FILES) * checkpointBytes + (KEEP + 1 + DEFAULT_MAX_RECYCLED_SEGMENTS) * walBetween,
  ),
  logMiB: mib(logBytes),
  serverErrors: serverErrors.slice(0, 5),
  serverDied: diedDuringRun,
  exit,
};
console.log(JSON.stringify(result));
rmSync(scratch, { recursive: true, force: true });
process.exitCode = unexpected.length === 0 && !diedDuringRun && exit.code === 0 ? 0 : 1;
