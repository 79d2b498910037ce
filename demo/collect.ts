// The orchestrator's view of the workers' reports: per model and epoch, each worker's loss sum
// over its shard; an epoch's loss is known once every worker has reported it, and is the mean
// over the whole training set (the shards partition it).

export interface EpochReport {
  worker: number;
  lossSum: number;
  count: number;
  step: number;
  accuracy?: number;
}

export interface EpochResult {
  model: string;
  epoch: number;
  /** Mean loss over every worker's shard together. */
  loss: number;
  /** Trainer steps applied when it was measured. */
  step: number;
  /** Mean accuracy weighted by shard size, when the model reports one. */
  accuracy?: number;
}

export class LossTable {
  readonly #workers: number;
  readonly #pending = new Map<string, Map<number, EpochReport>>();
  readonly #results = new Map<string, EpochResult[]>();

  constructor(workers: number) {
    this.#workers = workers;
  }

  /** Records one report; returns the epoch's result when this was the last worker to report it. */
  add(model: string, epoch: number, r: EpochReport): EpochResult | null {
    const key = `${model}\u0000${epoch}`;
    const byWorker = this.#pending.get(key) ?? new Map<number, EpochReport>();
    if (byWorker.has(r.worker)) throw new Error(`worker ${r.worker} reported ${model} epoch ${epoch} twice`);
    byWorker.set(r.worker, r);
    this.#pending.set(key, byWorker);
    if (byWorker.size < this.#workers) return null;
    this.#pending.delete(key);
    const reports = [...byWorker.values()];
    const count = reports.reduce((s, x) => s + x.count, 0);
    const result: EpochResult = {
      model,
      epoch,
      loss: reports.reduce((s, x) => s + x.lossSum, 0) / count,
      step: Math.max(...reports.map((x) => x.step)),
    };
    if (reports.every((x) => x.accuracy !== undefined)) {
      result.accuracy = reports.reduce((s, x) => s + x.accuracy! * x.count, 0) / count;
    }
    const list = this.#results.get(model) ?? [];
    list.push(result);
    list.sort((a, b) => a.epoch - b.epoch);
    this.#results.set(model, list);
    return result;
  }

  /** Completed epochs of `model`, in order (epoch 0 = before training). */
  results(model: string): EpochResult[] {
    return this.#results.get(model) ?? [];
  }
}

/** Whether training converged by the demo's bar: final <= ratio x initial (and both finite). */
export function converged(initial: number, final: number, ratio = 0.2): boolean {
  return Number.isFinite(initial) && Number.isFinite(final) && final <= ratio * initial;
}
