// The user-facing value types of the client (contexts, parameter specs, descriptors) and their
// translation to and from the gluonps.v1 messages. Client-side checks here only catch input
// that is obviously wrong (a typo'd option, a non-integer dim, an unknown enum name) so the user
// gets INVALID_ARGUMENT before a round trip; every semantic rule stays with the server.
import type {
  Context as ProtoContext,
  Context__Output as ProtoContextOut,
} from '../protos/generated/gluonps/v1/Context';
import type { DType__Output as ProtoDType } from '../protos/generated/gluonps/v1/DType';
import type { Initializer, Initializer__Output } from '../protos/generated/gluonps/v1/Initializer';
import type { ParameterInfo__Output } from '../protos/generated/gluonps/v1/ParameterInfo';
import type { ParameterSpec as ProtoSpec } from '../protos/generated/gluonps/v1/ParameterSpec';
import {
  DEVICE_TYPE_CODEC,
  DTYPE_CODEC,
  GRAD_REQ_CODEC,
  INIT_KIND_CODEC,
  STORAGE_TYPE_CODEC,
} from '../common/proto-enums';
import { GluonPsError, invalidArgument, show, Status } from './errors';
import { normalizeInit, type InitName, type InitSpec } from './init';
import { DTYPES, isDType, type DType } from './tensor';

export type GradReq = 'write' | 'add' | 'null';
export type StorageType = 'default' | 'row_sparse';
export type DeviceType = 'cpu' | 'gpu';

/** A device context, Gluon's mx.cpu(i) / mx.gpu(i). */
export interface Context {
  deviceType: DeviceType;
  deviceId: number;
}

/** Host memory context `i` (the server allows 0 <= i < 8 by default). */
export function cpu(deviceId = 0): Context {
  return { deviceType: 'cpu', deviceId };
}

/** CUDA device `i`; only on a server built with CUDA that has that GPU. */
export function gpu(deviceId = 0): Context {
  return { deviceType: 'gpu', deviceId };
}

/** The constructor arguments of a Gluon Parameter (everything but the name). */
export interface ParameterSpec {
  /** Dims, 0 or -1 for an unknown one; a number n means [n]; omitted or null: unknown rank. */
  shape?: number | readonly number[] | null;
  /** Element type (server default float32). */
  dtype?: DType;
  /** 'write' (default), 'add' or 'null' (JS null is accepted for 'null'). */
  gradReq?: GradReq | null;
  /** This parameter's initializer: used when initialize() gives no init, before its defaultInit. */
  init?: InitSpec | InitName | null;
  /** Whether initialize() on an unknown shape defers instead of failing (default false). */
  allowDeferredInit?: boolean;
  /** false forces gradReq 'null' (default true). */
  differentiable?: boolean;
  /** Storage of the data (default 'default'). */
  stype?: StorageType;
  /** Storage of the gradient (default 'default'). */
  gradStype?: StorageType;
  /** Learning-rate multiplier (default 1). */
  lrMult?: number;
  /** Weight-decay multiplier (default 1). */
  wdMult?: number;
  /**
   * On a cluster: 'whole' keeps the parameter whole on one shard, never split (what an optimizer
   * needing whole-tensor norms, LAMB, requires); 'auto' (default) places it by the layout's rules
   * (docs/cluster.md). A single server holds every parameter whole and ignores it.
   */
  placement?: 'auto' | 'whole';
}

/** What the server says about a parameter (describe(), list()). */
export interface ParameterDescriptor {
  name: string;
  /** Current shape, 0 for a dim still unknown; null when even the rank is unknown. */
  shape: number[] | null;
  dtype: DType;
  gradReq: GradReq;
  stype: StorageType;
  gradStype: StorageType;
  /** Whether the data arrays exist. */
  initialized: boolean;
  /** Whether an initialization waits for the shape. */
  deferred: boolean;
  /** Contexts of the copies, or the pending ones while deferred; empty before initialize(). */
  ctx: Context[];
  /** Strictly increases with every change of the value. */
  version: number;
  isConstant: boolean;
  lrMult: number;
  wdMult: number;
  differentiable: boolean;
  allowDeferredInit: boolean;
  /** The parameter's own initializer, if it was declared with one. */
  init: InitSpec | null;
}

// --- Small checks ------------------------------------------------------------------------------

/** Refuses option keys the API does not know (e.g. MXNet's snake_case `grad_req`). */
export function checkKeys(who: string, value: object, allowed: readonly string[]): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw invalidArgument(
      `${who}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
        `expected ${allowed.join(', ')}`,
    );
  }
}

export function checkName(who: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw invalidArgument(`${who}: a parameter name must be a non-empty string, got ${show(name)}`);
  }
  return name;
}

function oneOf<T extends string>(who: string, field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArgument(`${who}: ${field} must be one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

function finite(who: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(`${who}: ${field} must be a finite number, got ${show(value)}`);
  }
  return value;
}

function bool(who: string, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${who}: ${field} must be a boolean, got ${show(value)}`);
  return value;
}

// --- Enums -------------------------------------------------------------------------------------

/** A checked dtype as its proto enum name. */
export function dtypeToProto(who: string, dtype: unknown): ProtoDType {
  if (!isDType(dtype))
    throw invalidArgument(`${who}: unknown dtype ${show(dtype)}, expected one of ${DTYPES.join(', ')}`);
  return DTYPE_CODEC.toProto(dtype);
}

/** A received dtype; UNSPECIFIED is the wire default float32, anything unknown is a broken peer. */
export function dtypeFromProto(dtype: ProtoDType | string): DType {
  if (DTYPE_CODEC.isUnspecified(dtype)) return 'float32';
  const d = DTYPE_CODEC.fromProto(dtype);
  if (d === undefined) throw new GluonPsError(Status.INTERNAL, `the server sent an unknown dtype ${show(dtype)}`);
  return d;
}

// --- Contexts ----------------------------------------------------------------------------------

export function contextToProto(who: string, ctx: unknown): ProtoContext {
  const c = ctx as Partial<Context> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    (c.deviceType !== 'cpu' && c.deviceType !== 'gpu') ||
    !Number.isInteger(c.deviceId) ||
    (c.deviceId as number) < 0 ||
    (c.deviceId as number) > 0xffffffff
  ) {
    throw invalidArgument(
      `${who}: context must be cpu(i) or gpu(i), i.e. { deviceType: 'cpu' | 'gpu', deviceId: integer >= 0 }, ` +
        `got ${show(ctx)}`,
    );
  }
  return { deviceType: DEVICE_TYPE_CODEC.toProto(c.deviceType), deviceId: c.deviceId };
}

/** One context or a list of them, as initialize() and resetCtx() take. */
export function contextsToProto(who: string, ctx: Context | readonly Context[] | null | undefined): ProtoContext[] {
  if (ctx === undefined || ctx === null) return [];
  return (Array.isArray(ctx) ? ctx : [ctx]).map((c) => contextToProto(who, c));
}

export function contextFromProto(ctx: ProtoContextOut): Context {
  // UNSPECIFIED is CPU by the wire contract.
  return { deviceType: DEVICE_TYPE_CODEC.fromProto(ctx.deviceType) ?? 'cpu', deviceId: ctx.deviceId };
}

// --- Initializers ------------------------------------------------------------------------------

/** Checks the fields of an initializer only for their types; ranges are the server's to judge. */
export function initToProto(who: string, value: InitSpec | InitName): Initializer {
  const spec = normalizeInit(who, value);
  const fields = spec as Record<string, unknown>;
  const out: Initializer = { kind: INIT_KIND_CODEC.toProto(spec.kind) };
  for (const [key, v] of Object.entries(fields)) {
    if (key === 'kind' || v === undefined) continue;
    switch (key) {
      case 'scale':
      case 'sigma':
      case 'magnitude':
      case 'slope':
        out[key] = finite(who, `init.${key}`, v);
        break;
      case 'rndType':
      case 'factorType':
      case 'randType':
        if (typeof v !== 'string') throw invalidArgument(`${who}: init.${key} must be a string, got ${show(v)}`);
        out[key] = v;
        break;
      case 'value':
        if (typeof v === 'number') out.value = v;
        else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out.values = v as number[];
        else throw invalidArgument(`${who}: init.value must be a number or an array of numbers, got ${show(v)}`);
        break;
      default:
        throw invalidArgument(`${who}: unknown initializer field '${key}' for ${spec.kind}`);
    }
  }
  return out;
}

export function initFromProto(init: Initializer__Output | null): InitSpec | null {
  if (init === null) return null;
  const kind = INIT_KIND_CODEC.fromProto(init.kind);
  if (kind === undefined) return null;
  const fields: Record<string, unknown> = { kind };
  for (const key of ['scale', 'sigma', 'magnitude', 'slope'] as const)
    if (init[key] !== undefined) fields[key] = init[key];
  for (const key of ['rndType', 'factorType', 'randType'] as const) if (init[key] !== '') fields[key] = init[key];
  if (kind === 'constant') fields.value = init.values.length > 0 ? init.values : (init.value ?? 0);
  return fields as InitSpec;
}

// --- Specs and descriptors ---------------------------------------------------------------------

const SPEC_KEYS = [
  'shape',
  'dtype',
  'gradReq',
  'init',
  'allowDeferredInit',
  'differentiable',
  'stype',
  'gradStype',
  'lrMult',
  'wdMult',
  'placement',
];

/** Declared dims: integers >= -1 (0 and -1 mean unknown). */
export function checkDeclaredShape(who: string, shape: unknown): number[] {
  const dims = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || (d as number) < -1)) {
    throw invalidArgument(
      `${who}: shape must be an array of integers >= -1 (0 or -1 = unknown dim), got ${show(shape)}`,
    );
  }
  return [...(dims as number[])];
}

/** Builds the Declare message; fields the user left out stay unset so the server's defaults apply. */
export function specToProto(name: string, spec: ParameterSpec): ProtoSpec {
  const who = `parameter '${name}'`;
  if (typeof spec !== 'object' || spec === null)
    throw invalidArgument(`${who}: the spec must be an object, got ${show(spec)}`);
  checkKeys(who, spec, SPEC_KEYS);
  const out: ProtoSpec = { name };
  if (spec.shape === undefined || spec.shape === null) out.shapeUnknown = true;
  else out.shape = checkDeclaredShape(who, spec.shape);
  if (spec.dtype !== undefined) out.dtype = dtypeToProto(who, spec.dtype);
  if (spec.gradReq !== undefined)
    out.gradReq = GRAD_REQ_CODEC.toProto(oneOf(who, 'gradReq', spec.gradReq ?? 'null', GRAD_REQ_CODEC.names));
  if (spec.init !== undefined && spec.init !== null) out.init = initToProto(who, spec.init);
  if (spec.allowDeferredInit !== undefined)
    out.allowDeferredInit = bool(who, 'allowDeferredInit', spec.allowDeferredInit);
  if (spec.differentiable !== undefined) out.differentiable = bool(who, 'differentiable', spec.differentiable);
  if (spec.stype !== undefined)
    out.stype = STORAGE_TYPE_CODEC.toProto(oneOf(who, 'stype', spec.stype, STORAGE_TYPE_CODEC.names));
  if (spec.gradStype !== undefined)
    out.gradStype = STORAGE_TYPE_CODEC.toProto(oneOf(who, 'gradStype', spec.gradStype, STORAGE_TYPE_CODEC.names));
  if (spec.lrMult !== undefined) out.lrMult = finite(who, 'lrMult', spec.lrMult);
  if (spec.wdMult !== undefined) out.wdMult = finite(who, 'wdMult', spec.wdMult);
  // Not sent: where a parameter lives is the cluster client's business (client/cluster/).
  if (spec.placement !== undefined) oneOf(who, 'placement', spec.placement, ['auto', 'whole'] as const);
  return out;
}

/** A ParameterInfo as the user sees it; absent fields take the wire contract's defaults. */
export function describeFromProto(info: ParameterInfo__Output): ParameterDescriptor {
  const spec = info.spec;
  if (spec === null) throw new GluonPsError(Status.INTERNAL, 'the server sent a parameter description without a spec');
  return {
    name: spec.name,
    shape: spec.shapeUnknown ? null : [...spec.shape],
    dtype: dtypeFromProto(spec.dtype),
    gradReq: GRAD_REQ_CODEC.fromProto(spec.gradReq) ?? 'write',
    stype: STORAGE_TYPE_CODEC.fromProto(spec.stype) ?? 'default',
    gradStype: STORAGE_TYPE_CODEC.fromProto(spec.gradStype) ?? 'default',
    initialized: info.initialized,
    deferred: info.deferred,
    ctx: info.ctx.map(contextFromProto),
    version: info.version,
    isConstant: info.isConstant,
    lrMult: spec.lrMult ?? 1,
    wdMult: spec.wdMult ?? 1,
    differentiable: spec.differentiable ?? true,
    allowDeferredInit: spec.allowDeferredInit,
    init: initFromProto(spec.init),
  };
}

// --- Other request fields ----------------------------------------------------------------------

/**
 * Row ids as the wire's int64 numbers. Ids must be integers; ranges (negative, past the last
 * row) are the server's to reject, but ids beyond 2^53 cannot be exact JS numbers and no
 * tensor has that many rows, so they are refused here.
 */
export function rowIdsToProto(who: string, rowIds: ArrayLike<number | bigint>): number[] {
  if (typeof rowIds !== 'object' || rowIds === null || typeof rowIds.length !== 'number') {
    throw invalidArgument(`${who}: row ids must be an array of integers, got ${show(rowIds)}`);
  }
  const out = new Array<number>(rowIds.length);
  for (let i = 0; i < rowIds.length; i++) {
    const raw = rowIds[i];
    const id =
      typeof raw === 'bigint' && raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(raw)
        : raw;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw invalidArgument(`${who}: row id at position ${i} must be an integer below 2^53, got ${String(raw)}`);
    }
    out[i] = id;
  }
  return out;
}

/** A seed for the random initializers: a non-negative integer exact as a JS number. */
export function checkSeed(who: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw invalidArgument(
      `${who}: seed must be an integer in [0, 2^53), got ${typeof seed === 'bigint' ? `${seed}n` : show(seed)}`,
    );
  }
  return seed;
}
