// trainer.ts: one named Trainer: a set of parameters, an optimizer, and the workers that push
// gradients to it. Sync mode applies step k once, when every active worker has stepped, with the
// sum of their gradients and rescale_grad / (sum of their batch sizes); async mode applies each
// worker's step at once. Every push and step is keyed (worker, incarnation, sequence), so a
// retried call returns the first call's result instead of being applied again.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { invalid, precondition, ServerError } from '../errors';
import { Mutex } from '../store/mutex';
import type { HostTensor, ParameterEntry, ParameterStore } from '../store/parameter-store';
import { deviceKey } from '../store/spec';
import { combine, disposeGrad } from './gradients';
import type { CombinedGrad, PendingGrad } from './gradients';
import { learningRateAt, nativeUpdate } from './optimizer-spec';
import type { OptimizerConfig } from './optimizer-spec';
import { readStates, writeStates } from './states-format';
import type { SavedParamStates } from './states-format';

export interface TrainerSpec {
  name: string;
  params: string[];
  optimizer: OptimizerConfig;
  mode: 'sync' | 'async';
  numWorkers: number;
  stepTimeoutMs: number;
  timeoutPolicy: 'fail' | 'quorum';
  quorum: number;
}

export interface CallKey {
  workerId: number;
  incarnation: number;
  sequence: number;
}

export interface StepResult {
  step: number;
  versions: bigint[];
  workers: number[];
}

export interface TrainerState {
  step: number;
  /** The rate the next step uses (the schedule's value when there is one). */
  learningRate: number;
  /** The configured base rate (set_learning_rate changes it). */
  baseLearningRate: number;
  workersSeen: number[];
  workersLeft: number[];
  waitingFor: number[];
}

/** Optimizer state of one parameter: one tensor list per context, and its update count. */
interface ParamStates {
  layout: string; // contexts, dtype and shape the tensors were made for
  tensors: DeviceTensor[][];
  count: number;
}

interface Waiter {
  resolve: (r: StepResult) => void;
  reject: (e: Error) => void;
}

interface OpenStep {
  index: number;
  stepped: Map<number, number>; // worker -> batch size
  waiters: Waiter[];
  timer: NodeJS.Timeout | null;
  applying: boolean;
}

/** How many keyed results a worker incarnation keeps for retries. */
const KEEP_RESULTS = 1024;
/** How many incarnations of one worker keep their results. */
const KEEP_INCARNATIONS = 4;

export class Trainer {
  private stepCount = 0;
  private learningRate: number;
  private readonly seen = new Set<number>();
  private readonly left = new Set<number>();
  private readonly pending = new Map<number, Map<string, PendingGrad>>();
  private readonly states = new Map<string, ParamStates>();
  private readonly results = new Map<string, Map<number, Promise<unknown>>>();
  private open: OpenStep | null = null;
  /** Serializes applies, async steps and state snapshots. */
  private readonly applyLock = new Mutex();

  constructor(
    readonly spec: TrainerSpec,
    private readonly store: ParameterStore,
    private readonly log: Logger,
  ) {
    this.learningRate = spec.optimizer.params.learningRate;
  }

  private get who(): string {
    return `trainer '${this.spec.name}'`;
  }

  // --- Keys and workers ----------------------------------------------------------------------

  private checkWorker(workerId: number): void {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId >= this.spec.numWorkers) {
      throw invalid(`${this.who}: worker id ${workerId} is out of range [0, ${this.spec.numWorkers})`);
    }
    if (this.left.has(workerId)) throw precondition(`${this.who}: worker ${workerId} has left the trainer`);
    this.seen.add(workerId);
  }

  /** Runs fn once per key; a retry with the same key gets the first call's promise. Failed
   *  calls are forgotten, so they can be retried with the same key. */
  private once<T>(key: CallKey, fn: () => Promise<T>): Promise<T> {
    const slot = `${key.workerId}:${key.incarnation}`;
    let table = this.results.get(slot);
    if (!table) {
      table = new Map();
      this.results.set(slot, table);
      this.forgetOldIncarnations(key.workerId);
    }
    const hit = table.get(key.sequence);
    if (hit) return hit as Promise<T>;
    const p = fn();
    table.set(key.sequence, p);
    p.catch(() => table.delete(key.sequence));
    if (table.size > KEEP_RESULTS) {
      for (const seq of table.keys()) {
        if (seq < key.sequence - KEEP_RESULTS) table.delete(seq);
      }
    }
    return p;
  }

  /** Keeps the results of a worker's latest incarnations only (restarted workers never resend
   *  an old incarnation's calls for long). Map order is insertion order. */
  private forgetOldIncarnations(workerId: number): void {
    const mine = [...this.results.keys()].filter((k) => k.startsWith(`${workerId}:`));
    for (const k of mine.slice(0, Math.max(0, mine.length - KEEP_INCARNATIONS))) this.results.delete(k);
  }

  register(workerId: number): void {
    this.checkWorker(workerId);
  }

  // --- Gradients -----------------------------------------------------------------------------

  /** Records a worker's gradient (dense, or rows `rowIds` of the parameter) for its step. */
  pushGrad(key: CallKey, step: number, param: string, value: HostTensor, rowIds: BigInt64Array | null): Promise<{ step: number }> {
    return this.once(key, async () => {
      this.checkWorker(key.workerId);
      this.checkStepOpen(step);
      if (!this.spec.params.includes(param)) throw invalid(`${this.who}: parameter '${param}' is not one of its parameters [${this.spec.params.join(', ')}]`);
      const entry = this.store.entry(param);
      const grad = await entry.lock.run(() => this.uploadGrad(entry, value, rowIds));
      // The step may have closed while the bytes were uploading.
      try {
        this.checkStepOpen(step);
        const mine = this.pending.get(key.workerId) ?? new Map<string, PendingGrad>();
        if (mine.has(param)) throw precondition(`${this.who}: worker ${key.workerId} already pushed a gradient for '${param}' in step ${step}`);
        mine.set(param, grad);
        this.pending.set(key.workerId, mine);
      } catch (err) {
        disposeGrad(grad);
        throw err;
      }
      return { step };
    });
  }

  private checkStepOpen(step: number): void {
    if (this.spec.mode === 'async') return;
    const closed = this.open !== null && this.open.applying ? this.stepCount + 1 : this.stepCount;
    if (step < closed) throw precondition(`${this.who}: step ${step} is closed (${this.stepCount} steps applied); push for step ${closed}`);
    if (step > this.stepCount) throw precondition(`${this.who}: step ${step} is not open yet; the trainer is at step ${this.stepCount}`);
  }

  private async uploadGrad(entry: ParameterEntry, value: HostTensor, rowIds: BigInt64Array | null): Promise<PendingGrad> {
    const name = entry.spec.name;
    if (entry.isConstant) throw precondition(`${this.who}: constant '${name}' takes no gradient: trainers never change constants`);
    if (entry.spec.gradReq === 'null') throw precondition(`${this.who}: parameter '${name}' takes no gradient because grad_req='null'`);
    if (entry.data === null) throw precondition(`${this.who}: parameter '${name}' has not been initialized`);
    const shape = entry.spec.shape as number[];
    if (!nk.isFloatDType(value.dtype)) throw invalid(`${this.who}: gradient for '${name}' must be a float tensor, got ${value.dtype}`);
    if (rowIds === null) {
      if (value.shape.join(',') !== shape.join(',')) throw invalid(`${this.who}: gradient for '${name}' has shape [${value.shape.join(',')}], expected [${shape.join(',')}]`);
    } else {
      if (shape.length === 0) throw invalid(`${this.who}: a row_sparse gradient needs a parameter of rank >= 1; '${name}' is a scalar`);
      const want = [rowIds.length, ...shape.slice(1)];
      if (value.shape.join(',') !== want.join(',')) throw invalid(`${this.who}: row_sparse gradient for '${name}' has shape [${value.shape.join(',')}], expected [${want.join(',')}] (one row per id)`);
      for (let i = 0; i < rowIds.length; i++) {
        if (rowIds[i]! < 0n || rowIds[i]! >= BigInt(shape[0]!)) throw invalid(`${this.who}: gradient for '${name}': row id ${rowIds[i]} at position ${i} is out of range [0, ${shape[0]})`);
      }
    }
    const device = entry.ctx![0]!;
    const raw = await nk.fromBytes(device, value.dtype, value.shape, value.bytes);
    let values = raw;
    if (value.dtype !== entry.spec.dtype) {
      values = nk.empty(device, entry.spec.dtype, value.shape);
      try {
        await nk.cast(values, raw);
      } finally {
        raw.dispose();
      }
    }
    return rowIds === null ? { kind: 'dense', values } : { kind: 'rows', ids: rowIds, values };
  }

  // --- Steps ---------------------------------------------------------------------------------

  /** Completes the worker's step. Sync: resolves when the step is applied with every worker. */
  step(key: CallKey, step: number, batchSize: number): Promise<StepResult> {
    return this.once(key, async () => {
      this.checkWorker(key.workerId);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw invalid(`${this.who}: batch_size must be an integer >= 1, got ${batchSize}`);
      if (this.spec.mode === 'async') return this.applyAsync(key.workerId, batchSize);
      this.checkStepOpen(step);
      const open: OpenStep = (this.open ??= { index: this.stepCount, stepped: new Map<number, number>(), waiters: [] as Waiter[], timer: null, applying: false });
      if (open.stepped.has(key.workerId)) throw precondition(`${this.who}: worker ${key.workerId} already stepped in step ${step}`);
      open.stepped.set(key.workerId, batchSize);
      const done = new Promise<StepResult>((resolve, reject) => open.waiters.push({ resolve, reject }));
      open.timer ??= setTimeout(() => this.onTimeout(open), this.spec.stepTimeoutMs);
      this.maybeApply();
      return done;
    });
  }

  private active(): number[] {
    return Array.from({ length: this.spec.numWorkers }, (_, i) => i).filter((w) => !this.left.has(w));
  }

  private maybeApply(): void {
    const open = this.open;
    if (open === null || open.applying) return;
    const missing = this.active().filter((w) => !open.stepped.has(w));
    if (missing.length === 0 && open.stepped.size > 0) void this.applyOpen(open);
  }

  private onTimeout(open: OpenStep): void {
    if (this.open !== open || open.applying) return;
    const missing = this.active().filter((w) => !open.stepped.has(w));
    if (this.spec.timeoutPolicy === 'quorum' && open.stepped.size >= this.spec.quorum) {
      this.log.warn({ trainer: this.spec.name, step: open.index, missing }, 'step deadline passed; applying with the quorum');
      void this.applyOpen(open);
      return;
    }
    const msg = `${this.who}: step ${open.index} timed out after ${this.spec.stepTimeoutMs} ms waiting for worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the step was not applied`;
    this.log.warn({ trainer: this.spec.name, step: open.index, missing }, 'step timed out');
    this.open = null;
    this.discardPending();
    for (const w of open.waiters) w.reject(new ServerError(grpc.status.DEADLINE_EXCEEDED, msg));
  }

  private async applyOpen(open: OpenStep): Promise<void> {
    open.applying = true;
    if (open.timer) clearTimeout(open.timer);
    const workers = [...open.stepped.keys()].sort((a, b) => a - b);
    const batch = [...open.stepped.values()].reduce((a, b) => a + b, 0);
    try {
      const result = await this.applyLock.run(() => this.apply(workers, batch));
      for (const w of open.waiters) w.resolve(result);
    } catch (err) {
      this.log.error({ trainer: this.spec.name, step: open.index, err }, 'applying a step failed');
      for (const w of open.waiters) w.reject(err as Error);
    } finally {
      this.discardPending();
      this.open = null;
    }
  }

  private async applyAsync(workerId: number, batchSize: number): Promise<StepResult> {
    return this.applyLock.run(async () => {
      try {
        return await this.apply([workerId], batchSize);
      } finally {
        for (const g of this.pending.get(workerId)?.values() ?? []) disposeGrad(g);
        this.pending.delete(workerId);
      }
    });
  }

  /** Applies the sum of `workers`' pending gradients to every parameter they pushed for. */
  private async apply(workers: number[], batchSize: number): Promise<StepResult> {
    const rescale = this.spec.optimizer.params.rescaleGrad / batchSize;
    const numUpdate = this.stepCount + 1;
    const lr = this.spec.optimizer.scheduler ? learningRateAt(this.spec.optimizer, numUpdate) : this.learningRate;
    for (const param of this.spec.params) {
      const grads = workers.map((w) => this.pending.get(w)?.get(param)).filter((g): g is PendingGrad => g !== undefined);
      if (grads.length === 0) continue;
      const entry = this.store.entry(param);
      await entry.lock.run(async () => {
        if (entry.data === null) throw precondition(`${this.who}: parameter '${param}' is no longer initialized`);
        const combined = await combine(grads, entry.spec.shape as number[], grads[0]!.values.device);
        try {
          await this.update(entry, combined, lr, rescale);
        } finally {
          combined.values.dispose();
        }
      });
    }
    this.stepCount++;
    return { step: this.stepCount, versions: this.spec.params.map((p) => this.store.entry(p).version), workers };
  }

  /** One optimizer update of every context copy of `entry` (caller holds entry.lock). */
  private async update(entry: ParameterEntry, grad: CombinedGrad, lr: number, rescale: number): Promise<void> {
    const st = this.statesFor(entry);
    const { kind, settings } = nativeUpdate(this.spec.optimizer, { lr, lrMult: entry.spec.lrMult, wdMult: entry.spec.wdMult, rescale, t: st.count + 1 });
    const lazy = grad.kind === 'rows' && this.spec.optimizer.params.lazyUpdate && kind !== 'lamb';
    const temps: DeviceTensor[] = [];
    try {
      let values = grad.values;
      if (grad.kind === 'rows' && !lazy) {
        values = nk.empty(grad.values.device, entry.spec.dtype, entry.spec.shape as number[]);
        temps.push(values);
        await nk.scatterAddRows(values, grad.values, grad.ids);
      }
      for (let i = 0; i < entry.data!.length; i++) {
        const weight = entry.data![i]!;
        let g = values;
        if (!nk.sameDevice(weight.device, values.device)) {
          g = nk.empty(weight.device, values.dtype, values.shape);
          temps.push(g);
          await nk.copy(g, values);
        }
        await nk.optimizerUpdate(kind, settings, weight, g, st.tensors[i]!, lazy ? grad.ids : undefined);
      }
    } finally {
      for (const t of temps) t.dispose();
    }
    st.count++;
    entry.version++;
  }

  /** Optimizer states for entry's current contexts, dtype and shape (fresh zeros if they changed). */
  private statesFor(entry: ParameterEntry): ParamStates {
    const layout = `${entry.ctx!.map(deviceKey).join(',')}|${entry.spec.dtype}|${(entry.spec.shape as number[]).join(',')}`;
    const existing = this.states.get(entry.spec.name);
    if (existing && existing.layout === layout) return existing;
    const { kind, settings } = nativeUpdate(this.spec.optimizer, { lr: 0, lrMult: 1, wdMult: 1, rescale: 1, t: 1 });
    const n = nk.optimizerStateCount(kind, settings);
    const tensors = entry.data!.map((w) => Array.from({ length: n }, () => nk.empty(w.device, w.dtype, w.shape)));
    for (const list of existing?.tensors ?? []) for (const t of list) t.dispose();
    const fresh = { layout, tensors, count: existing?.count ?? 0 };
    this.states.set(entry.spec.name, fresh);
    return fresh;
  }

  private discardPending(): void {
    for (const mine of this.pending.values()) for (const g of mine.values()) disposeGrad(g);
    this.pending.clear();
  }

  // --- Workers leaving, learning rate, description -------------------------------------------

  /** Idempotent: leaving twice is the same as leaving once. */
  leave(workerId: number): void {
    if (this.left.has(workerId)) return;
    this.checkWorker(workerId);
    this.left.add(workerId);
    for (const g of this.pending.get(workerId)?.values() ?? []) disposeGrad(g);
    this.pending.delete(workerId);
    this.log.info({ trainer: this.spec.name, worker: workerId }, 'worker left');
    // A step it already made stays part of the open step; one it did not make is no longer awaited.
    this.maybeApply();
  }

  setLearningRate(lr: number): void {
    if (this.spec.optimizer.scheduler) throw precondition(`${this.who}: it has an lr scheduler, which sets the learning rate; set_learning_rate is not allowed`);
    if (!Number.isFinite(lr) || lr < 0) throw invalid(`${this.who}: learning rate must be a finite number >= 0, got ${lr}`);
    this.learningRate = lr;
  }

  state(): TrainerState {
    const open = this.open;
    return {
      step: this.stepCount,
      learningRate: this.spec.optimizer.scheduler ? learningRateAt(this.spec.optimizer, this.stepCount + 1) : this.learningRate,
      baseLearningRate: this.learningRate,
      workersSeen: [...this.seen].sort((a, b) => a - b),
      workersLeft: [...this.left].sort((a, b) => a - b),
      waitingFor: open === null || open.applying ? [] : this.active().filter((w) => !open.stepped.has(w)),
    };
  }

  // --- Optimizer state snapshots -------------------------------------------------------------

  /** Every optimizer state tensor (per parameter and context), counts, step and learning rate. */
  saveStates(): Promise<Buffer> {
    return this.applyLock.run(async () => {
      const params: SavedParamStates[] = [];
      for (const [name, st] of this.states) {
        const entry = this.store.entry(name);
        const tensors = await entry.lock.run(() => Promise.all(st.tensors.map((list) => Promise.all(list.map((t) => nk.readBytes(t))))));
        params.push({ name, layout: st.layout, count: st.count, dtype: entry.spec.dtype, shape: entry.spec.shape as number[], tensors });
      }
      return writeStates({ trainer: this.spec.name, optimizer: this.spec.optimizer.name, step: this.stepCount, learningRate: this.learningRate, params });
    });
  }

  /** Restores a saveStates() snapshot: every state tensor, update counts, step and learning rate. */
  loadStates(bytes: Uint8Array): Promise<void> {
    return this.applyLock.run(async () => {
      const saved = readStates(this.who, bytes);
      if (saved.optimizer !== this.spec.optimizer.name) throw invalid(`${this.who}: states were saved for optimizer ${saved.optimizer}, this trainer uses ${this.spec.optimizer.name}`);
      // Validate everything before changing anything.
      for (const p of saved.params) {
        if (!this.spec.params.includes(p.name)) throw invalid(`${this.who}: states name parameter '${p.name}', which is not one of its parameters`);
        const entry = this.store.entry(p.name);
        if (entry.data === null) throw precondition(`${this.who}: parameter '${p.name}' must be initialized before loading its optimizer states`);
        const layout = `${entry.ctx!.map(deviceKey).join(',')}|${entry.spec.dtype}|${(entry.spec.shape as number[]).join(',')}`;
        if (layout !== p.layout) throw invalid(`${this.who}: states of '${p.name}' were saved for ${p.layout}, the parameter is now ${layout}`);
      }
      const targets: Array<{ st: ParamStates; saved: (typeof saved.params)[number] }> = [];
      for (const p of saved.params) {
        const entry = this.store.entry(p.name);
        const st = await entry.lock.run(() => this.statesFor(entry));
        const sizes = st.tensors.map((list) => list.map((t) => t.byteLength));
        const got = p.tensors.map((list) => list.map((t) => t.byteLength));
        if (JSON.stringify(sizes) !== JSON.stringify(got)) {
          throw invalid(`${this.who}: states of '${p.name}' hold tensors of ${JSON.stringify(got)} bytes, this optimizer keeps ${JSON.stringify(sizes)}`);
        }
        targets.push({ st, saved: p });
      }
      for (const { st, saved: p } of targets) {
        await this.store.entry(p.name).lock.run(async () => {
          for (let i = 0; i < st.tensors.length; i++) for (let k = 0; k < st.tensors[i]!.length; k++) await nk.write(st.tensors[i]![k]!, p.tensors[i]![k]!);
          st.count = p.count;
        });
      }
      this.stepCount = saved.step;
      if (!this.spec.optimizer.scheduler) this.learningRate = saved.learningRate;
    });
  }

  /** Fails every waiting step (server shutdown) and frees gradients and states. */
  close(): void {
    if (this.open) {
      if (this.open.timer) clearTimeout(this.open.timer);
      for (const w of this.open.waiters) w.reject(new ServerError(grpc.status.UNAVAILABLE, `${this.who}: the server is shutting down`));
      this.open = null;
    }
    this.discardPending();
    for (const st of this.states.values()) for (const list of st.tensors) for (const t of list) t.dispose();
    this.states.clear();
  }
}
