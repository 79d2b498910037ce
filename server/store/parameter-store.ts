// parameter-store.ts: every parameter and constant the server holds, with MXNet Gluon's
// Parameter semantics (MXNet python/mxnet/gluon/parameter.py; docs/semantics.md) and this server's deliberate
// differences: data() returns a copy, row_sparse_data needs no Trainer, row ids are
// deduplicated, sorted and range-checked. Each parameter's operations run under its own lock;
// a write builds its new tensors completely before swapping them in, so a failure changes nothing.
import * as nk from '../../native/index';
import type { DType, Device, DeviceTensor } from '../../native/index';
import { exists, fmtShape, invalid, notFound, precondition, subject } from '../errors';
import { disposeAll, materialize } from './materialize';
import { setDataLocked } from './set-data';
import { NO_JOURNAL } from '../durability/journal';
import type { Journal, JournalMeta, JournalPayload } from '../durability/journal';
import { checkContexts, checkSize, checkTensorHeader, fromKernel } from './checks';
import { DEFAULT_MAX_CPU_CONTEXTS, DEFAULT_MAX_TENSOR_BYTES } from './defaults';
import { RwGate } from './gate';
import { StoreAccounting } from './accounting';
import { Mutex } from './mutex';
import { meanInto } from './reduce';
import { symbolOf } from './symbol';
import {
  gather,
  checkRowIds,
  describeEntry,
  pick,
  requireGrad,
  requireInitialized,
  requireStype,
  snapshot,
} from './reads';
import { pin, writable } from './views';
import {
  buildSpec,
  checkInit,
  checkName,
  mergeShape,
  normalizeShape,
  sameSpec,
  shapeIsKnown,
  specDifference,
  stableStringify,
} from './spec';
import type { InitSpec, ParameterSpec, ParameterSpecInput, PartSpec } from './spec';
import { DeclarationClock, type OrderRequest } from './order';
import type {
  Descriptor,
  HostTensor,
  InitializeOptions,
  ParameterEntry,
  RowSparseSnapshot,
  StoreOptions,
  TensorSnapshot,
} from './types';

export type {
  Descriptor,
  HostTensor,
  InitializeOptions,
  ParameterEntry,
  RowSparseSnapshot,
  StoreOptions,
  TensorSnapshot,
} from './types';

/** Appends a journal record from inside a mutation (see ParameterStore.commit). */
type Log = (meta: JournalMeta, payload?: JournalPayload) => void;

function randomSeed(): bigint {
  const b = new BigUint64Array(1);
  crypto.getRandomValues(b);
  return b[0]!;
}

export class ParameterStore {
  readonly maxTensorBytes: number;
  readonly maxCpuContexts: number;
  /** Off while recovering: a data dir holding more than today's limits still starts. */
  limitsEnforced = true;
  /** Counts, declared bytes and constants' heap copies against their limits. */
  readonly accounting: StoreAccounting;
  private readonly entries = new Map<string, ParameterEntry>();
  private readonly onEvent: NonNullable<StoreOptions['onEvent']>;
  private readonly deviceRefusal: NonNullable<StoreOptions['deviceRefusal']>;
  /** Where acknowledged mutations are recorded (durability); NO_JOURNAL when not durable or replaying. */
  journal: Journal = NO_JOURNAL;
  /** Shared by every mutation; a checkpoint holds it exclusively (see gate.ts). */
  readonly gate = new RwGate();
  /** Each new entry's place in the declaration order (order.ts). */
  readonly #clock = new DeclarationClock();

  constructor(options: StoreOptions = {}) {
    this.maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
    this.maxCpuContexts = options.maxCpuContexts ?? DEFAULT_MAX_CPU_CONTEXTS;
    this.accounting = new StoreAccounting(options);
    this.onEvent = options.onEvent ?? (() => undefined);
    this.deviceRefusal = options.deviceRefusal ?? (() => null);
  }

  // --- Declaration and lookup ----------------------------------------------------------------

  /**
   * Declares a parameter. The entry exists as soon as this returns (before the promise settles).
   * `order`: where a new one stands in the declaration order (order.ts).
   */
  async declare(input: ParameterSpecInput, order: OrderRequest = {}): Promise<Descriptor> {
    const spec = buildSpec(input);
    const existing = this.entries.get(spec.name);
    if (existing) {
      if (existing.isConstant) throw exists(`${subject(spec.name)}: the name is already a constant`);
      if (!sameSpec(existing.declared, spec))
        throw exists(
          `${subject(spec.name)} already exists with a different spec: ${specDifference(existing.declared, spec)}`,
        );
      return describeEntry(existing);
    }
    const entry = this.newEntry(spec, false, null, order);
    await this.journal.append({ op: 'declare', spec: input, order: entry.order });
    return describeEntry(entry);
  }

  /**
   * Gluon Constant: grad_req 'null', initialized from its value, immutable to trainers. `part`:
   * on a shard, the value is that part of a split constant.
   */
  async declareConstant(
    nameInput: string,
    value: HostTensor,
    part: PartSpec | null = null,
    order: OrderRequest = {},
  ): Promise<Descriptor> {
    const name = checkName(nameInput);
    const who = subject(name, true);
    this.checkHostTensor(who, value);
    if (value.shape.some((d) => d === 0)) {
      throw invalid(
        `${who}: value shape ${fmtShape(value.shape)} has a zero-size dim, which parameters treat as unknown`,
      );
    }
    const existing = this.entries.get(name);
    if (existing) {
      if (!existing.isConstant) throw exists(`${who}: the name is already a (non-constant) parameter`);
      const prev = existing.constantValue!;
      const same =
        prev.dtype === value.dtype &&
        stableStringify(prev.shape) === stableStringify(value.shape) &&
        stableStringify(existing.declared.part ?? null) === stableStringify(part) &&
        Buffer.compare(prev.bytes, value.bytes) === 0;
      // A shard holding a part names the whole constant's shape, as one server would.
      const shape = existing.declared.part?.fullShape ?? prev.shape;
      if (!same) throw exists(`${who} already exists with a different value (${prev.dtype} ${fmtShape(shape)})`);
      return describeEntry(existing);
    }
    const spec = buildSpec({ name, shape: value.shape, dtype: value.dtype, gradReq: 'null', part: part ?? undefined });
    // The constant keeps its value in the heap (for checkpoints and initialize): it counts
    // against the memory budget for as long as the constant exists (accounting.ts).
    const entry = this.newEntry(
      spec,
      true,
      { dtype: value.dtype, shape: [...value.shape], bytes: Uint8Array.from(value.bytes) },
      order,
    );
    await this.journal.append(
      {
        op: 'declareConstant',
        name,
        dtype: value.dtype,
        shape: value.shape,
        ...(part ? { part } : {}),
        order: entry.order,
      },
      value.bytes,
    );
    return describeEntry(entry);
  }

  private newEntry(
    spec: ParameterSpec,
    isConstant: boolean,
    constantValue: HostTensor | null,
    order: OrderRequest,
  ): ParameterEntry {
    // The limits are checked (and the entry counted) before anything else.
    this.accounting.add(
      subject(spec.name, isConstant),
      spec.name,
      { isConstant, dtype: spec.dtype, shape: spec.shape, valueBytes: constantValue?.bytes.byteLength },
      this.limitsEnforced,
    );
    const entry: ParameterEntry = {
      declared: spec,
      spec: { ...spec, shape: spec.shape === null ? null : [...spec.shape] },
      isConstant,
      constantValue,
      ctx: null,
      data: null,
      grad: null,
      deferred: null,
      version: 0n,
      order: this.#clock.next(order),
      lock: new Mutex(),
    };
    this.entries.set(spec.name, entry);
    return entry;
  }

  /** The highest declaration order assigned so far (AdminService.DescribeShard). */
  get declareClock(): number {
    return this.#clock.last;
  }

  /** Every entry in declaration order (checkpoints; hold the gate exclusively). */
  entriesInOrder(): ParameterEntry[] {
    return [...this.entries.values()];
  }

  /** Takes a restored entry (recovery, before the server serves). */
  adopt(entry: ParameterEntry): void {
    const name = entry.declared.name;
    const old = this.entries.get(name);
    disposeAll(old?.data ?? null);
    disposeAll(old?.grad ?? null);
    if (old) this.accounting.remove(name, old.isConstant);
    entry.order = this.#clock.adopt(entry.order);
    // Acknowledged state: counted, never refused.
    const { isConstant, spec, constantValue } = entry;
    this.accounting.add(
      subject(name, isConstant),
      name,
      { isConstant, dtype: spec.dtype, shape: spec.shape, valueBytes: constantValue?.bytes.byteLength },
      false,
    );
    this.entries.set(name, entry);
  }

  /** Drops every entry (recovery falling back from a bad checkpoint, before serving). */
  clear(): void {
    for (const e of this.entries.values()) {
      disposeAll(e.data);
      disposeAll(e.grad);
    }
    this.entries.clear();
    this.accounting.clear();
    this.#clock.reset();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry, or NOT_FOUND. The trainer and checkpoints use this with `entry.lock`. */
  entry(name: string): ParameterEntry {
    const e = this.entries.get(name);
    if (!e) throw notFound(`parameter '${name}' does not exist`);
    return e;
  }

  describe(name: string): Descriptor {
    return describeEntry(this.entry(name));
  }

  list(): Descriptor[] {
    return [...this.entries.values()].map((e) => describeEntry(e));
  }

  /**
   * Runs a mutation of `e` under the shared gate and e's lock; `log` appends its journal record
   * in the order mutations were applied, and the caller is answered once that record is durable.
   */
  private async commit<T>(e: ParameterEntry, fn: (log: Log) => Promise<T> | T): Promise<T> {
    let durable: Promise<void> = Promise.resolve();
    const result = await this.gate.shared(() =>
      e.lock.run(() => fn((meta, payload) => (durable = this.journal.append(meta, payload)))),
    );
    await durable;
    return result;
  }

  // --- Initialization ------------------------------------------------------------------------

  async initialize(name: string, options: InitializeOptions = {}): Promise<Descriptor> {
    const e = this.entry(name);
    return this.commit(e, async (log) => {
      const who = subject(name, e.isConstant);
      const ctx = this.checkContexts(who, options.ctx ?? null);
      if (options.init) checkInit(who, options.init);
      if (options.defaultInit) checkInit(who, options.defaultInit);
      const seed =
        options.seed === undefined || options.seed === null ? randomSeed() : BigInt.asUintN(64, BigInt(options.seed));
      if (e.data !== null && !options.forceReinit) {
        this.onEvent('initialize ignored', {
          param: name,
          reason: 'already initialized; set forceReinit to re-initialize',
        });
        return describeEntry(e);
      }
      const init: InitSpec = options.init ?? e.spec.init ?? options.defaultInit ?? { kind: 'uniform' };
      if (!shapeIsKnown(e.spec.shape)) {
        if (!e.spec.allowDeferredInit) {
          throw precondition(
            `${who}: cannot initialize because its shape ${fmtShape(e.spec.shape)} is not fully known and allow_deferred_init is false`,
          );
        }
        // As in MXNet, a new initialize() replaces the pending one.
        e.deferred = { init, ctx, seed };
        log({ op: 'initialize', name, init, ctx, forceReinit: options.forceReinit === true, seed: seed.toString() });
        return describeEntry(e);
      }
      await materialize(e, this.maxTensorBytes, init, ctx, seed, null);
      log({ op: 'initialize', name, init, ctx, forceReinit: options.forceReinit === true, seed: seed.toString() });
      return describeEntry(e);
    });
  }

  // --- Reads ---------------------------------------------------------------------------------

  async data(name: string, ctx?: Device | null): Promise<TensorSnapshot> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireStype(e, 'default');
      const i = pick(e, ctx ?? null);
      return snapshot(e, e.data![i]!, e.ctx![i]!);
    });
  }

  async listData(name: string): Promise<TensorSnapshot[]> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireStype(e, 'default');
      requireInitialized(e);
      const out: TensorSnapshot[] = [];
      for (let i = 0; i < e.data!.length; i++) out.push(await snapshot(e, e.data![i]!, e.ctx![i]!));
      return out;
    });
  }

  async grad(name: string, ctx?: Device | null): Promise<TensorSnapshot> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireGrad(e);
      const i = pick(e, ctx ?? null);
      return snapshot(e, e.grad![i]!, e.ctx![i]!);
    });
  }

  async listGrad(name: string): Promise<TensorSnapshot[]> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireGrad(e);
      const out: TensorSnapshot[] = [];
      for (let i = 0; i < e.grad!.length; i++) out.push(await snapshot(e, e.grad![i]!, e.ctx![i]!));
      return out;
    });
  }

  async listCtx(name: string): Promise<Device[]> {
    const e = this.entry(name);
    return e.lock.run(() => {
      if (e.ctx) return [...e.ctx];
      if (e.deferred) return [...e.deferred.ctx];
      throw precondition(`${subject(name, e.isConstant)} has not been initialized`);
    });
  }

  /** Rows of a row_sparse parameter: ids deduplicated and sorted; out-of-range ids rejected. */
  async rowSparseData(
    name: string,
    rowIds: ArrayLike<number | bigint>,
    ctx?: Device | null,
  ): Promise<RowSparseSnapshot> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireStype(e, 'row_sparse');
      const i = pick(e, ctx ?? null);
      return gather(e, i, checkRowIds(e, rowIds));
    });
  }

  async listRowSparseData(name: string, rowIds: ArrayLike<number | bigint>): Promise<RowSparseSnapshot[]> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      requireStype(e, 'row_sparse');
      requireInitialized(e);
      const ids = checkRowIds(e, rowIds);
      const out: RowSparseSnapshot[] = [];
      for (let i = 0; i < e.data!.length; i++) out.push(await gather(e, i, ids));
      return out;
    });
  }

  // --- Writes --------------------------------------------------------------------------------

  /**
   * A tensor for an upload to land in directly (one copy less for set_data): uninitialized
   * memory on the first context, when the parameter is initialized there on the host with this
   * dtype and shape; else null (the upload goes through a plain buffer).
   */
  stageUpload(name: string, dtype: DType, shape: readonly number[]): DeviceTensor | null {
    const e = this.entries.get(name);
    if (!e || e.data === null || e.spec.dtype !== dtype || e.ctx![0]!.type !== 'cpu') return null;
    if ((e.spec.shape as number[]).join(',') !== shape.join(',')) return null;
    try {
      return nk.emptyUninitialized(e.ctx![0]!, dtype, shape);
    } catch {
      return null; // e.g. over the memory budget: the plain path reports it properly
    }
  }

  /**
   * Sets the value on every context (or completes a pending deferred init). `staged`, from
   * stageUpload, already holds the bytes on the first context and is adopted when it still fits;
   * the caller must not use it afterwards.
   */
  async setData(name: string, value: HostTensor, staged: DeviceTensor | null = null): Promise<Descriptor> {
    let adopted = false;
    let unpin = (): void => undefined;
    try {
      const e = this.entry(name);
      return await this.commit(e, (log) =>
        setDataLocked(e, value, staged, {
          maxTensorBytes: this.maxTensorBytes,
          recovering: !this.limitsEnforced,
          recount: (dtype, shape) => this.recount(subject(name, e.isConstant), e, dtype, shape),
          log,
          adopt: (t) => {
            adopted = true;
            unpin = pin(t); // the log may still be writing the bytes: in-place writers copy first
          },
        }),
      );
    } finally {
      if (!adopted) staged?.dispose();
      // commit() resolved after the record was durable (or failed): the bytes may change now.
      unpin();
    }
  }

  async zeroGrad(name: string): Promise<Descriptor> {
    const e = this.entry(name);
    return e.lock.run(async () => {
      const grads = e.grad ?? [];
      for (let i = 0; i < grads.length; i++) {
        // A read still viewing the gradient gets to keep it; the parameter gets fresh zeros.
        await nk.fill(await writable(grads, i, false), 0);
      }
      return describeEntry(e);
    });
  }

  /** Casts data and gradients (values kept, converted) to a new dtype; the dtype setter. */
  async cast(name: string, dtype: DType): Promise<Descriptor> {
    const e = this.entry(name);
    return this.commit(e, async (log) => {
      const who = subject(name, e.isConstant);
      if (!nk.isDType(dtype))
        throw invalid(`${who}: unknown dtype ${JSON.stringify(dtype)}, expected one of ${nk.DTYPES.join(', ')}`);
      if (dtype === e.spec.dtype) return describeEntry(e);
      if (e.data !== null) this.checkSize(who, dtype, e.spec.shape as number[]);
      const undo = this.recount(who, e, dtype, e.spec.shape);
      if (e.data === null) {
        e.spec.dtype = dtype;
        log({ op: 'cast', name, dtype });
        return describeEntry(e);
      }
      const data: DeviceTensor[] = [];
      const grad: DeviceTensor[] = [];
      try {
        for (const t of e.data) {
          const c = nk.empty(t.device, dtype, t.shape);
          data.push(c);
          await nk.cast(c, t);
        }
        for (const t of e.grad ?? []) {
          const c = nk.empty(t.device, dtype, t.shape);
          grad.push(c);
          await nk.cast(c, t);
        }
      } catch (err) {
        disposeAll(data);
        disposeAll(grad);
        undo();
        fromKernel(who, err);
      }
      disposeAll(e.data);
      disposeAll(e.grad);
      e.data = data;
      e.grad = e.grad === null ? null : grad;
      e.spec.dtype = dtype;
      e.version++;
      log({ op: 'cast', name, dtype });
      return describeEntry(e);
    });
  }

  /** Fills unknown dims (known dims never change); completes a pending deferred init. */
  async setShape(name: string, shapeInput: readonly number[]): Promise<Descriptor> {
    const e = this.entry(name);
    return this.commit(e, async (log) => {
      const who = subject(name, e.isConstant);
      const next = normalizeShape(who, shapeInput) as number[];
      // While recovering, what the log holds was accepted once (a row_sparse scalar, then possible).
      const merged = mergeShape(who, e.spec.shape, next, this.limitsEnforced ? e.spec.stype : 'default');
      const previous = e.spec.shape;
      // A shape that becomes fully known counts its bytes now (refused over the limit first).
      const undo = this.recount(who, e, e.spec.dtype, merged);
      e.spec.shape = merged;
      if (e.data === null && e.deferred !== null && shapeIsKnown(merged)) {
        try {
          const d = e.deferred;
          await materialize(e, this.maxTensorBytes, d.init, d.ctx, d.seed, null);
        } catch (err) {
          e.spec.shape = previous;
          undo();
          throw err;
        }
      }
      log({ op: 'setShape', name, shape: merged });
      return describeEntry(e);
    });
  }

  /** Re-assigns contexts: values are the mean of the current copies; grads start at zero. */
  async resetCtx(name: string, ctxInput: Device[]): Promise<Descriptor> {
    const e = this.entry(name);
    return this.commit(e, async (log) => {
      const who = subject(name, e.isConstant);
      const ctx = this.checkContexts(who, ctxInput);
      if (e.data === null) {
        if (e.deferred === null) throw precondition(`${who}: cannot reset context because it has not been initialized`);
        e.deferred.ctx = ctx;
        log({ op: 'resetCtx', name, ctx });
        return describeEntry(e);
      }
      const shape = e.spec.shape as number[];
      const created: DeviceTensor[] = [];
      const track = (t: DeviceTensor): DeviceTensor => {
        created.push(t);
        return t;
      };
      try {
        // _reduce(): the mean of every copy, on the first new context.
        const mean = track(nk.empty(ctx[0]!, e.spec.dtype, shape));
        if (e.data.length === 1) await nk.copy(mean, e.data[0]!);
        else await meanInto(mean, e.data, track);
        const data = [mean, ...ctx.slice(1).map((c) => track(nk.empty(c, e.spec.dtype, shape)))];
        for (const t of data.slice(1)) await nk.copy(t, mean);
        const grad = e.spec.gradReq === 'null' ? null : ctx.map((c) => track(nk.empty(c, e.spec.dtype, shape)));
        for (const t of created) if (!data.includes(t) && !(grad ?? []).includes(t)) t.dispose();
        disposeAll(e.data);
        disposeAll(e.grad);
        e.data = data;
        e.grad = grad;
        e.ctx = ctx;
        e.version++;
      } catch (err) {
        disposeAll(created);
        fromKernel(who, err);
      }
      log({ op: 'resetCtx', name, ctx });
      return describeEntry(e);
    });
  }

  /** MXNet's var(): the symbol variable's name and attributes. */
  var(name: string): { name: string; attrs: Record<string, string> } {
    const e = this.entry(name);
    return symbolOf(e.spec, e.isConstant);
  }

  // --- Checks --------------------------------------------------------------------------------

  /**
   * Counts e's declared bytes at `dtype` and `shape` before e changes to them (RESOURCE_EXHAUSTED
   * over --max-declared-bytes); the returned function counts the old ones again (a failed change).
   */
  private recount(who: string, e: ParameterEntry, dtype: DType, shape: readonly number[] | null): () => void {
    const { dtype: oldDtype, shape: oldShape } = e.spec;
    this.accounting.resize(who, e.spec.name, dtype, shape, this.limitsEnforced);
    return () => this.accounting.resize(who, e.spec.name, oldDtype, oldShape, false);
  }

  private checkContexts(who: string, ctx: Device[] | null): Device[] {
    return checkContexts(who, ctx, this.maxCpuContexts, this.deviceRefusal);
  }

  private checkSize(who: string, dtype: DType, shape: readonly number[]): void {
    checkSize(who, dtype, shape, this.maxTensorBytes);
  }

  /** Validates a received tensor: known dtype, shape limits, exact byte length, max bytes. */
  checkHostTensor(who: string, value: HostTensor): void {
    checkTensorHeader(who, value.dtype, value.shape, value.bytes.byteLength, this.maxTensorBytes);
  }

  /** The same checks from a header alone, before any byte is received or allocated. */
  checkTensorHeader(who: string, dtype: DType, shape: readonly number[], byteLength: number): void {
    checkTensorHeader(who, dtype, shape, byteLength, this.maxTensorBytes);
  }
}
