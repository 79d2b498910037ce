// A fast-check property test: random sequences of Parameter/Constant operations run against the
// real server (through the real client) and against a small in-memory model of the semantics
// (MXNet gluon/parameter.py, as docs/semantics.md states it), comparing every result and
// every error code. Shapes are tiny and values are multiples of 0.5 in float32/float64/int32,
// so every expected value is exact. The seed is fixed (deterministic CI); FC_SEED overrides it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { DType, GradReq, InitSpec, NestedNumbers, Parameter, ParameterServerClient } from '../../client/index';
import type { Harness } from './helpers';
import { startHarness } from './helpers';

// --- Operations -------------------------------------------------------------------------------

type Name = 'a' | 'b' | 'c' | 'd';
type MDType = Extract<DType, 'float32' | 'float64' | 'int32'>;
/** 'fit': the parameter's current shape with unknown dims filled (resolved just before running). */
type ShapeIntent = number[] | 'fit';
/** 'own': the parameter's last (or pending) context (resolved just before running). */
type CtxIntent = number | null | 'own';
type SimpleInit = { kind: 'zero' } | { kind: 'one' } | { kind: 'constant'; value: number };

type Op =
  | {
      op: 'declare';
      name: Name;
      shape: number[] | null;
      dtype: MDType;
      gradReq: GradReq;
      allowDeferredInit: boolean;
      init: SimpleInit | null;
    }
  | { op: 'constant'; name: Name; shape: number[]; values: number[] }
  | { op: 'initialize'; name: Name; init: SimpleInit | null; ctx: number[]; forceReinit: boolean }
  | { op: 'setData'; name: Name; shape: ShapeIntent; values: number[] }
  | { op: 'data'; name: Name; ctx: CtxIntent }
  | { op: 'listData'; name: Name }
  | { op: 'grad'; name: Name; ctx: CtxIntent }
  | { op: 'setShape'; name: Name; shape: ShapeIntent }
  | { op: 'cast'; name: Name; dtype: MDType }
  | { op: 'zeroGrad'; name: Name }
  | { op: 'resetCtx'; name: Name; ctx: number[] }
  | { op: 'listCtx'; name: Name }
  | { op: 'describe'; name: Name };

const nameArb = fc.constantFrom<Name>('a', 'b', 'c', 'd');
const dtypeArb = fc.constantFrom<MDType>('float32', 'float64', 'int32');
const initArb: fc.Arbitrary<SimpleInit> = fc.oneof(
  fc.constant<SimpleInit>({ kind: 'zero' }),
  fc.constant<SimpleInit>({ kind: 'one' }),
  fc.integer({ min: -6, max: 6 }).map((v): SimpleInit => ({ kind: 'constant', value: v / 2 })),
);
/** Known dims 1..3, rank 0..2. */
const knownShapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 });
/** Declared dims: 0 = unknown. */
const declShapeArb = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 });
/** Nine values, multiples of 0.5 in [-4, 4] (enough for any shape above); never -0. */
const valuesArb = fc.array(
  fc.integer({ min: -8, max: 8 }).map((v) => v / 2 + 0),
  { minLength: 9, maxLength: 9 },
);
/** Context ids, mostly valid (< 8), sometimes 9 (over the default limit); duplicates happen. */
const ctxIdArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constant(9) },
);
const ctxListArb = fc.array(ctxIdArb, { maxLength: 3 });
const ctxIntentArb: fc.Arbitrary<CtxIntent> = fc.oneof(
  ctxIdArb,
  fc.constant(null),
  fc.constant('own' as const),
  fc.constant('own' as const),
);

const declareArb = (name: fc.Arbitrary<Name>): fc.Arbitrary<Op> =>
  fc.record({
    op: fc.constant('declare' as const),
    name,
    shape: fc.oneof(
      { weight: 3, arbitrary: knownShapeArb },
      { weight: 2, arbitrary: declShapeArb },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    dtype: dtypeArb,
    gradReq: fc.constantFrom<GradReq>('write', 'add', 'null'),
    allowDeferredInit: fc.boolean(),
    init: fc.option(initArb, { nil: null }),
  });
const constantArb = (name: fc.Arbitrary<Name>): fc.Arbitrary<Op> =>
  fc.record({ op: fc.constant('constant' as const), name, shape: knownShapeArb, values: valuesArb });
const initializeArb = (name: fc.Arbitrary<Name>): fc.Arbitrary<Op> =>
  fc.record({
    op: fc.constant('initialize' as const),
    name,
    init: fc.option(initArb, { nil: null }),
    ctx: ctxListArb,
    forceReinit: fc.boolean(),
  });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: declareArb(nameArb) },
  { weight: 1, arbitrary: constantArb(nameArb) },
  { weight: 4, arbitrary: initializeArb(nameArb) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('setData' as const),
      name: nameArb,
      shape: fc.oneof(knownShapeArb, fc.constant('fit' as const)),
      values: valuesArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('data' as const), name: nameArb, ctx: ctxIntentArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('listData' as const), name: nameArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grad' as const), name: nameArb, ctx: ctxIntentArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setShape' as const),
      name: nameArb,
      shape: fc.oneof(declShapeArb, fc.constant('fit' as const)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cast' as const), name: nameArb, dtype: dtypeArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zeroGrad' as const), name: nameArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resetCtx' as const), name: nameArb, ctx: ctxListArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('listCtx' as const), name: nameArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('describe' as const), name: nameArb }) },
);

// --- The model --------------------------------------------------------------------------------

interface ModelParam {
  isConstant: boolean;
  /** The declaration as first made, for re-declaration checks. */
  declared: string;
  constValue: number[] | null;
  constShape: number[] | null;
  shape: number[] | null;
  dtype: MDType;
  gradReq: GradReq;
  allowDeferredInit: boolean;
  init: SimpleInit | null;
  initialized: boolean;
  deferred: { init: SimpleInit; ctx: number[] } | null;
  ctx: number[];
  value: number[] | null;
  version: number;
}

/** What a call should produce: an error code, or a result to compare. */
type Expected = { code: number } | { ok: true; result?: unknown };

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const known = (shape: number[] | null): shape is number[] => shape !== null && shape.every((d) => d > 0);
const convert = (dtype: MDType, v: number): number => (dtype === 'int32' ? Math.trunc(v) + 0 : v);
const fillOf = (init: SimpleInit): number => (init.kind === 'zero' ? 0 : init.kind === 'one' ? 1 : init.value);
/** Default init passed to every initialize(), so the resolved initializer is always deterministic. */
const DEFAULT_INIT: SimpleInit = { kind: 'constant', value: 3.5 };

function mergeShape(current: number[] | null, next: number[]): number[] | null {
  if (current === null) return [...next];
  if (current.length !== next.length || current.some((d, i) => d !== 0 && d !== next[i])) return null;
  return [...next];
}

/** checkContexts: empty means [cpu(0)]; ids over 7 or listed twice are INVALID_ARGUMENT. */
function checkCtx(ids: number[]): number[] | null {
  const list = ids.length === 0 ? [0] : ids;
  if (list.some((id) => id >= 8) || new Set(list).size !== list.length) return null;
  return list;
}

function shapeOf(shape: ShapeIntent): number[] {
  if (shape === 'fit') throw new Error('unresolved shape intent');
  return shape;
}
function ctxOf(ctx: CtxIntent): number | null {
  if (ctx === 'own') throw new Error('unresolved context intent');
  return ctx;
}

class Model {
  readonly params = new Map<Name, ModelParam>();

  private materialize(p: ModelParam, init: SimpleInit, ctx: number[], staged: number[] | null): void {
    const n = size(p.shape!);
    const source = staged ?? p.constValue;
    p.value =
      source !== null ? source.map((v) => convert(p.dtype, v)) : Array<number>(n).fill(convert(p.dtype, fillOf(init)));
    p.ctx = ctx;
    p.initialized = true;
    p.deferred = null;
    p.version++;
  }

  private tensor(p: ModelParam): unknown {
    return { shape: p.shape, dtype: p.dtype, values: p.value };
  }

  /** data()'s copy choice: initialized, then the given ctx, the only one, or cpu(0). */
  private pick(p: ModelParam, ctx: number | null): Expected | null {
    if (!p.initialized) return { code: Status.FAILED_PRECONDITION };
    if (ctx === null && p.ctx.length === 1) return null;
    if (!p.ctx.includes(ctx ?? 0)) return { code: Status.FAILED_PRECONDITION };
    return null;
  }

  apply(op: Op): Expected {
    const p = this.params.get(op.name);
    if (op.op === 'declare') {
      const declared = JSON.stringify([op.shape, op.dtype, op.gradReq, op.allowDeferredInit, op.init]);
      if (p) return p.isConstant || p.declared !== declared ? { code: Status.ALREADY_EXISTS } : { ok: true };
      this.params.set(op.name, {
        isConstant: false,
        declared,
        constValue: null,
        constShape: null,
        shape: op.shape === null ? null : [...op.shape],
        dtype: op.dtype,
        gradReq: op.gradReq,
        allowDeferredInit: op.allowDeferredInit,
        init: op.init,
        initialized: false,
        deferred: null,
        ctx: [],
        value: null,
        version: 0,
      });
      return { ok: true };
    }
    if (op.op === 'constant') {
      const values = op.values.slice(0, size(op.shape));
      if (p) {
        const same =
          p.isConstant &&
          JSON.stringify(p.constShape) === JSON.stringify(op.shape) &&
          JSON.stringify(p.constValue) === JSON.stringify(values);
        return same ? { ok: true } : { code: Status.ALREADY_EXISTS };
      }
      this.params.set(op.name, {
        isConstant: true,
        declared: '',
        constValue: values,
        constShape: [...op.shape],
        shape: [...op.shape],
        dtype: 'float32',
        gradReq: 'null',
        allowDeferredInit: false,
        init: null,
        initialized: false,
        deferred: null,
        ctx: [],
        value: null,
        version: 0,
      });
      return { ok: true };
    }
    if (!p) return { code: Status.NOT_FOUND };
    switch (op.op) {
      case 'initialize': {
        const ctx = checkCtx(op.ctx);
        if (ctx === null) return { code: Status.INVALID_ARGUMENT };
        if (p.initialized && !op.forceReinit) return { ok: true };
        const init = op.init ?? p.init ?? DEFAULT_INIT;
        if (!known(p.shape)) {
          if (!p.allowDeferredInit) return { code: Status.FAILED_PRECONDITION };
          p.deferred = { init, ctx };
          return { ok: true };
        }
        this.materialize(p, init, ctx, null);
        return { ok: true };
      }
      case 'setData': {
        const merged = mergeShape(p.shape, shapeOf(op.shape));
        if (merged === null) return { code: Status.INVALID_ARGUMENT };
        const values = op.values.slice(0, size(shapeOf(op.shape)));
        if (!p.initialized) {
          if (p.deferred === null) return { code: Status.FAILED_PRECONDITION };
          p.shape = merged;
          this.materialize(p, p.deferred.init, p.deferred.ctx, values);
          return { ok: true };
        }
        p.shape = merged;
        p.value = values.map((v) => convert(p.dtype, v));
        p.version++;
        return { ok: true };
      }
      case 'data': {
        const err = this.pick(p, ctxOf(op.ctx));
        return err ?? { ok: true, result: this.tensor(p) };
      }
      case 'listData':
        if (!p.initialized) return { code: Status.FAILED_PRECONDITION };
        return { ok: true, result: p.ctx.map(() => this.tensor(p)) };
      case 'grad': {
        if (!p.initialized) return { code: Status.FAILED_PRECONDITION };
        if (p.gradReq === 'null') return { code: Status.FAILED_PRECONDITION };
        const err = this.pick(p, ctxOf(op.ctx));
        return (
          err ?? { ok: true, result: { shape: p.shape, dtype: p.dtype, values: Array<number>(size(p.shape!)).fill(0) } }
        );
      }
      case 'setShape': {
        const merged = mergeShape(p.shape, shapeOf(op.shape));
        if (merged === null) return { code: Status.INVALID_ARGUMENT };
        p.shape = merged;
        if (!p.initialized && p.deferred !== null && known(merged))
          this.materialize(p, p.deferred.init, p.deferred.ctx, null);
        return { ok: true };
      }
      case 'cast':
        if (op.dtype === p.dtype) return { ok: true };
        p.dtype = op.dtype;
        if (p.initialized) {
          p.value = p.value!.map((v) => convert(op.dtype, v));
          p.version++;
        }
        return { ok: true };
      case 'zeroGrad':
        return { ok: true };
      case 'resetCtx': {
        const ctx = checkCtx(op.ctx);
        if (ctx === null) return { code: Status.INVALID_ARGUMENT };
        if (!p.initialized) {
          if (p.deferred === null) return { code: Status.FAILED_PRECONDITION };
          p.deferred.ctx = ctx;
          return { ok: true };
        }
        p.ctx = ctx; // the mean of equal copies is the value itself
        p.version++;
        return { ok: true };
      }
      case 'listCtx':
        if (p.initialized) return { ok: true, result: [...p.ctx] };
        if (p.deferred !== null) return { ok: true, result: [...p.deferred.ctx] };
        return { code: Status.FAILED_PRECONDITION };
      case 'describe':
        return { ok: true, result: this.describe(op.name) };
    }
  }

  /** Turns 'fit' / 'own' intents into concrete shapes and contexts from the current state. */
  resolve(op: Op): Op {
    const p = this.params.get(op.name);
    if ((op.op === 'setData' || op.op === 'setShape') && op.shape === 'fit') {
      return { ...op, shape: p?.shape ? p.shape.map((d) => d || 2) : [2] };
    }
    if ((op.op === 'data' || op.op === 'grad') && op.ctx === 'own') {
      const list = p === undefined ? [] : p.initialized ? p.ctx : (p.deferred?.ctx ?? []);
      return { ...op, ctx: list.length > 0 ? list[list.length - 1]! : null };
    }
    return op;
  }

  describe(name: Name): unknown {
    const p = this.params.get(name)!;
    return {
      shape: p.shape,
      dtype: p.dtype,
      gradReq: p.gradReq,
      initialized: p.initialized,
      deferred: p.deferred !== null,
      ctx: p.initialized ? [...p.ctx] : p.deferred !== null ? [...p.deferred.ctx] : [],
      version: p.version,
      isConstant: p.isConstant,
    };
  }
}

// --- Running an operation on the server -------------------------------------------------------

function nest(shape: readonly number[], flat: readonly number[]): NestedNumbers {
  if (shape.length === 0) return flat[0]!;
  const [d, ...rest] = shape;
  const stride = size(rest);
  return Array.from({ length: d! }, (_, i) => nest(rest, flat.slice(i * stride, (i + 1) * stride)));
}

const toInit = (i: SimpleInit): InitSpec =>
  i.kind === 'constant' ? init.constant(i.value) : i.kind === 'zero' ? init.zero() : init.one();

function tensorOf(t: { shape: number[]; dtype: DType; data: ArrayLike<number | bigint> }): unknown {
  return { shape: t.shape, dtype: t.dtype, values: Array.from(t.data, (v) => Number(v) + 0) };
}

function describeOf(d: Awaited<ReturnType<Parameter['describe']>>): unknown {
  return {
    shape: d.shape,
    dtype: d.dtype,
    gradReq: d.gradReq,
    initialized: d.initialized,
    deferred: d.deferred,
    ctx: d.ctx.map((c) => c.deviceId),
    version: d.version,
    isConstant: d.isConstant,
  };
}

async function runOp(ps: ParameterServerClient, prefix: string, op: Op): Promise<unknown> {
  const name = `${prefix}${op.name}`;
  if (op.op === 'declare') {
    await ps.parameter(name, {
      shape: op.shape,
      dtype: op.dtype,
      gradReq: op.gradReq,
      allowDeferredInit: op.allowDeferredInit,
      init: op.init === null ? null : toInit(op.init),
    });
    return undefined;
  }
  if (op.op === 'constant') {
    await ps.constant(name, nest(op.shape, op.values.slice(0, size(op.shape))));
    return undefined;
  }
  const p = await ps.get(name); // NOT_FOUND for an unknown name, as every method would be
  switch (op.op) {
    case 'initialize':
      await p.initialize({
        init: op.init === null ? null : toInit(op.init),
        defaultInit: toInit(DEFAULT_INIT),
        ctx: op.ctx.map((i) => cpu(i)),
        forceReinit: op.forceReinit,
      });
      return undefined;
    case 'setData':
      await p.setData(nest(shapeOf(op.shape), op.values.slice(0, size(shapeOf(op.shape)))));
      return undefined;
    case 'data':
      return tensorOf(await p.data(ctxOf(op.ctx) === null ? undefined : cpu(ctxOf(op.ctx)!)));
    case 'listData':
      return (await p.listData()).map(tensorOf);
    case 'grad':
      return tensorOf(await p.grad(ctxOf(op.ctx) === null ? undefined : cpu(ctxOf(op.ctx)!)));
    case 'setShape':
      await p.setShape(shapeOf(op.shape));
      return undefined;
    case 'cast':
      await p.cast(op.dtype);
      return undefined;
    case 'zeroGrad':
      await p.zeroGrad();
      return undefined;
    case 'resetCtx':
      await p.resetCtx(op.ctx.map((i) => cpu(i)));
      return undefined;
    case 'listCtx':
      return (await p.listCtx()).map((c) => c.deviceId);
    case 'describe':
      return describeOf(await p.describe());
  }
}

// --- The property -----------------------------------------------------------------------------

let h: Harness;
let runs = 0;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('random operation sequences', () => {
  it('the server agrees with the model on every result, error code and description', async () => {
    const seed = process.env.FC_SEED === undefined ? 20251126 : Number(process.env.FC_SEED);
    await fc.assert(
      fc.asyncProperty(
        // Sequences start by declaring a and b, making c a constant and initializing all three
        // (which may fail or defer), so later operations mostly meet existing names; d only
        // exists if a random declaration creates it.
        fc.tuple(
          fc.tuple(
            declareArb(fc.constant<Name>('a')),
            declareArb(fc.constant<Name>('b')),
            constantArb(fc.constant<Name>('c')),
          ),
          fc.tuple(
            initializeArb(fc.constant<Name>('a')),
            initializeArb(fc.constant<Name>('b')),
            initializeArb(fc.constant<Name>('c')),
          ),
          fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }),
        ),
        async ([declares, inits, rest]) => {
          const ops: Op[] = [...declares, ...inits, ...rest];
          const prefix = `r${runs++}_`; // fresh names per run on the shared server
          const model = new Model();
          for (const [i, intent] of ops.entries()) {
            const op = model.resolve(intent);
            const where = `op ${i} ${JSON.stringify(op)}`;
            const expected = model.apply(op);
            const actual = await runOp(h.ps, prefix, op).then(
              (result) => ({ ok: true as const, result }),
              (err: unknown) => ({ ok: false as const, err: err as { code?: unknown; message?: unknown } }),
            );
            if ('code' in expected) {
              expect(actual.ok, `${where}: expected status ${Status[expected.code]}`).toBe(false);
              if (!actual.ok) {
                expect(actual.err.code, `${where}: ${String(actual.err.message)}`).toBe(expected.code);
                expect(String(actual.err.message), where).toContain(`'${prefix}${op.name}'`);
              }
            } else {
              expect(
                actual.ok ? 'ok' : `${Status[actual.err.code as number]}: ${String(actual.err.message)}`,
                where,
              ).toBe('ok');
              if (actual.ok && expected.result !== undefined) expect(actual.result, where).toEqual(expected.result);
            }
            // After every operation, the description agrees too.
            if (model.params.has(op.name)) {
              const d = describeOf(await (await h.ps.get(`${prefix}${op.name}`)).describe());
              expect(d, `${where}: describe`).toEqual(model.describe(op.name));
            }
          }
        },
      ),
      { numRuns: 40, seed, endOnFailure: true },
    );
  });
});
