// crash-wal-ops.ts: the operations of the write-ahead-log crash tests (crash-wal.test.ts): the
// two sides (a reference server and the crashing subject, each with two workers' connections
// and trainer handles), the operation type, how one runs on a side, and the seeded generator
// of random valid-looking operation sequences.
import { cpu, init } from '../../client/index';
import type { Context, DType, ParameterServerClient, ParameterSpec, Tensor, Trainer } from '../../client/index';
import { captureState, checkpointNow, connectTo, RESTART_RETRY, rng, sleep, untilAvailable } from './crash-harness';
import type { ServerProcess, ServerState } from './crash-harness';

// --- The two sides ------------------------------------------------------------------------------

export const TW = [2, 3];
export const TB = [3];
export const TA = [4];

/** One server with two workers' connections and their trainer handles. */
export interface Side {
  label: string;
  server: ServerProcess;
  ps: ParameterServerClient[];
  /** Sync trainer 'sync' (sgd with momentum) over tw, tb: one handle per worker. */
  sync: Trainer[];
  /** Async trainer 'async' (adam) over ta: worker 0. */
  async: Trainer | null;
}

export async function openSide(label: string, server: ServerProcess): Promise<Side> {
  return {
    label,
    server,
    ps: [await connectTo(server.address), await connectTo(server.address)],
    sync: [],
    async: null,
  };
}

export async function closeSide(side: Side): Promise<void> {
  for (const p of side.ps) await p.close();
  await side.server.kill();
}

export function capture(side: Side): Promise<ServerState> {
  const trainers: Record<string, Trainer> = {};
  if (side.sync[0]) trainers.sync = side.sync[0];
  if (side.async) trainers.async = side.async;
  return untilAvailable(() => captureState(side.ps[0]!, trainers));
}

// --- Operations -----------------------------------------------------------------------------------

export type Op =
  | { k: 'declare'; name: string; spec: ParameterSpec }
  | { k: 'constant'; name: string; value: Tensor }
  | { k: 'initialize'; name: string; seed: number; ctx: Context[]; forceReinit: boolean }
  | { k: 'setData'; name: string; value: Tensor }
  | { k: 'setShape'; name: string; shape: number[] }
  | { k: 'cast'; name: string; dtype: DType }
  | { k: 'resetCtx'; name: string; ctx: Context[] }
  | { k: 'createSync'; worker: number }
  | { k: 'createAsync' }
  | { k: 'push'; worker: number; param: 'tw' | 'tb'; value: Tensor }
  | { k: 'syncStep'; batch: [number, number] }
  | { k: 'asyncPush'; value: Tensor }
  | { k: 'asyncStep'; batch: number }
  | { k: 'lr'; lr: number }
  | { k: 'checkpoint' };

export const show = (op: Op): string =>
  JSON.stringify(op, (_k, v: unknown) => (ArrayBuffer.isView(v) ? `<${(v as Float64Array).length} values>` : v));

/** Runs `op` on one side; resolves with a step result or descriptor, rejects as the server answers. */
export async function runOp(side: Side, op: Op): Promise<unknown> {
  const ps = side.ps[0]!;
  switch (op.k) {
    case 'declare':
      await ps.parameter(op.name, op.spec);
      return null;
    case 'constant':
      await ps.constant(op.name, op.value);
      return null;
    case 'initialize':
      return (await ps.get(op.name)).initialize({ seed: op.seed, ctx: op.ctx, forceReinit: op.forceReinit });
    case 'setData':
      return (await ps.get(op.name)).setData(op.value);
    case 'setShape':
      return (await ps.get(op.name)).setShape(op.shape);
    case 'cast':
      return (await ps.get(op.name)).cast(op.dtype);
    case 'resetCtx':
      return (await ps.get(op.name)).resetCtx(op.ctx);
    case 'createSync':
      side.sync[op.worker] = await side.ps[op.worker]!.trainer(
        'sync',
        ['tw', 'tb'],
        'sgd',
        { learningRate: 0.1, momentum: 0.9, wd: 0.001 },
        {
          mode: 'sync',
          numWorkers: 2,
          workerId: op.worker,
          stepTimeoutMs: 60_000,
          retry: RESTART_RETRY,
        },
      );
      return side.sync[op.worker]!.currentStep;
    case 'createAsync':
      side.async = await ps.trainer(
        'async',
        ['ta'],
        'adam',
        { learningRate: 0.01 },
        { mode: 'async', numWorkers: 1, workerId: 0, retry: RESTART_RETRY },
      );
      return side.async.currentStep;
    case 'push':
      return side.sync[op.worker]!.pushGrad(op.param, op.value);
    case 'syncStep':
      return Promise.all([side.sync[0]!.step(op.batch[0]), side.sync[1]!.step(op.batch[1])]);
    case 'asyncPush':
      return side.async!.pushGrad('ta', op.value);
    case 'asyncStep':
      return side.async!.step(op.batch);
    case 'lr':
      await side.sync[0]!.setLearningRate(op.lr);
      return null;
    case 'checkpoint':
      // Changes nothing a client can see; only the subject has a data dir.
      if (side.label === 'sub') await checkpointNow(side.server.address);
      return null;
  }
}

/** Operations that are keyed trainer calls: the client retries them across a restart. */
export const KEYED = new Set<Op['k']>(['push', 'syncStep', 'asyncPush', 'asyncStep']);

interface ParamModel {
  shape: number[] | null;
  dtype: DType;
  deferrable: boolean;
  initialized: boolean;
  deferred: boolean;
}

/** Generates a valid-looking random operation (some are refused by the server, on both sides alike). */
export class Generator {
  private readonly r;
  private params = new Map<string, ParamModel>();
  private n = 0;
  private pushed = new Set<string>();
  private asyncPushed = false;

  constructor(seed: number) {
    this.r = rng(seed);
  }

  /** The fixed beginning: the trainers' parameters and the trainers. */
  prologue(): Op[] {
    const initialize = (name: string, seed: number): Op => ({
      k: 'initialize',
      name,
      seed,
      ctx: [cpu(0)],
      forceReinit: false,
    });
    return [
      { k: 'declare', name: 'tw', spec: { shape: TW, init: init.uniform({ scale: 1 }) } },
      { k: 'declare', name: 'tb', spec: { shape: TB, init: init.zero() } },
      { k: 'declare', name: 'ta', spec: { shape: TA, init: init.normal({ sigma: 0.5 }) } },
      initialize('tw', 1),
      initialize('tb', 2),
      initialize('ta', 3),
      { k: 'createSync', worker: 0 },
      { k: 'createSync', worker: 1 },
      { k: 'createAsync' },
    ];
  }

  /** Syncs the model with the reference's descriptions. */
  learn(
    list: Array<{
      name: string;
      shape: number[] | null;
      dtype: DType;
      initialized: boolean;
      deferred: boolean;
      allowDeferredInit: boolean;
      isConstant: boolean;
    }>,
  ): void {
    this.params.clear();
    for (const d of list) {
      if (d.isConstant || ['tw', 'tb', 'ta'].includes(d.name)) continue;
      this.params.set(d.name, {
        shape: d.shape,
        dtype: d.dtype,
        deferrable: d.allowDeferredInit,
        initialized: d.initialized,
        deferred: d.deferred,
      });
    }
  }

  private values(shape: number[], scale = 1): Tensor<'float64'> {
    const n = shape.reduce((a, b) => a * b, 1);
    return {
      shape,
      dtype: 'float64',
      data: Float64Array.from({ length: n }, () => Math.round((this.r.next() * 2 - 1) * scale * 1000) / 1000),
    };
  }

  private ctx(): Context[] {
    const all = [cpu(0), cpu(1), cpu(2)];
    const n = 1 + this.r.int(2);
    const start = this.r.int(3);
    return Array.from({ length: n }, (_, i) => all[(start + i) % 3]!);
  }

  next(): Op {
    const r = this.r;
    const names = [...this.params.keys()];
    const known = names.filter((n) => this.params.get(n)!.shape?.every((d) => d > 0));
    const initialized = names.filter((n) => this.params.get(n)!.initialized);
    const unknownShape = names.filter((n) => {
      const s = this.params.get(n)!.shape;
      return s !== null && s.some((d) => d === 0);
    });
    const menu: Array<[number, () => Op | null]> = [
      [
        3,
        () => {
          const name = `p${this.n++}`;
          const kind = r.int(4);
          const dtype = r.pick<DType>(['float32', 'float64', 'float16']);
          const inits = [init.uniform({ scale: 2 }), init.normal({ sigma: 1 }), init.one(), init.constant(0.25)];
          if (kind === 0) return { k: 'declare', name, spec: { shape: [3], dtype, init: r.pick(inits) } };
          if (kind === 1) return { k: 'declare', name, spec: { shape: [2, 2], dtype } };
          if (kind === 2)
            return { k: 'declare', name, spec: { shape: [0, 3], dtype, allowDeferredInit: true, init: r.pick(inits) } };
          return { k: 'declare', name, spec: { shape: [2, 0], dtype, allowDeferredInit: true } };
        },
      ],
      [
        1,
        () => ({
          k: 'constant',
          name: `c${this.n++}`,
          value: r.chance(0.5)
            ? this.values([2])
            : { shape: [3], dtype: 'int32', data: Int32Array.from([r.int(100), -r.int(100), 7]) },
        }),
      ],
      [
        4,
        () => {
          const pool = names.length > 0 ? names : null;
          if (!pool) return null;
          return {
            k: 'initialize',
            name: r.pick(pool),
            seed: r.int(1_000_000),
            ctx: this.ctx(),
            forceReinit: r.chance(0.3),
          };
        },
      ],
      [
        4,
        () => {
          if (r.chance(0.3)) {
            const name = r.pick(['tw', 'tb']);
            return { k: 'setData', name, value: this.values(name === 'tw' ? TW : TB) };
          }
          const pool = [
            ...known.filter((n) => this.params.get(n)!.initialized || this.params.get(n)!.deferred),
            ...unknownShape.filter((n) => this.params.get(n)!.deferred),
          ];
          if (pool.length === 0) return null;
          const name = r.pick(pool);
          const s = this.params.get(name)!.shape!;
          // An unknown dim gets a value; a wrong shape now and then (refused by both).
          const shape = r.chance(0.1) ? [7] : s.map((d) => (d === 0 ? 2 + r.int(2) : d));
          return { k: 'setData', name, value: this.values(shape, 3) };
        },
      ],
      [
        2,
        () => {
          if (unknownShape.length === 0) return null;
          const name = r.pick(unknownShape);
          return { k: 'setShape', name, shape: this.params.get(name)!.shape!.map((d) => (d === 0 ? 2 + r.int(2) : d)) };
        },
      ],
      [
        2,
        () =>
          initialized.length === 0
            ? null
            : { k: 'cast', name: r.pick(initialized), dtype: r.pick<DType>(['float32', 'float64', 'float16']) },
      ],
      [2, () => (initialized.length === 0 ? null : { k: 'resetCtx', name: r.pick(initialized), ctx: this.ctx() })],
      [
        5,
        () => {
          const free = ['0:tw', '0:tb', '1:tw', '1:tb'].filter((k) => !this.pushed.has(k));
          if (free.length === 0) return null;
          const key = r.pick(free);
          this.pushed.add(key);
          const param = key.slice(2) as 'tw' | 'tb';
          return { k: 'push', worker: Number(key[0]), param, value: this.values(param === 'tw' ? TW : TB) };
        },
      ],
      [
        3,
        () => {
          this.pushed.clear();
          return { k: 'syncStep', batch: [1 + r.int(3), 1 + r.int(3)] };
        },
      ],
      [
        2,
        () => {
          if (!this.asyncPushed) {
            this.asyncPushed = true;
            return { k: 'asyncPush', value: this.values(TA) };
          }
          this.asyncPushed = false;
          return { k: 'asyncStep', batch: 1 + r.int(4) };
        },
      ],
      [1, () => ({ k: 'lr', lr: r.pick([0.05, 0.1, 0.2]) })],
      [1, () => ({ k: 'checkpoint' })],
    ];
    const total = menu.reduce((a, [w]) => a + w, 0);
    for (;;) {
      let x = r.next() * total;
      for (const [w, make] of menu) {
        x -= w;
        if (x < 0) {
          const op = make();
          if (op) return op;
          break;
        }
      }
    }
  }
}

/** Polls until the sync trainer's open step waits for exactly worker 1 (worker 0 is at the barrier). */
export async function worker0AtBarrier(side: Side): Promise<void> {
  const end = Date.now() + 10_000;
  while (JSON.stringify((await untilAvailable(() => side.sync[1]!.describe())).waitingFor) !== '[1]') {
    if (Date.now() > end) throw new Error('worker 0 never reached the barrier');
    await sleep(3);
  }
}

export const outcome = (r: { ok: boolean; error?: { code?: number } }): string =>
  r.ok ? 'ok' : `error ${r.error?.code}`;
