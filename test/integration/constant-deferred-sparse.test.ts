// Gluon Constants, deferred initialization and row_sparse parameters through the real client
// and an in-process server: the three parts of the semantics that change what the ordinary
// accessors do.
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { f32, iota, numbers, rejectsWith, useHarness } from './helpers';

let ps: ParameterServerClient;
useHarness((h) => ({ ps } = h));

describe('constants', () => {
  it('declare from nested numbers: float32, gradReq null, initialize copies the value', async () => {
    const c = await ps.constant('const_nested', [
      [1, 2],
      [3, 4],
    ]);
    expect(await c.describe()).toMatchObject({
      name: 'const_nested',
      shape: [2, 2],
      dtype: 'float32',
      gradReq: 'null',
      isConstant: true,
      initialized: false,
    });
    const d = await c.initialize({ ctx: [cpu(0), cpu(1)], init: init.zero() });
    expect(d).toMatchObject({ initialized: true, ctx: [cpu(0), cpu(1)] });
    // The constant's value wins over any initializer.
    for (const t of await c.listData())
      expect(t).toEqual({ shape: [2, 2], dtype: 'float32', data: new Float32Array([1, 2, 3, 4]) });
    expect((await c.var()).attrs.__init__).toBe(JSON.stringify(['constant_const_nested', {}]));
  });

  it('a tensor keeps its dtype', async () => {
    const i64 = await ps.constant('const_i64', {
      shape: [3],
      dtype: 'int64',
      data: new BigInt64Array([1n, -(2n ** 40n), 2n ** 62n]),
    });
    await i64.initialize();
    expect(await i64.data()).toEqual({
      shape: [3],
      dtype: 'int64',
      data: new BigInt64Array([1n, -(2n ** 40n), 2n ** 62n]),
    });
    const u8 = await ps.constant('const_u8', new Uint8Array([0, 128, 255]));
    expect((await u8.describe()).dtype).toBe('uint8');
    const f16 = await ps.constant('const_f16', {
      shape: [1, 2],
      dtype: 'float16',
      data: new Uint16Array([0x3c00, 0xbc00]),
    });
    await f16.initialize();
    expect(await f16.data()).toEqual({ shape: [1, 2], dtype: 'float16', data: new Uint16Array([0x3c00, 0xbc00]) });
  });

  it('re-declaring with the same value returns it; a different value (or dtype, or shape) is ALREADY_EXISTS', async () => {
    const a = await ps.constant('const_twice', [1, 2, 3]);
    await a.initialize();
    const b = await ps.constant('const_twice', [1, 2, 3]);
    expect(numbers(await b.data())).toEqual([1, 2, 3]);
    await rejectsWith(
      ps.constant('const_twice', [1, 2, 4]),
      Status.ALREADY_EXISTS,
      /constant 'const_twice' already exists with a different value \(float32 \[3\]\)/,
    );
    await rejectsWith(
      ps.constant('const_twice', new Float64Array([1, 2, 3])),
      Status.ALREADY_EXISTS,
      /constant 'const_twice' already exists with a different value/,
    );
    await rejectsWith(ps.constant('const_twice', [[1, 2, 3]]), Status.ALREADY_EXISTS, /constant 'const_twice'/);
  });

  it('a constant name and a parameter name clash both ways with ALREADY_EXISTS', async () => {
    await ps.parameter('clash_param', { shape: [2] });
    await rejectsWith(
      ps.constant('clash_param', [1, 2]),
      Status.ALREADY_EXISTS,
      /constant 'clash_param': the name is already a \(non-constant\) parameter/,
    );
    await ps.constant('clash_const', [1, 2]);
    await rejectsWith(
      ps.parameter('clash_const', { shape: [2] }),
      Status.ALREADY_EXISTS,
      /parameter 'clash_const': the name is already a constant/,
    );
    // Neither failed declaration changed what exists.
    expect((await (await ps.get('clash_param')).describe()).isConstant).toBe(false);
    expect((await (await ps.get('clash_const')).describe()).isConstant).toBe(true);
  });

  it('setData works on a constant; grad and listGrad are FAILED_PRECONDITION; zeroGrad is a no-op', async () => {
    const c = await ps.constant('const_set', [
      [1, 2],
      [3, 4],
    ]);
    await c.initialize({ ctx: [cpu(0), cpu(2)] });
    const v = (await c.describe()).version;
    const d = await c.setData([
      [5, 6],
      [7, 8],
    ]);
    expect(d.version).toBeGreaterThan(v);
    for (const t of await c.listData()) expect(numbers(t)).toEqual([5, 6, 7, 8]);
    await rejectsWith(
      c.grad(),
      Status.FAILED_PRECONDITION,
      /constant 'const_set' has no gradient because grad_req='null'/,
    );
    await rejectsWith(c.listGrad(), Status.FAILED_PRECONDITION, /constant 'const_set'/);
    await c.zeroGrad();
    await rejectsWith(
      c.setData([1, 2, 3, 4]),
      Status.INVALID_ARGUMENT,
      /constant 'const_set': shape \[4\] does not match \[2,2\]/,
    );
    // A forced re-initialization restores the declared value.
    await c.initialize({ forceReinit: true, ctx: [cpu(0), cpu(2)] });
    expect(numbers(await c.data(cpu(2)))).toEqual([1, 2, 3, 4]);
  });

  it('data() before initialize is FAILED_PRECONDITION', async () => {
    const c = await ps.constant('const_uninit', [1]);
    await rejectsWith(c.data(), Status.FAILED_PRECONDITION, /constant 'const_uninit' has not been initialized/);
  });
});

describe('deferred initialization', () => {
  it('defers on unknown dims; listCtx gives the pending contexts; data() is FAILED_PRECONDITION', async () => {
    const p = await ps.parameter('def_a', { shape: [0, 3], allowDeferredInit: true, init: init.one() });
    const d = await p.initialize({ ctx: [cpu(1), cpu(2)] });
    expect(d).toMatchObject({ initialized: false, deferred: true, ctx: [cpu(1), cpu(2)], version: 0 });
    expect(await p.listCtx()).toEqual([cpu(1), cpu(2)]);
    await rejectsWith(
      p.data(),
      Status.FAILED_PRECONDITION,
      /parameter 'def_a': initialization was deferred until its shape \[0,3\] is known/,
    );
    await rejectsWith(p.listData(), Status.FAILED_PRECONDITION, /parameter 'def_a': initialization was deferred/);
    await rejectsWith(p.grad(), Status.FAILED_PRECONDITION, /parameter 'def_a': initialization was deferred/);
    await rejectsWith(p.listGrad(), Status.FAILED_PRECONDITION, /parameter 'def_a': initialization was deferred/);
  });

  it('resetCtx replaces the pending contexts; setShape completes the init with the pending initializer', async () => {
    const p = await ps.parameter('def_shape', { shape: [0, 2], allowDeferredInit: true });
    await p.initialize({ init: init.constant(3), ctx: [cpu(0)] });
    const r = await p.resetCtx([cpu(4), cpu(5)]);
    expect(r).toMatchObject({ deferred: true, initialized: false, ctx: [cpu(4), cpu(5)] });
    expect(await p.listCtx()).toEqual([cpu(4), cpu(5)]);
    const d = await p.setShape([3, 2]);
    expect(d).toMatchObject({ shape: [3, 2], initialized: true, deferred: false, ctx: [cpu(4), cpu(5)], version: 1 });
    for (const t of await p.listData()) expect(numbers(t)).toEqual(Array(6).fill(3));
    for (const t of await p.listGrad()) expect(numbers(t)).toEqual(Array(6).fill(0));
  });

  it('setData completes the init with the value on every pending context', async () => {
    const p = await ps.parameter('def_set', {
      shape: [2, 0],
      allowDeferredInit: true,
      init: init.one(),
      dtype: 'float64',
    });
    await p.initialize({ ctx: [cpu(0), cpu(3)] });
    const d = await p.setData([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(d).toMatchObject({
      shape: [2, 3],
      initialized: true,
      deferred: false,
      ctx: [cpu(0), cpu(3)],
      dtype: 'float64',
    });
    for (const t of await p.listData())
      expect(t).toEqual({ shape: [2, 3], dtype: 'float64', data: new Float64Array([1, 2, 3, 4, 5, 6]) });
  });

  it('an unknown rank is completed by setData with any shape', async () => {
    const p = await ps.parameter('def_rank', { allowDeferredInit: true });
    expect((await p.initialize()).deferred).toBe(true);
    await p.setData(f32([2, 1, 2], [1, 2, 3, 4]));
    expect(await p.data()).toEqual({ shape: [2, 1, 2], dtype: 'float32', data: new Float32Array([1, 2, 3, 4]) });
  });

  it('a partial setShape keeps it deferred; a mismatched setData is INVALID_ARGUMENT and keeps it deferred', async () => {
    const p = await ps.parameter('def_partial', { shape: [0, 0], allowDeferredInit: true, init: init.zero() });
    await p.initialize();
    expect(await p.setShape([4, 0])).toMatchObject({ shape: [4, 0], deferred: true, initialized: false });
    await rejectsWith(
      p.setData([[1, 2]]),
      Status.INVALID_ARGUMENT,
      /parameter 'def_partial': shape \[1,2\] does not match \[4,0\]/,
    );
    expect(await p.describe()).toMatchObject({ deferred: true, initialized: false, shape: [4, 0] });
    // A second initialize() while deferred replaces the pending one (MXNet).
    await p.initialize({ init: init.one(), ctx: [cpu(6)] });
    expect(await p.setShape([4, 1])).toMatchObject({ initialized: true, ctx: [cpu(6)] });
    expect(numbers(await p.data())).toEqual([1, 1, 1, 1]);
  });

  it('resetCtx on a deferred parameter validates the contexts', async () => {
    const p = await ps.parameter('def_badctx', { shape: [0], allowDeferredInit: true });
    await p.initialize();
    await rejectsWith(
      p.resetCtx([cpu(9)]),
      Status.INVALID_ARGUMENT,
      /parameter 'def_badctx': context cpu\(9\) is not available/,
    );
    expect(await p.listCtx()).toEqual([cpu(0)]);
  });
});

describe('row_sparse parameters', () => {
  const rows = 6,
    cols = 3;
  const values = iota(rows * cols);
  const row = (i: number): number[] => values.slice(i * cols, (i + 1) * cols);

  it('rowSparseData returns the requested rows deduplicated and sorted, with their ids', async () => {
    const e = await ps.parameter('emb', {
      shape: [rows, cols],
      stype: 'row_sparse',
      gradStype: 'row_sparse',
      init: init.zero(),
    });
    expect(await e.describe()).toMatchObject({ stype: 'row_sparse', gradStype: 'row_sparse' });
    expect((await e.var()).attrs.__storage_type__).toBe('1');
    await e.initialize({ ctx: [cpu(0), cpu(1)] });
    await e.setData(f32([rows, cols], values));
    const r = await e.rowSparseData([5, 1, 5, 0n], cpu(1));
    expect(Array.from(r.indices)).toEqual([0n, 1n, 5n]);
    expect(r.values).toEqual({
      shape: [3, cols],
      dtype: 'float32',
      data: new Float32Array([...row(0), ...row(1), ...row(5)]),
    });
    expect(r.ctx).toEqual(cpu(1));
    expect(r.version).toBe((await e.describe()).version);
    const empty = await e.rowSparseData([], cpu(0));
    expect(empty.indices).toHaveLength(0);
    expect(empty.values.shape).toEqual([0, cols]);
  });

  it('listRowSparseData returns the rows of every copy in context order', async () => {
    const e = await ps.get('emb');
    const all = await e.listRowSparseData([3, 3, 2]);
    expect(all.map((r) => r.ctx)).toEqual([cpu(0), cpu(1)]);
    for (const r of all) {
      expect(Array.from(r.indices)).toEqual([2n, 3n]);
      expect(numbers(r.values)).toEqual([...row(2), ...row(3)]);
    }
  });

  it('out-of-range row ids are INVALID_ARGUMENT naming the id and the range', async () => {
    const e = await ps.get('emb');
    await rejectsWith(
      e.rowSparseData([1, 6]),
      Status.INVALID_ARGUMENT,
      /parameter 'emb': row id 6 at position 1 is out of range \[0, 6\)/,
    );
    await rejectsWith(
      e.rowSparseData([-1], cpu(0)),
      Status.INVALID_ARGUMENT,
      /parameter 'emb': row id -1 at position 0 is out of range/,
    );
    await rejectsWith(
      e.listRowSparseData([0, 100]),
      Status.INVALID_ARGUMENT,
      /parameter 'emb': row id 100 at position 1 is out of range \[0, 6\)/,
    );
  });

  it('data() on row_sparse and rowSparseData() on dense are FAILED_PRECONDITION', async () => {
    const e = await ps.get('emb');
    await rejectsWith(
      e.data(),
      Status.FAILED_PRECONDITION,
      /parameter 'emb': storage type is row_sparse, expected default; use row_sparse_data\(\) instead/,
    );
    await rejectsWith(e.listData(), Status.FAILED_PRECONDITION, /parameter 'emb': storage type is row_sparse/);
    const dense = await ps.parameter('dense_not_sparse', { shape: [2, 2], init: init.one() });
    await dense.initialize();
    await rejectsWith(
      dense.rowSparseData([0]),
      Status.FAILED_PRECONDITION,
      /parameter 'dense_not_sparse': storage type is default, expected row_sparse; use data\(\) instead/,
    );
    await rejectsWith(
      dense.listRowSparseData([0]),
      Status.FAILED_PRECONDITION,
      /parameter 'dense_not_sparse': storage type is default/,
    );
  });

  it('an unknown shape cannot become a scalar: a row_sparse parameter has rows', async () => {
    // Found by the crash fuzzer: set_shape([]) made one, and reading its rows was INTERNAL.
    const p = await ps.parameter('rs_unknown', { stype: 'row_sparse', allowDeferredInit: true, init: init.zero() });
    await p.initialize();
    const scalar = /parameter 'rs_unknown': a row_sparse parameter needs rank >= 1, got a scalar shape \[\]/;
    await rejectsWith(p.setShape([]), Status.INVALID_ARGUMENT, scalar);
    await rejectsWith(p.setData(f32([], [1])), Status.INVALID_ARGUMENT, scalar);
    expect(await p.describe()).toMatchObject({ shape: null, deferred: true });
    await p.setShape([3, 2]);
    expect(numbers((await p.rowSparseData([2])).values)).toEqual([0, 0]);
  });

  it('rowSparseData before initialization is FAILED_PRECONDITION', async () => {
    const e = await ps.parameter('emb_uninit', { shape: [4, 2], stype: 'row_sparse' });
    await rejectsWith(
      e.rowSparseData([0]),
      Status.FAILED_PRECONDITION,
      /parameter 'emb_uninit' has not been initialized/,
    );
  });
});
