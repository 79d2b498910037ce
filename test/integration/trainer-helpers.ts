// Shared helpers of the trainer integration tests:
// - RawTrainerService / RawWorker: the generated gluonps.v1.TrainerService stub used directly, so
//   tests control idempotency keys (worker, incarnation, sequence) and step indices exactly,
//   independently of the client's own retry and bookkeeping logic;
// - a single-process reference of what a trainer must compute, built on the bit-exact optimizer
//   reference of the kernel tests (test/native/reference/optim.ts): the server sums the workers'
//   dense gradients in float64 in worker order and stores the sum as float32 (native add_n), then
//   the kernel applies rescale_grad / (sum of batch sizes) in float32; RefParam mirrors exactly that;
// - small deterministic data generators and readers.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Context, Parameter, ParameterServerClient, Tensor } from '../../client/index';
import { toGluonPsError } from '../../client/errors';
import { clientChannelOptions, pushTensor } from '../../client/transport';
import { loadProtos } from '../../protos/load';
import type { CreateTrainerRequest } from '../../protos/generated/gluonps/v1/CreateTrainerRequest';
import type { GradUpload } from '../../protos/generated/gluonps/v1/GradUpload';
import type { IdempotencyKey } from '../../protos/generated/gluonps/v1/IdempotencyKey';
import type { PushGradResponse__Output } from '../../protos/generated/gluonps/v1/PushGradResponse';
import type { StatesChunk__Output } from '../../protos/generated/gluonps/v1/StatesChunk';
import type { StepResponse__Output } from '../../protos/generated/gluonps/v1/StepResponse';
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import type { TrainerServiceClient } from '../../protos/generated/gluonps/v1/TrainerService';
import { f32, startHarness, type Harness } from './helpers';
import { defaultOptimParams, optimStateCount, referenceLazyUpdate, referenceUpdate } from '../native/reference/optim';
import type { OptimKindTS, OptimParamsTS } from '../native/reference/optim';

// --- Raw gRPC access to the trainer service ----------------------------------------------------

type TrainerCtor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => TrainerServiceClient;

/**
 * One connection (its own channel and TCP connection) to the TrainerService. `options` are more
 * client options: a cluster shard's routing interceptor (Harness.rawTarget).
 */
export class RawTrainerService {
  readonly stub: TrainerServiceClient;

  constructor(
    readonly address: string,
    options: grpc.ClientOptions = {},
  ) {
    const Ctor = loadProtos().gluonps.v1.TrainerService as unknown as TrainerCtor;
    // A local subchannel pool: each service object really is a separate connection (a worker).
    this.stub = new Ctor(address, grpc.credentials.createInsecure(), {
      ...clientChannelOptions(undefined, { 'grpc.use_local_subchannel_pool': 1 }),
      ...options,
    });
  }

  private unary<Res>(invoke: (cb: grpc.requestCallback<Res>) => void): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      invoke((err, reply) => {
        if (err) reject(toGluonPsError(err));
        else if (reply === undefined) reject(new Error('no reply'));
        else resolve(reply);
      });
    });
  }

  create(req: CreateTrainerRequest): Promise<TrainerInfo__Output> {
    return this.unary((cb) => this.stub.createTrainer(req, cb));
  }

  /** One PushGrad stream: dense `tensor`, or its rows `rowIds` of the parameter. */
  async push(args: {
    trainer: string;
    param: string;
    key: IdempotencyKey;
    step: number;
    tensor: Tensor;
    rowIds?: ArrayLike<number>;
  }): Promise<PushGradResponse__Output> {
    const t = args.tensor;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const dtype = `DTYPE_${t.dtype.toUpperCase()}` as NonNullable<NonNullable<GradUpload['header']>['dtype']>;
    const first: Omit<GradUpload, 'chunk'> = {
      trainer: args.trainer,
      param: args.param,
      key: args.key,
      step: args.step,
      header: {
        shape: t.shape,
        dtype,
        byteLength: bytes.byteLength,
        rowIds: args.rowIds ? Array.from(args.rowIds) : [],
      },
    };
    try {
      return await pushTensor<GradUpload, PushGradResponse__Output>((cb) => this.stub.pushGrad(cb), first, bytes);
    } catch (err) {
      throw toGluonPsError(err);
    }
  }

  step(req: { trainer: string; key: IdempotencyKey; step: number; batchSize: number }): Promise<StepResponse__Output> {
    return this.unary((cb) => this.stub.step(req, cb));
  }

  leave(trainer: string, workerId: number): Promise<TrainerInfo__Output> {
    return this.unary((cb) => this.stub.leave({ trainer, workerId }, cb));
  }

  setLearningRate(trainer: string, learningRate: number): Promise<TrainerInfo__Output> {
    return this.unary((cb) => this.stub.setLearningRate({ trainer, learningRate }, cb));
  }

  describe(name: string): Promise<TrainerInfo__Output> {
    return this.unary((cb) => this.stub.describeTrainer({ name }, cb));
  }

  saveStates(name: string): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const call = this.stub.saveStates({ name });
      const parts: Buffer[] = [];
      let expected = -1;
      call.on('data', (m: StatesChunk__Output) => {
        if (expected < 0) expected = m.byteLength;
        parts.push(Buffer.from(m.chunk));
      });
      call.on('error', (err) => reject(toGluonPsError(err)));
      call.on('end', () => {
        const all = Buffer.concat(parts);
        if (all.length !== expected) reject(new Error(`saveStates: got ${all.length} bytes, announced ${expected}`));
        else resolve(all);
      });
    });
  }

  loadStates(trainer: string, bytes: Uint8Array): Promise<TrainerInfo__Output> {
    return new Promise<TrainerInfo__Output>((resolve, reject) => {
      const call = this.stub.loadStates((err, reply) => {
        if (err) reject(toGluonPsError(err));
        else resolve(reply!);
      });
      const chunk = 1 << 20;
      let off = 0;
      do {
        const slice = bytes.subarray(off, Math.min(off + chunk, bytes.byteLength));
        call.write(off === 0 ? { trainer, byteLength: bytes.byteLength, chunk: slice } : { chunk: slice });
        off += chunk;
      } while (off < bytes.byteLength);
      call.end();
    });
  }

  close(): void {
    this.stub.close();
  }
}

let nextIncarnation = 1000;

/**
 * A worker over the raw stub: numbers its calls (incarnation, sequence) and counts its own steps
 * as the client would. `key()` hands out the next key; tests may reuse one to play a retry.
 */
export class RawWorker {
  sequence = 0;
  /** The worker's count of its own steps (the `step` field it sends). */
  stepIndex = 0;

  constructor(
    readonly svc: RawTrainerService,
    readonly trainer: string,
    readonly workerId: number,
    readonly incarnation = nextIncarnation++,
  ) {}

  key(sequence = ++this.sequence): IdempotencyKey {
    return { workerId: this.workerId, incarnation: this.incarnation, sequence };
  }

  push(param: string, tensor: Tensor, rowIds?: ArrayLike<number>, key = this.key()): Promise<PushGradResponse__Output> {
    return this.svc.push({ trainer: this.trainer, param, key, step: this.stepIndex, tensor, rowIds });
  }

  /** Steps and, on success, moves to the next step index. */
  async step(batchSize: number, key = this.key()): Promise<StepResponse__Output> {
    const r = await this.svc.step({ trainer: this.trainer, key, step: this.stepIndex, batchSize });
    this.stepIndex++;
    return r;
  }
}

/** A CreateTrainerRequest with test defaults (sync, fail policy). */
export function trainerRequest(
  name: string,
  params: string[],
  optimizer: NonNullable<CreateTrainerRequest['optimizer']>,
  extra: Partial<CreateTrainerRequest> = {},
): CreateTrainerRequest {
  return { name, params, optimizer, mode: 'TRAINER_MODE_SYNC', numWorkers: 1, workerId: 0, ...extra };
}

// --- Deterministic data -------------------------------------------------------------------------

/** A small deterministic generator so failures reproduce. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n float32 values uniform in [-scale, scale). */
export function randomF32(rand: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** A float32 tensor (helpers.ts's f32, under the name the trainer suites use). */
export const f32t = f32;

/** The parameter's data on `ctx` as a Float32Array (float32 parameters only). */
export async function readF32(p: Parameter, ctx?: Context): Promise<Float32Array> {
  const t = await p.data(ctx);
  expect(t.dtype).toBe('float32');
  return t.data as Float32Array;
}

/** Every context copy of the parameter, as float32 arrays. */
export async function readAllF32(p: Parameter): Promise<Float32Array[]> {
  return (await p.listData()).map((t) => t.data as Float32Array);
}

/** Bit-exact comparison with readable failure output. */
export function expectSameF32(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, label).toBe(want.length);
  const a = Float32Array.from(got);
  const b = Float32Array.from(want);
  const same = Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
  if (!same) expect(Array.from(a), label).toEqual(Array.from(b));
}

// --- The single-process reference ---------------------------------------------------------------

/** The optimizer as a test configures it (MXNet names, camelCase), for the reference. */
export interface RefOptimizer {
  kind: OptimKindTS;
  learningRate: number;
  wd?: number;
  rescaleGrad?: number;
  clipGradient?: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** The kernel parameters of one update, as the trainer must derive them. */
export function refParams(
  o: RefOptimizer,
  u: { lr?: number; lrMult?: number; wdMult?: number; batchSize: number; t: number },
): OptimParamsTS {
  const p = defaultOptimParams(o.kind);
  const lr = u.lr ?? o.learningRate;
  return {
    ...p,
    lr: lr * (u.lrMult ?? 1),
    wd: (o.wd ?? 0) * (u.wdMult ?? 1),
    rescaleGrad: (o.rescaleGrad ?? 1) / u.batchSize,
    clipGradient: o.clipGradient ?? -1,
    momentum: o.momentum ?? p.momentum,
    nesterov: o.nesterov ?? false,
    beta1: o.beta1 ?? p.beta1,
    beta2: o.beta2 ?? p.beta2,
    epsilon: o.epsilon ?? p.epsilon,
    t: u.t,
  };
}

/** Dense gradients of several workers summed as the server does: float64, in order, then float32. */
export function sumGradients(grads: readonly ArrayLike<number>[]): Float64Array {
  const n = grads[0]!.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const g of grads) acc += g[i]!;
    out[i] = Math.fround(acc);
  }
  return out;
}

/** One parameter of the reference model: float32 weight values, optimizer states, update count. */
export class RefParam {
  weight: Float64Array;
  states: Float64Array[];
  count = 0;

  constructor(
    readonly optimizer: RefOptimizer,
    init: ArrayLike<number>,
    readonly mults: { lrMult?: number; wdMult?: number } = {},
  ) {
    this.weight = Float64Array.from(init, Math.fround);
    const n = optimStateCount(refParams(optimizer, { batchSize: 1, t: 1 }));
    this.states = Array.from({ length: n }, () => new Float64Array(this.weight.length));
  }

  /** One sync step: the workers' dense gradients summed, rescaled by 1/(sum of batch sizes). */
  step(grads: readonly ArrayLike<number>[], batchSize: number, lr?: number): void {
    this.count++;
    const p = refParams(this.optimizer, { lr, ...this.mults, batchSize, t: this.count });
    referenceUpdate(p, this.weight, sumGradients(grads), this.states, { compute: 'float32' });
  }

  /**
   * One lazy row-sparse step: each worker's rows (ids, one row of `rowElems` each) are combined as
   * the server does (sorted union of ids, contributions added into a float32 row one worker at a
   * time), then only those rows of weight and states are updated.
   */
  stepRows(
    contribs: ReadonlyArray<{ ids: readonly number[]; rows: ArrayLike<number> }>,
    rowElems: number,
    batchSize: number,
    lr?: number,
  ): number[] {
    const union = [...new Set(contribs.flatMap((c) => c.ids))].sort((a, b) => a - b);
    const pos = new Map(union.map((id, i) => [id, i]));
    const rows = new Float64Array(union.length * rowElems);
    for (const c of contribs) {
      // One scatter_add_rows call: duplicate ids within a contribution accumulate in float64.
      const acc = new Map<number, Float64Array>();
      c.ids.forEach((id, k) => {
        const a =
          acc.get(id) ?? Float64Array.from(rows.subarray(pos.get(id)! * rowElems, (pos.get(id)! + 1) * rowElems));
        for (let j = 0; j < rowElems; j++) a[j] = a[j]! + c.rows[k * rowElems + j]!;
        acc.set(id, a);
      });
      for (const [id, a] of acc) rows.set(a.map(Math.fround), pos.get(id)! * rowElems);
    }
    this.count++;
    const p = refParams(this.optimizer, { lr, ...this.mults, batchSize, t: this.count });
    referenceLazyUpdate(p, this.weight, union, rows, this.states, rowElems, { compute: 'float32' });
    return union;
  }

  /** Overwrites the weight (setData); states and count are kept. */
  setWeight(values: ArrayLike<number>): void {
    this.weight = Float64Array.from(values, Math.fround);
  }

  clone(): RefParam {
    const c = new RefParam(this.optimizer, this.weight, this.mults);
    c.states = this.states.map((s) => Float64Array.from(s));
    c.count = this.count;
    return c;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles `p` into { ok, value | error } without throwing, so pending calls can be inspected. */
export function settle<T>(
  p: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: Error & { code?: number } }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as Error & { code?: number } }),
  );
}

/** `n` extra client connections (each its own channel), the workers of a test. */
export async function connectWorkers(h: Pick<Harness, 'connect'>, n: number): Promise<ParameterServerClient[]> {
  return Promise.all(Array.from({ length: n }, () => h.connect()));
}

/**
 * A test file's server (in process, or a cluster: suite-target.ts) with its own client `ps` and `workerCount` more worker
 * clients, started in beforeAll (handed to onReady) and closed in afterAll.
 */
export function useTrainerHarness(
  workerCount: number,
  onReady: (env: { ps: ParameterServerClient; workers: ParameterServerClient[] }) => void,
): void {
  let h: Harness | undefined;
  let workers: ParameterServerClient[] = [];
  beforeAll(async () => {
    h = await startHarness();
    workers = await connectWorkers(h, workerCount);
    onReady({ ps: h.ps, workers });
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await h?.close();
  });
}
