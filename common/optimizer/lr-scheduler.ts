// lr-scheduler.ts: MXNet's learning-rate schedules (python/mxnet/lr_scheduler.py) as pure
// functions of the update count (num_update, 1 for the first update), with linear or constant
// warm-up. MXNet's schedulers keep state; these give the same values for increasing counts.
import { invalidArgument as invalid } from '../status-error';

/** A learning-rate schedule, MXNet's lr_scheduler classes with camelCase names. */
export interface LrSchedulerSpec {
  kind: 'factor' | 'multifactor' | 'cosine' | 'poly';
  /** factor: decay every `step` updates. */
  step?: number;
  /** multifactor: the updates at which to decay, increasing. */
  steps?: number[];
  /** factor / multifactor: the multiplier at each decay. */
  factor?: number;
  /** factor: the learning rate never drops below this. */
  stopFactorLr?: number;
  /** Learning rate at the end of warm-up (default: the optimizer's learningRate). */
  baseLr?: number;
  /** cosine / poly: the learning rate reached at maxUpdate. */
  finalLr?: number;
  /** cosine / poly: updates over which the schedule runs. */
  maxUpdate?: number;
  /** poly: power of the decay (default 2). */
  pwr?: number;
  /** Updates of warm-up (default 0). */
  warmupSteps?: number;
  /** Learning rate at the start of warm-up (default 0). */
  warmupBeginLr?: number;
  warmupMode?: 'linear' | 'constant';
}

const KINDS = ['factor', 'multifactor', 'cosine', 'poly'] as const;

/** Validates a schedule and fills MXNet's defaults (base_lr defaults to the optimizer's lr). */
export function checkScheduler(
  who: string,
  s: LrSchedulerSpec,
  optimizerLr: number,
): Required<Omit<LrSchedulerSpec, 'steps' | 'step' | 'maxUpdate'>> &
  Pick<LrSchedulerSpec, 'steps' | 'step' | 'maxUpdate'> {
  if (!KINDS.includes(s.kind))
    throw invalid(`${who}: lr scheduler must be one of ${KINDS.join(', ')}, got ${JSON.stringify(s.kind)}`);
  const warmupSteps = s.warmupSteps ?? 0;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw invalid(`${who}: lr scheduler warmup_steps must be an integer >= 0, got ${warmupSteps}`);
  const warmupMode = s.warmupMode ?? 'linear';
  if (warmupMode !== 'linear' && warmupMode !== 'constant')
    throw invalid(`${who}: lr scheduler warmup_mode must be linear or constant, got ${JSON.stringify(warmupMode)}`);
  const out = {
    kind: s.kind,
    step: s.step,
    steps: s.steps,
    maxUpdate: s.maxUpdate,
    factor: s.factor ?? 1,
    stopFactorLr: s.stopFactorLr ?? 1e-8,
    baseLr: s.baseLr ?? optimizerLr,
    finalLr: s.finalLr ?? 0,
    pwr: s.pwr ?? 2,
    warmupSteps,
    warmupBeginLr: s.warmupBeginLr ?? 0,
    warmupMode,
  };
  if (out.warmupSteps > 0 && out.warmupBeginLr > out.baseLr) {
    throw invalid(
      `${who}: lr scheduler warmup_begin_lr (${out.warmupBeginLr}) must not exceed the base learning rate (${out.baseLr})`,
    );
  }
  if (s.kind === 'factor') {
    if (!Number.isInteger(s.step) || (s.step ?? 0) < 1)
      throw invalid(`${who}: factor scheduler needs step >= 1 (updates between decays), got ${s.step}`);
    if (out.factor > 1) throw invalid(`${who}: factor scheduler factor must be <= 1 to decay, got ${out.factor}`);
  }
  if (s.kind === 'multifactor') {
    const steps = s.steps ?? [];
    if (steps.length === 0 || steps.some((v, i) => !Number.isInteger(v) || v < 1 || (i > 0 && v <= steps[i - 1]!))) {
      throw invalid(`${who}: multifactor scheduler needs increasing integer steps >= 1, got ${JSON.stringify(steps)}`);
    }
    if (out.factor > 1) throw invalid(`${who}: multifactor scheduler factor must be <= 1 to decay, got ${out.factor}`);
  }
  if (s.kind === 'cosine' || s.kind === 'poly') {
    if (!Number.isInteger(s.maxUpdate) || (s.maxUpdate ?? 0) <= warmupSteps) {
      throw invalid(`${who}: ${s.kind} scheduler needs max_update > warmup_steps (${warmupSteps}), got ${s.maxUpdate}`);
    }
  }
  return out;
}

/** The learning rate at update `numUpdate` (1-based), as MXNet's scheduler returns it. */
export function scheduledLr(s: ReturnType<typeof checkScheduler>, numUpdate: number): number {
  if (numUpdate < s.warmupSteps) {
    if (s.warmupMode === 'constant') return s.warmupBeginLr;
    return s.warmupBeginLr + ((s.baseLr - s.warmupBeginLr) * numUpdate) / s.warmupSteps;
  }
  switch (s.kind) {
    case 'factor': {
      const decays = Math.max(0, Math.ceil(numUpdate / s.step!) - 1);
      return Math.max(s.baseLr * s.factor ** decays, s.stopFactorLr);
    }
    case 'multifactor': {
      const decays = s.steps!.filter((at) => numUpdate > at).length;
      return s.baseLr * s.factor ** decays;
    }
    case 'poly': {
      if (numUpdate > s.maxUpdate!) return s.finalLr;
      const maxSteps = s.maxUpdate! - s.warmupSteps;
      return s.finalLr + (s.baseLr - s.finalLr) * (1 - (numUpdate - s.warmupSteps) / maxSteps) ** s.pwr;
    }
    case 'cosine': {
      if (numUpdate > s.maxUpdate!) return s.finalLr;
      const maxSteps = s.maxUpdate! - s.warmupSteps;
      return (
        s.finalLr + ((s.baseLr - s.finalLr) * (1 + Math.cos((Math.PI * (numUpdate - s.warmupSteps)) / maxSteps))) / 2
      );
    }
  }
}
