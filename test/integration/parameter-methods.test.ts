// The Parameter methods after initialization through the real client and a real in-process
// server on a free port: several cpu contexts, reads, grads, reset_ctx, set_data, set_shape,
// cast, var and describe (declaration and initializers: parameter.test.ts).
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import * as nk from '../../native/index';
import type { Harness } from './helpers';
import { bytesOf, f32, iota, numbers, rejectsWith, useHarness } from './helpers';
import { singleServerOnly } from './suite-target';

let h: Harness;
let ps: ParameterServerClient;
useHarness((started) => {
  h = started;
  ps = started.ps;
});

describe('several cpu contexts', () => {
  it('every copy starts equal; data/listData/listCtx report them in order; setData writes all', async () => {
    const p = await ps.parameter('ctx_many', { shape: [8, 8], init: init.uniform({ scale: 1 }) });
    const ctx = [cpu(0), cpu(3), cpu(7)];
    await p.initialize({ ctx, seed: 9 });
    expect(await p.listCtx()).toEqual(ctx);
    const all = await p.listData();
    expect(all).toHaveLength(3);
    expect(all.map((t) => t.ctx)).toEqual(ctx);
    for (const t of all) expect(bytesOf(t).equals(bytesOf(all[0]!))).toBe(true);
    expect(bytesOf(await p.data(cpu(7))).equals(bytesOf(all[0]!))).toBe(true);
    expect((await p.data(cpu(3))).ctx).toEqual(cpu(3));
    // Without a ctx and several copies: cpu(0), MXNet's current context.
    expect((await p.data()).ctx).toEqual(cpu(0));
    const values = iota(64, 0.5, -8);
    await p.setData(f32([8, 8], values));
    for (const t of await p.listData()) expect(numbers(t)).toEqual(values);
    for (const c of ctx) expect(numbers(await p.data(c))).toEqual(values);
    await rejectsWith(
      p.data(cpu(1)),
      Status.FAILED_PRECONDITION,
      /parameter 'ctx_many' was not initialized on cpu\(1\); it was only initialized on \[cpu\(0\), cpu\(3\), cpu\(7\)\]/,
    );
  });

  it('copies are independent: a read is a copy, and changing one copy leaves the others', async (ctx) => {
    singleServerOnly(ctx, "changes a copy behind the service through the in-process server's store");
    const p = await ps.parameter('ctx_indep', { shape: [4], init: init.constant(1) });
    await p.initialize({ ctx: [cpu(0), cpu(1), cpu(2)] });
    const t = await p.data(cpu(1));
    (t.data as Float32Array).fill(99);
    expect(numbers(await p.data(cpu(1)))).toEqual([1, 1, 1, 1]);
    // Change only the cpu(1) copy, as a per-device update would, behind the service.
    const entry = h.server.store.entry('ctx_indep');
    await nk.fill(entry.data![1]!, 4);
    expect((await p.listData()).map(numbers)).toEqual([
      [1, 1, 1, 1],
      [4, 4, 4, 4],
      [1, 1, 1, 1],
    ]);
    // Another parameter on the same contexts is unaffected by either.
    const q = await ps.parameter('ctx_indep_other', { shape: [4], init: init.zero() });
    await q.initialize({ ctx: [cpu(1)] });
    await q.setData([5, 5, 5, 5]);
    expect(numbers(await p.data(cpu(1)))).toEqual([4, 4, 4, 4]);
    expect(numbers(await p.data(cpu(2)))).toEqual([1, 1, 1, 1]);
    // reset_ctx reduces the copies to their mean (MXNet's _reduce), then copies it out.
    const d = await p.resetCtx([cpu(5), cpu(6)]);
    expect(d.ctx).toEqual([cpu(5), cpu(6)]);
    expect((await p.listData()).map(numbers)).toEqual([
      [2, 2, 2, 2],
      [2, 2, 2, 2],
    ]);
  });

  it('contexts past --max-cpu-contexts, listed twice, or gpu on a CPU-only server are INVALID_ARGUMENT', async () => {
    const p = await ps.parameter('ctx_bad', { shape: [2], init: init.zero() });
    await rejectsWith(
      p.initialize({ ctx: [cpu(9)] }),
      Status.INVALID_ARGUMENT,
      /parameter 'ctx_bad': context cpu\(9\) is not available: cpu ids go up to 7/,
    );
    await rejectsWith(
      p.initialize({ ctx: [cpu(1), cpu(1)] }),
      Status.INVALID_ARGUMENT,
      /parameter 'ctx_bad': context cpu\(1\) is listed twice/,
    );
    expect((await p.describe()).initialized).toBe(false);
  });
});

describe('grad, listGrad, zeroGrad', () => {
  it('gradients are zeros of the data shape and dtype on every context', async () => {
    const p = await ps.parameter('grad_p', { shape: [2, 3], dtype: 'float64', gradReq: 'add', init: init.one() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    const g = await p.grad(cpu(1));
    expect(g).toEqual({ shape: [2, 3], dtype: 'float64', data: new Float64Array(6) });
    expect(g.ctx).toEqual(cpu(1));
    const gs = await p.listGrad();
    expect(gs.map((t) => t.ctx)).toEqual([cpu(0), cpu(1)]);
    for (const t of gs) expect(numbers(t)).toEqual(Array(6).fill(0));
  });

  it('zeroGrad zeroes every gradient copy, and is a no-op before init and with gradReq null', async (ctx) => {
    singleServerOnly(ctx, "changes a copy behind the service through the in-process server's store");
    const p = await ps.parameter('zero_grad', { shape: [3], init: init.one() });
    await p.zeroGrad(); // uninitialized: no-op
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    const entry = h.server.store.entry('zero_grad');
    for (const g of entry.grad!) await nk.fill(g, 3);
    expect(numbers(await p.grad(cpu(1)))).toEqual([3, 3, 3]);
    const before = (await p.describe()).version;
    const d = await p.zeroGrad();
    expect(d.version).toBe(before); // the value did not change
    for (const t of await p.listGrad()) expect(numbers(t)).toEqual([0, 0, 0]);
    expect(numbers(await p.data())).toEqual([1, 1, 1]);
    const n = await ps.parameter('zero_grad_null', { shape: [3], gradReq: 'null', init: init.one() });
    await n.initialize();
    await n.zeroGrad();
    await rejectsWith(
      n.listGrad(),
      Status.FAILED_PRECONDITION,
      /parameter 'zero_grad_null' has no gradient because grad_req='null'/,
    );
  });
});

describe('resetCtx', () => {
  it('moves the value to new contexts with fresh zero gradients and a new version', async (ctx) => {
    singleServerOnly(ctx, "changes a copy behind the service through the in-process server's store");
    const p = await ps.parameter('reset_p', { shape: [2, 2], init: init.zero() });
    await p.initialize({ ctx: [cpu(0)] });
    await p.setData([
      [1, 2],
      [3, 4],
    ]);
    const entry = h.server.store.entry('reset_p');
    await nk.fill(entry.grad![0]!, 8);
    const v = (await p.describe()).version;
    const d = await p.resetCtx([cpu(2), cpu(4)]);
    expect(d.ctx).toEqual([cpu(2), cpu(4)]);
    expect(d.version).toBeGreaterThan(v);
    expect(await p.listCtx()).toEqual([cpu(2), cpu(4)]);
    expect((await p.listData()).map(numbers)).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
    expect((await p.listGrad()).map(numbers)).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    // A single context is accepted as well as a list.
    expect((await p.resetCtx(cpu(1))).ctx).toEqual([cpu(1)]);
    expect(numbers(await p.data())).toEqual([1, 2, 3, 4]);
  });

  it('keeps integer values exactly when averaging equal copies', async () => {
    const p = await ps.parameter('reset_int', { shape: [5], dtype: 'int32', init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1), cpu(2)] });
    await p.setData(new Int32Array([7, -3, 1000001, 2 ** 30, -(2 ** 31)]));
    await p.resetCtx([cpu(3)]);
    expect(numbers(await p.data())).toEqual([7, -3, 1000001, 2 ** 30, -(2 ** 31)]);
  });

  it('keeps float16 values exactly when averaging equal copies whose sum would overflow float16', async () => {
    const p = await ps.parameter('reset_f16', { shape: [2], dtype: 'float16', init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1), cpu(2)] });
    const bits = new Uint16Array([0x7753, 0xf753]); // +-30000 (exact in float16; 3x is over 65504)
    await p.setData({ shape: [2], dtype: 'float16', data: bits });
    await p.resetCtx([cpu(0)]);
    expect(Array.from((await p.data()).data as Uint16Array)).toEqual([0x7753, 0xf753]);
  });

  it('on a never-initialized parameter is FAILED_PRECONDITION; a bad context is INVALID_ARGUMENT', async () => {
    const p = await ps.parameter('reset_uninit', { shape: [2] });
    await rejectsWith(
      p.resetCtx([cpu(1)]),
      Status.FAILED_PRECONDITION,
      /parameter 'reset_uninit': cannot reset context because it has not been initialized/,
    );
    await p.initialize({ init: init.one() });
    await rejectsWith(
      p.resetCtx([cpu(8)]),
      Status.INVALID_ARGUMENT,
      /parameter 'reset_uninit': context cpu\(8\) is not available/,
    );
    expect(await p.listCtx()).toEqual([cpu(0)]);
  });
});

describe('setData', () => {
  it('accepts nested numbers, a typed array and a Tensor of another dtype, converting to the parameter dtype', async () => {
    const p = await ps.parameter('set_p', { shape: [2, 2], dtype: 'int32', init: init.zero() });
    await p.initialize();
    await p.setData([
      [1, 2],
      [3, 4],
    ]);
    expect(await p.data()).toEqual({ shape: [2, 2], dtype: 'int32', data: new Int32Array([1, 2, 3, 4]) });
    await p.setData({ shape: [2, 2], dtype: 'float32', data: new Float32Array([5.75, -6.5, 7, 8]) });
    // Float to int truncates toward zero (C semantics).
    expect(numbers(await p.data())).toEqual([5, -6, 7, 8]);
    const q = await ps.parameter('set_flat', { shape: [3], dtype: 'float64', init: init.zero() });
    await q.initialize();
    await q.setData(new Float64Array([0.1, 0.2, 0.3]));
    expect(numbers(await q.data())).toEqual([0.1, 0.2, 0.3]);
  });

  it('a shape that does not match is INVALID_ARGUMENT naming both shapes', async () => {
    const p = await ps.parameter('set_shape_bad', { shape: [2, 3], init: init.one() });
    await p.initialize();
    await rejectsWith(
      p.setData([
        [1, 2],
        [3, 4],
      ]),
      Status.INVALID_ARGUMENT,
      /parameter 'set_shape_bad': shape \[2,2\] does not match \[2,3\]/,
    );
    await rejectsWith(
      p.setData([1, 2, 3, 4, 5, 6]),
      Status.INVALID_ARGUMENT,
      /parameter 'set_shape_bad': shape \[6\] does not match \[2,3\]/,
    );
    expect(numbers(await p.data())).toEqual(Array(6).fill(1));
  });

  it('before initialize is FAILED_PRECONDITION', async () => {
    const p = await ps.parameter('set_uninit', { shape: [2] });
    await rejectsWith(p.setData([1, 2]), Status.FAILED_PRECONDITION, /parameter 'set_uninit' has not been initialized/);
  });
});

describe('setShape', () => {
  it('fills unknown dims only; known dims and rank cannot change', async () => {
    const p = await ps.parameter('shape_p', { shape: [0, 3, -1] });
    expect((await p.describe()).shape).toEqual([0, 3, 0]);
    expect((await p.setShape([4, 3, 0])).shape).toEqual([4, 3, 0]);
    await rejectsWith(
      p.setShape([5, 3, 2]),
      Status.INVALID_ARGUMENT,
      /parameter 'shape_p': shape \[5,3,2\] does not match \[4,3,0\]/,
    );
    await rejectsWith(
      p.setShape([4, 3]),
      Status.INVALID_ARGUMENT,
      /parameter 'shape_p': shape \[4,3\] does not match \[4,3,0\]/,
    );
    expect((await p.setShape([4, 3, 2])).shape).toEqual([4, 3, 2]);
    expect((await p.var()).attrs.__shape__).toBe('(4, 3, 2)');
    // An unknown rank takes any shape once.
    const r = await ps.parameter('shape_rank', {});
    expect((await r.describe()).shape).toBeNull();
    expect((await r.setShape([7])).shape).toEqual([7]);
    await rejectsWith(
      r.setShape([7, 1]),
      Status.INVALID_ARGUMENT,
      /parameter 'shape_rank': shape \[7,1\] does not match \[7\]/,
    );
  });

  it('on an initialized parameter the same shape is accepted and changes nothing', async () => {
    const p = await ps.parameter('shape_init', { shape: [2, 2], init: init.one() });
    await p.initialize();
    const v = (await p.describe()).version;
    expect(await p.setShape([2, 2])).toMatchObject({ shape: [2, 2], version: v });
    await rejectsWith(p.setShape([2, 3]), Status.INVALID_ARGUMENT, /parameter 'shape_init'/);
  });
});

describe('cast', () => {
  it('converts data and gradients, bumps the version, and updates var()', async () => {
    const p = await ps.parameter('cast_p', { shape: [4], init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    await p.setData([1.5, -2, 65504, 1e-8]);
    const v = (await p.describe()).version;
    const d = await p.cast('float16');
    expect(d).toMatchObject({ dtype: 'float16' });
    expect(d.version).toBeGreaterThan(v);
    for (const t of await p.listData()) {
      expect(t.dtype).toBe('float16');
      // IEEE half bits: 1.5, -2, 65504 (max), 1e-8 underflows to +0.
      expect(Array.from(t.data as Uint16Array)).toEqual([0x3e00, 0xc000, 0x7bff, 0x0000]);
    }
    expect((await p.grad(cpu(1))).dtype).toBe('float16');
    expect((await p.var()).attrs.__dtype__).toBe('2');
    // Casting to the current dtype changes nothing.
    expect((await p.cast('float16')).version).toBe(d.version);
    await p.cast('float64');
    expect(numbers(await p.data(cpu(1)))).toEqual([1.5, -2, 65504, 0]);
  });

  it('before initialization only changes the dtype the parameter will have', async () => {
    const p = await ps.parameter('cast_uninit', { shape: [2], init: init.one() });
    const d = await p.cast('int64');
    expect(d).toMatchObject({ dtype: 'int64', version: 0, initialized: false });
    await p.initialize();
    expect(await p.data()).toEqual({ shape: [2], dtype: 'int64', data: new BigInt64Array([1n, 1n]) });
  });
});

describe('describe and version', () => {
  it('the version strictly increases with every change of the value, and only then', async () => {
    const p = await ps.parameter('ver_p', { shape: [2], init: init.zero() });
    const seen: number[] = [(await p.describe()).version];
    const record = async (expectChange: boolean): Promise<void> => {
      const v = (await p.describe()).version;
      if (expectChange) expect(v).toBeGreaterThan(seen[seen.length - 1]!);
      else expect(v).toBe(seen[seen.length - 1]!);
      seen.push(v);
    };
    await p.initialize();
    await record(true);
    await p.initialize();
    await record(false);
    await p.setData([1, 2]);
    await record(true);
    await p.setData([1, 2]);
    await record(true); // a write is a change even with equal bytes
    await p.cast('float64');
    await record(true);
    await p.cast('float64');
    await record(false);
    await p.zeroGrad();
    await record(false);
    await p.data();
    await record(false);
    await p.initialize({ forceReinit: true, init: init.one() });
    await record(true);
    await p.resetCtx([cpu(1)]);
    await record(true);
    // Every read carries the version it was read at.
    const t = await p.data();
    expect(t.version).toBe(seen[seen.length - 1]);
    expect((await p.listData())[0]!.version).toBe(t.version);
  });
});
