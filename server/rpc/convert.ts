// convert.ts: translation between wire messages (gluonps.v1, as proto-loader decodes them) and
// the store's types. Pure functions; every malformed field becomes INVALID_ARGUMENT naming it.
import type { DType, Device } from '../../native/index';
import { invalid } from '../errors';
import type { Descriptor } from '../store/parameter-store';
import type { InitSpec, ParameterSpecInput, PartSpec } from '../store/spec';
import type { ParameterPart__Output } from '../../protos/generated/gluonps/v1/ParameterPart';
import {
  DEVICE_TYPE_CODEC,
  DTYPE_CODEC,
  GRAD_REQ_CODEC,
  INIT_KIND_CODEC,
  STORAGE_TYPE_CODEC,
  type EnumCodec,
} from '../../common/proto-enums';
import type { Context, Context__Output } from '../../protos/generated/gluonps/v1/Context';
import type { Initializer__Output } from '../../protos/generated/gluonps/v1/Initializer';
import type { ParameterInfo } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { ParameterSpec__Output } from '../../protos/generated/gluonps/v1/ParameterSpec';
import type { TensorHeader__Output } from '../../protos/generated/gluonps/v1/TensorHeader';

/**
 * A received enum value through its shared codec: UNSPECIFIED gives `fallback` (undefined:
 * "not set", which the store fills with its default), anything unknown is INVALID_ARGUMENT.
 */
function enumFromWire<T extends string, P extends string>(
  who: string,
  codec: EnumCodec<T, P>,
  value: unknown,
  fallback?: T,
  field = codec.what,
): T | undefined {
  if (codec.isUnspecified(value)) return fallback;
  const v = codec.fromProto(value);
  if (v === undefined)
    throw invalid(`${who}: unknown ${field} ${JSON.stringify(value)}, expected one of ${codec.protoNames.join(', ')}`);
  return v;
}

/** A wire dtype; UNSPECIFIED gives `fallback` (or is an error when there is none). */
export function dtypeFromWire(who: string, value: unknown, fallback?: DType): DType {
  const d = enumFromWire(who, DTYPE_CODEC, value, fallback);
  if (d === undefined)
    throw invalid(
      `${who}: unknown dtype ${JSON.stringify(value)}, expected one of ${DTYPE_CODEC.protoNames.join(', ')}`,
    );
  return d;
}

export function contextFromWire(who: string, c: Context__Output | null | undefined): Device | null {
  if (c === null || c === undefined) return null;
  const type = enumFromWire(who, DEVICE_TYPE_CODEC, c.deviceType, 'cpu')!;
  return { type, id: c.deviceId };
}
export function contextsFromWire(who: string, list: Context__Output[]): Device[] | null {
  return list.length === 0 ? null : list.map((c) => contextFromWire(who, c)!);
}
export function contextToWire(d: Device): Context {
  return { deviceType: DEVICE_TYPE_CODEC.toProto(d.type), deviceId: d.id };
}

const orUndefined = <T extends string>(s: string): T | undefined => (s === '' ? undefined : (s as T));

/** A wire initializer, or null when absent or UNSPECIFIED (Gluon's init=None). */
export function initFromWire(who: string, m: Initializer__Output | null | undefined): InitSpec | null {
  if (m === null || m === undefined) return null;
  const kind = enumFromWire(who, INIT_KIND_CODEC, m.kind);
  switch (kind) {
    case undefined:
      return null;
    case 'uniform':
      return { kind, scale: m.scale };
    case 'normal':
      return { kind, sigma: m.sigma };
    case 'xavier':
      return { kind, rndType: orUndefined(m.rndType), factorType: orUndefined(m.factorType), magnitude: m.magnitude };
    case 'msraprelu':
      return { kind, factorType: orUndefined(m.factorType), slope: m.slope };
    case 'orthogonal':
      return { kind, scale: m.scale, randType: orUndefined(m.randType) };
    case 'constant': {
      if (m.values.length > 0) return { kind, value: m.values.length === 1 ? m.values[0]! : [...m.values] };
      if (m.value === undefined) throw invalid(`${who}: constant initializer needs value or values`);
      return { kind, value: m.value };
    }
    default:
      return { kind };
  }
}

export function initToWire(init: InitSpec | null): Initializer__Output | null {
  if (init === null) return null;
  const base: Initializer__Output = {
    kind: INIT_KIND_CODEC.toProto(init.kind),
    rndType: '',
    factorType: '',
    randType: '',
    values: [],
  };
  switch (init.kind) {
    case 'uniform':
      return { ...base, scale: init.scale };
    case 'normal':
      return { ...base, sigma: init.sigma };
    case 'xavier':
      return { ...base, rndType: init.rndType ?? '', factorType: init.factorType ?? '', magnitude: init.magnitude };
    case 'msraprelu':
      return { ...base, factorType: init.factorType ?? '', slope: init.slope };
    case 'orthogonal':
      return { ...base, scale: init.scale, randType: init.randType ?? '' };
    case 'constant':
      return Array.isArray(init.value) ? { ...base, values: init.value } : { ...base, value: init.value };
    default:
      return base;
  }
}

export function specFromWire(m: ParameterSpec__Output | null): ParameterSpecInput {
  if (m === null) throw invalid('declare: the request has no spec');
  const who = `parameter '${m.name}'`;
  return {
    name: m.name,
    shape: m.shapeUnknown ? null : m.shape,
    dtype: dtypeFromWire(who, m.dtype, 'float32'),
    gradReq: enumFromWire(who, GRAD_REQ_CODEC, m.gradReq),
    init: initFromWire(who, m.init),
    allowDeferredInit: m.allowDeferredInit,
    differentiable: m.differentiable,
    stype: enumFromWire(who, STORAGE_TYPE_CODEC, m.stype, undefined, 'stype'),
    gradStype: enumFromWire(who, STORAGE_TYPE_CODEC, m.gradStype, undefined, 'grad_stype'),
    lrMult: m.lrMult,
    wdMult: m.wdMult,
    part: partFromWire(m.part) ?? undefined,
  };
}

/** A wire ParameterPart (absent: a whole parameter). */
export function partFromWire(m: ParameterPart__Output | null | undefined): PartSpec | null {
  if (m === null || m === undefined) return null;
  return { fullShape: [...m.fullShape], rowStart: m.rowStart, rowStep: m.rowStep, parts: m.parts };
}

export function infoToWire(d: Descriptor): ParameterInfo {
  return {
    spec: {
      name: d.name,
      shape: d.shape ?? [],
      shapeUnknown: d.shape === null,
      dtype: DTYPE_CODEC.toProto(d.dtype),
      gradReq: GRAD_REQ_CODEC.toProto(d.gradReq),
      init: initToWire(d.init),
      allowDeferredInit: d.allowDeferredInit,
      differentiable: d.differentiable,
      stype: STORAGE_TYPE_CODEC.toProto(d.stype),
      gradStype: STORAGE_TYPE_CODEC.toProto(d.gradStype),
      lrMult: d.lrMult,
      wdMult: d.wdMult,
      part: d.part
        ? { fullShape: d.part.fullShape, rowStart: d.part.rowStart, rowStep: d.part.rowStep, parts: d.part.parts }
        : null,
    },
    initialized: d.initialized,
    deferred: d.deferred,
    ctx: d.ctx.map(contextToWire),
    version: Number(d.version),
    isConstant: d.isConstant,
    order: d.order,
  };
}

/** Shape and dtype of an upload's header, checked (the byte length is checked by the store). */
export function headerShape(who: string, h: TensorHeader__Output): { shape: number[]; dtype: DType } {
  const dtype = dtypeFromWire(who, h.dtype);
  for (const d of h.shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw invalid(`${who}: tensor shape dims must be integers >= 0, got [${h.shape.join(',')}]`);
  }
  return { shape: [...h.shape], dtype };
}
