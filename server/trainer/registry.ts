// registry.ts: every trainer by name. Creating a trainer that exists attaches to it when the
// spec is identical (every worker creates the same trainer) and is ALREADY_EXISTS otherwise.
// New trainers are held to --max-workers-per-trainer; a trainer read back from the data dir is
// not (it was acknowledged before, perhaps under a higher limit, and must still start).
import type { Logger } from 'pino';
import { NO_JOURNAL } from '../durability/journal';
import type { Journal } from '../durability/journal';
import { exists, fmtList, invalid, notFound, precondition } from '../errors';
import { WHOLE_TENSOR_OPTIMIZERS } from '../../common/cluster/placement';
import { DEFAULT_MAX_TRAINERS, DEFAULT_MAX_WORKERS_PER_TRAINER, MAX_TIMER_MS, overLimit } from '../limits';
import type { ParameterStore } from '../store/parameter-store';
import { stableStringify } from '../store/spec';
import { Trainer } from './trainer';
import type { TrainerSpec } from './trainer';
import { NO_TRAINER_EVENTS } from './types';
import type { TrainerEvents } from './types';

export interface TrainerLimits {
  /** Largest num_workers of a new trainer (default DEFAULT_MAX_WORKERS_PER_TRAINER). */
  maxWorkersPerTrainer?: number;
  /** Trainers held at most (default DEFAULT_MAX_TRAINERS). */
  maxTrainers?: number;
}

/**
 * A cluster shard's full list of the trainer's parameters (CreateTrainerRequest.all_params):
 * each name once, and this shard's `params` in it in the same order, so the list describe()
 * answers is the trainer's own order (docs/cluster.md).
 */
export function checkAllParams(who: string, params: readonly string[], all: readonly string[] | undefined): void {
  if (all === undefined) return;
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p)) throw invalid(`${who}: all_params lists parameter '${p}' twice in [${fmtList(all)}]`);
    seen.add(p);
  }
  const missing = params.find((p) => !seen.has(p));
  if (missing !== undefined)
    throw invalid(
      `${who}: all_params [${fmtList(all)}] must hold every parameter of params [${fmtList(params)}], but not '${missing}'`,
    );
  const order = params.map((p) => all.indexOf(p));
  const k = order.findIndex((at, i) => i > 0 && at < order[i - 1]!);
  if (k > 0)
    throw invalid(
      `${who}: all_params [${fmtList(all)}] must list params [${fmtList(params)}] in the same order, but '${params[k]}' comes before '${params[k - 1]}'`,
    );
}

export class TrainerRegistry {
  private readonly trainers = new Map<string, Trainer>();
  /** Journal for creations and for every trainer's changes (durability). */
  private journalValue: Journal = NO_JOURNAL;
  /** Where every trainer reports steps, deadlines and retried calls (the metrics); set before any trainer exists. */
  events: TrainerEvents = NO_TRAINER_EVENTS;

  readonly maxWorkersPerTrainer: number;
  readonly maxTrainers: number;

  constructor(
    private readonly store: ParameterStore,
    private readonly log: Logger,
    limits: TrainerLimits = {},
  ) {
    this.maxWorkersPerTrainer = limits.maxWorkersPerTrainer ?? DEFAULT_MAX_WORKERS_PER_TRAINER;
    this.maxTrainers = limits.maxTrainers ?? DEFAULT_MAX_TRAINERS;
  }

  get journal(): Journal {
    return this.journalValue;
  }

  set journal(j: Journal) {
    this.journalValue = j;
    for (const t of this.trainers.values()) t.journal = j;
  }

  /**
   * Creates the trainer or attaches the worker to the identical existing one; recorded durably.
   * `recovered`: replayed from the log, so the limits of new trainers do not apply.
   */
  async create(spec: TrainerSpec, workerId: number, recovered = false): Promise<Trainer> {
    const t = this.createOrAttach(spec, workerId, recovered);
    const { optimizer, ...rest } = spec;
    await this.journalValue.append({
      op: 'trainer.create',
      spec: { ...rest, optimizer: { name: optimizer.name, params: optimizer.params } },
      workerId,
    });
    return t;
  }

  private createOrAttach(spec: TrainerSpec, workerId: number, recovered: boolean): Trainer {
    const who = `trainer '${spec.name}'`;
    if (!/^[A-Za-z0-9_.:\-/]{1,256}$/.test(spec.name))
      throw invalid(
        `trainer name must be 1-256 characters of letters, digits, '_', '.', ':', '-', '/'; got ${JSON.stringify(spec.name)}`,
      );
    if (spec.params.length === 0) throw invalid(`${who}: needs at least one parameter`);
    const seen = new Set<string>();
    for (const p of spec.params) {
      if (seen.has(p)) throw invalid(`${who}: parameter '${p}' is listed twice in [${fmtList(spec.params)}]`);
      seen.add(p);
    }
    for (const p of spec.params) if (!this.store.has(p)) throw notFound(`${who}: parameter '${p}' does not exist`);
    checkAllParams(who, spec.params, spec.allParams);
    if (WHOLE_TENSOR_OPTIMIZERS.has(spec.optimizer.name)) {
      for (const p of spec.params) {
        const part = this.store.entry(p).spec.part;
        if (part)
          throw precondition(
            `${who}: ${spec.optimizer.name} needs norms of whole tensors, but this shard holds only rows ${part.rowStart}+${part.rowStep}j of parameter '${p}' (full shape [${part.fullShape.join(',')}]); declare it with placement 'whole' (docs/cluster.md)`,
          );
      }
    }
    if (!Number.isInteger(spec.numWorkers) || spec.numWorkers < 1)
      throw invalid(`${who}: num_workers must be >= 1, got ${spec.numWorkers}`);
    if (!recovered && spec.numWorkers > this.maxWorkersPerTrainer && !this.trainers.has(spec.name)) {
      throw overLimit(`${who}: num_workers`, spec.numWorkers, this.maxWorkersPerTrainer, '--max-workers-per-trainer');
    }
    if (spec.timeoutPolicy === 'quorum' && (spec.quorum < 1 || spec.quorum > spec.numWorkers)) {
      throw invalid(`${who}: quorum must be between 1 and num_workers (${spec.numWorkers}), got ${spec.quorum}`);
    }
    if (!Number.isInteger(spec.stepTimeoutMs) || spec.stepTimeoutMs < 1)
      throw invalid(`${who}: step_timeout_ms must be >= 1, got ${spec.stepTimeoutMs}`);
    // A timer cannot wait longer (setTimeout would fire after 1 ms); a trainer recovered from an
    // older data dir with a longer one waits the longest a timer can (Trainer.deadlineMs).
    if (!recovered && spec.stepTimeoutMs > MAX_TIMER_MS)
      throw invalid(
        `${who}: step_timeout_ms must be at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer), got ${spec.stepTimeoutMs}`,
      );
    const existing = this.trainers.get(spec.name);
    if (existing) {
      const a = stableStringify({ ...existing.spec, optimizer: existing.spec.optimizer.params });
      const b = stableStringify({ ...spec, optimizer: spec.optimizer.params });
      if (a !== b || existing.spec.optimizer.name !== spec.optimizer.name) {
        throw exists(
          `${who} already exists with a different spec (${existing.spec.optimizer.name}, ${existing.spec.mode}, ${existing.spec.numWorkers} workers, params [${fmtList(existing.spec.params)}]${existing.spec.allParams === undefined ? '' : ` of the trainer's [${fmtList(existing.spec.allParams)}]`})`,
        );
      }
      existing.register(workerId);
      return existing;
    }
    if (!recovered && this.trainers.size >= this.maxTrainers)
      throw overLimit(`${who}: the server's trainer count`, this.trainers.size + 1, this.maxTrainers, '--max-trainers');
    const trainer = new Trainer(spec, this.store, this.log);
    trainer.journal = this.journalValue;
    trainer.events = this.events;
    trainer.register(workerId);
    this.trainers.set(spec.name, trainer);
    this.log.info(
      {
        trainer: spec.name,
        optimizer: spec.optimizer.name,
        mode: spec.mode,
        workers: spec.numWorkers,
        params: spec.params.length,
      },
      'trainer created',
    );
    return trainer;
  }

  get(name: string): Trainer {
    const t = this.trainers.get(name);
    if (!t) throw notFound(`trainer '${name}' does not exist`);
    return t;
  }

  all(): Trainer[] {
    return [...this.trainers.values()];
  }

  /** Takes a restored trainer (recovery, before the server serves). */
  adopt(t: Trainer): void {
    this.trainers.get(t.spec.name)?.close();
    t.journal = this.journalValue;
    t.events = this.events;
    this.trainers.set(t.spec.name, t);
  }

  suspendAll(): void {
    for (const t of this.trainers.values()) t.suspend();
  }

  closeAll(): void {
    for (const t of this.trainers.values()) t.close();
  }
}
