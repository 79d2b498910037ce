// trainer.ts: one named Trainer: a set of parameters, an optimizer, and the workers that push
// gradients to it. Sync mode applies step k once, when every active worker has stepped, with the
// sum of their gradients and rescale_grad / (sum of their batch sizes); async mode applies each
// worker's step at once. Every push and step is keyed (worker, incarnation, sequence), so a
// retried call returns the first call's result instead of being applied again.
//
// Durability (docs/durability.md): pushes are staged in memory, not logged; the step is the
// commit. Each applied step appends one 'trainer.commit' record (step-record.ts: the gradient the
// optimizer applies, lr, rescale, the keys it answers), written off the main thread while the
// update kernels run; the step is answered once both are done. After a restart the open step's
// staged pushes are gone, and each worker's next call for it is told `step k restarted: push
// again` (FAILED_PRECONDITION), which the client answers by pushing again.
//
// Nothing here is proportional to num_workers (which may be up to 2^32 - 1 in a trainer recovered
// from an older data dir): who is missing at the barrier is counted from the workers that
// stepped or left, and listed only up to MAX_LISTED_WORKERS.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { fmtList, invalid, precondition, ServerError, staleStep } from '../errors';
import type { Journal } from '../durability/journal';
import { NO_JOURNAL } from '../durability/journal';
import { failpoint } from '../durability/failpoints';
import { MAX_LISTED_WORKERS, MAX_TIMER_MS } from '../limits';
import { Mutex } from '../store/mutex';
import type { HostTensor, ParameterEntry, ParameterStore } from '../store/parameter-store';

import { lowest, missingCount, missingWorkers } from './barrier';
import { combine, disposeGrad, uploadGrad } from './gradients';
import { KeyedResults, slotOf } from './keyed-results';
import { recordStep, replayCommit } from './step-record';
import { updateAll, withLocks } from './update';
import { memoryError } from '../memory';
import type { CombinedGrad, PendingGrad } from './gradients';
import { learningRateAt } from '../../common/optimizer/optimizer-spec';

import { StepRate } from './step-rate';
import { closeTrainer, suspendTrainer } from './shutdown';
import * as follower from './follower';
import type { StepDecision } from './follower';
import { checkStatesSize, loadStates, saveStates, statesFor } from './trainer-states';
import { NO_TRAINER_EVENTS } from './types';
import type { CallKey, OpenStep, ParamStates, StepResult, TrainerEvents, TrainerSpec, TrainerState } from './types';

export type { CallKey, OpenStep, ParamStates, StepResult, TrainerSpec, TrainerState, Waiter } from './types';

export class Trainer {
  /** @internal Steps applied. Fields marked internal are read and restored by trainer-snapshot.ts. */
  stepCount = 0;
  /** @internal */
  learningRate: number;
  /** @internal */
  readonly seen = new Set<number>();
  /** @internal */
  readonly left = new Set<number>();
  /** @internal */
  readonly pending = new Map<number, Map<string, PendingGrad>>();
  /** @internal */
  readonly states = new Map<string, ParamStates>();
  /** @internal Results of keyed calls, for retries. */
  readonly keyed = new KeyedResults();
  /** @internal */
  open: OpenStep | null = null;
  /** When the last steps were applied (GetStatus). */
  readonly rate = new StepRate();
  /** @internal Called after each applied step (a follower's refusal waits on it: follower.ts). */
  readonly onApplied = new Set<() => void>();
  /** Serializes applies, async steps and state snapshots. */
  private readonly applyLock = new Mutex();
  /** Where acknowledged changes are recorded; muted while replaying. */
  journal: Journal = NO_JOURNAL;
  /** True while the journal is replayed: sync steps wait for explicit apply/abort records. */
  replaying = false;
  /** Where steps, deadlines and retried calls are reported (the metrics); set by the registry. */
  events: TrainerEvents = NO_TRAINER_EVENTS;
  /**
   * After a restart: the step whose staged pushes were lost (-1 in async mode: any) and the
   * workers already told to push again.
   */
  private restarted: { step: number; told: Set<number> } | null = null;

  constructor(
    readonly spec: TrainerSpec,
    /** @internal */
    readonly store: ParameterStore,
    private readonly log: Logger,
  ) {
    this.learningRate = spec.optimizer.params.learningRate;
    this.keyed.onHit = () => this.events.replayed(spec.name);
  }

  /** @internal `trainer 'name'`, the subject of every message. */
  get who(): string {
    return `trainer '${this.spec.name}'`;
  }

  // --- Keys and workers ----------------------------------------------------------------------

  /** Throws unless `workerId` may call now; changes nothing. */
  private validWorker(workerId: number): void {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId >= this.spec.numWorkers) {
      throw invalid(`${this.who}: worker id ${workerId} is out of range [0, ${this.spec.numWorkers})`);
    }
    if (this.left.has(workerId)) throw precondition(`${this.who}: worker ${workerId} has left the trainer`);
  }

  private checkWorker(workerId: number): void {
    this.validWorker(workerId);
    this.seen.add(workerId);
  }

  /** Runs fn once per key (keyed-results.ts); a call from a worker id that may not call leaves no slot. */
  private once<T>(key: CallKey, fn: () => Promise<T>): Promise<T> {
    return this.keyed.run(key, () => this.validWorker(key.workerId), fn);
  }

  register(workerId: number): void {
    this.checkWorker(workerId);
  }

  // --- Gradients -----------------------------------------------------------------------------

  /** Records a worker's gradient (dense, or rows `rowIds` of the parameter) for its step. */
  pushGrad(
    key: CallKey,
    step: number,
    param: string,
    value: HostTensor,
    rowIds: BigInt64Array | null,
    staged: DeviceTensor | null = null,
  ): Promise<{ step: number }> {
    let used = false;
    const result = this.once(key, async () => {
      await this.store.gate.shared(async () => {
        this.checkWorker(key.workerId);
        this.checkStepOpen(step);
        this.checkRestarted(key.workerId, step);
        if (!this.spec.params.includes(param))
          throw invalid(
            `${this.who}: parameter '${param}' is not one of its parameters [${fmtList(this.spec.params)}]`,
          );
        const entry = this.store.entry(param);
        const grad = await entry.lock
          .run(() => uploadGrad(this.who, entry, value, rowIds, staged))
          .catch((err: unknown) => Promise.reject(this.kernelError(err)));
        used = grad.values === staged;
        // The step may have closed while the bytes were uploading.
        try {
          this.checkStepOpen(step);
          const mine = this.pending.get(key.workerId) ?? new Map<string, PendingGrad>();
          if (mine.has(param))
            throw precondition(
              `${this.who}: worker ${key.workerId} already pushed a gradient for '${param}' in step ${step}`,
            );
          mine.set(param, grad);
          this.pending.set(key.workerId, mine);
        } catch (err) {
          disposeGrad(grad);
          throw err;
        }
        // Staged, not logged: the step's record carries the sum (the client keeps this gradient
        // until its step is answered, and pushes it again if a restart loses it).
      });
      failpoint('step.staged-before-step');
      return { step };
    });
    // A retried call answered from the cache, or a failed one, leaves the staged tensor unused.
    return result.finally(() => {
      if (!used) staged?.dispose();
    });
  }

  /**
   * A tensor for a pushed gradient to land in directly (host memory on the parameter's first
   * context, in its dtype), or null when the gradient must be converted after it arrives.
   */
  stageGrad(param: string, dtype: HostTensor['dtype'], shape: readonly number[]): DeviceTensor | null {
    if (!this.spec.params.includes(param) || !this.store.has(param)) return null;
    const entry = this.store.entry(param);
    if (entry.data === null || entry.spec.dtype !== dtype || entry.ctx![0]!.type !== 'cpu') return null;
    try {
      return nk.emptyUninitialized(entry.ctx![0]!, dtype, shape);
    } catch {
      return null;
    }
  }

  /**
   * After a restart, a worker's first push or step for the step whose staged pushes were lost is
   * refused once with `step k restarted: push again`; its retry (same or new keys) goes through.
   */
  private checkRestarted(workerId: number, step: number): void {
    const r = this.restarted;
    if (r === null || this.replaying || (r.step !== -1 && r.step !== step) || r.told.has(workerId)) return;
    r.told.add(workerId);
    this.discardPendingOf(workerId);
    throw precondition(
      `${this.who}: step ${step} restarted: push again (the server restarted and lost the gradients staged for it)`,
    );
  }

  /**
   * Called once after recovery: the open step's staged pushes and barrier are not durable, so
   * they are dropped (whatever a checkpoint held of them) and every worker is told to push again.
   */
  restartOpenStep(): void {
    const open = this.open;
    if (open !== null) {
      if (open.timer) clearTimeout(open.timer);
      // A retried step must not find the barrier's promise of the dropped step.
      for (const [, key] of open.keys) this.keyed.results.get(slotOf(key))?.delete(key.sequence);
      this.open = null;
    }
    this.discardPending();
    this.restarted = { step: this.spec.mode === 'async' ? -1 : this.stepCount, told: new Set() };
  }

  private checkStepOpen(step: number): void {
    if (this.spec.mode === 'async') return;
    const closed = this.open !== null && this.open.applying ? this.stepCount + 1 : this.stepCount;
    if (step < closed)
      throw staleStep(
        `${this.who}: step ${step} is closed (${this.stepCount} steps applied); push for step ${closed}`,
        step,
        this.stepCount,
      );
    if (step > this.stepCount)
      throw staleStep(
        `${this.who}: step ${step} is not open yet; the trainer is at step ${this.stepCount}`,
        step,
        this.stepCount,
      );
  }

  // --- Steps ---------------------------------------------------------------------------------

  /**
   * Completes the worker's step. Sync: resolves when the step is applied with every worker, or,
   * with a decider's `decision` (a trainer spanning shards), as follower.ts says.
   */
  step(key: CallKey, step: number, batchSize: number, decision: StepDecision | null = null): Promise<StepResult> {
    return this.once(key, async () => {
      this.checkWorker(key.workerId);
      if (!Number.isInteger(batchSize) || batchSize < 1)
        throw invalid(`${this.who}: batch_size must be an integer >= 1, got ${batchSize}`);
      if (this.spec.mode === 'async') {
        this.checkRestarted(key.workerId, step);
        return this.applyAsync(key, batchSize);
      }
      if (decision !== null) {
        follower.checkDecision(this.who, decision, key.workerId, this.spec.numWorkers);
        if (!decision.applied) return follower.followRefusal(this, key.workerId, step, decision.step);
        const before = follower.appliedBefore(this, step, decision);
        if (before !== null) return before;
      }
      let done!: Promise<StepResult>;
      await this.store.gate.shared(() => {
        this.checkStepOpen(step);
        this.checkRestarted(key.workerId, step);
        follower.checkJoin(this.who, this.open, decision);
        const open = this.openStep(follower.decidedOf(decision), decision?.batch ?? 0);
        if (open.stepped.has(key.workerId))
          throw precondition(`${this.who}: worker ${key.workerId} already stepped in step ${step}`);
        open.stepped.set(key.workerId, batchSize);
        open.keys.set(key.workerId, key);
        // Registering is not logged: the step's commit record is (after a restart the barrier is
        // rebuilt by the workers pushing again).
        done = new Promise<StepResult>((resolve, reject) => open.waiters.push({ resolve, reject }));
      });
      if (!this.replaying) this.maybeApply();
      return done;
    });
  }

  /** The open step, opened now if none is; `decided`: it follows a decider (no deadline here). */
  private openStep(decided: number[] | null, decidedBatch = 0): OpenStep {
    this.open ??= {
      index: this.stepCount,
      stepped: new Map(),
      keys: new Map(),
      waiters: [],
      timer: null,
      applying: false,
      openedAt: Date.now(),
      decided,
      decidedBatch,
    };
    const open = this.open;
    if (!this.replaying && (open.decided === null || open.decidedBatch > 0))
      open.timer ??= setTimeout(() => this.onTimeout(open), Math.min(this.spec.stepTimeoutMs, MAX_TIMER_MS));
    return open;
  }

  /** After a replay or a restore: start the deadline of a step left open. */
  resume(): void {
    this.replaying = false;
    if (this.open) {
      const open = this.open;
      if (open.decided === null || open.decidedBatch > 0)
        open.timer ??= setTimeout(() => this.onTimeout(open), Math.min(this.spec.stepTimeoutMs, MAX_TIMER_MS));
      this.maybeApply();
    }
  }

  private missingCount(open: OpenStep): number {
    return missingCount(open, this.spec.numWorkers, this.left);
  }

  private missingWorkers(open: OpenStep, limit = MAX_LISTED_WORKERS): number[] {
    return missingWorkers(open, this.spec.numWorkers, this.left, limit);
  }

  private maybeApply(): void {
    const open = this.open;
    if (open === null || open.applying) return;
    if (open.decided !== null) {
      const workers = follower.decidedReady(open, this.left);
      if (workers !== null) void this.applyOpen(open, workers);
      return;
    }
    if (this.missingCount(open) === 0 && open.stepped.size > 0) void this.applyOpen(open);
  }

  private onTimeout(open: OpenStep): void {
    if (this.open !== open || open.applying) return;
    if (open.decided !== null) return follower.followerTimeout(this, open, this.restarted?.step === open.index);
    const missingCount = this.missingCount(open);
    const missing = this.missingWorkers(open, 16);
    const quorum = this.spec.timeoutPolicy === 'quorum' && open.stepped.size >= this.spec.quorum;
    this.events.deadline(this.spec.name, quorum ? 'quorum' : 'timeout');
    if (quorum) {
      this.log.warn(
        { trainer: this.spec.name, step: open.index, missing, missingCount },
        'step deadline passed; applying with the quorum',
      );
      void this.applyOpen(open);
      return;
    }
    const more = missingCount > missing.length ? ` and ${missingCount - missing.length} more` : '';
    const msg = `${this.who}: step ${open.index} timed out after ${this.spec.stepTimeoutMs} ms waiting for worker${missingCount > 1 ? 's' : ''} ${missing.join(', ')}${more}; the step was not applied`;
    this.log.warn({ trainer: this.spec.name, step: open.index, missing, missingCount }, 'step timed out');
    void this.abortOpen(open, msg);
  }

  /** Drops the open step (its gradients too) and fails its waiters; recorded so replay does too. */
  async abortOpen(open: OpenStep | null, msg: string): Promise<void> {
    if (open === null) return;
    let durable: Promise<void> = Promise.resolve();
    await this.store.gate.shared(() => {
      if (this.open !== open) return;
      this.open = null;
      // Only the workers that stepped are told the step failed (and will push again); a worker
      // that pushed but had not stepped yet keeps its gradients for when it does.
      for (const w of open.stepped.keys()) this.discardPendingOf(w);
      durable = this.journal.append({ op: 'trainer.abort', trainer: this.spec.name, step: open.index });
    });
    // The workers learn the step failed only once that is recorded.
    await durable.catch((err: unknown) => this.log.error({ err }, 'could not record an aborted step'));
    if (open.timer) clearTimeout(open.timer);
    for (const w of open.waiters) w.reject(new ServerError(grpc.status.DEADLINE_EXCEEDED, msg));
  }

  /** Applies the open step with the workers that stepped (all of them, or a quorum). */
  async applyOpen(open: OpenStep, only?: number[]): Promise<void> {
    open.applying = true;
    const closedAt = performance.now();
    const barrier = Math.max(0, Date.now() - open.openedAt) / 1000;
    if (open.timer) clearTimeout(open.timer);
    const workers = only ?? [...open.stepped.keys()].sort((a, b) => a - b);
    const batch = open.decidedBatch || workers.reduce((a, w) => a + (open.stepped.get(w) ?? 0), 0);
    let durable: Promise<void> = Promise.resolve();
    try {
      const result = await this.store.gate.shared(() =>
        this.applyLock.run(async () => {
          const pending = new Map(this.pending);
          this.pending.clear();
          const taken = [...pending.values()].flatMap((m) => [...m.values()]);
          try {
            const keys = workers.map((w) => open.keys.get(w)).filter((k): k is CallKey => k !== undefined);
            const r = await this.apply(workers, batch, keys, pending);
            durable = r.durable;
            return r.result;
          } finally {
            this.open = null;
            // The step's record reads the gradients (a lone dense one in place) until written.
            void durable.catch(() => undefined).finally(() => taken.forEach(disposeGrad));
          }
        }),
      );
      await durable;
      failpoint('step.after-log-before-ack');
      if (!this.replaying) this.events.stepApplied(this.spec.name, barrier, (performance.now() - closedAt) / 1000);
      for (const w of open.waiters) w.resolve(result);
    } catch (err) {
      this.log.error({ trainer: this.spec.name, step: open.index, err }, 'applying a step failed');
      for (const w of open.waiters) w.reject(err as Error);
    }
  }

  /** Replay of an 'apply' record: the open step, applied with the recorded workers. */
  replayApply(step: number, workers: number[]): Promise<void> {
    if (this.open === null || this.open.index !== step)
      throw new Error(`${this.who}: journal applies step ${step}, but the open step is ${this.open?.index ?? 'none'}`);
    return this.applyOpen(this.open, workers);
  }

  /** Replay of an 'abort' record. */
  replayAbort(step: number): Promise<void> {
    return this.abortOpen(
      this.open !== null && this.open.index === step ? this.open : null,
      `${this.who}: step ${step} timed out before the restart`,
    );
  }

  private async applyAsync(key: CallKey, batchSize: number): Promise<StepResult> {
    const started = performance.now();
    let durable: Promise<void> = Promise.resolve();
    const result = await this.store.gate.shared(() =>
      this.applyLock.run(async () => {
        const mine = this.pending.get(key.workerId);
        this.pending.delete(key.workerId);
        const taken = [...(mine?.values() ?? [])];
        try {
          const pending = new Map<number, Map<string, PendingGrad>>(mine ? [[key.workerId, mine]] : []);
          const r = await this.apply([key.workerId], batchSize, [key], pending);
          durable = r.durable;
          return r.result;
        } finally {
          void durable.catch(() => undefined).finally(() => taken.forEach(disposeGrad));
        }
      }),
    );
    await durable;
    if (!this.replaying) this.events.stepApplied(this.spec.name, null, (performance.now() - started) / 1000);
    return result;
  }

  /**
   * Applies the sum of `workers`' gradients (from `pending`) to every parameter they pushed for,
   * and appends the step's record (the sums, lr, rescale, `keys`) before the update kernels run:
   * the write goes on beside them. `durable` settles when the record is as durable as the mode
   * promises; until then the sums stay alive (the caller keeps `pending`'s gradients alive too).
   */
  private async apply(
    workers: number[],
    batchSize: number,
    keys: CallKey[],
    pending: Map<number, Map<string, PendingGrad>>,
  ): Promise<{ result: StepResult; durable: Promise<void> }> {
    const rescale = this.spec.optimizer.params.rescaleGrad / batchSize;
    const numUpdate = this.stepCount + 1;
    const lr = this.spec.optimizer.scheduler ? learningRateAt(this.spec.optimizer, numUpdate) : this.learningRate;
    let durable: Promise<void> = Promise.resolve();
    const sums: CombinedGrad[] = [];
    const dispose = (): void => {
      for (const c of sums) if (!(c.kind === 'dense' && c.borrowed)) c.values.dispose();
    };
    // Every parameter's lock is held for the whole step (taken in name order, so two trainers
    // never deadlock): readers see the step entirely or not at all, and no other write can land
    // between two of its updates, so the journal's order is the order things happened.
    try {
      await withLocks(
        [...this.spec.params].sort().map((p) => this.store.entry(p)),
        async () => {
          // Every parameter is checked before any changes; then the sums are made concurrently.
          const work: Array<{ entry: ParameterEntry; grads: PendingGrad[] }> = [];
          for (const param of this.spec.params) {
            const grads = workers
              .map((w) => pending.get(w)?.get(param))
              .filter((g): g is PendingGrad => g !== undefined);
            if (grads.length === 0) continue;
            const entry = this.store.entry(param);
            if (entry.data === null) throw precondition(`${this.who}: parameter '${param}' is no longer initialized`);
            work.push({ entry, grads });
          }
          const combined = await Promise.allSettled(
            work.map(({ entry, grads }) => combine(grads, entry.spec.shape as number[], grads[0]!.values.device)),
          );
          for (const c of combined) if (c.status === 'fulfilled') sums.push(c.value);
          const failedSum = combined.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failedSum) throw this.kernelError(failedSum.reason);
          // Allocated first (a budget that runs out fails here), then the record (refused over
          // what one log record holds), then the kernels, beside the record's write.
          await updateAll(
            this.spec.optimizer,
            work.map(({ entry }, i) => ({ entry, states: () => this.statesFor(entry), grad: sums[i]! })),
            () => {
              durable = recordStep(this, work, sums, keys, workers, lr, rescale, batchSize);
              failpoint('step.after-apply-before-log');
            },
            { lr, rescale, mapError: (err) => this.kernelError(err) },
          );
        },
      );
    } finally {
      void durable.catch(() => undefined).finally(dispose);
    }
    this.stepCount++;
    this.rate.record();
    for (const f of this.onApplied) f();
    if (this.restarted !== null && this.restarted.step !== -1 && this.stepCount > this.restarted.step)
      this.restarted = null;
    const result = {
      step: this.stepCount,
      versions: this.spec.params.map((p) => this.store.entry(p).version),
      workers,
      batch: batchSize,
    };
    return { result, durable };
  }

  /** Replay of a 'trainer.commit' record (step-record.ts): the same update, bit-identical. */
  replayCommit(m: Record<string, unknown>, payload: Uint8Array): Promise<void> {
    return replayCommit(this, m, payload);
  }

  /** @internal Optimizer states for entry's current contexts, dtype and shape (fresh zeros if they changed). */
  statesFor(entry: ParameterEntry): ParamStates {
    return statesFor(this, entry);
  }

  /** @internal A kernel's memory failure as RESOURCE_EXHAUSTED naming this trainer; anything else as it is. */
  kernelError(err: unknown): unknown {
    return memoryError(this.who, err) ?? err;
  }

  /** @internal Drops one worker's staged gradients. */
  discardPendingOf(workerId: number): void {
    for (const g of this.pending.get(workerId)?.values() ?? []) disposeGrad(g);
    this.pending.delete(workerId);
  }

  /** @internal Drops every staged gradient (a restart, a replayed commit, shutdown). */
  discardPending(): void {
    for (const mine of this.pending.values()) for (const g of mine.values()) disposeGrad(g);
    this.pending.clear();
  }

  // --- Workers leaving, learning rate, description -------------------------------------------

  /** Idempotent: leaving twice is the same as leaving once. Resolves once recorded durably. */
  async leave(workerId: number): Promise<void> {
    if (this.left.has(workerId)) return;
    this.checkWorker(workerId);
    this.left.add(workerId);
    const durable = this.journal.append({ op: 'trainer.leave', trainer: this.spec.name, worker: workerId });
    // A step it already made (or one its decider counted it in) keeps its gradients; otherwise they go.
    if (!(this.open?.stepped.has(workerId) || this.open?.decided?.includes(workerId))) this.discardPendingOf(workerId);
    this.log.info({ trainer: this.spec.name, worker: workerId }, 'worker left');
    // During replay the log itself says whether (and with whom) the open step was applied.
    if (!this.replaying) this.maybeApply();
    await durable;
  }

  async setLearningRate(lr: number): Promise<void> {
    if (this.spec.optimizer.scheduler)
      throw precondition(
        `${this.who}: it has an lr scheduler, which sets the learning rate; set_learning_rate is not allowed`,
      );
    if (!Number.isFinite(lr) || lr < 0)
      throw invalid(`${this.who}: learning rate must be a finite number >= 0, got ${lr}`);
    this.learningRate = lr;
    await this.journal.append({ op: 'trainer.lr', trainer: this.spec.name, lr });
  }

  state(): TrainerState {
    const open = this.open;
    const waiting = open === null || open.applying;
    return {
      step: this.stepCount,
      learningRate: this.spec.optimizer.scheduler
        ? learningRateAt(this.spec.optimizer, this.stepCount + 1)
        : this.learningRate,
      baseLearningRate: this.learningRate,
      workersSeen: lowest(this.seen),
      workersLeft: lowest(this.left),
      waitingFor: waiting ? [] : this.missingWorkers(open),
      waitingCount: waiting ? 0 : this.missingCount(open),
    };
  }

  // --- Optimizer state snapshots (trainer-states.ts) ---------------------------------------------

  /** Every optimizer state tensor (per parameter and context), counts, step and learning rate. */
  saveStates(): Promise<{ bytes: Buffer; release: () => void }> {
    return this.applyLock.run(() => saveStates(this));
  }

  /** Refuses a LoadStates body this trainer's states could never fill or the log cannot record. */
  checkStatesSize(byteLength: number): void {
    checkStatesSize(this, byteLength);
  }

  /** Restores a saveStates() snapshot: every state tensor, update counts, step and learning rate. */
  loadStates(bytes: Uint8Array): Promise<void> {
    return this.store.gate.shared(() => this.applyLock.run(() => loadStates(this, bytes)));
  }

  /** Shutdown with a data dir: the waiting steps are answered UNAVAILABLE, the open step kept (shutdown.ts). */
  suspend(): void {
    suspendTrainer(this);
  }

  /** Fails every waiting step (server shutdown) and frees gradients and states. */
  close(): void {
    closeTrainer(this);
  }
}
