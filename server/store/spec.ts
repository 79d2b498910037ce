// spec.ts: what a parameter is declared with (MXNet's Parameter constructor arguments), the
// initializer descriptions, and their validation. Pure data: no tensors, no gRPC.
import { DTYPES, isDType, MAX_RANK } from '../../native/index';
import type { DType, Device } from '../../native/index';
import { fmtShape, fmtValue, invalid, subject } from '../errors';
import { stringifyState } from '../../common/formats/state-json';
import { INIT_KINDS, type InitSpec } from '../../common/init-spec';

export type GradReq = 'write' | 'add' | 'null';
export type StorageType = 'default' | 'row_sparse';
export const GRAD_REQS: readonly GradReq[] = ['write', 'add', 'null'];
export const STORAGE_TYPES: readonly StorageType[] = ['default', 'row_sparse'];

// Initializers: one description shared with the client (common/init-spec.ts).
export { INIT_KINDS } from '../../common/init-spec';
export type { InitKind, InitSpec } from '../../common/init-spec';

/** Shapes: null = unknown rank; a dim of 0 = unknown (MXNet's legacy marker; -1 is accepted and stored as 0). */
export type Shape = number[] | null;

/**
 * On a shard of a cluster: this parameter is rows rowStart + j * rowStep of a split parameter of
 * shape fullShape (docs/cluster.md). Its own shape is [rows, ...fullShape.slice(1)].
 */
export interface PartSpec {
  fullShape: number[];
  rowStart: number;
  rowStep: number;
  /** How many parts the whole is split into. */
  parts: number;
}

export interface ParameterSpec {
  name: string;
  shape: Shape;
  dtype: DType;
  gradReq: GradReq;
  init: InitSpec | null;
  allowDeferredInit: boolean;
  differentiable: boolean;
  stype: StorageType;
  gradStype: StorageType;
  lrMult: number;
  wdMult: number;
  /** Absent unless this is a shard's part of a split parameter. */
  part?: PartSpec;
}

export type ParameterSpecInput = Partial<Omit<ParameterSpec, 'name'>> & { name: string };

const NAME_RE = /^[A-Za-z0-9_.:\-/]{1,256}$/;

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(
      `parameter name must be 1-256 characters of letters, digits, '_', '.', ':', '-', '/'; got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function shapeIsKnown(shape: Shape): shape is number[] {
  return shape !== null && shape.every((d) => d > 0);
}

/** Validates a declared shape and normalizes -1 to 0 (unknown). */
export function normalizeShape(who: string, shape: readonly number[] | null | undefined): Shape {
  if (shape === null || shape === undefined) return null;
  if (shape.length > MAX_RANK) throw invalid(`${who}: rank ${shape.length} exceeds the maximum of ${MAX_RANK}`);
  return shape.map((d) => {
    if (!Number.isSafeInteger(d) || d < -1)
      throw invalid(`${who}: shape dims must be integers >= -1 (0 or -1 = unknown), got ${JSON.stringify(shape)}`);
    return d === -1 ? 0 : d;
  });
}

/** MXNet's shape setter: same rank, and each old dim is unknown or equal to the new one. */
export function mergeShape(
  who: string,
  current: Shape,
  next: readonly number[],
  stype: StorageType = 'default',
): number[] {
  // An unknown shape may become any rank, but a row_sparse parameter has rows: not a scalar.
  if (current === null && stype === 'row_sparse' && next.length === 0)
    throw invalid(`${who}: a row_sparse parameter needs rank >= 1, got a scalar shape []`);
  if (current === null) return [...next];
  const ok = current.length === next.length && current.every((d, i) => d === 0 || d === next[i]);
  if (!ok) throw invalid(`${who}: shape ${fmtShape([...next])} does not match ${fmtShape(current)}`);
  return [...next];
}

function num(who: string, field: string, v: unknown, { min = -Infinity, positive = false } = {}): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (positive && v <= 0)) {
    throw invalid(`${who}: initializer ${field} must be a finite number${positive ? ' > 0' : ''}, got ${fmtValue(v)}`);
  }
}

function oneOf<T extends string>(who: string, field: string, v: unknown, allowed: readonly T[]): void {
  if (v !== undefined && !allowed.includes(v as T)) {
    throw invalid(`${who}: initializer ${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
}

export function checkInit(who: string, init: InitSpec): InitSpec {
  if (typeof init !== 'object' || init === null || !INIT_KINDS.includes(init.kind)) {
    throw invalid(
      `${who}: unknown initializer ${JSON.stringify((init as { kind?: unknown } | null)?.kind)}, expected one of ${INIT_KINDS.join(', ')}`,
    );
  }
  switch (init.kind) {
    case 'uniform':
      num(who, 'scale', init.scale, { min: 0 });
      break;
    case 'normal':
      num(who, 'sigma', init.sigma, { min: 0 });
      break;
    case 'xavier':
      oneOf(who, 'rndType', init.rndType, ['uniform', 'gaussian']);
      oneOf(who, 'factorType', init.factorType, ['avg', 'in', 'out']);
      num(who, 'magnitude', init.magnitude, { min: 0 });
      break;
    case 'msraprelu':
      oneOf(who, 'factorType', init.factorType, ['avg', 'in', 'out']);
      num(who, 'slope', init.slope);
      break;
    case 'orthogonal':
      num(who, 'scale', init.scale);
      oneOf(who, 'randType', init.randType, ['uniform', 'normal']);
      break;
    case 'constant': {
      const values = Array.isArray(init.value) ? init.value : [init.value];
      if (values.length === 0 || values.some((v) => typeof v !== 'number' || Number.isNaN(v))) {
        throw invalid(
          `${who}: constant initializer needs a number or a non-empty array of numbers (not NaN), got ${fmtValue(init.value)}`,
        );
      }
      break;
    }
    default:
      break;
  }
  return init;
}

/** Builds a full spec from user input with MXNet's defaults, or throws INVALID_ARGUMENT. */
export function buildSpec(input: ParameterSpecInput): ParameterSpec {
  const name = checkName(input.name);
  const who = subject(name);
  const dtype = input.dtype ?? 'float32';
  if (!isDType(dtype))
    throw invalid(`${who}: unknown dtype ${JSON.stringify(dtype)}, expected one of ${DTYPES.join(', ')}`);
  const stype = input.stype ?? 'default';
  const gradStype = input.gradStype ?? 'default';
  if (!STORAGE_TYPES.includes(stype))
    throw invalid(`${who}: stype must be default or row_sparse, got ${JSON.stringify(stype)}`);
  if (!STORAGE_TYPES.includes(gradStype))
    throw invalid(`${who}: grad_stype must be default or row_sparse, got ${JSON.stringify(gradStype)}`);
  const differentiable = input.differentiable ?? true;
  let gradReq = input.gradReq ?? 'write';
  if (!GRAD_REQS.includes(gradReq))
    throw invalid(`${who}: grad_req must be one of write, add, null; got ${JSON.stringify(gradReq)}`);
  if (!differentiable) gradReq = 'null'; // MXNet's grad_req setter forces 'null'
  const shape = normalizeShape(who, input.shape);
  if (stype === 'row_sparse' && shape !== null && shape.length === 0)
    throw invalid(`${who}: a row_sparse parameter needs rank >= 1, got a scalar shape []`);
  for (const [field, v] of [
    ['lr_mult', input.lrMult],
    ['wd_mult', input.wdMult],
  ] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v)))
      throw invalid(`${who}: ${field} must be a finite number, got ${fmtValue(v)}`);
  }
  return {
    name,
    shape,
    dtype,
    gradReq,
    init: input.init ? checkInit(who, input.init) : null,
    allowDeferredInit: input.allowDeferredInit ?? false,
    differentiable,
    stype,
    gradStype,
    lrMult: input.lrMult ?? 1,
    wdMult: input.wdMult ?? 1,
    // Absent, not undefined, for a whole parameter: its spec reads (and is logged) as before.
    ...(input.part === undefined || input.part === null ? {} : { part: checkPart(who, shape, input.part) }),
  };
}

/** A part must be rows of the whole that exist, with the whole's row shape. */
export function checkPart(who: string, shape: Shape, part: PartSpec): PartSpec {
  const bad = (why: string): never => {
    throw invalid(`${who}: part of a split parameter: ${why}`);
  };
  if (!shapeIsKnown(shape) || shape.length === 0)
    bad(`its own shape must be fully known with rank >= 1, got ${fmtShape(shape)}`);
  const own = shape as number[];
  const full = part.fullShape;
  if (!Array.isArray(full) || full.length !== own.length || !full.every((d) => Number.isSafeInteger(d) && d > 0))
    bad(`full shape ${fmtShape(full ?? null)} must be known dims of the same rank as ${fmtShape(own)}`);
  if (full.slice(1).join(',') !== own.slice(1).join(','))
    bad(`shape ${fmtShape(own)} must have the full shape ${fmtShape(full)}'s dims after the first`);
  if (!Number.isSafeInteger(part.rowStep) || part.rowStep < 1) bad(`row step must be >= 1, got ${part.rowStep}`);
  if (!Number.isSafeInteger(part.rowStart) || part.rowStart < 0) bad(`row start must be >= 0, got ${part.rowStart}`);
  if (!Number.isSafeInteger(part.parts) || part.parts < 2 || part.parts > full[0]!)
    bad(`a split parameter has 2 to ${full[0]} parts (its rows), got ${part.parts}`);
  const last = part.rowStart + (own[0]! - 1) * part.rowStep;
  if (last >= full[0]!)
    bad(
      `rows ${part.rowStart}+${part.rowStep}j for ${own[0]} rows reach row ${last}, past the full shape ${fmtShape(full)}`,
    );
  return { fullShape: [...full], rowStart: part.rowStart, rowStep: part.rowStep, parts: part.parts };
}

/**
 * JSON with object keys sorted, so equal specs compare equal whatever order fields came in;
 * numbers in the state encoding (state-json.ts), so -Infinity and Infinity differ.
 */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return stringifyState(value);
}

/** True when two specs declare the same parameter (re-declaration returns the existing one). */
export function sameSpec(a: ParameterSpec, b: ParameterSpec): boolean {
  return stableStringify(a) === stableStringify(b);
}

/**
 * The first field where two specs differ, for ALREADY_EXISTS messages. A part of a split
 * parameter is compared by the whole parameter's shape first (what its declarer wrote), and by
 * the part itself last.
 */
export function specDifference(existing: ParameterSpec, requested: ParameterSpec): string {
  const whole = (s: ParameterSpec): Omit<ParameterSpec, 'part'> => {
    const { part, ...rest } = s;
    return part ? { ...rest, shape: part.fullShape } : rest;
  };
  const [e, r] = [whole(existing), whole(requested)];
  for (const key of Object.keys(e) as Array<keyof typeof e>) {
    const a = stableStringify(e[key]);
    const b = stableStringify(r[key]);
    if (a !== b) return `${key} ${b} differs from the existing ${a}`;
  }
  const show = (s: ParameterSpec): string =>
    s.part
      ? `rows ${s.part.rowStart}+${s.part.rowStep}j (${s.shape![0]} of ${s.part.parts} parts)`
      : 'the whole parameter';
  if (show(existing) !== show(requested))
    return `this shard's part ${show(requested)} differs from the existing ${show(existing)} (declared by a client of another placement)`;
  return 'specs differ';
}

export function deviceKey(d: Device): string {
  return `${d.type}(${d.id})`;
}
