// The Trainer handle: a worker's view of a named server-side trainer (client-api.md "Trainer";
// wire contract gluonps.v1.TrainerService). ps.trainer(...) creates the trainer, or attaches to
// the one of that name when the spec is identical; the worker then pushes gradients (dense, or
// row_sparse rows) for its current step and calls step(batchSize).
//
// The handle keeps what the server needs to tell this worker's calls apart:
// - the worker's step counter: the step its pushes and its next step() belong to. It starts at
//   the trainer's step count from CreateTrainer, advances to the count step() returns, and is
//   refreshed from DescribeTrainer when a sync step fails (barrier timeout, ...) or a push is
//   refused because its step closed (e.g. the others went on with a quorum), so the worker can
//   push again and step for the step the trainer is at;
// - an idempotency key per push and step: (workerId, incarnation, sequence), where incarnation
//   is a random 53-bit integer per handle (or TrainerOptions.incarnation) and the sequence
//   grows by one with every push and step. A call that fails in transport is sent again with
//   the SAME key (client/retry.ts states the rule), and the server answers it with the first
//   call's cached result, so a retried push or step is applied exactly once.
//
// Every gradient pushed for the open step is kept (a reference to the caller's buffer, no copy)
// until that step's step() settles: the server stages pushes in memory and logs only the applied
// step, so after a restart it answers the worker's next push or step for that step with
// FAILED_PRECONDITION `step k restarted: push again`. The handle then pushes every kept gradient
// again (fresh keys; one the server already holds again is answered "already pushed", which is
// fine) and retries the call, the step with its same key: invisible to the caller.
//
// step() is sent with a gRPC deadline of the trainer's step timeout plus a margin (at least
// 10 s, or the connection's deadlineMs when that is longer), so a sync step that waits at the
// barrier gets the server's own answer (applied, or "timed out ... waiting for worker N") and
// not a client deadline; if the margin still passes (a lost reply, a very slow apply) the step
// is re-sent with its key, which the server answers from the same pending or cached result.
import type { CreateTrainerRequest } from '../protos/generated/gluonps/v1/CreateTrainerRequest';
import type { GradUpload } from '../protos/generated/gluonps/v1/GradUpload';
import type { IdempotencyKey } from '../protos/generated/gluonps/v1/IdempotencyKey';
import type { PushGradResponse__Output } from '../protos/generated/gluonps/v1/PushGradResponse';
import type { StatesChunk, StatesChunk__Output } from '../protos/generated/gluonps/v1/StatesChunk';
import type { StepDecision } from '../protos/generated/gluonps/v1/StepDecision';
import type { StepResponse__Output } from '../protos/generated/gluonps/v1/StepResponse';
import type { TrainerInfo__Output } from '../protos/generated/gluonps/v1/TrainerInfo';
import {
  buildOptimizer,
  learningRateAt,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerParams,
} from '../common/optimizer/optimizer-spec';
import { TIMEOUT_POLICY_CODEC, TRAINER_MODE_CODEC } from '../common/proto-enums';
import { GluonPsError, invalidArgument, show } from './errors';
import type { Parameter } from './parameter';
import { withRetry, type RetryOptions } from './retry';
import {
  ALREADY_PUSHED,
  fingerprintOf,
  isRestarted,
  MAX_RESTART_ROUNDS,
  outcomeUnknown,
  type Kept,
  type StepCall,
} from './trainer-calls';
import type { GradInput, StepResult, TrainerDescriptor, TrainerMode, TrainerOptions } from './trainer-types';
import type { Attempt, Channel, UnaryInvoke } from './channel';

import {
  checkTrainerArgs,
  checkTrainerOptions,
  describeTrainerInfo,
  gradToUpload,
  integerIn,
  optimizerToProto,
  UINT32_MAX,
  type CheckedTrainerOptions,
} from './trainer-wire';

// --- The trainer service on the client's channel -------------------------------------------------

/** Margin of a step's gRPC deadline over the trainer's step timeout (or the connection deadline if longer). */
export const STEP_DEADLINE_MARGIN_MS = 10_000;

// --- The handle ----------------------------------------------------------------------------------

export type { Kept } from './trainer-calls';

/**
 * Creates the trainer `name` on the server (or attaches to the identical one) and returns this
 * worker's handle. Called by ParameterServerClient.trainer().
 */
export async function createTrainer(
  channel: Channel,
  name: string,
  params: ReadonlyArray<Parameter | string>,
  optimizer: OptimizerName,
  optimizerParams: OptimizerParams = {},
  options: TrainerOptions = {},
  /** A cluster shard's: every parameter of the trainer, in its order (`params` are the shard's). */
  allParams?: readonly string[],
): Promise<Trainer> {
  const { who, names } = checkTrainerArgs(name, params);
  const spec = optimizerToProto(who, optimizer, optimizerParams);
  const opts = checkTrainerOptions(who, options);
  const request: CreateTrainerRequest = {
    name,
    params: names,
    optimizer: spec,
    mode: TRAINER_MODE_CODEC.toProto(opts.mode === 'async' ? 'async' : 'sync'),
    numWorkers: opts.numWorkers,
    ...(opts.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: opts.stepTimeoutMs }),
    timeoutPolicy: TIMEOUT_POLICY_CODEC.toProto(opts.timeoutPolicy === 'quorum' ? 'quorum' : 'fail'),
    quorum: opts.quorum,
    workerId: opts.workerId,
    ...(allParams === undefined ? {} : { allParams: [...allParams] }),
  };
  // Attaching is idempotent, so a transport failure is retried like a keyed call.
  const info = await withRetry(opts.retry, () =>
    channel.attempt(channel.deadlineMs, (d) =>
      channel.unary<TrainerInfo__Output>((md, o, cb) => channel.trainers.createTrainer(request, md, o, cb), d),
    ),
  );
  // The server accepted this very spec, so its own function gives the schedule's learning rate
  // for any step count; learningRate then needs no round trip after each step.
  let config: OptimizerConfig | null = null;
  try {
    config = buildOptimizer(who, optimizer, optimizerParams as Record<string, unknown>);
  } catch {
    config = null;
  }
  return new Trainer(channel, info, opts, config);
}

/**
 * One worker's handle on a server-side trainer. Not meant for concurrent step() calls; pushes
 * for different parameters may run concurrently (await them all before step()).
 */
export class Trainer {
  /** Trainer name. */
  readonly name: string;
  /** Parameter names, in the trainer's order (the order of StepResult.versions). */
  readonly params: readonly string[];
  readonly mode: TrainerMode;
  readonly numWorkers: number;
  /** This worker's id. */
  readonly workerId: number;
  /** The incarnation of this handle's idempotency keys. */
  readonly incarnation: number;

  readonly #channel: Channel;
  readonly #retry: Required<RetryOptions>;
  readonly #config: OptimizerConfig | null;
  #sequence = 0;
  #step: number;
  #learningRate: number;
  #stepTimeoutMs: number;
  /** Gradients pushed for the open step, by parameter: what a restart makes us push again. */
  #kept = new Map<string, Kept>();
  /** Pushing the kept gradients again, shared by the calls that learned of the restart together. */
  #repushing: Promise<void> | null = null;
  /** The step for which gradients were pushed again (an "already pushed" answer is then fine). */
  #repushedStep = -1;
  /** The key of each push kept in #kept, and whether the server accepted it. */
  #sent = new Map<string, { step: number; key: IdempotencyKey; accepted: boolean; fingerprint?: string }>();
  /** A step that failed with an unknown outcome, kept for resumeStep() (a cluster's follower shard). */
  #unfinished: { request: StepCall; kept: Map<string, Kept>; resumable: (err: unknown) => boolean } | null = null;

  /** @internal Handles come from ParameterServerClient.trainer(). */
  constructor(
    channel: Channel,
    info: TrainerInfo__Output,
    options: CheckedTrainerOptions,
    config: OptimizerConfig | null,
  ) {
    this.#channel = channel;
    this.#retry = options.retry;
    this.#config = config;
    this.name = info.name;
    this.params = Object.freeze([...info.params]);
    this.mode = TRAINER_MODE_CODEC.fromProto(info.mode) ?? 'sync';
    this.numWorkers = info.numWorkers;
    this.workerId = options.workerId;
    this.incarnation = options.incarnation;
    this.#step = info.step;
    this.#learningRate = info.learningRate;
    this.#stepTimeoutMs = info.stepTimeoutMs;
  }

  private get who(): string {
    return `trainer '${this.name}'`;
  }

  /** The step this worker's pushes and next step() belong to (the trainer's step count when it last heard). */
  get currentStep(): number {
    return this.#step;
  }

  /**
   * The learning rate the next step uses, synchronously. With a scheduler it is the schedule's
   * value for this worker's current step (computed with the server's own schedule function);
   * without one it is the base rate from the server's last answer (creation, setLearningRate,
   * describe, loadStates), so a change made by another worker shows after describe().
   */
  get learningRate(): number {
    return this.#learningRate;
  }

  /**
   * Pushes this worker's gradient of `param` for its current step: dense (a Tensor, typed array
   * or nested numbers, the parameter's shape) or row_sparse ({ indices, values } with one row of
   * values per index). Resolves with the step it was recorded for. Retried with the same key on
   * transport failures; the gradient's buffer is sent in place, so do not change it until the
   * promise settles. A push for a step that closed refreshes currentStep before rejecting.
   */
  async pushGrad(param: Parameter | string, grad: GradInput): Promise<{ step: number }> {
    const paramName = typeof param === 'string' ? param : (param as { name?: unknown } | null)?.name;
    if (typeof paramName !== 'string' || paramName === '')
      throw invalidArgument(`${this.who}: pushGrad needs a Parameter or a parameter name, got ${show(param)}`);
    return this.pushUpload(paramName, gradToUpload(`${this.who}: gradient for '${paramName}'`, grad));
  }

  /**
   * @internal pushGrad with the gradient already as an upload. `rowSparse` marks a row_sparse
   * gradient of no rows (a cluster shard's part of one whose rows all lie elsewhere).
   * `skipAccepted`: a cluster trainer retrying a push some of its shards accepted resolves at
   * once where this handle's push of these same bytes was accepted in this step.
   */
  async pushUpload(paramName: string, upload: Kept, skipAccepted = false): Promise<{ step: number }> {
    const { header, bytes, rowSparse } = upload;
    const step = this.#step;
    const previous = this.#kept.get(paramName);
    const sent = this.#sent.get(paramName);
    // The same gradient again after a push whose outcome is unknown, or after a cluster push some
    // shards accepted (their fingerprints were taken when it failed: pinPush).
    const repeated =
      sent !== undefined &&
      sent.step === step &&
      sent.fingerprint !== undefined &&
      sent.fingerprint === fingerprintOf(upload);
    if (repeated && sent.accepted && skipAccepted) return { step };
    const first: Omit<GradUpload, 'chunk'> = {
      trainer: this.name,
      param: paramName,
      // The same gradient again after a push whose outcome is unknown: its key, so it counts once.
      key: repeated && !sent.accepted ? sent.key : this.#nextKey(),
      step,
      header,
      ...(rowSparse === true ? { rowSparse } : {}),
    };
    this.#kept.set(paramName, upload);
    const mine: { step: number; key: IdempotencyKey; accepted: boolean; fingerprint?: string } = {
      step,
      key: first.key!,
      accepted: false,
    };
    this.#sent.set(paramName, mine);
    try {
      try {
        const reply = await withRetry(this.#retry, () => this.#sendPush(first, bytes));
        mine.accepted = true;
        return { step: reply.step };
      } catch (err) {
        if (isRestarted(err)) {
          await this.#pushAgain(step);
          mine.accepted = true;
          return { step };
        }
        if (this.#repushedStep === step && err instanceof GluonPsError && ALREADY_PUSHED.test(err.message)) {
          mine.accepted = true;
          return { step };
        }
        // Refused for certain: the server holds what it held before (a restart pushes that again).
        if (outcomeUnknown(err)) mine.fingerprint = fingerprintOf(upload);
        else if (this.#sent.get(paramName) === mine) {
          if (previous === undefined || sent === undefined) {
            this.#kept.delete(paramName);
            this.#sent.delete(paramName);
          } else {
            this.#kept.set(paramName, previous);
            this.#sent.set(paramName, sent);
          }
        }
        throw err;
      }
    } catch (err) {
      if (this.mode === 'sync' && err instanceof GluonPsError && err.reason === 'stale-step') {
        await this.#refreshStep();
      }
      throw err;
    }
  }

  /**
   * Completes this worker's step: sync resolves once every (active) worker stepped and the
   * summed update was applied; async applies this worker's gradients at once. `batchSize` is the
   * number of samples behind this worker's gradients. Advances currentStep to the returned step.
   * Retried with the same key on transport failures (never on the trainer's own barrier
   * timeout). When a sync step fails, currentStep is refreshed from the server, so the worker can
   * push again and step again.
   */
  async step(batchSize: number): Promise<StepResult> {
    const { batchSize: _total, ...result } = await this.stepWith(batchSize, null);
    return result;
  }

  /**
   * @internal step() carrying the decider's decision to a cluster trainer's other shards
   * (client/cluster/decided-step.ts; StepRequest.decision), answering the step's total batch size too.
   */
  async stepWith(
    batchSize: number,
    decision: StepDecision | null,
    resumable?: (err: unknown) => boolean,
  ): Promise<StepResult & { batchSize: number }> {
    integerIn(`${this.who}: step()`, 'batchSize', batchSize, 1, UINT32_MAX);
    this.#unfinished = null;
    const request: StepCall = {
      trainer: this.name,
      key: this.#nextKey(),
      step: this.#step,
      batchSize,
      ...(decision === null ? {} : { decision }),
    };
    return this.#runStep(request, resumable);
  }

  /**
   * @internal Sends the step that failed with an unknown outcome again, with its key (the server
   * answers a step it applied from its kept result; after a restart the kept gradients are pushed
   * again first), so a cluster trainer finishes a step on a shard that was down past the retries
   * (client/cluster/trainer.ts). Resolves null when no step of this handle is unfinished.
   */
  async resumeStep(): Promise<(StepResult & { batchSize: number }) | null> {
    const unfinished = this.#unfinished;
    if (unfinished === null) return null;
    this.#unfinished = null;
    this.#kept = new Map(unfinished.kept);
    this.#sent.clear();
    this.#step = unfinished.request.step;
    return this.#runStep(unfinished.request, unfinished.resumable);
  }

  /** @internal Whether a step of this handle failed with an unknown outcome and resumeStep() can finish it. */
  get hasUnfinishedStep(): boolean {
    return this.#unfinished !== null;
  }

  /**
   * @internal A cluster push of `param` failed on another shard after this one accepted it: its
   * fingerprint is taken now (the caller has not had the buffer back), so pushing the same
   * gradient again is known as such (pushUpload's skipAccepted).
   */
  pinPush(param: string): void {
    const sent = this.#sent.get(param);
    const kept = this.#kept.get(param);
    if (sent !== undefined && kept !== undefined && sent.accepted && sent.fingerprint === undefined)
      sent.fingerprint = fingerprintOf(kept);
  }

  /** @internal Lets go of an unfinished step (and the gradients kept for it). */
  forgetUnfinishedStep(): void {
    this.#unfinished = null;
  }

  /**
   * Sends `request` (retried with its key; after `restarted: push again`, the kept gradients are
   * pushed again and it is sent once more). A failure `resumable` accepts keeps the request and
   * its gradients for resumeStep().
   */
  async #runStep(
    request: StepCall,
    resumable?: (err: unknown) => boolean,
  ): Promise<StepResult & { batchSize: number }> {
    let reply: StepResponse__Output;
    try {
      for (let round = 0; ; round++) {
        try {
          reply = await withRetry(this.#retry, () => this.#sendStep(request));
          break;
        } catch (err) {
          if (!isRestarted(err) || round >= MAX_RESTART_ROUNDS) throw err;
          // The same key again: the step was never applied, so it is applied once.
          await this.#pushAgain(request.step);
        }
      }
    } catch (err) {
      if (resumable?.(err) === true) this.#unfinished = { request, kept: new Map(this.#kept), resumable };
      this.#forgetPushes();
      if (this.mode === 'sync') await this.#refreshStep();
      throw err;
    } finally {
      this.#forgetPushes();
    }
    this.#step = reply.step;
    if (this.#config?.scheduler) this.#learningRate = learningRateAt(this.#config, this.#step + 1);
    const versions = [...reply.versions];
    return {
      step: reply.step,
      version: versions[0] ?? 0,
      versions,
      workers: [...reply.workers],
      batchSize: reply.batchSize,
    };
  }

  /** Leaves the trainer (end of this worker's data): sync steps stop waiting for it. Not retried. */
  async leave(): Promise<TrainerDescriptor> {
    const request = { trainer: this.name, workerId: this.workerId };
    const info = await this.#channel.unary<TrainerInfo__Output>((md, o, cb) =>
      this.#channel.trainers.leave(request, md, o, cb),
    );
    return this.#learn(info);
  }

  /** The trainer's state: step, mode, workers seen and left, whom an open step waits for, optimizer. */
  async describe(): Promise<TrainerDescriptor> {
    return this.#learn(await this.#describeInfo());
  }

  /** Sets the base learning rate of the next steps (FAILED_PRECONDITION with a scheduler). */
  async setLearningRate(lr: number): Promise<void> {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)
      throw invalidArgument(`${this.who}: learning rate must be a finite number >= 0, got ${show(lr)}`);
    const request = { trainer: this.name, learningRate: lr };
    // Setting the same value twice is harmless, so transport failures are retried.
    const info = await withRetry(this.#retry, () =>
      this.#unary<TrainerInfo__Output>((md, o, cb) => this.#channel.trainers.setLearningRate(request, md, o, cb)),
    );
    this.#learn(info);
  }

  /** An opaque snapshot of every optimizer state, update count, step and learning rate. */
  async saveStates(): Promise<Buffer> {
    const request = { name: this.name };
    return withRetry(this.#retry, () =>
      this.#channel.attempt(
        this.#channel.deadlineMs,
        async (d) =>
          (
            await this.#channel.pull<{ byteLength: number }>(
              (md, o) => this.#channel.trainers.saveStates(request, md, o),
              // The first message's own byte_length plays the tensor header's part.
              {
                headerOf: (m, i) => (i === 0 ? { byteLength: (m as unknown as StatesChunk__Output).byteLength } : null),
              },
              d,
            )
          ).data,
      ),
    );
  }

  /** Restores a saveStates() snapshot (every state, update counts, the step count). Not retried. */
  async loadStates(states: Uint8Array): Promise<void> {
    if (!(states instanceof Uint8Array))
      throw invalidArgument(`${this.who}: loadStates needs the Buffer saveStates() returned, got ${show(states)}`);
    const first: Omit<StatesChunk, 'chunk'> = { trainer: this.name, byteLength: states.byteLength };
    const info = await this.#channel.push<StatesChunk, TrainerInfo__Output>(
      (md, o, cb) => this.#channel.trainers.loadStates(md, o, cb),
      first,
      states,
    );
    this.#learn(info);
    // The loaded step replaces whatever this handle kept for its old one.
    this.#forgetPushes();
    this.#unfinished = null;
    this.#step = info.step;
  }

  toString(): string {
    return `Trainer(${this.name}, worker ${this.workerId})`;
  }

  /**
   * @internal The trainer's step count on the server becomes this worker's step, and is
   * returned (a cluster trainer compares its shards' counts: client/cluster/step-guard.ts).
   * Failures are thrown.
   */
  async resyncStep(): Promise<number> {
    const info = await this.#describeInfo();
    this.#learn(info);
    this.#moveTo(info.step);
    return info.step;
  }

  // --- internals ---

  /** After `step k restarted: push again`: every kept gradient of step k, pushed again (each further restart, once more). */
  #pushAgain(step: number): Promise<void> {
    this.#repushing ??= (async () => {
      this.#repushedStep = step;
      // A restart during this round loses what it pushed again too: every kept gradient is then
      // pushed once more, after the round's calls have all settled (none still in flight).
      for (let round = 0; ; round++) {
        const settled = await Promise.allSettled(
          [...this.#kept].map(async ([param, { header, bytes, rowSparse }]) => {
            const first = {
              trainer: this.name,
              param,
              key: this.#nextKey(),
              step,
              header,
              ...(rowSparse === true ? { rowSparse } : {}),
            };
            try {
              await withRetry(this.#retry, () => this.#sendPush(first, bytes));
            } catch (err) {
              if (!(err instanceof GluonPsError && ALREADY_PUSHED.test(err.message))) throw err;
            }
          }),
        );
        const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
        if (errors.length === 0) return;
        const other = errors.find((err) => !isRestarted(err));
        if (other !== undefined || round >= MAX_RESTART_ROUNDS) throw other ?? errors[0];
      }
    })().finally(() => {
      this.#repushing = null;
    });
    return this.#repushing;
  }

  #nextKey(): IdempotencyKey {
    return { workerId: this.workerId, incarnation: this.incarnation, sequence: ++this.#sequence };
  }

  /** @internal One attempt of a push with a given key (retries send the same `first`). */
  /** A unary trainer call as one retry attempt with the connection's deadline. */
  #unary<Res>(invoke: UnaryInvoke<Res>): Attempt<Res> {
    return this.#channel.attempt(this.#channel.deadlineMs, (d) => this.#channel.unary<Res>(invoke, d));
  }

  #sendPush(first: Omit<GradUpload, 'chunk'>, bytes: Uint8Array): Attempt<PushGradResponse__Output> {
    return this.#channel.attempt(this.#channel.deadlineMs, (d) =>
      this.#channel.push<GradUpload, PushGradResponse__Output>(
        (md, o, cb) => this.#channel.trainers.pushGrad(md, o, cb),
        first,
        bytes,
        d,
      ),
    );
  }

  /** One attempt of a step with a given key; its deadline outlasts the trainer's step timeout. */
  #sendStep(request: StepCall): Attempt<StepResponse__Output> {
    const deadlineMs = this.#stepTimeoutMs + Math.max(STEP_DEADLINE_MARGIN_MS, this.#channel.deadlineMs ?? 0);
    return this.#channel.attempt(deadlineMs, (d) =>
      this.#channel.unary<StepResponse__Output>((md, o, cb) => this.#channel.trainers.step(request, md, o, cb), d),
    );
  }

  #describeInfo(): Promise<TrainerInfo__Output> {
    const request = { name: this.name };
    return withRetry(this.#retry, () =>
      this.#unary<TrainerInfo__Output>((md, o, cb) => this.#channel.trainers.describeTrainer(request, md, o, cb)),
    );
  }

  /** Takes the learning rate and step timeout from a TrainerInfo. */
  #learn(info: TrainerInfo__Output): TrainerDescriptor {
    this.#learningRate = info.learningRate;
    this.#stepTimeoutMs = info.stepTimeoutMs;
    return describeTrainerInfo(info);
  }

  /**
   * This worker's step becomes `step`. Gradients kept for another step are not that step's: after
   * a restart they would be pushed again for it (a push refused for a stale step used to stay
   * kept, and a later `restarted: push again` staged it for the new step).
   */
  #moveTo(step: number): void {
    if (step !== this.#step) this.#forgetPushes();
    this.#step = step;
  }

  /** The step's pushes settled (or are another step's): nothing is kept for them any longer. */
  #forgetPushes(): void {
    this.#kept.clear();
    this.#sent.clear();
  }

  /** After a failed step or a stale push: the trainer's step count becomes this worker's step (best effort). */
  async #refreshStep(): Promise<void> {
    try {
      const info = await this.#channel.unary<TrainerInfo__Output>((md, o, cb) =>
        this.#channel.trainers.describeTrainer({ name: this.name }, md, o, cb),
      );
      this.#learn(info);
      this.#moveTo(info.step);
    } catch {
      // The original error is what the caller needs; the next failure will try again.
    }
  }
}
