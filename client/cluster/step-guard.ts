// step-guard.ts: a cluster trainer never mixes steps. Each shard's trainer counts its own
// steps; they move together while every shard applies every step, but a shard that came back
// from an older checkpoint (--durability checkpoint), or that failed a step its peers applied,
// is behind them, and a push or step sent to every shard would then be applied as different
// step numbers on different shards (the parameters' parts holding different steps).
// So, per worker of a sync trainer:
// - before a push, its per-shard step counters are compared; when they differ, every shard is
//   asked for its count. Shards that agree (a worker that missed a step all of them applied, a
//   cluster rolled back to one step) let the call go on at that step; shards that disagree
//   refuse it with FAILED_PRECONDITION naming each shard and its step, and the way back
//   (docs/cluster.md). A shard's own refusal of a push for a step it is not at is checked the
//   same way, so the caller gets the named error.
// - before a step, the shards that did not accept one of this worker's pushes for that step
//   (which proves the shard is at it) are asked for their count first: a step sent to a shard
//   that is behind would be refused there while the others wait at their barriers for it.
import { GluonPsError, Status } from '../errors';
import type { Trainer } from '../trainer';
import type { Shards } from './shards';

/** One shard's handle of a cluster trainer. */
export interface ShardStep {
  shard: number;
  trainer: Trainer;
}

/** Whether `err` is a shard's refusal of a step that is not its open one (its typed reason). */
export function isStaleStep(err: unknown): boolean {
  return err instanceof GluonPsError && err.reason === 'stale-step';
}

export class StepGuard {
  /** The step at which each shard last accepted a push of this worker. */
  readonly #pushedAt = new Map<number, number>();

  constructor(
    private readonly who: string,
    private readonly shards: Shards,
    private readonly trainers: readonly ShardStep[],
  ) {}

  /** Async trainers have no step to agree on: each shard counts every worker's steps as they come. */
  get #off(): boolean {
    return this.trainers[0]!.trainer.mode === 'async';
  }

  /** Runs a push (or anything sent for the worker's current step) once the shards agree on it. */
  async push<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#off) return fn();
    await this.#same([]);
    return this.#checked(fn);
  }

  /** Shards `list` accepted a push of this worker for its current step. */
  pushed(list: readonly number[]): void {
    for (const s of list) this.#pushedAt.set(s, this.#handle(s).currentStep);
  }

  /** Runs a step once every shard is known to be at the worker's step; forgets the pushes after it. */
  async step<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#off) return fn();
    const unknown = this.trainers.filter((t) => this.#pushedAt.get(t.shard) !== t.trainer.currentStep);
    try {
      await this.#same(unknown);
      return await this.#checked(fn);
    } finally {
      this.#pushedAt.clear();
    }
  }

  #handle(shard: number): Trainer {
    return this.trainers.find((t) => t.shard === shard)!.trainer;
  }

  async #checked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isStaleStep(err)) await this.#same(this.trainers, err);
      throw err;
    }
  }

  /**
   * Resolves when the shards are at one step: `ask` are asked for their count, then the
   * counters are compared, and when they differ every shard is asked; rejects
   * FAILED_PRECONDITION naming the shards and their steps when they still differ.
   */
  async #same(ask: readonly ShardStep[], cause?: unknown): Promise<void> {
    if (ask.length > 0) await this.#resync(ask);
    if (new Set(this.trainers.map((t) => t.trainer.currentStep)).size <= 1) return;
    const steps =
      ask.length === this.trainers.length
        ? this.trainers.map((t) => t.trainer.currentStep)
        : await this.#resync(this.trainers);
    if (new Set(steps).size <= 1) return;
    throw this.#refusal(steps, cause);
  }

  #resync(list: readonly ShardStep[]): Promise<number[]> {
    return this.shards.all(
      list.map((t) => t.shard),
      (s) => this.#handle(s).resyncStep(),
    );
  }

  #refusal(steps: number[], cause: unknown): GluonPsError {
    const newest = Math.max(...steps);
    const oldest = Math.min(...steps);
    const groups = new Map<number, number[]>();
    this.trainers.forEach((t, i) => groups.set(steps[i]!, [...(groups.get(steps[i]!) ?? []), t.shard]));
    const name = (list: number[]): string =>
      list.length === 1
        ? `shard ${list[0]} (${this.shards.address(list[0]!)}) is`
        : `shards ${list.map((s) => `${s} (${this.shards.address(s)})`).join(', ')} are`;
    const behind = [...groups]
      .filter(([step]) => step !== newest)
      .sort((a, b) => a[0] - b[0])
      .map(([step, list]) => `${name(list)} at step ${step}`);
    return new GluonPsError(
      Status.FAILED_PRECONDITION,
      `${this.who}: the shards are at different steps: ${behind.join(', ')}, but ${name(groups.get(newest)!)} at step ${newest}; ` +
        `a shard that restarted from an older checkpoint (--durability checkpoint), or failed a step its peers applied, is behind them, and steps are never mixed: ` +
        `stop the shards, roll each back to a step all of them hold (npm run rollback -- --data-dir DIR --trainer ${JSON.stringify(this.trainers[0]!.trainer.name)} --step ${oldest}; or every shard's --data-dir at once and no --step: the newest step all of them hold) and start them again (docs/cluster.md)`,
      cause === undefined ? {} : { cause },
    );
  }
}
