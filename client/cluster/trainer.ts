// trainer.ts: a Trainer handle on a cluster. The trainer exists on every shard holding a part
// (or the whole) of one of its parameters, over the parameters' parts there, created through
// each shard's own Trainer handle (client/trainer.ts: its idempotency keys, retries and
// push-again after a restart all work per shard), with one incarnation for all of them.
// - pushGrad: a whole parameter's gradient goes to its shard as it is; a split one's is cut into
//   the parts' rows (dense), or its rows routed to the parts holding them (row_sparse; a part that
//   gets none is sent a push of no rows, so every part counts the step as one server does).
// - step: sync over several shards, decided by the lowest shard and followed by the others
//   (decided-step.ts); async, or one shard: sent to every shard at once. It resolves when every
//   shard applied the step, with each parameter's version from its home shard. For the
//   elementwise optimizers each element gets exactly the update one server gives it. A step a
//   shard fails to follow rejects naming the shards that applied it and those that did not;
//   when those failed in transport (down, unreachable) the step is kept, and the next step() or
//   push sends it to them again with its keys (client/trainer.ts resumeStep) and finishes it.
// - leave, setLearningRate, describe: every shard (merged: trainer-merge.ts);
//   saveStates/loadStates: one server's snapshot, assembled from the shards' and cut into theirs
//   (states.ts), so it re-shards.
import { WHOLE_TENSOR_OPTIMIZERS, type Part } from '../../common/cluster/placement';
import { isFloatDType } from '../../common/dtype';
import type { OptimizerName, OptimizerParams } from '../../common/optimizer/optimizer-spec';
import { TRAINER_MODE_CODEC } from '../../common/proto-enums';
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import { rowIdsToProto } from '../convert';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import type { Parameter } from '../parameter';
import { toTensor, type Tensor } from '../tensor';
import { createTrainer, Trainer } from '../trainer';
import type { GradInput, RowSparseGrad, StepResult, TrainerDescriptor, TrainerOptions } from '../trainer-types';
import {
  checkTrainerArgs,
  checkTrainerOptions,
  gradToUpload,
  integerIn,
  optimizerToProto,
  UINT32_MAX,
} from '../trainer-wire';
import { pickRows, routeRows, splitRows, type Split } from './assemble';
import { catchUp, decidedStep, refusedForCertain, type ShardTrainer } from './decided-step';
import type { Resolved, Shards } from './shards';
import { isClusterBundle, readClusterBundle, saveClusterStates, statesForShards } from './states';
import { StepGuard } from './step-guard';
import { mergeTrainerDescriptors } from './trainer-merge';

function isRowSparse(grad: GradInput): grad is RowSparseGrad {
  return typeof grad === 'object' && grad !== null && !Array.isArray(grad) && 'indices' in grad && 'values' in grad;
}

/**
 * Creates the trainer on every shard holding one of `params` (or attaches, as one server does)
 * and returns the cluster's handle. Called by the cluster client's trainer().
 */
export async function createClusterTrainer(
  shards: Shards,
  name: string,
  params: ReadonlyArray<Parameter | string>,
  optimizer: OptimizerName,
  optimizerParams: OptimizerParams = {},
  options: TrainerOptions = {},
): Promise<Trainer> {
  const { who, names } = checkTrainerArgs(name, params);
  optimizerToProto(who, optimizer, optimizerParams);
  const opts = checkTrainerOptions(who, options);
  // What one server checks before anything else about the parameters (server/trainer/registry.ts).
  if (names.length === 0) throw invalidArgument(`${who}: needs at least one parameter`);
  if (new Set(names).size !== names.length)
    throw invalidArgument(`${who}: a parameter is listed twice in [${names.join(', ')}]`);
  const plans = new Map<string, Resolved>();
  for (const [n, r] of await Promise.all(
    names.map(async (n) => {
      try {
        return [n, await shards.resolve(n)] as const;
      } catch (err) {
        if (err instanceof GluonPsError && err.code === Status.NOT_FOUND)
          throw new GluonPsError(Status.NOT_FOUND, `${who}: parameter '${n}' does not exist`, { cause: err });
        throw err;
      }
    }),
  ))
    plans.set(n, r);
  if (WHOLE_TENSOR_OPTIMIZERS.has(optimizer)) {
    const split = names.find((n) => plans.get(n)!.placement.kind !== 'whole');
    if (split !== undefined)
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `${who}: ${optimizer} needs norms of whole tensors, but parameter '${split}' is split over shards [${shardsOf(plans.get(split)!).join(', ')}]; declare it with { placement: 'whole' } (docs/cluster.md)`,
      );
  }
  // Each shard's trainer is over the parameters it holds, in the trainer's order.
  const local = new Map<number, string[]>();
  for (const n of names) for (const s of shardsOf(plans.get(n)!)) local.set(s, [...(local.get(s) ?? []), n]);
  const holding = [...local.keys()].sort((a, b) => a - b);
  const same = { ...options, incarnation: opts.incarnation };
  const trainers = await shards.all(holding, (s, ch) =>
    createTrainer(ch, name, local.get(s)!, optimizer, optimizerParams, same, names),
  );
  return new ClusterTrainer(
    shards,
    holding.map((shard, i) => ({ shard, trainer: trainers[i]! })),
    names,
    plans,
    opts,
  );
}

/** A step failure that says nothing of whether the shard applied it (kept to be finished later). */
const unknownOutcome = (err: unknown): boolean => err instanceof GluonPsError && !refusedForCertain(err);

function shardsOf(r: Resolved): number[] {
  return r.placement.kind === 'whole'
    ? [r.placement.home]
    : r.placement.parts.map((p) => p.shard).sort((a, b) => a - b);
}

export class ClusterTrainer extends Trainer {
  readonly #shards: Shards;
  readonly #trainers: readonly ShardTrainer[];
  readonly #plans: ReadonlyMap<string, Resolved>;
  /** Never mixes steps: shards at different steps refuse pushes and steps (step-guard.ts). */
  readonly #guard: StepGuard;
  /** The finishing of an unconfirmed step in flight (#finishStep). */
  #finishing: Promise<StepResult> | null = null;
  /** Split parameters whose last push failed on some shard, with the step it was for. */
  readonly #failedPush = new Map<string, number>();
  /** A step applied on some shards and of unknown outcome on the others: every shard's outcome. */
  #unfollowed: Array<PromiseSettledResult<StepResult & { batchSize?: number }>> | null = null;

  /** @internal Handles come from the cluster client's trainer(). */
  constructor(
    shards: Shards,
    trainers: readonly ShardTrainer[],
    params: string[],
    plans: ReadonlyMap<string, Resolved>,
    options: ReturnType<typeof checkTrainerOptions>,
  ) {
    const first = trainers[0]!.trainer;
    // The base keeps the names and options it is given; every method below is the cluster's.
    const info = {
      name: first.name,
      params,
      mode: TRAINER_MODE_CODEC.toProto(first.mode),
      numWorkers: first.numWorkers,
      step: first.currentStep,
      learningRate: first.learningRate,
      stepTimeoutMs: 0,
    } as unknown as TrainerInfo__Output;
    super(shards.channels[trainers[0]!.shard]!, info, options, null);
    this.#shards = shards;
    this.#trainers = trainers;
    this.#plans = plans;
    this.#guard = new StepGuard(`trainer '${this.name}'`, shards, trainers);
  }

  #who(): string {
    return `trainer '${this.name}'`;
  }

  /** Sync over several shards: steps are decided by the lowest one (decided-step.ts). */
  #decides(): boolean {
    return this.mode === 'sync' && this.#trainers.length > 1;
  }

  #on(shard: number): Trainer {
    return this.#trainers.find((t) => t.shard === shard)!.trainer;
  }

  /** `fn` on every shard's trainer at once; the failure of the lowest shard wins. */
  async #all<T>(fn: (t: Trainer) => Promise<T>): Promise<T[]> {
    return this.#shards.all(
      this.#trainers.map((t) => t.shard),
      (s) => fn(this.#on(s)),
    );
  }

  override get currentStep(): number {
    return this.#trainers[0]!.trainer.currentStep;
  }

  override get learningRate(): number {
    return this.#trainers[0]!.trainer.learningRate;
  }

  override async pushGrad(param: Parameter | string, grad: GradInput): Promise<{ step: number }> {
    // A step some shards did not confirm is finished first: the push is for the step after it.
    if (this.#unfollowed !== null || this.#finishing !== null) await this.#finishStep();
    return this.#guard.push(() => this.#pushGrad(param, grad));
  }

  async #pushGrad(param: Parameter | string, grad: GradInput): Promise<{ step: number }> {
    const paramName = typeof param === 'string' ? param : (param as { name?: unknown } | null)?.name;
    if (typeof paramName !== 'string' || paramName === '')
      throw invalidArgument(`${this.#who()}: pushGrad needs a Parameter or a parameter name, got ${show(param)}`);
    const r = this.#plans.get(paramName);
    if (r === undefined)
      throw invalidArgument(
        `${this.#who()}: parameter '${paramName}' is not one of its parameters [${this.params.join(', ')}]`,
      );
    if (this.#decides()) await catchUp(this.#shards, this.#trainers);
    if (r.placement.kind === 'whole') {
      const home = r.placement.home;
      const reply = await this.#shards.on(home, () => this.#on(home).pushGrad(paramName, grad));
      this.#guard.pushed([home]);
      return reply;
    }
    const placement = r.placement;
    const full = r.fullShape!;
    const who = `${this.#who()}: gradient for '${paramName}'`;
    const uploads = isRowSparse(grad)
      ? this.#rowsUploads(who, paramName, placement, full, grad)
      : this.#denseUploads(who, paramName, placement, full, grad);
    const parts = placement.parts.map((p) => p.shard);
    // The same push again after it failed on some shards: those that accepted these bytes are done.
    const step = this.currentStep;
    const again = this.#failedPush.get(paramName) === step;
    try {
      const replies = await this.#shards.all(parts, (s) => this.#on(s).pushUpload(paramName, uploads.get(s)!, again));
      this.#failedPush.delete(paramName);
      this.#guard.pushed(parts);
      return replies[0]!;
    } catch (err) {
      this.#failedPush.set(paramName, step);
      for (const s of parts) this.#on(s).pinPush(paramName);
      throw err;
    }
  }

  /** A dense gradient of a split parameter, cut into its parts' rows. */
  #denseUploads(
    who: string,
    name: string,
    p: Split,
    full: number[],
    grad: GradInput,
  ): Map<number, ReturnType<typeof gradToUpload>> {
    const tensor = toTensor(grad as Tensor, { who: `${who}: gradient`, nestedDType: 'float64' });
    this.#checkFloat(name, tensor);
    if (tensor.shape.join(',') !== full.join(','))
      throw invalidArgument(
        `${this.#who()}: gradient for '${name}' has shape [${tensor.shape.join(',')}], expected [${full.join(',')}]`,
      );
    const parts = splitRows(p, full, tensor);
    return new Map(p.parts.map((part, k) => [part.shard, gradToUpload(who, parts[k]!)]));
  }

  /** A row_sparse gradient of a split parameter: each row to the part holding it; a part with none gets a push of no rows. */
  #rowsUploads(
    who: string,
    name: string,
    p: Split,
    full: number[],
    grad: RowSparseGrad,
  ): Map<number, ReturnType<typeof gradToUpload> & { rowSparse?: boolean }> {
    const ids = rowIdsToProto(who, grad.indices);
    const values = toTensor(grad.values, { who: `${who}: row_sparse gradient values`, nestedDType: 'float64' });
    if (values.shape.length === 0 || values.shape[0] !== ids.length)
      throw invalidArgument(
        `${who}: a row_sparse gradient needs one row of values per index: ${ids.length} indices, values of shape [${values.shape.join(',')}]`,
      );
    this.#checkFloat(name, values);
    const want = [ids.length, ...full.slice(1)];
    if (values.shape.join(',') !== want.join(','))
      throw invalidArgument(
        `${this.#who()}: row_sparse gradient for '${name}' has shape [${values.shape.join(',')}], expected [${want.join(',')}] (one row per id)`,
      );
    const bad = ids.findIndex((id) => id < 0 || id >= full[0]!);
    if (bad >= 0)
      throw invalidArgument(
        `${this.#who()}: gradient for '${name}': row id ${ids[bad]} at position ${bad} is out of range [0, ${full[0]})`,
      );
    const routed = routeRows(p, ids);
    return new Map(
      p.parts.map((part: Part, k) => {
        const { local, positions } = routed[k]!;
        const upload = gradToUpload(who, { indices: local, values: pickRows(values, positions) });
        return [part.shard, local.length === 0 ? { ...upload, rowSparse: true } : upload];
      }),
    );
  }

  /** What one server says of a gradient that is not floating point (server/trainer/gradients.ts). */
  #checkFloat(name: string, t: Tensor): void {
    if (!isFloatDType(t.dtype))
      throw invalidArgument(`${this.#who()}: gradient for '${name}' must be a float tensor, got ${t.dtype}`);
  }

  override async step(batchSize: number): Promise<StepResult> {
    integerIn(`${this.#who()}: step()`, 'batchSize', batchSize, 1, UINT32_MAX);
    // Called again after a step some shards did not confirm: that step is finished, not a new one.
    if (this.#unfollowed !== null || this.#finishing !== null) return this.#finishStep();
    return this.#guard.step(() => this.#step(batchSize));
  }

  async #step(batchSize: number): Promise<StepResult> {
    if (this.#decides()) await catchUp(this.#shards, this.#trainers);
    const settled = this.#decides()
      ? await decidedStep(this.#shards, this.#trainers, batchSize, unknownOutcome)
      : await Promise.allSettled(
          this.#trainers.map((t) =>
            this.#shards.on(t.shard, () => t.trainer.stepWith(batchSize, null, unknownOutcome)),
          ),
        );
    return this.#conclude(settled);
  }

  /**
   * Sends the unconfirmed step again to the shards that did not confirm it, each with its key and
   * the decider's decision (after a restart their gradients are pushed again first), and answers
   * the step once every shard applied it; rejects as the step did while one still fails.
   */
  #finishStep(): Promise<StepResult> {
    // Concurrent calls share one finishing (each would otherwise see the shards at two steps).
    this.#finishing ??= this.#finishOnce().finally(() => {
      this.#finishing = null;
    });
    return this.#finishing;
  }

  async #finishOnce(): Promise<StepResult> {
    const unfollowed = this.#unfollowed!;
    this.#unfollowed = null;
    const settled = [...unfollowed];
    await Promise.all(
      settled.map(async (s, i) => {
        const t = this.#trainers[i]!;
        if (s.status === 'fulfilled' || !t.trainer.hasUnfinishedStep) return;
        try {
          settled[i] = { status: 'fulfilled', value: (await this.#shards.on(t.shard, () => t.trainer.resumeStep()))! };
        } catch (reason) {
          settled[i] = { status: 'rejected', reason };
        }
      }),
    );
    return this.#conclude(settled);
  }

  /**
   * One answer from every shard's outcome. When some shards applied the step and the others'
   * outcome is unknown (a transport failure past the retries: down, unreachable), the step is
   * kept and the next step() or push finishes it there; any other failure after some shard
   * applied it leaves the shards' copies different, and says so.
   */
  #conclude(settled: Array<PromiseSettledResult<StepResult & { batchSize?: number }>>): StepResult {
    const applied = this.#trainers.filter((_, i) => settled[i]!.status === 'fulfilled').map((t) => t.shard);
    const failedAt = settled.findIndex((s) => s.status === 'rejected');
    if (failedAt >= 0) {
      const reason = (settled[failedAt] as PromiseRejectedResult).reason as unknown;
      if (applied.length === 0 || !(reason instanceof GluonPsError)) {
        for (const t of this.#trainers) t.trainer.forgetUnfinishedStep();
        throw reason;
      }
      const failed = this.#trainers.filter((_, i) => settled[i]!.status === 'rejected');
      const names = (list: number[]): string => `shard${list.length > 1 ? 's' : ''} ${list.join(', ')}`;
      const finishable = failed.every((t) => t.trainer.hasUnfinishedStep);
      if (finishable) this.#unfollowed = settled;
      else for (const t of failed) t.trainer.forgetUnfinishedStep();
      throw new GluonPsError(
        reason.code,
        `${this.#who()}: the step was applied on ${names(applied)} but failed on ${names(failed.map((t) => t.shard))}, ` +
          (finishable
            ? `whose outcome is unknown: step() again (or the next push) finishes it there with the same decision and gradients once ${failed.length > 1 ? 'they are' : 'it is'} back (docs/cluster.md)`
            : `so the shards' copies of this trainer now differ (docs/cluster.md)`) +
          `; shard ${this.#trainers[failedAt]!.shard}: ${reason.message}`,
        { cause: reason, metadata: reason.metadata },
      );
    }
    const results = settled.map((s) => (s as PromiseFulfilledResult<StepResult>).value);
    const steps = new Set(results.map((r) => r.step));
    if (steps.size > 1)
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `${this.#who()}: the shards applied different steps (${this.#trainers.map((t, i) => `shard ${t.shard}: ${results[i]!.step}`).join(', ')})`,
      );
    // Each parameter's version is its home shard's (the shard whose part describes it).
    const versions = this.params.map((p) => {
      const r = this.#plans.get(p)!;
      const i = this.#trainers.findIndex((t) => t.shard === r.placement.home);
      const local = this.#trainers[i]!.trainer.params;
      return results[i]!.versions[local.indexOf(p)]!;
    });
    return { step: results[0]!.step, version: versions[0] ?? 0, versions, workers: results[0]!.workers };
  }

  // Merged as ps.describeTrainer(name) merges them (trainer-merge.ts).
  override async leave(): Promise<TrainerDescriptor> {
    return mergeTrainerDescriptors(await this.#all((t) => t.leave()), this.params);
  }

  override async describe(): Promise<TrainerDescriptor> {
    return mergeTrainerDescriptors(await this.#all((t) => t.describe()), this.params);
  }

  override async setLearningRate(lr: number): Promise<void> {
    await this.#all((t) => t.setLearningRate(lr));
  }

  /** One server's snapshot (GPSSTAT1) assembled from the shards' (states.ts). */
  override async saveStates(): Promise<Buffer> {
    // A step some shards did not confirm is finished first (or the save fails as it does).
    if (this.#unfollowed !== null || this.#finishing !== null) await this.#finishStep();
    // Each shard snapshots at its own moment: shards caught between a step's decider and its
    // followers (or async steps landing) are asked again, for up to 2 s, before they are said to differ.
    const started = Date.now();
    for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 200)) {
      const blobs = await this.#all((t) => t.saveStates());
      const byShard = new Map(this.#trainers.map((t, i) => [t.shard, blobs[i]!]));
      try {
        return saveClusterStates(this.#who(), this.params, this.#plans, byShard);
      } catch (err) {
        if (!(err instanceof GluonPsError && err.code === Status.FAILED_PRECONDITION)) throw err;
        if (Date.now() - started + waitMs > 2_000) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** One server's snapshot or any cluster's, checked whole, then cut into every shard's (states.ts). */
  override async loadStates(states: Uint8Array): Promise<void> {
    if (!(states instanceof Uint8Array))
      throw invalidArgument(`${this.#who()}: loadStates needs the Buffer saveStates() returned, got ${show(states)}`);
    const shards = this.#trainers.map((t) => t.shard);
    const target = { who: this.#who(), name: this.name, params: this.params, plans: this.#plans, shards };
    const blobs = isClusterBundle(states)
      ? readClusterBundle(this.#who(), states, shards)
      : await statesForShards(this.#shards, target, () => this.#trainers[0]!.trainer.describe(), states);
    // The loaded states replace whatever step was left unfinished or push half done.
    this.#unfollowed = null;
    this.#failedPush.clear();
    for (const t of this.#trainers) t.trainer.forgetUnfinishedStep();
    await this.#shards.all(shards, (s) => this.#on(s).loadStates(blobs.get(s)!));
  }

  override toString(): string {
    return `Trainer(${this.name}, worker ${this.workerId}, ${this.#trainers.length} shards)`;
  }
}
