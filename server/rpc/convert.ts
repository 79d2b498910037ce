// convert.ts: translation between wire messages (gluonps.v1, as proto-loader decodes them) and
// the store's types. Pure functions; every malformed field becomes INVALID_ARGUMENT naming it.
import type { DType, Device } from '../../native/index';
import { invalid } from '../errors';
import type { Descriptor } from '../store/parameter-store';
import type { GradReq, InitSpec, ParameterSpecInput, StorageType } from '../store/spec';
import type { Context, Context__Output } from '../../protos/generated/gluonps/v1/Context';
import type { Initializer__Output } from '../../protos/generated/gluonps/v1/Initializer';
import type { ParameterInfo } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { ParameterSpec__Output } from '../../protos/generated/gluonps/v1/ParameterSpec';
import type { TensorHeader__Output } from '../../protos/generated/gluonps/v1/TensorHeader';

const DTYPE_FROM_WIRE: Record<string, DType> = {
  DTYPE_FLOAT32: 'float32',
  DTYPE_FLOAT64: 'float64',
  DTYPE_FLOAT16: 'float16',
  DTYPE_BFLOAT16: 'bfloat16',
  DTYPE_INT8: 'int8',
  DTYPE_UINT8: 'uint8',
  DTYPE_INT32: 'int32',
  DTYPE_INT64: 'int64',
};
const DTYPE_TO_WIRE = Object.fromEntries(Object.entries(DTYPE_FROM_WIRE).map(([k, v]) => [v, k])) as Record<DType, string>;

/** A wire dtype; UNSPECIFIED gives `fallback` (or is an error when there is none). */
export function dtypeFromWire(who: string, value: unknown, fallback?: DType): DType {
  if ((value === 'DTYPE_UNSPECIFIED' || value === 0 || value === undefined) && fallback !== undefined) return fallback;
  const d = typeof value === 'string' ? DTYPE_FROM_WIRE[value] : undefined;
  if (d === undefined) throw invalid(`${who}: unknown dtype ${JSON.stringify(value)}, expected one of ${Object.keys(DTYPE_FROM_WIRE).join(', ')}`);
  return d;
}
export function dtypeToWire(d: DType): string {
  return DTYPE_TO_WIRE[d];
}

const GRAD_REQ: Record<string, GradReq | undefined> = {
  GRAD_REQ_UNSPECIFIED: undefined,
  GRAD_REQ_WRITE: 'write',
  GRAD_REQ_ADD: 'add',
  GRAD_REQ_NULL: 'null',
};
const STYPE: Record<string, StorageType | undefined> = {
  STORAGE_TYPE_UNSPECIFIED: undefined,
  STORAGE_TYPE_DEFAULT: 'default',
  STORAGE_TYPE_ROW_SPARSE: 'row_sparse',
};

function enumFromWire<T>(who: string, field: string, table: Record<string, T | undefined>, value: unknown): T | undefined {
  if (typeof value === 'string' && value in table) return table[value];
  throw invalid(`${who}: unknown ${field} ${JSON.stringify(value)}, expected one of ${Object.keys(table).join(', ')}`);
}

export function contextFromWire(who: string, c: Context__Output | null | undefined): Device | null {
  if (c === null || c === undefined) return null;
  const type = c.deviceType === 'DEVICE_TYPE_GPU' ? 'gpu' : c.deviceType === 'DEVICE_TYPE_CPU' || c.deviceType === 'DEVICE_TYPE_UNSPECIFIED' ? 'cpu' : null;
  if (type === null) throw invalid(`${who}: unknown device type ${JSON.stringify(c.deviceType)}, expected DEVICE_TYPE_CPU or DEVICE_TYPE_GPU`);
  return { type, id: c.deviceId };
}
export function contextsFromWire(who: string, list: Context__Output[]): Device[] | null {
  return list.length === 0 ? null : list.map((c) => contextFromWire(who, c)!);
}
export function contextToWire(d: Device): Context {
  return { deviceType: d.type === 'gpu' ? 'DEVICE_TYPE_GPU' : 'DEVICE_TYPE_CPU', deviceId: d.id };
}

const INIT_KIND: Record<string, InitSpec['kind'] | undefined> = {
  INITIALIZER_KIND_UNSPECIFIED: undefined,
  INITIALIZER_KIND_UNIFORM: 'uniform',
  INITIALIZER_KIND_NORMAL: 'normal',
  INITIALIZER_KIND_XAVIER: 'xavier',
  INITIALIZER_KIND_MSRAPRELU: 'msraprelu',
  INITIALIZER_KIND_CONSTANT: 'constant',
  INITIALIZER_KIND_ZERO: 'zero',
  INITIALIZER_KIND_ONE: 'one',
  INITIALIZER_KIND_ORTHOGONAL: 'orthogonal',
};

const orUndefined = <T extends string>(s: string): T | undefined => (s === '' ? undefined : (s as T));

/** A wire initializer, or null when absent or UNSPECIFIED (Gluon's init=None). */
export function initFromWire(who: string, m: Initializer__Output | null | undefined): InitSpec | null {
  if (m === null || m === undefined) return null;
  const kind = enumFromWire(who, 'initializer kind', INIT_KIND, m.kind);
  switch (kind) {
    case undefined: return null;
    case 'uniform': return { kind, scale: m.scale };
    case 'normal': return { kind, sigma: m.sigma };
    case 'xavier': return { kind, rndType: orUndefined(m.rndType), factorType: orUndefined(m.factorType), magnitude: m.magnitude };
    case 'msraprelu': return { kind, factorType: orUndefined(m.factorType), slope: m.slope };
    case 'orthogonal': return { kind, scale: m.scale, randType: orUndefined(m.randType) };
    case 'constant': {
      if (m.values.length > 0) return { kind, value: m.values.length === 1 ? m.values[0]! : [...m.values] };
      if (m.value === undefined) throw invalid(`${who}: constant initializer needs value or values`);
      return { kind, value: m.value };
    }
    default: return { kind };
  }
}

export function initToWire(init: InitSpec | null): Initializer__Output | null {
  if (init === null) return null;
  const kind = Object.entries(INIT_KIND).find(([, v]) => v === init.kind)![0];
  const base: Initializer__Output = { kind: kind as Initializer__Output['kind'], rndType: '', factorType: '', randType: '', values: [] };
  switch (init.kind) {
    case 'uniform': return { ...base, scale: init.scale };
    case 'normal': return { ...base, sigma: init.sigma };
    case 'xavier': return { ...base, rndType: init.rndType ?? '', factorType: init.factorType ?? '', magnitude: init.magnitude };
    case 'msraprelu': return { ...base, factorType: init.factorType ?? '', slope: init.slope };
    case 'orthogonal': return { ...base, scale: init.scale, randType: init.randType ?? '' };
    case 'constant': return Array.isArray(init.value) ? { ...base, values: init.value } : { ...base, value: init.value };
    default: return base;
  }
}

export function specFromWire(m: ParameterSpec__Output | null): ParameterSpecInput {
  if (m === null) throw invalid('declare: the request has no spec');
  const who = `parameter '${m.name}'`;
  return {
    name: m.name,
    shape: m.shapeUnknown ? null : m.shape,
    dtype: dtypeFromWire(who, m.dtype, 'float32'),
    gradReq: enumFromWire(who, 'grad_req', GRAD_REQ, m.gradReq),
    init: initFromWire(who, m.init),
    allowDeferredInit: m.allowDeferredInit,
    differentiable: m.differentiable,
    stype: enumFromWire(who, 'stype', STYPE, m.stype),
    gradStype: enumFromWire(who, 'grad_stype', STYPE, m.gradStype),
    lrMult: m.lrMult,
    wdMult: m.wdMult,
  };
}

const wireGradReq = (g: GradReq): string => `GRAD_REQ_${g.toUpperCase()}`;
const wireStype = (s: StorageType): string => (s === 'default' ? 'STORAGE_TYPE_DEFAULT' : 'STORAGE_TYPE_ROW_SPARSE');

export function infoToWire(d: Descriptor): ParameterInfo {
  return {
    spec: {
      name: d.name,
      shape: d.shape ?? [],
      shapeUnknown: d.shape === null,
      dtype: dtypeToWire(d.dtype) as ParameterInfo extends { spec?: infer S } ? S extends { dtype?: infer T } ? T : never : never,
      gradReq: wireGradReq(d.gradReq) as never,
      init: initToWire(d.init) as never,
      allowDeferredInit: d.allowDeferredInit,
      differentiable: d.differentiable,
      stype: wireStype(d.stype) as never,
      gradStype: wireStype(d.gradStype) as never,
      lrMult: d.lrMult,
      wdMult: d.wdMult,
    },
    initialized: d.initialized,
    deferred: d.deferred,
    ctx: d.ctx.map(contextToWire),
    version: Number(d.version),
    isConstant: d.isConstant,
  };
}

/** Shape and dtype of an upload's header, checked (the byte length is checked by the store). */
export function headerShape(who: string, h: TensorHeader__Output): { shape: number[]; dtype: DType } {
  const dtype = dtypeFromWire(who, h.dtype);
  for (const d of h.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalid(`${who}: tensor shape dims must be integers >= 0, got [${h.shape.join(',')}]`);
  }
  return { shape: [...h.shape], dtype };
}
