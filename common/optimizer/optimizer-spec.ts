// optimizer-spec.ts: a trainer's optimizer as typed data (never code): the kind, MXNet's
// parameter names in camelCase with MXNet's defaults, validation naming any unknown or bad
// setting. Shared by the client (checks before sending) and the server; the translation to
// native kernel settings is server-only (server/trainer/update.ts).
import { invalidArgument as invalid } from '../status-error';
import { checkScheduler, scheduledLr } from './lr-scheduler';
import type { LrSchedulerSpec } from './lr-scheduler';

export const OPTIMIZERS = ['sgd', 'nag', 'adam', 'adamw', 'adagrad', 'rmsprop', 'ftrl', 'lamb'] as const;
/** The optimizers a trainer can run (MXNet's, by their registry names). */
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Optimizer settings, MXNet's names in camelCase; absent ones take MXNet's defaults. */
export interface OptimizerParams {
  learningRate?: number;
  wd?: number;
  rescaleGrad?: number;
  /** null or absent: no clipping. */
  clipGradient?: number | null;
  lazyUpdate?: boolean;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  gamma1?: number;
  gamma2?: number;
  centered?: boolean;
  clipWeights?: number | null;
  lamda1?: number;
  beta?: number;
  lowerBound?: number | null;
  upperBound?: number | null;
  biasCorrection?: boolean;
  lrScheduler?: LrSchedulerSpec | null;
}

/** Which settings each optimizer takes, besides the common ones. */
const COMMON = ['learningRate', 'wd', 'rescaleGrad', 'clipGradient', 'lazyUpdate', 'lrScheduler'] as const;
const SPECIFIC: Record<OptimizerName, readonly string[]> = {
  sgd: ['momentum'],
  nag: ['momentum'],
  adam: ['beta1', 'beta2', 'epsilon'],
  adamw: ['beta1', 'beta2', 'epsilon'],
  adagrad: ['epsilon'],
  rmsprop: ['gamma1', 'gamma2', 'epsilon', 'centered', 'clipWeights'],
  ftrl: ['lamda1', 'beta'],
  lamb: ['beta1', 'beta2', 'epsilon', 'lowerBound', 'upperBound', 'biasCorrection'],
};

/** MXNet's defaults per optimizer class (optimizer.py). */
const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.01,
  nag: 0.01,
  adam: 0.001,
  adamw: 0.001,
  adagrad: 0.01,
  rmsprop: 0.001,
  ftrl: 0.1,
  lamb: 0.001,
};
const DEFAULT_EPS: Partial<Record<OptimizerName, number>> = {
  adam: 1e-8,
  adamw: 1e-6,
  adagrad: 1e-7,
  rmsprop: 1e-8,
  lamb: 1e-6,
};

export interface OptimizerConfig {
  name: OptimizerName;
  /** Every setting, defaults filled; learningRate is the base rate (set_learning_rate changes it). */
  params: OptimizerParams & { learningRate: number; wd: number; rescaleGrad: number; lazyUpdate: boolean };
  scheduler: ReturnType<typeof checkScheduler> | null;
}

function finite(who: string, key: string, v: unknown, { min = -Infinity, max = Infinity } = {}): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = min === -Infinity && max === Infinity ? '' : ` in [${min}, ${max}]`;
    throw invalid(`${who}: optimizer setting ${key} must be a finite number${range}, got ${JSON.stringify(v)}`);
  }
}

/** Validates the optimizer name and settings (an unknown setting is INVALID_ARGUMENT naming it). */
export function buildOptimizer(who: string, name: string, params: Record<string, unknown>): OptimizerConfig {
  if (!(OPTIMIZERS as readonly string[]).includes(name))
    throw invalid(`${who}: unknown optimizer ${JSON.stringify(name)}, expected one of ${OPTIMIZERS.join(', ')}`);
  const opt = name as OptimizerName;
  const allowed = new Set<string>([...COMMON, ...SPECIFIC[opt]]);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!allowed.has(key))
      throw invalid(`${who}: optimizer ${opt} has no setting '${key}'; it takes ${[...allowed].join(', ')}`);
  }
  const p = params as OptimizerParams;
  const learningRate = p.learningRate ?? DEFAULT_LR[opt];
  finite(who, 'learningRate', learningRate, { min: 0 });
  const wd = p.wd ?? 0;
  finite(who, 'wd', wd);
  const rescaleGrad = p.rescaleGrad ?? 1;
  finite(who, 'rescaleGrad', rescaleGrad);
  for (const key of ['clipGradient', 'clipWeights', 'lowerBound', 'upperBound'] as const) {
    if (p[key] !== undefined && p[key] !== null) finite(who, key, p[key]);
  }
  if (p.momentum !== undefined) finite(who, 'momentum', p.momentum, { min: 0, max: 1 });
  for (const key of ['beta1', 'beta2', 'gamma1', 'gamma2'] as const)
    if (p[key] !== undefined) finite(who, key, p[key], { min: 0, max: 1 });
  for (const key of ['epsilon', 'lamda1', 'beta'] as const)
    if (p[key] !== undefined) finite(who, key, p[key], { min: 0 });
  for (const key of ['lazyUpdate', 'centered', 'biasCorrection'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'boolean')
      throw invalid(`${who}: optimizer setting ${key} must be a boolean, got ${JSON.stringify(p[key])}`);
  }
  const eps = DEFAULT_EPS[opt];
  return {
    name: opt,
    params: {
      ...p,
      learningRate,
      wd,
      rescaleGrad,
      lazyUpdate: p.lazyUpdate ?? true,
      ...(eps !== undefined && p.epsilon === undefined ? { epsilon: eps } : {}),
    },
    scheduler: p.lrScheduler ? checkScheduler(who, p.lrScheduler, learningRate) : null,
  };
}

/** The learning rate at update `numUpdate` (1-based): the schedule's, or the base rate. */
export function learningRateAt(cfg: OptimizerConfig, numUpdate: number): number {
  return cfg.scheduler ? scheduledLr(cfg.scheduler, Math.max(1, numUpdate)) : cfg.params.learningRate;
}
