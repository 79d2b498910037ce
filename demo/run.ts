// `npm run demo`: distributed training through gluon-ps on one machine. Starts the server
// (the same CLI bundle `npm start` runs, on a free port) and N worker processes; each worker
// trains two models on its own shard of generated data through sync trainers: an MLP
// classifier (dense parameters, SGD with momentum) and matrix factorisation (row_sparse
// embeddings read and updated row by row, lazy Adam). The workers report losses as JSON lines;
// this process shows them (a bar per epoch on a terminal, one line per epoch otherwise), checks
// that each model's loss fell to at most 0.2 x its initial value, and prints as its last line
//   {"demo":"train","workers":2,"initial_loss":…,"final_loss":…,"steps":…,"seconds":…,"models":{…}}
// where initial/final_loss sum the models' losses and steps sums their trainers' steps.
// Exits 1 if a model did not converge or anything failed; every child is killed on the way out.
//
//   npm run demo -- --workers 3 --epochs 5 [--port 50051] [--models mlp,mf] [--python-workers 1]
// With --python-workers P the last P of the workers are Python processes (demo/python_worker.py,
// the gluonps Python client under Debian's python3, or GLUONPS_PYTHON) training the same models
// in the same sync trainers as the TypeScript ones.
//   npm run demo -- worker --server host:port --workers 2 --worker-id auto   (one worker only)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { converged, LossTable, type EpochResult } from './collect';
import { EpochProgress, formatLoss } from './progress';
import { DEFAULT_EPOCHS } from './recipes';
import { DemoError, MODELS, runWorker, type ModelName, type WorkerEvent, type WorkerOptions } from './worker';
import { GluonPsError, Status } from '../client/index';
import { npmStartCommand } from '../tools/npm-start';

/** The repository root: this file sits in demo/, its bundle in .build/. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

class UsageError extends Error {}

function intArg(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+$/.test(text) || v < min || v > max)
    throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got '${text}'`);
  return v;
}

function modelsArg(text: string | undefined): ModelName[] {
  if (text === undefined) return [...MODELS];
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const m of list)
    if (!(MODELS as readonly string[]).includes(m))
      throw new UsageError(`--models: '${m}' is not one of ${MODELS.join(', ')}`);
  if (list.length === 0) throw new UsageError('--models: empty list');
  return list as ModelName[];
}

const HELP = `Usage:
  npm run demo -- [--workers N] [--epochs E] [--port P] [--models mlp,mf] [--python-workers P]
      starts a server and N workers (default 2, ${DEFAULT_EPOCHS} epochs, a free port), trains, checks convergence;
      the last P workers (default 0) are Python workers (demo/python_worker.py, the gluonps Python client)
  npm run demo -- worker --server HOST:PORT --workers N --worker-id I|auto [--epochs E] [--models mlp,mf] [--json]
      runs one worker against a running server (what the docker-compose 'worker' service does);
      --server may name a cluster: every shard's HOST:PORT, comma-separated in shard-index order,
      or etcd://HOST:PORT[,HOST:PORT]/CLUSTER (docs/cluster.md)
`;

// --- one worker ----------------------------------------------------------------------------

async function workerMain(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      workers: { type: 'string' },
      'worker-id': { type: 'string' },
      epochs: { type: 'string' },
      models: { type: 'string' },
      json: { type: 'boolean' },
      'step-timeout-ms': { type: 'string' },
      'connect-wait-ms': { type: 'string' },
    },
    strict: true,
  });
  const workers = intArg('workers', v.workers, 2, 1, 64);
  const idText = v['worker-id'] ?? process.env.GLUONPS_WORKER_ID ?? 'auto';
  const options: WorkerOptions = {
    server: v.server ?? process.env.GLUONPS_SERVER ?? '127.0.0.1:50051',
    workers,
    workerId: idText === 'auto' ? 'auto' : intArg('worker-id', idText, 0, 0, workers - 1),
    epochs: intArg('epochs', v.epochs, DEFAULT_EPOCHS, 1, 1000),
    models: modelsArg(v.models),
    json: v.json === true,
    stepTimeoutMs: intArg('step-timeout-ms', v['step-timeout-ms'], 120_000, 1, 2 ** 31),
    connectWaitMs: intArg('connect-wait-ms', v['connect-wait-ms'], 120_000, 0, 2 ** 31),
  };
  await runWorker(options);
}

// --- the orchestrator ------------------------------------------------------------------------

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Resolves with the exit code, or the signal's name if a signal ended it. */
function exited(c: ChildProcess): Promise<number | string> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode ?? c.signalCode!);
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
}

/** Forwards a child's stderr with a prefix, and keeps its last lines for error messages. */
function forwardStderr(c: ChildProcess, prefix: string, keep: string[]): void {
  if (!c.stderr) return;
  createInterface({ input: c.stderr }).on('line', (line) => {
    keep.push(line);
    if (keep.length > 20) keep.shift();
    process.stderr.write(`${prefix} ${line}\n`);
  });
}

/** Bundles and starts the server CLI on `port`; resolves to its address from the 'listening' log line. */
async function startServer(port: number): Promise<{ child: ChildProcess; address: string }> {
  const bundled = spawnSync(
    process.execPath,
    [path.join(ROOT, 'scripts/bundle.mjs'), 'server/cli.ts', 'gluonps-server'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (bundled.status !== 0)
    throw new DemoError('demo: bundling the server failed (node scripts/bundle.mjs server/cli.ts gluonps-server)');
  // As `npm start` runs it: its environment (malloc settings) and node flags (docs/configuration.md).
  const start = npmStartCommand();
  const child = spawn(
    process.execPath,
    [
      ...start.nodeFlags,
      start.script,
      ...start.args,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--devices',
      'cpu',
      '--log-level',
      'info',
      '--data-dir',
      'none',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...start.env },
    },
  );
  children.add(child);
  const stderr: string[] = [];
  forwardStderr(child, '[server]', stderr);
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new DemoError('demo: the server did not log "listening" within 30 s')),
      30_000,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let rec: { msg?: string; address?: string; level?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        return;
      }
      if (rec.msg === 'listening' && typeof rec.address === 'string') {
        clearTimeout(timer);
        resolve(rec.address);
      } else if ((rec.level ?? 0) >= 50) {
        process.stderr.write(`[server] ${line}\n`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new DemoError(
          `demo: the server exited (code ${String(code)}) before listening${stderr.length ? `:\n${stderr.join('\n')}` : ''}`,
        ),
      );
    });
  });
  return { child, address };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM'); // graceful: in-flight calls finish, then exit 0
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

interface ModelSummary {
  initial_loss: number;
  final_loss: number;
  steps: number;
  seconds: number;
  converged: boolean;
  final_accuracy?: number;
}

async function orchestrate(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' },
      epochs: { type: 'string' },
      port: { type: 'string' },
      models: { type: 'string' },
      'timeout-s': { type: 'string' },
      'python-workers': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const workers = intArg('workers', v.workers, 2, 1, 64);
  const epochs = intArg('epochs', v.epochs, DEFAULT_EPOCHS, 1, 1000);
  const port = intArg('port', v.port, 0, 0, 65535);
  const models = modelsArg(v.models);
  const timeoutS = intArg('timeout-s', v['timeout-s'], 600, 1, 86_400);
  const pythonWorkers = intArg('python-workers', v['python-workers'], 0, 0, workers);

  const watchdog = setTimeout(() => {
    process.stderr.write(`demo: not finished after ${timeoutS} s; stopping\n`);
    killAll();
    process.exit(1);
  }, timeoutS * 1000);
  watchdog.unref();

  const { child: server, address } = await startServer(port);
  const out = new EpochProgress(process.stdout);
  out.note(
    `gluon-ps server at ${address}; ${workers} worker${workers === 1 ? '' : 's'}` +
      `${pythonWorkers > 0 ? ` (${pythonWorkers} in Python)` : ''}, ${epochs} epoch${epochs === 1 ? '' : 's'}, models ${models.join(', ')}`,
  );
  const started = performance.now();

  const table = new LossTable(workers);
  const progress = new Map<string, number[]>(); // model:epoch -> steps done per worker
  const finished = new Map<ModelName, { steps: number; seconds: number }>();
  const onEvent = (e: WorkerEvent): void => {
    if (e.event === 'batch') {
      const key = `${e.model}:${e.epoch}`;
      const done = progress.get(key) ?? new Array<number>(workers).fill(0);
      done[e.worker] = e.done;
      progress.set(key, done);
      out.update(e.model, e.epoch, epochs, Math.min(...done), e.steps, e.loss);
    } else if (e.event === 'epoch') {
      const r = table.add(e.model, e.epoch, {
        worker: e.worker,
        lossSum: e.lossSum,
        count: e.count,
        step: e.step,
        ...(e.accuracy === undefined ? {} : { accuracy: e.accuracy }),
      });
      if (r === null) return;
      progress.delete(`${e.model}:${e.epoch}`);
      const extra: Record<string, string | number> = { steps: r.step };
      if (r.accuracy !== undefined) extra.accuracy = `${(100 * r.accuracy).toFixed(1)}%`;
      out.epochDone({
        model: e.model,
        epoch: e.epoch,
        epochs,
        loss: r.loss,
        extra,
        ...(r.epoch === 0 ? { suffix: '(before training)' } : {}),
      });
    } else if (e.event === 'done') {
      const prev = finished.get(e.model);
      finished.set(e.model, {
        steps: Math.max(prev?.steps ?? 0, e.steps),
        seconds: Math.max(prev?.seconds ?? 0, e.seconds),
      });
    }
  };

  const self = process.argv[1]!;
  const workerRuns = Array.from({ length: workers }, (_, id) => {
    const common = [
      '--server',
      address,
      '--workers',
      String(workers),
      '--worker-id',
      String(id),
      '--epochs',
      String(epochs),
      '--models',
      models.join(','),
    ];
    const python = id >= workers - pythonWorkers;
    const child = python
      ? spawn(process.env.GLUONPS_PYTHON ?? '/usr/bin/python3', [path.join(ROOT, 'demo/python_worker.py'), ...common], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
        })
      : spawn(process.execPath, [...process.execArgv, self, 'worker', '--json', ...common], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
    children.add(child);
    const stderr: string[] = [];
    forwardStderr(child, `[worker ${id}${python ? ' python' : ''}]`, stderr);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: WorkerEvent;
      try {
        e = JSON.parse(line) as WorkerEvent;
      } catch {
        process.stderr.write(`[worker ${id}] ${line}\n`);
        return;
      }
      onEvent(e);
    });
    return exited(child).then((code) => {
      if (code === 0) return;
      const why = stderr.find((l) => l.startsWith('demo:')) ?? stderr.at(-1);
      throw new DemoError(
        `demo: worker ${id} exited with ${typeof code === 'number' ? `code ${code}` : code}${why === undefined ? '' : `: ${why}`}`,
      );
    });
  });
  try {
    await Promise.all(workerRuns);
  } finally {
    killAll(); // after a failure, the other workers would only wait for the barrier's timeout
  }
  const seconds = (performance.now() - started) / 1000;
  await stopServer(server);
  clearTimeout(watchdog);

  const summaries: Partial<Record<ModelName, ModelSummary>> = {};
  let ok = true;
  for (const m of models) {
    const rs: EpochResult[] = table.results(m);
    const first = rs[0];
    const last = rs.at(-1);
    if (first === undefined || last === undefined || first.epoch !== 0 || last.epoch !== epochs) {
      throw new DemoError(`demo: ${m}: missing epoch losses (have epochs ${rs.map((r) => r.epoch).join(',')})`);
    }
    const s: ModelSummary = {
      initial_loss: first.loss,
      final_loss: last.loss,
      steps: finished.get(m)?.steps ?? last.step,
      seconds: Number((finished.get(m)?.seconds ?? 0).toFixed(3)),
      converged: converged(first.loss, last.loss),
    };
    if (last.accuracy !== undefined) s.final_accuracy = Number(last.accuracy.toFixed(4));
    summaries[m] = s;
    ok &&= s.converged;
    out.note(
      `${m.padEnd(4)} initial_loss ${formatLoss(s.initial_loss)}  final_loss ${formatLoss(s.final_loss)}  ` +
        `ratio ${(s.final_loss / s.initial_loss).toFixed(4)} (need <= 0.2)  steps ${s.steps}  ${s.seconds.toFixed(2)} s  ` +
        `${s.converged ? 'converged' : 'DID NOT CONVERGE'}`,
    );
  }
  const all = Object.values(summaries);
  const result = {
    demo: 'train',
    workers,
    ...(pythonWorkers > 0 ? { python_workers: pythonWorkers } : {}),
    initial_loss: all.reduce((t, s) => t + s.initial_loss, 0),
    final_loss: all.reduce((t, s) => t + s.final_loss, 0),
    steps: all.reduce((t, s) => t + s.steps, 0),
    seconds: Number(seconds.toFixed(3)),
    models: summaries,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return ok ? 0 : 1;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    if (argv[0] === 'worker') {
      await workerMain(argv.slice(1));
      process.exit(0); // do not wait for gRPC's timers to wind down
    } else process.exitCode = await orchestrate(argv);
  } catch (err) {
    killAll();
    const code = (err as { code?: unknown } | null)?.code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`demo: ${(err as Error).message}\n${HELP}`);
      process.exit(2);
    }
    // Failures the demo or the server explain get their message; anything else its stack.
    const text =
      err instanceof DemoError
        ? err.message
        : err instanceof GluonPsError
          ? `${Status[err.code] ?? err.code}: ${err.message}`
          : err instanceof Error
            ? (err.stack ?? err.message)
            : String(err);
    process.stderr.write(`${text.startsWith('demo:') ? '' : 'demo: '}${text}\n`);
    process.exit(1);
  }
}

await main();
