// trainer-wire.ts: the Trainer handle's translation to and from the wire (client/trainer.ts):
// optimizer settings and lr schedules to OptimizerSpec and back, TrainerInfo to a descriptor,
// the checked TrainerOptions, and gradients to uploads. Pure functions, unit-tested directly.
const NUMBER_SETTINGS = [
  'learningRate',
  'wd',
  'rescaleGrad',
  'clipGradient',
  'momentum',
  'beta1',
  'beta2',
  'epsilon',
  'gamma1',
  'gamma2',
  'clipWeights',
  'lamda1',
  'beta',
  'lowerBound',
  'upperBound',
] as const;
const BOOL_SETTINGS = ['lazyUpdate', 'centered', 'biasCorrection'] as const;
/** Every optimizer setting name; which ones an optimizer takes is the server's to judge. */
const OPTIMIZER_SETTINGS: readonly string[] = [...NUMBER_SETTINGS, ...BOOL_SETTINGS, 'lrScheduler'];

import { randomBytes } from 'node:crypto';
import type { LrScheduler, LrScheduler__Output } from '../protos/generated/gluonps/v1/LrScheduler';
import type { OptimizerSpec, OptimizerSpec__Output } from '../protos/generated/gluonps/v1/OptimizerSpec';
import type { TensorHeader } from '../protos/generated/gluonps/v1/TensorHeader';
import type { TrainerInfo__Output } from '../protos/generated/gluonps/v1/TrainerInfo';
import type { LrSchedulerSpec } from '../common/optimizer/lr-scheduler';
import {
  OPTIMIZERS as OPTIMIZER_NAMES,
  type OptimizerName,
  type OptimizerParams,
} from '../common/optimizer/optimizer-spec';
import { OPTIMIZER_KIND_CODEC, TIMEOUT_POLICY_CODEC, TRAINER_MODE_CODEC } from '../common/proto-enums';
import { dtypeToProto, rowIdsToProto } from './convert';
import { GluonPsError, invalidArgument, show, Status } from './errors';
import { retrySettings, type RetryOptions } from './retry';
import { tensorBytes, toTensor } from './tensor';
import type {
  GradInput,
  RowSparseGrad,
  TimeoutPolicy,
  TrainerDescriptor,
  TrainerMode,
  TrainerOptions,
} from './trainer-types';

const SCHEDULER_KINDS = ['factor', 'multifactor', 'cosine', 'poly'] as const;
const SCHEDULER_NUMBERS = [
  'step',
  'factor',
  'stopFactorLr',
  'baseLr',
  'finalLr',
  'maxUpdate',
  'pwr',
  'warmupSteps',
  'warmupBeginLr',
] as const;
const SCHEDULER_KEYS: readonly string[] = ['kind', 'steps', 'warmupMode', ...SCHEDULER_NUMBERS];

const TRAINER_OPTION_KEYS = [
  'mode',
  'numWorkers',
  'workerId',
  'stepTimeoutMs',
  'timeoutPolicy',
  'quorum',
  'incarnation',
  'retry',
];

export const UINT32_MAX = 0xffffffff;

function unknownKeys(who: string, what: string, value: object, allowed: readonly string[]): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw invalidArgument(
      `${who}: unknown ${what}${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
        `expected ${allowed.join(', ')}`,
    );
  }
}

function finiteNumber(who: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalidArgument(`${who}: ${field} must be a finite number, got ${show(value)}`);
  return value;
}

export function integerIn(who: string, field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${who}: ${field} must be an integer in [${min}, ${max}], got ${show(value)}`);
  }
  return value;
}

/** The optimizer as an OptimizerSpec message; unknown setting names and wrong types are INVALID_ARGUMENT naming them. */
export function optimizerToProto(who: string, optimizer: unknown, params: OptimizerParams = {}): OptimizerSpec {
  if (typeof optimizer !== 'string' || !(OPTIMIZER_NAMES as readonly string[]).includes(optimizer)) {
    throw invalidArgument(
      `${who}: unknown optimizer ${show(optimizer)}, expected one of ${OPTIMIZER_NAMES.join(', ')}`,
    );
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidArgument(
      `${who}: optimizer settings must be an object such as { learningRate: 0.1 }, got ${show(params)}`,
    );
  }
  unknownKeys(who, 'optimizer setting', params, OPTIMIZER_SETTINGS);
  const out: OptimizerSpec = { kind: OPTIMIZER_KIND_CODEC.toProto(optimizer as OptimizerName) };
  const fields = out as Record<string, unknown>;
  const given = params as Record<string, unknown>;
  for (const key of NUMBER_SETTINGS) {
    const v = given[key];
    if (v === undefined || v === null) continue; // null: "none" (no clipping, no bound), the server's default
    fields[key] = finiteNumber(who, `optimizer setting ${key}`, v);
  }
  for (const key of BOOL_SETTINGS) {
    const v = given[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean')
      throw invalidArgument(`${who}: optimizer setting ${key} must be a boolean, got ${show(v)}`);
    fields[key] = v;
  }
  if (params.lrScheduler !== undefined && params.lrScheduler !== null)
    out.lrScheduler = schedulerToProto(who, params.lrScheduler);
  return out;
}

function schedulerToProto(who: string, s: LrSchedulerSpec): LrScheduler {
  if (typeof s !== 'object' || s === null || Array.isArray(s))
    throw invalidArgument(`${who}: lrScheduler must be an object { kind, ... }, got ${show(s)}`);
  unknownKeys(who, 'lrScheduler setting', s, SCHEDULER_KEYS);
  if (!(SCHEDULER_KINDS as readonly string[]).includes(s.kind)) {
    throw invalidArgument(`${who}: lrScheduler.kind must be one of ${SCHEDULER_KINDS.join(', ')}, got ${show(s.kind)}`);
  }
  const out: LrScheduler = { kind: s.kind };
  const fields = out as Record<string, unknown>;
  const given = s as unknown as Record<string, unknown>;
  for (const key of SCHEDULER_NUMBERS) {
    if (given[key] !== undefined) fields[key] = finiteNumber(who, `lrScheduler.${key}`, given[key]);
  }
  if (s.steps !== undefined) {
    if (!Array.isArray(s.steps))
      throw invalidArgument(`${who}: lrScheduler.steps must be an array of integers, got ${show(s.steps)}`);
    out.steps = s.steps.map((v, i) => integerIn(who, `lrScheduler.steps[${i}]`, v, 0, Number.MAX_SAFE_INTEGER));
  }
  if (s.warmupMode !== undefined) {
    if (s.warmupMode !== 'linear' && s.warmupMode !== 'constant') {
      throw invalidArgument(`${who}: lrScheduler.warmupMode must be 'linear' or 'constant', got ${show(s.warmupMode)}`);
    }
    out.warmupMode = s.warmupMode;
  }
  return out;
}

function schedulerFromProto(s: LrScheduler__Output): LrSchedulerSpec {
  const out: LrSchedulerSpec = { kind: s.kind as LrSchedulerSpec['kind'] };
  const fields = out as unknown as Record<string, unknown>;
  for (const key of SCHEDULER_NUMBERS) if (s[key] !== undefined) fields[key] = s[key];
  if (s.steps.length > 0) out.steps = [...s.steps];
  if (s.warmupMode !== '') out.warmupMode = s.warmupMode as LrSchedulerSpec['warmupMode'];
  return out;
}

/** A received OptimizerSpec as { name, params }. */
export function optimizerFromProto(m: OptimizerSpec__Output | null): { name: OptimizerName; params: OptimizerParams } {
  if (m === null) throw new GluonPsError(Status.INTERNAL, 'the server described a trainer without an optimizer');
  const name = OPTIMIZER_KIND_CODEC.fromProto(m.kind);
  if (name === undefined)
    throw new GluonPsError(Status.INTERNAL, `the server sent an unknown optimizer kind ${show(m.kind)}`);
  const params: OptimizerParams = {};
  const fields = params as Record<string, unknown>;
  for (const key of [...NUMBER_SETTINGS, ...BOOL_SETTINGS]) if (m[key] !== undefined) fields[key] = m[key];
  if (m.lrScheduler !== null && m.lrScheduler.kind !== '') params.lrScheduler = schedulerFromProto(m.lrScheduler);
  return { name, params };
}

/** A received TrainerInfo as the user sees it. */
export function describeTrainerInfo(info: TrainerInfo__Output): TrainerDescriptor {
  return {
    name: info.name,
    params: [...info.params],
    mode: TRAINER_MODE_CODEC.fromProto(info.mode) ?? 'sync',
    numWorkers: info.numWorkers,
    step: info.step,
    learningRate: info.learningRate,
    workersSeen: [...info.workersSeen],
    workersLeft: [...info.workersLeft],
    waitingFor: [...info.waitingFor],
    stepTimeoutMs: info.stepTimeoutMs,
    timeoutPolicy: TIMEOUT_POLICY_CODEC.fromProto(info.timeoutPolicy) ?? 'fail',
    quorum: info.quorum,
    optimizer: optimizerFromProto(info.optimizer),
  };
}

/** Checked TrainerOptions with defaults filled (stepTimeoutMs stays undefined for the server's default). */
export interface CheckedTrainerOptions {
  mode: TrainerMode;
  numWorkers: number;
  workerId: number;
  stepTimeoutMs: number | undefined;
  timeoutPolicy: TimeoutPolicy;
  quorum: number;
  incarnation: number;
  retry: Required<RetryOptions>;
}

export function checkTrainerOptions(
  who: string,
  options: TrainerOptions = {},
  random: () => number = randomIncarnation,
): CheckedTrainerOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalidArgument(`${who}: options must be an object, got ${show(options)}`);
  unknownKeys(who, 'option', options, TRAINER_OPTION_KEYS);
  const mode = options.mode ?? 'sync';
  if (mode !== 'sync' && mode !== 'async')
    throw invalidArgument(`${who}: mode must be 'sync' or 'async', got ${show(mode)}`);
  const timeoutPolicy = options.timeoutPolicy ?? 'fail';
  if (timeoutPolicy !== 'fail' && timeoutPolicy !== 'quorum')
    throw invalidArgument(`${who}: timeoutPolicy must be 'fail' or 'quorum', got ${show(timeoutPolicy)}`);
  const numWorkers = integerIn(who, 'numWorkers', options.numWorkers ?? 1, 1, UINT32_MAX);
  const workerId = integerIn(who, 'workerId', options.workerId ?? 0, 0, numWorkers - 1);
  const stepTimeoutMs =
    options.stepTimeoutMs === undefined
      ? undefined
      : integerIn(who, 'stepTimeoutMs', options.stepTimeoutMs, 1, UINT32_MAX);
  const quorum = options.quorum === undefined ? 0 : integerIn(who, 'quorum', options.quorum, 0, numWorkers);
  const incarnation =
    options.incarnation === undefined
      ? random()
      : integerIn(who, 'incarnation', options.incarnation, 0, Number.MAX_SAFE_INTEGER);
  return {
    mode,
    numWorkers,
    workerId,
    stepTimeoutMs,
    timeoutPolicy,
    quorum,
    incarnation,
    retry: retrySettings(who, options.retry),
  };
}

/** A random integer in [0, 2^53): a new incarnation per handle, so a restarted worker's keys never collide with its old ones. */
export function randomIncarnation(): number {
  return Number(randomBytes(8).readBigUInt64BE() >> 11n);
}

function isRowSparse(grad: GradInput): grad is RowSparseGrad {
  return typeof grad === 'object' && grad !== null && !Array.isArray(grad) && 'indices' in grad && 'values' in grad;
}

/**
 * A gradient as the header and bytes of a GradUpload. Nested numbers travel as float64 (exact;
 * the server converts to the parameter's dtype); a Tensor or typed array keeps its dtype and its
 * buffer is sent in place.
 */
export function gradToUpload(who: string, grad: GradInput): { header: TensorHeader; bytes: Uint8Array } {
  if (isRowSparse(grad)) {
    const rowIds = rowIdsToProto(who, grad.indices);
    const values = toTensor(grad.values, { who: `${who}: row_sparse gradient values`, nestedDType: 'float64' });
    if (values.shape.length === 0 || values.shape[0] !== rowIds.length) {
      throw invalidArgument(
        `${who}: a row_sparse gradient needs one row of values per index: ${rowIds.length} indices, ` +
          `values of shape [${values.shape.join(',')}]`,
      );
    }
    const bytes = tensorBytes(values);
    return {
      header: { shape: values.shape, dtype: dtypeToProto(who, values.dtype), byteLength: bytes.byteLength, rowIds },
      bytes,
    };
  }
  const tensor = toTensor(grad, { who: `${who}: gradient`, nestedDType: 'float64' });
  const bytes = tensorBytes(tensor);
  return {
    header: { shape: tensor.shape, dtype: dtypeToProto(who, tensor.dtype), byteLength: bytes.byteLength },
    bytes,
  };
}

/**
 * The trainer name and its parameter list as trainer() takes them (Parameter handles or names),
 * checked before anything is sent: one server and a cluster refuse the same calls the same way.
 */
export function checkTrainerArgs(name: unknown, params: unknown): { who: string; names: string[] } {
  if (typeof name !== 'string' || name === '')
    throw invalidArgument(`trainer(): the trainer name must be a non-empty string, got ${show(name)}`);
  const who = `trainer '${name}'`;
  if (!Array.isArray(params))
    throw invalidArgument(`${who}: params must be an array of Parameter handles or names, got ${show(params)}`);
  const names = params.map((p: unknown, i) => {
    const n = typeof p === 'string' ? p : (p as { name?: unknown } | null)?.name;
    if (typeof n !== 'string' || n === '')
      throw invalidArgument(`${who}: params[${i}] must be a Parameter or a parameter name, got ${show(p)}`);
    return n;
  });
  return { who, names };
}
