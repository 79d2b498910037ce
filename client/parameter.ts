// A handle on one server-side Parameter or Constant, with Gluon's method names in camelCase.
// A handle holds only the name and the connection: every method is one RPC, so handles are
// cheap, never stale, and any number of them (from parameter(), constant() or get()) may point
// at the same parameter. Read results are copies the caller owns.
import type { ListCtxResponse__Output } from '../protos/generated/gluonps/v1/ListCtxResponse';
import type { ParameterInfo__Output } from '../protos/generated/gluonps/v1/ParameterInfo';
import type { TensorHeader__Output } from '../protos/generated/gluonps/v1/TensorHeader';
import type { VarResponse__Output } from '../protos/generated/gluonps/v1/VarResponse';
import {
  checkDeclaredShape,
  checkKeys,
  checkSeed,
  contextFromProto,
  contextsToProto,
  contextToProto,
  describeFromProto,
  dtypeFromProto,
  dtypeToProto,
  initToProto,
  rowIdsToProto,
  type Context,
  type ParameterDescriptor,
} from './convert';
import { GluonPsError, invalidArgument, Status } from './errors';
import type { InitName, InitSpec } from './init';
import type { Channel, Pulled } from './channel';
import { tensorBytes, tensorFromBytes, toTensor, type DType, type Tensor, type TensorInput } from './tensor';

/** Arguments of initialize(), Gluon's initialize(init, ctx, default_init, force_reinit). */
export interface InitializeOptions {
  /** Initializer for this call; it wins over the parameter's own init (from its spec), as in Gluon. */
  init?: InitSpec | InitName | null;
  /** Context(s) to create copies on; default [cpu(0)]. */
  ctx?: Context | readonly Context[] | null;
  /** Used when neither the spec nor `init` names one; default uniform(0.07). */
  defaultInit?: InitSpec | InitName | null;
  /** Re-initialize an initialized parameter (otherwise the call changes nothing). */
  forceReinit?: boolean;
  /** Structural name (e.g. "0.weight") passed to the initializer as metadata. */
  structuralName?: string;
  /** Seed of the random initializers, an integer in [0, 2^53); random when omitted. */
  seed?: number | null;
}

const INITIALIZE_KEYS = ['init', 'ctx', 'defaultInit', 'forceReinit', 'structuralName', 'seed'];

/**
 * A tensor read from the server. `version` (the parameter's version the bytes were read at)
 * and `ctx` (the copy they came from) are non-enumerable, so the object still compares equal
 * to a plain `{ shape, dtype, data }` in deep-equality checks.
 */
export type ReadTensor = Tensor & { readonly version: number; readonly ctx: Context };

/** Rows of a row_sparse parameter: sorted unique `indices`, one row of `values` each. */
export interface RowSparseTensor {
  indices: BigInt64Array;
  /** Shape [indices.length, ...the parameter's shape without its first dim]. */
  values: Tensor;
  /** The parameter's version the rows were read at. */
  version: number;
  /** The copy the rows came from. */
  ctx: Context;
}

/** The symbol variable Gluon's var() would build. */
export interface SymbolVar {
  name: string;
  /** __shape__, __dtype__, __lr_mult__, __wd_mult__, __init__, __storage_type__ as MXNet writes them. */
  attrs: Record<string, string>;
}

/** A received tensor as the user sees it (exported for unit tests). */
export function readTensor(pulled: Pulled): ReadTensor {
  const h = pulled.header;
  const tensor = tensorFromBytes(h.shape, dtypeFromProto(h.dtype), pulled.data);
  const ctx = contextFromProto(h.ctx ?? { deviceType: 'DEVICE_TYPE_CPU', deviceId: 0 });
  Object.defineProperties(tensor, {
    version: { value: h.version, enumerable: false },
    ctx: { value: ctx, enumerable: false },
  });
  return tensor as ReadTensor;
}

/** Received rows of a row_sparse parameter (exported for unit tests). */
export function readRows(pulled: Pulled): RowSparseTensor {
  const h: TensorHeader__Output = pulled.header;
  const values = tensorFromBytes(h.shape, dtypeFromProto(h.dtype), pulled.data);
  if (h.shape[0] !== h.rowIds.length) {
    throw new GluonPsError(
      Status.INTERNAL,
      `the server sent ${h.rowIds.length} row ids for ${h.shape[0] ?? 0} rows of values`,
    );
  }
  return {
    indices: BigInt64Array.from(h.rowIds, (id) => BigInt(id)),
    values,
    version: h.version,
    ctx: contextFromProto(h.ctx ?? { deviceType: 'DEVICE_TYPE_CPU', deviceId: 0 }),
  };
}

export class Parameter {
  readonly #ch: Channel;

  /** @internal Handles come from ParameterServerClient.parameter / constant / get. */
  constructor(
    channel: Channel,
    readonly name: string,
  ) {
    this.#ch = channel;
  }

  private get who(): string {
    return `parameter '${this.name}'`;
  }

  /**
   * Creates the copies on `ctx` (default [cpu(0)]) from the first initializer of: `init`,
   * the spec's init, `defaultInit`, uniform(0.07). With an unknown shape and allowDeferredInit it
   * defers until setShape() or setData() fills the shape. On an initialized parameter without
   * forceReinit it changes nothing. Resolves with the new description.
   */
  async initialize(options: InitializeOptions = {}): Promise<ParameterDescriptor> {
    const who = this.who;
    if (typeof options !== 'object' || options === null)
      throw invalidArgument(`${who}: initialize() options must be an object`);
    checkKeys(`${who}: initialize()`, options, INITIALIZE_KEYS);
    const request = {
      name: this.name,
      ctx: contextsToProto(who, options.ctx),
      init: options.init === undefined || options.init === null ? null : initToProto(who, options.init),
      defaultInit:
        options.defaultInit === undefined || options.defaultInit === null
          ? null
          : initToProto(who, options.defaultInit),
      forceReinit: options.forceReinit ?? false,
      structuralName: options.structuralName ?? '',
      ...(options.seed === undefined || options.seed === null ? {} : { seed: checkSeed(who, options.seed) }),
    };
    if (typeof request.forceReinit !== 'boolean') throw invalidArgument(`${who}: forceReinit must be a boolean`);
    if (typeof request.structuralName !== 'string') throw invalidArgument(`${who}: structuralName must be a string`);
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.initialize(request, md, o, cb),
    );
    return describeFromProto(info);
  }

  /** A copy of the data on `ctx` (default: the only copy, or cpu(0) when there are several). */
  async data(ctx?: Context): Promise<ReadTensor> {
    const request = { name: this.name, ctx: ctx === undefined ? null : contextToProto(this.who, ctx) };
    return readTensor(await this.#ch.pull((md, o) => this.#ch.parameters.data(request, md, o), { name: this.name }));
  }

  /** A copy of the data of every context, in context order. */
  async listData(): Promise<ReadTensor[]> {
    const pulled = await this.#ch.pullAll(this.name, (md, o) =>
      this.#ch.parameters.listData({ name: this.name }, md, o),
    );
    return pulled.map(readTensor);
  }

  /** A copy of the gradient on `ctx` (same default as data()). */
  async grad(ctx?: Context): Promise<ReadTensor> {
    const request = { name: this.name, ctx: ctx === undefined ? null : contextToProto(this.who, ctx) };
    return readTensor(await this.#ch.pull((md, o) => this.#ch.parameters.grad(request, md, o), { name: this.name }));
  }

  /** A copy of the gradient of every context, in context order. */
  async listGrad(): Promise<ReadTensor[]> {
    const pulled = await this.#ch.pullAll(this.name, (md, o) =>
      this.#ch.parameters.listGrad({ name: this.name }, md, o),
    );
    return pulled.map(readTensor);
  }

  /** The contexts of the copies, or the pending ones while initialization is deferred. */
  async listCtx(): Promise<Context[]> {
    const reply = await this.#ch.unary<ListCtxResponse__Output>((md, o, cb) =>
      this.#ch.parameters.listCtx({ name: this.name }, md, o, cb),
    );
    return reply.ctx.map(contextFromProto);
  }

  /** Moves the copies to `ctx` (their mean, fresh zero gradients), or replaces a deferred init's contexts. */
  async resetCtx(ctx: Context | readonly Context[]): Promise<ParameterDescriptor> {
    const request = { name: this.name, ctx: contextsToProto(this.who, ctx) };
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.resetCtx(request, md, o, cb),
    );
    return describeFromProto(info);
  }

  /**
   * Writes `value` into every copy (or completes a deferred initialization with it); the server
   * converts it to the parameter's dtype. A Tensor or typed array travels as its own dtype;
   * nested numbers travel as float64, so every JS number the parameter's dtype can hold arrives
   * exactly (float32 would round integers above 2^24). The value's buffer is sent in place:
   * do not modify it until the promise settles.
   */
  async setData(value: TensorInput): Promise<ParameterDescriptor> {
    const tensor = toTensor(value, { who: `${this.who}: setData value`, nestedDType: 'float64' });
    const bytes = tensorBytes(tensor);
    const header = { shape: tensor.shape, dtype: dtypeToProto(this.who, tensor.dtype), byteLength: bytes.byteLength };
    const info = await this.#ch.pushTensor<ParameterInfo__Output>(this.name, header, bytes, (md, o, cb) =>
      this.#ch.parameters.setData(md, o, cb),
    );
    return describeFromProto(info);
  }

  /** Rows `rowIds` (any order, duplicates allowed; returned sorted and unique) of a row_sparse parameter on `ctx`. */
  async rowSparseData(rowIds: ArrayLike<number | bigint>, ctx?: Context): Promise<RowSparseTensor> {
    const request = {
      name: this.name,
      rowIds: rowIdsToProto(this.who, rowIds),
      ctx: ctx === undefined ? null : contextToProto(this.who, ctx),
    };
    return readRows(
      await this.#ch.pull((md, o) => this.#ch.parameters.rowSparseData(request, md, o), { name: this.name }),
    );
  }

  /** The same rows from every copy, in context order. */
  async listRowSparseData(rowIds: ArrayLike<number | bigint>): Promise<RowSparseTensor[]> {
    const request = { name: this.name, rowIds: rowIdsToProto(this.who, rowIds) };
    const pulled = await this.#ch.pullAll(this.name, (md, o) => this.#ch.parameters.listRowSparseData(request, md, o));
    return pulled.map(readRows);
  }

  /** Sets every gradient copy to zero; a no-op without gradients (uninitialized, gradReq 'null'). */
  async zeroGrad(): Promise<ParameterDescriptor> {
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.zeroGrad({ name: this.name }, md, o, cb),
    );
    return describeFromProto(info);
  }

  /** Converts data and gradients to `dtype` (Gluon's cast() and dtype setter). */
  async cast(dtype: DType): Promise<ParameterDescriptor> {
    const request = { name: this.name, dtype: dtypeToProto(this.who, dtype) };
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.cast(request, md, o, cb),
    );
    return describeFromProto(info);
  }

  /** The symbol variable: name and MXNet's attributes. */
  async var(): Promise<SymbolVar> {
    const reply = await this.#ch.unary<VarResponse__Output>((md, o, cb) =>
      this.#ch.parameters.var({ name: this.name }, md, o, cb),
    );
    return { name: reply.name, attrs: { ...reply.attrs } };
  }

  /** Spec, state, contexts and version. */
  async describe(): Promise<ParameterDescriptor> {
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.describe({ name: this.name }, md, o, cb),
    );
    return describeFromProto(info);
  }

  /** Fills unknown dims (known ones must match); may complete a deferred initialization. */
  async setShape(shape: number | readonly number[]): Promise<ParameterDescriptor> {
    const request = { name: this.name, shape: checkDeclaredShape(this.who, shape) };
    const info = await this.#ch.unary<ParameterInfo__Output>((md, o, cb) =>
      this.#ch.parameters.setShape(request, md, o, cb),
    );
    return describeFromProto(info);
  }

  toString(): string {
    return `Parameter(${this.name})`;
  }
}
