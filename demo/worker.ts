// One demo worker: connects to the server, declares the model's parameters (identically in
// every worker, so whoever comes first creates them and the rest attach), attaches to the
// model's sync trainer, and trains on its own shard: per step it reads the parameters (dense
// data(), or only the batch's rows with rowSparseData), computes loss and gradients in
// TypeScript, pushes each gradient and steps. After each epoch it evaluates the loss on its
// whole shard with the parameters the server holds.
//
// Output: with --json, one JSON event per line on stdout (the orchestrator in run.ts reads
// them); otherwise this worker's own progress bar or loss lines, as a standalone process (the
// docker-compose `worker` service) prints them.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  connect,
  cpu,
  init,
  Status,
  type ConnectOptions,
  type Parameter,
  type ParameterServerClient,
  type Tensor,
  type Trainer,
  type TrainerOptions,
} from '../client/index';
import { epochOrder, makeBlobs, makeRatings, shardIndices, stepsPerEpoch } from './data';
import { mfLossAndGrad, uniqueIds, type Rows } from './models/mf';
import { MLP_PARAM_NAMES, mlpAccuracy, mlpLossAndGrad, mlpParamShapes, mlpZeros, type MlpParams } from './models/mlp';
import { EpochProgress } from './progress';
import { MF_RECIPE, MLP_RECIPE, workerBatch } from './recipes';

/** A failure the demo explains itself (printed without a stack). */
export class DemoError extends Error {}

export const MODELS = ['mlp', 'mf'] as const;
export type ModelName = (typeof MODELS)[number];

export interface WorkerOptions {
  server: string;
  workers: number;
  /** This worker's id, or 'auto' to claim a free slot on the server (docker-compose replicas). */
  workerId: number | 'auto';
  epochs: number;
  models: ModelName[];
  json: boolean;
  stepTimeoutMs: number;
  /**
   * How long to keep retrying while the server is unreachable: the first connection (the server
   * may still be starting) and, later, reads, pushes and steps while it restarts (a killed
   * server container that recovers from its data volume, test/containers).
   */
  connectWaitMs: number;
}

/** What a worker reports; one JSON line each with --json. */
export type WorkerEvent =
  | { event: 'ready'; worker: number }
  | { event: 'batch'; model: ModelName; worker: number; epoch: number; done: number; steps: number; loss: number }
  | {
      event: 'epoch';
      model: ModelName;
      worker: number;
      epoch: number;
      lossSum: number;
      count: number;
      step: number;
      accuracy?: number;
    }
  | { event: 'done'; model: ModelName; worker: number; steps: number; seconds: number };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A worker's credentials from its environment (docker-compose.secure.yml sets the file ones):
 * the bearer token GLUONPS_TOKEN, or the first line of the file GLUONPS_TOKEN_FILE; TLS trusting
 * the CA in GLUONPS_TLS_CA, with the client certificate GLUONPS_CLIENT_CERT and key
 * GLUONPS_CLIENT_KEY for mutual TLS. A file that cannot be read fails with its variable's name.
 */
export function securityFromEnv(env: NodeJS.ProcessEnv): Pick<ConnectOptions, 'token' | 'tls'> {
  const file = (variable: string): Buffer | undefined => {
    const p = env[variable] || undefined;
    if (p === undefined) return undefined;
    try {
      return readFileSync(p);
    } catch (err) {
      throw new DemoError(`demo: ${variable}: cannot read ${JSON.stringify(p)}: ${(err as Error).message}`);
    }
  };
  const out: Pick<ConnectOptions, 'token' | 'tls'> = {};
  const tokenFile = file('GLUONPS_TOKEN_FILE');
  const token = env.GLUONPS_TOKEN || tokenFile?.toString('utf8').split(/\r?\n/)[0]!.trim();
  if (tokenFile !== undefined && !env.GLUONPS_TOKEN && token === '')
    throw new DemoError(
      `demo: GLUONPS_TOKEN_FILE: the first line of ${JSON.stringify(env.GLUONPS_TOKEN_FILE)} is empty`,
    );
  if (token) out.token = token;
  const ca = file('GLUONPS_TLS_CA');
  const cert = file('GLUONPS_CLIENT_CERT');
  const key = file('GLUONPS_CLIENT_KEY');
  if ((cert === undefined) !== (key === undefined))
    throw new DemoError('demo: GLUONPS_CLIENT_CERT and GLUONPS_CLIENT_KEY go together (mutual TLS needs both)');
  if (ca !== undefined || cert !== undefined) out.tls = { ...(ca && { ca }), ...(cert && key && { cert, key }) };
  return out;
}

/**
 * What `--server` names: one server (`host:port`), a cluster by every shard's address in
 * shard-index order (`host:port,host:port,...`), or a cluster found through etcd
 * (`etcd://host:port[,host:port]/NAME`, whose commas separate etcd endpoints, not shards).
 */
export function serverTarget(address: string): string | string[] {
  if (address.startsWith('etcd://') || !address.includes(',')) return address;
  return address.split(',').map((a) => a.trim());
}

/**
 * connect(), retried until `waitMs` has passed: in docker-compose the workers may start first.
 * `address` as serverTarget reads it; credentials come from the environment (securityFromEnv).
 */
export async function connectWithRetry(
  address: string,
  waitMs: number,
  log: (s: string) => void,
): Promise<ParameterServerClient> {
  const deadline = Date.now() + waitMs;
  const security = securityFromEnv(process.env);
  const target = serverTarget(address);
  for (let attempt = 1; ; attempt++) {
    try {
      const options = { connectTimeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())), ...security };
      return await (typeof target === 'string' ? connect(target, options) : connect(target, options));
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      if (attempt === 1) log(`waiting for the server at ${address} ...`);
      await sleep(1000);
    }
  }
}

/**
 * Claims the first free worker slot 0..workers-1 by declaring a constant holding a random
 * token: declaring a constant again with the same value returns it, with another value is
 * ALREADY_EXISTS, so the server's own atomic declare makes this a compare-and-set. Used when
 * identical replicas (docker-compose deploy.replicas) cannot be told their index.
 */
export async function claimWorkerId(
  ps: ParameterServerClient,
  workers: number,
  prefix = 'demo_worker_slot',
): Promise<number> {
  const token = [randomInt(1, 2 ** 24), randomInt(0, 2 ** 24)]; // exact in float32
  for (let id = 0; id < workers; id++) {
    try {
      await ps.constant(`${prefix}_${id}`, token);
      return id;
    } catch (err) {
      if ((err as { code?: number }).code !== Status.ALREADY_EXISTS) throw err;
    }
  }
  throw new DemoError(
    `demo: worker on ${hostname()}: all ${workers} worker slots are taken (restart the server to train again)`,
  );
}

function f32(t: Tensor, who: string): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new DemoError(`demo: ${who} is ${t.dtype}, expected float32`);
  return t.data;
}

class Reporter {
  readonly #json: boolean;
  readonly #progress = new EpochProgress(process.stdout);
  readonly #epochs: number;
  readonly #worker: number;

  constructor(json: boolean, epochs: number, worker: number) {
    this.#json = json;
    this.#epochs = epochs;
    this.#worker = worker;
  }

  emit(e: WorkerEvent): void {
    if (this.#json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    if (e.event === 'batch') this.#progress.update(e.model, e.epoch, this.#epochs, e.done, e.steps, e.loss);
    if (e.event === 'epoch') {
      const extra: Record<string, string | number> = { worker: this.#worker, step: e.step };
      if (e.accuracy !== undefined) extra.accuracy = `${(100 * e.accuracy).toFixed(1)}%`;
      this.#progress.epochDone({
        model: e.model,
        epoch: e.epoch,
        epochs: this.#epochs,
        loss: e.lossSum / e.count,
        extra,
      });
    }
    if (e.event === 'done') this.#progress.note(`${e.model} done: ${e.steps} steps in ${e.seconds.toFixed(2)} s`);
  }

  log(text: string): void {
    if (this.#json) process.stderr.write(`worker ${this.#worker}: ${text}\n`);
    else this.#progress.note(text);
  }
}

// Waits between attempts while the server is away: short, so a restarted server is noticed soon.
const OUTAGE_BACKOFF_MS = 500;

/**
 * Pushes and steps carry idempotency keys (client/retry.ts), so they are retried through a
 * server restart for about connectWaitMs: the restarted server answers a repeated call with the
 * first one's result, or applies it once if the first never arrived.
 */
const STEP_OPTIONS = (o: WorkerOptions, id: number): TrainerOptions => ({
  mode: 'sync',
  numWorkers: o.workers,
  workerId: id,
  stepTimeoutMs: o.stepTimeoutMs,
  retry: { maxAttempts: 8 + Math.ceil(o.connectWaitMs / OUTAGE_BACKOFF_MS), maxBackoffMs: OUTAGE_BACKOFF_MS },
});

/** A read (reads change nothing, so repeating one is safe) retried while the server is UNAVAILABLE. */
async function readRetrying<T>(o: WorkerOptions, read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.connectWaitMs;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if ((err as { code?: number }).code !== Status.UNAVAILABLE || Date.now() >= deadline) throw err;
      await sleep(OUTAGE_BACKOFF_MS);
    }
  }
}

/**
 * The synchronous epoch loop both models share: this worker's shard in a fresh order per epoch,
 * `batch(rows)` pushes its gradients for one batch and returns the batch's loss sum, step()
 * waits for the other workers; evaluations before the first epoch and after each one.
 */
async function runEpochs(
  model: 'mlp' | 'mf',
  tr: Trainer,
  o: WorkerOptions,
  id: number,
  out: Reporter,
  n: number,
  recipe: { globalBatch: number; data: { seed: number } },
  evaluate: (epoch: number, step: number) => Promise<void>,
  batch: (rows: ReturnType<typeof epochOrder>) => Promise<number>,
): Promise<void> {
  const b = workerBatch(recipe.globalBatch, o.workers);
  const steps = stepsPerEpoch(n, o.workers, b);
  const started = performance.now();
  let applied = 0;
  await evaluate(0, 0);
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const order = epochOrder(n, o.workers, id, epoch - 1, recipe.data.seed);
    let runningLoss = 0;
    for (let s = 0; s < steps; s++) {
      const rows = order.subarray(s * b, (s + 1) * b);
      runningLoss += (await batch(rows)) / rows.length;
      applied = (await tr.step(rows.length)).step;
      out.emit({ event: 'batch', model, worker: id, epoch, done: s + 1, steps, loss: runningLoss / (s + 1) });
    }
    await evaluate(epoch, applied);
  }
  await tr.leave();
  out.emit({ event: 'done', model, worker: id, steps: applied, seconds: (performance.now() - started) / 1000 });
}

async function trainMlp(ps: ParameterServerClient, o: WorkerOptions, id: number, out: Reporter): Promise<void> {
  const R = MLP_RECIPE;
  const data = makeBlobs(R.data);
  const shapes = mlpParamShapes(R.shape);
  const params: Parameter[] = [];
  for (const [k, name] of MLP_PARAM_NAMES.entries()) {
    const p = await ps.parameter(`mlp_${name}`, {
      shape: shapes[name],
      init: name.endsWith('weight') ? init.xavier() : init.zero(),
    });
    await p.initialize({ ctx: cpu(0), seed: R.initSeed + k }); // a no-op when another worker did it
    params.push(p);
  }
  const tr = await ps.trainer('mlp', params, R.optimizer, R.optimizerParams, STEP_OPTIONS(o, id));
  const read = async (): Promise<MlpParams> => {
    const ts = await readRetrying(o, () => Promise.all(params.map((p) => p.data())));
    const entries = MLP_PARAM_NAMES.map((name, k) => [name, f32(ts[k]!, `mlp_${name}`)] as const);
    return Object.fromEntries(entries) as unknown as MlpParams;
  };
  const shard = shardIndices(data.n, o.workers, id);
  const evaluate = async (epoch: number, step: number): Promise<void> => {
    const p = await read();
    const lossSum = mlpLossAndGrad(R.shape, p, data.x, data.y, shard);
    out.emit({
      event: 'epoch',
      model: 'mlp',
      worker: id,
      epoch,
      lossSum,
      count: shard.length,
      step,
      accuracy: mlpAccuracy(R.shape, p, data.x, data.y, shard),
    });
  };

  await runEpochs('mlp', tr, o, id, out, data.n, R, evaluate, async (rows) => {
    const p = await read();
    const g = mlpZeros(R.shape) as MlpParams;
    const loss = mlpLossAndGrad(R.shape, p, data.x, data.y, rows, g);
    await Promise.all(
      MLP_PARAM_NAMES.map((name, k) =>
        tr.pushGrad(params[k]!, { shape: shapes[name], dtype: 'float32', data: g[name] }),
      ),
    );
    return loss;
  });
}

async function readRows(o: WorkerOptions, p: Parameter, ids: number[]): Promise<Rows<Float32Array>> {
  const r = await readRetrying(o, () => p.rowSparseData(ids));
  return { ids: Array.from(r.indices, Number), values: f32(r.values, 'embedding rows') };
}

async function trainMf(ps: ParameterServerClient, o: WorkerOptions, id: number, out: Reporter): Promise<void> {
  const R = MF_RECIPE;
  const data = makeRatings(R.data);
  const declare = async (name: string, rows: number, seed: number): Promise<Parameter> => {
    const p = await ps.parameter(name, {
      shape: [rows, R.dim],
      stype: 'row_sparse',
      gradStype: 'row_sparse',
      init: init.normal({ sigma: R.initSigma }),
    });
    await p.initialize({ ctx: cpu(0), seed });
    return p;
  };
  const users = await declare('mf_user_weight', data.numUsers, R.initSeed);
  const items = await declare('mf_item_weight', data.numItems, R.initSeed + 1);
  const tr = await ps.trainer('mf', [users, items], R.optimizer, R.optimizerParams, STEP_OPTIONS(o, id));

  const shard = shardIndices(data.n, o.workers, id);
  const shardUsers = uniqueIds(data.users, shard);
  const shardItems = uniqueIds(data.items, shard);
  const evaluate = async (epoch: number, step: number): Promise<void> => {
    const [u, i] = await Promise.all([readRows(o, users, shardUsers), readRows(o, items, shardItems)]);
    const { loss } = mfLossAndGrad(R.dim, u, i, data, shard, false);
    out.emit({ event: 'epoch', model: 'mf', worker: id, epoch, lossSum: loss, count: shard.length, step });
  };

  await runEpochs('mf', tr, o, id, out, data.n, R, evaluate, async (rows) => {
    // Only the rows this batch touches travel, both ways.
    const [u, i] = await Promise.all([
      readRows(o, users, uniqueIds(data.users, rows)),
      readRows(o, items, uniqueIds(data.items, rows)),
    ]);
    const r = mfLossAndGrad(R.dim, u, i, data, rows);
    await Promise.all([
      tr.pushGrad(users, {
        indices: u.ids,
        values: { shape: [u.ids.length, R.dim], dtype: 'float32', data: r.userGrad },
      }),
      tr.pushGrad(items, {
        indices: i.ids,
        values: { shape: [i.ids.length, R.dim], dtype: 'float32', data: r.itemGrad },
      }),
    ]);
    return r.loss;
  });
}

/** Runs one worker to the end of its epochs; rejects on any failure (the caller exits non-zero). */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const early = new Reporter(o.json, o.epochs, typeof o.workerId === 'number' ? o.workerId : -1);
  const ps = await connectWithRetry(o.server, o.connectWaitMs, (s) => early.log(s));
  try {
    const id = o.workerId === 'auto' ? await claimWorkerId(ps, o.workers) : o.workerId;
    const out = new Reporter(o.json, o.epochs, id);
    if (o.workerId === 'auto') out.log(`worker id ${id} of ${o.workers} (claimed on ${o.server})`);
    out.emit({ event: 'ready', worker: id });
    for (const model of o.models) {
      if (model === 'mlp') await trainMlp(ps, o, id, out);
      else await trainMf(ps, o, id, out);
    }
  } finally {
    await ps.close();
  }
}
