// Declaration and initialization through the real client and a real in-process server on a free
// port: declaration with every constructor argument, get and list, each initializer and its seed.
// The other Parameter methods: parameter-methods.test.ts.
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { bytesOf, numbers, rejectsWith, useHarness } from './helpers';

let ps: ParameterServerClient;
useHarness((started) => {
  ps = started.ps;
});

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]): number => {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
};

describe('parameter(): declaration', () => {
  it('takes every constructor argument and describes it back', async () => {
    const w = await ps.parameter('decl_all', {
      shape: [4, 3],
      dtype: 'float64',
      gradReq: 'add',
      init: init.xavier({ rndType: 'gaussian', factorType: 'in', magnitude: 2 }),
      allowDeferredInit: true,
      differentiable: true,
      stype: 'default',
      gradStype: 'row_sparse',
      lrMult: 0.5,
      wdMult: 2,
    });
    expect(w.name).toBe('decl_all');
    expect(await w.describe()).toMatchObject({
      name: 'decl_all',
      shape: [4, 3],
      dtype: 'float64',
      gradReq: 'add',
      stype: 'default',
      gradStype: 'row_sparse',
      initialized: false,
      deferred: false,
      ctx: [],
      version: 0,
      isConstant: false,
      lrMult: 0.5,
      wdMult: 2,
      differentiable: true,
      allowDeferredInit: true,
      init: { kind: 'xavier', rndType: 'gaussian', factorType: 'in', magnitude: 2 },
    });
    const v = await w.var();
    expect(v).toEqual({
      name: 'decl_all',
      attrs: {
        __shape__: '(4, 3)',
        __dtype__: '1',
        __lr_mult__: '0.5',
        __wd_mult__: '2.0',
        __init__: JSON.stringify(['xavier', { rnd_type: 'gaussian', factor_type: 'in', magnitude: 2 }]),
        __storage_type__: '0',
      },
    });
  });

  it('applies MXNet defaults to what is left out', async () => {
    const p = await ps.parameter('decl_defaults', { shape: 5 });
    expect(await p.describe()).toMatchObject({
      shape: [5],
      dtype: 'float32',
      gradReq: 'write',
      stype: 'default',
      gradStype: 'default',
      lrMult: 1,
      wdMult: 1,
      differentiable: true,
      allowDeferredInit: false,
      init: null,
    });
    const v = await p.var();
    expect(v.attrs).toEqual({
      __shape__: '(5,)',
      __dtype__: '0',
      __lr_mult__: '1.0',
      __wd_mult__: '1.0',
      __storage_type__: '0',
    });
  });

  it('differentiable: false forces gradReq null (no gradient)', async () => {
    const p = await ps.parameter('decl_nondiff', {
      shape: [2],
      gradReq: 'write',
      differentiable: false,
      init: init.one(),
    });
    expect(await p.describe()).toMatchObject({ gradReq: 'null', differentiable: false });
    await p.initialize();
    await rejectsWith(p.grad(), Status.FAILED_PRECONDITION, /parameter 'decl_nondiff'.*grad_req='null'/);
  });

  it('re-declaring an identical spec returns the parameter; a different spec is ALREADY_EXISTS naming the field', async () => {
    const spec = { shape: [2, 2], dtype: 'float32' as const, init: init.one(), lrMult: 3 };
    const a = await ps.parameter('decl_twice', spec);
    await a.initialize();
    await a.setData([
      [1, 2],
      [3, 4],
    ]);
    const b = await ps.parameter('decl_twice', { ...spec });
    expect(numbers(await b.data())).toEqual([1, 2, 3, 4]);
    await rejectsWith(
      ps.parameter('decl_twice', { ...spec, lrMult: 4 }),
      Status.ALREADY_EXISTS,
      /parameter 'decl_twice' already exists with a different spec: lrMult 4 differs from the existing 3/,
    );
    await rejectsWith(
      ps.parameter('decl_twice', { ...spec, shape: [2, 3] }),
      Status.ALREADY_EXISTS,
      /parameter 'decl_twice'.*shape \[2,3\] differs from the existing \[2,2\]/,
    );
  });

  it('get() returns a handle on an existing parameter; list() describes every one', async () => {
    await ps.parameter('list_a', { shape: [1] });
    await ps.parameter('list_b', { shape: [2], dtype: 'int32' });
    const got = await ps.get('list_b');
    expect((await got.describe()).dtype).toBe('int32');
    const all = await ps.list();
    const names = all.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['list_a', 'list_b', 'decl_all']));
    expect(names.indexOf('list_a')).toBeLessThan(names.indexOf('list_b')); // declaration order
    expect(all.find((d) => d.name === 'list_b')).toMatchObject({ shape: [2], dtype: 'int32', initialized: false });
  });
});

describe('initialize(): initializers', () => {
  it('zero, one and constant (scalar and per-element) fill exactly', async () => {
    const z = await ps.parameter('init_zero', { shape: [2, 3], init: init.zero() });
    await z.initialize();
    expect(numbers(await z.data())).toEqual(Array(6).fill(0));
    const o = await ps.parameter('init_one', { shape: [2, 3], init: 'ones' });
    await o.initialize();
    expect(numbers(await o.data())).toEqual(Array(6).fill(1));
    const c = await ps.parameter('init_const', { shape: [2, 3], dtype: 'int32' });
    await c.initialize({ init: init.constant(-7) });
    expect(numbers(await c.data())).toEqual(Array(6).fill(-7));
    const arr = await ps.parameter('init_const_arr', { shape: [2, 3] });
    await arr.initialize({
      init: init.constant([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    });
    expect(numbers(await arr.data())).toEqual([1, 2, 3, 4, 5, 6]);
    const bad = await ps.parameter('init_const_bad', { shape: [2, 3] });
    await rejectsWith(
      bad.initialize({ init: init.constant([1, 2]) }),
      Status.INVALID_ARGUMENT,
      /parameter 'init_const_bad': constant initializer has 2 values, expected 1 or 6/,
    );
  });

  it('uniform: default scale 0.07 and an explicit scale bound the values', async () => {
    const u = await ps.parameter('init_uniform', { shape: [64, 64] });
    await u.initialize({ init: init.uniform(), seed: 1 });
    const v = numbers(await u.data());
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(0.07);
    expect(Math.max(...v)).toBeGreaterThan(0.06);
    expect(Math.min(...v)).toBeLessThan(-0.06);
    await u.initialize({ init: init.uniform({ scale: 2 }), seed: 1, forceReinit: true });
    const w = numbers(await u.data());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(2);
    expect(Math.max(...w)).toBeGreaterThan(1.8);
    // With no initializer anywhere, uniform(0.07) is the default.
    const d = await ps.parameter('init_default', { shape: [32, 32] });
    await d.initialize({ seed: 3 });
    const dv = numbers(await d.data());
    expect(Math.max(...dv.map(Math.abs))).toBeLessThanOrEqual(0.07);
    expect(Math.max(...dv)).toBeGreaterThan(0.05);
  });

  it('normal: default sigma 0.01 and an explicit sigma', async () => {
    const n = await ps.parameter('init_normal', { shape: [64, 64], init: init.normal() });
    await n.initialize({ seed: 2 });
    const v = numbers(await n.data());
    expect(Math.abs(mean(v))).toBeLessThan(0.001);
    expect(std(v)).toBeGreaterThan(0.0095);
    expect(std(v)).toBeLessThan(0.0105);
    await n.initialize({ init: init.normal({ sigma: 3 }), seed: 2, forceReinit: true });
    // The spec's init.normal() is resolved after the call's init: the call's sigma applies.
    expect(std(numbers(await n.data()))).toBeGreaterThan(2.85);
  });

  it('xavier: uniform/avg/3 bound, gaussian std; a 1-D shape is INVALID_ARGUMENT', async () => {
    const x = await ps.parameter('init_xavier', { shape: [64, 32], init: init.xavier() });
    await x.initialize({ seed: 4 });
    const bound = Math.sqrt(3 / ((64 + 32) / 2));
    const v = numbers(await x.data());
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound + 1e-7);
    expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(bound * 0.95);
    const g = await ps.parameter('init_xavier_g', {
      shape: [64, 32, 2],
      init: init.xavier({ rndType: 'gaussian', factorType: 'out', magnitude: 2 }),
    });
    await g.initialize({ seed: 4 });
    const expected = Math.sqrt(2 / (64 * 2)); // fan_out = shape[0] * prod(shape[2:])
    expect(std(numbers(await g.data())) / expected).toBeGreaterThan(0.95);
    expect(std(numbers(await g.data())) / expected).toBeLessThan(1.05);
    const vec = await ps.parameter('init_xavier_1d', { shape: [8], init: init.xavier() });
    await rejectsWith(
      vec.initialize(),
      Status.INVALID_ARGUMENT,
      /parameter 'init_xavier_1d': xavier initializer cannot be applied to a vector: shape \[8\]/,
    );
    expect((await vec.describe()).initialized).toBe(false);
  });

  it('msraPrelu: gaussian with magnitude 2/(1+slope^2)', async () => {
    const m = await ps.parameter('init_msra', { shape: [64, 64], init: init.msraPrelu() });
    await m.initialize({ seed: 5 });
    const expected = Math.sqrt(2 / (1 + 0.25 ** 2) / 64);
    const s = std(numbers(await m.data()));
    expect(s / expected).toBeGreaterThan(0.95);
    expect(s / expected).toBeLessThan(1.05);
    await m.initialize({ init: init.msraPrelu({ factorType: 'in', slope: 0 }), seed: 5, forceReinit: true });
    const s2 = std(numbers(await m.data()));
    expect(s2 / Math.sqrt(2 / 64)).toBeGreaterThan(0.95);
    expect(s2 / Math.sqrt(2 / 64)).toBeLessThan(1.05);
  });

  it('orthogonal: W W^T = scale^2 I (rows <= cols) and W^T W for tall matrices', async () => {
    const rows = 6,
      cols = 10;
    const o = await ps.parameter('init_orth', { shape: [rows, cols], dtype: 'float64', init: init.orthogonal() });
    await o.initialize({ seed: 6 });
    const w = numbers(await o.data());
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < rows; j++) {
        let dot = 0;
        for (let k = 0; k < cols; k++) dot += w[i * cols + k]! * w[j * cols + k]!;
        expect(dot).toBeCloseTo(i === j ? 1.414 ** 2 : 0, 9);
      }
    }
    const t = await ps.parameter('init_orth_tall', {
      shape: [8, 3],
      init: init.orthogonal({ scale: 1, randType: 'normal' }),
    });
    await t.initialize({ seed: 6 });
    const tw = numbers(await t.data());
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let dot = 0;
        for (let k = 0; k < 8; k++) dot += tw[k * 3 + i]! * tw[k * 3 + j]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
      }
    }
  });

  it('a seed reproduces the values; another seed, or another parameter name, gives others', async () => {
    const p = await ps.parameter('seed_a', { shape: [16, 16], init: init.uniform({ scale: 1 }) });
    await p.initialize({ seed: 42 });
    const first = bytesOf(await p.data());
    await p.initialize({ seed: 42, forceReinit: true });
    expect(bytesOf(await p.data()).equals(first)).toBe(true);
    await p.initialize({ seed: 43, forceReinit: true });
    expect(bytesOf(await p.data()).equals(first)).toBe(false);
    // Each parameter draws from its own stream: the same seed on another name differs.
    const q = await ps.parameter('seed_b', { shape: [16, 16], init: init.uniform({ scale: 1 }) });
    await q.initialize({ seed: 42 });
    expect(bytesOf(await q.data()).equals(first)).toBe(false);
    // No seed: a fresh random one each time.
    await p.initialize({ forceReinit: true });
    const r1 = bytesOf(await p.data());
    await p.initialize({ forceReinit: true });
    expect(bytesOf(await p.data()).equals(r1)).toBe(false);
  });

  it('resolves the initializer as MXNet does: call init, then the spec init, then defaultInit', async () => {
    const withSpec = await ps.parameter('resolve_spec', { shape: [3], init: init.one() });
    await withSpec.initialize({ defaultInit: init.zero() });
    expect(numbers(await withSpec.data())).toEqual([1, 1, 1]);
    await withSpec.initialize({ init: init.constant(5), forceReinit: true });
    expect(numbers(await withSpec.data())).toEqual([5, 5, 5]);
    const noSpec = await ps.parameter('resolve_default', { shape: [3] });
    // A single context (not a list) and a structural name are accepted too.
    const d = await noSpec.initialize({ defaultInit: init.constant(2), ctx: cpu(2), structuralName: '0.weight' });
    expect(d.ctx).toEqual([cpu(2)]);
    expect(numbers(await noSpec.data())).toEqual([2, 2, 2]);
  });

  it('a second initialize without forceReinit changes nothing; with it, re-initializes', async () => {
    const p = await ps.parameter('init_twice', { shape: [4], init: init.one() });
    const d1 = await p.initialize({ ctx: [cpu(0), cpu(1)] });
    expect(d1).toMatchObject({ initialized: true, version: 1, ctx: [cpu(0), cpu(1)] });
    await p.setData([1, 2, 3, 4]);
    const d2 = await p.initialize({ init: init.zero(), ctx: [cpu(2)] });
    expect(d2).toMatchObject({ version: 2, ctx: [cpu(0), cpu(1)] });
    expect(numbers(await p.data(cpu(1)))).toEqual([1, 2, 3, 4]);
    const d3 = await p.initialize({ init: init.zero(), ctx: [cpu(2)], forceReinit: true });
    expect(d3).toMatchObject({ version: 3, ctx: [cpu(2)] });
    expect(numbers(await p.data())).toEqual([0, 0, 0, 0]);
    await rejectsWith(
      p.data(cpu(0)),
      Status.FAILED_PRECONDITION,
      /parameter 'init_twice' was not initialized on cpu\(0\); it was only initialized on \[cpu\(2\)\]/,
    );
  });

  it('an unknown shape without allowDeferredInit is FAILED_PRECONDITION', async () => {
    const p = await ps.parameter('init_unknown', { shape: [0, 3] });
    await rejectsWith(
      p.initialize(),
      Status.FAILED_PRECONDITION,
      /parameter 'init_unknown': cannot initialize because its shape \[0,3\] is not fully known/,
    );
  });
});
