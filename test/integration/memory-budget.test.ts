// RESOURCE_EXHAUSTED from a per-device memory budget (startServer's memoryBudget), and that a
// write refused for memory leaves the old value on every context. In its own file because the
// budget is process-wide state of the native addon (vitest runs each file in its own fork).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import type { Harness } from './helpers';
import { rejectsWith, startHarness } from './helpers';

const KiB = 1024;
let h: Harness;
let ps: ParameterServerClient;

beforeAll(async () => {
  h = await startHarness({ memoryBudget: 1024 * KiB });
  ps = h.ps;
});
afterAll(async () => {
  await h?.close();
});

describe('memory budget', () => {
  it('refuses an initialize over the budget and frees what it had allocated', async () => {
    const big = await ps.parameter('mb_big', { shape: [300, 1024], gradReq: 'write', init: init.one() }); // 1200 KiB
    await rejectsWith(
      big.initialize(),
      Status.RESOURCE_EXHAUSTED,
      /parameter 'mb_big': cpu\(0\): allocating \d+ bytes would exceed the memory budget/,
    );
    expect((await big.describe()).initialized).toBe(false);
    // Data + grad of 2 x 256 KiB fit once the failed attempt released its memory.
    const ok = await ps.parameter('mb_ok', { shape: [64, 1024], init: init.one() });
    await ok.initialize();
    expect((await ok.describe()).initialized).toBe(true);
  });

  it('a setData refused for memory leaves the old value and version on every context', async () => {
    // 640 KiB per copy, no grad: one copy fits a device's 1 MiB, a second (the new value) does not.
    const p = await ps.parameter('mb_set', { shape: [160, 1024], gradReq: 'null', init: init.constant(2) });
    await p.initialize({ ctx: [cpu(1), cpu(2)] });
    const before = await p.describe();
    const value = new Float32Array(160 * 1024).fill(9);
    await rejectsWith(
      p.setData({ shape: [160, 1024], dtype: 'float32', data: value }),
      Status.RESOURCE_EXHAUSTED,
      /parameter 'mb_set': cpu\(1\): allocating 655360 bytes would exceed the memory budget/,
    );
    expect((await p.describe()).version).toBe(before.version);
    for (const t of await p.listData()) expect((t.data as Float32Array).every((v) => v === 2)).toBe(true);
    // Casting to float64 (1280 KiB per copy) is over the budget too, and changes nothing.
    await rejectsWith(
      p.cast('float64'),
      Status.RESOURCE_EXHAUSTED,
      /parameter 'mb_set': cpu\(1\): allocating \d+ bytes would exceed the memory budget/,
    );
    expect(await p.describe()).toMatchObject({ dtype: 'float32', version: before.version });
    // A smaller write still fits: the failed attempts released what they had allocated.
    const q = await ps.parameter('mb_small', { shape: [16], gradReq: 'null', init: init.one() });
    await q.initialize({ ctx: [cpu(1), cpu(2)] });
    await q.setData(new Float32Array(16).fill(3));
    expect(((await q.data(cpu(2))).data as Float32Array).every((v) => v === 3)).toBe(true);
  });

  it('a resetCtx refused for memory changes nothing; a single copy moves with room for just itself', async () => {
    // cpu(5) already holds 700 KiB, so the 400 KiB mean cannot be built there under 1 MiB.
    const filler = await ps.parameter('mb_filler', { shape: [175, 1024], gradReq: 'null', init: init.zero() });
    await filler.initialize({ ctx: [cpu(5)] });
    const p = await ps.parameter('mb_reset', { shape: [100, 1024], gradReq: 'null', init: init.constant(4) });
    await p.initialize({ ctx: [cpu(6), cpu(7)] });
    const before = await p.describe();
    await rejectsWith(
      p.resetCtx([cpu(5)]),
      Status.RESOURCE_EXHAUSTED,
      /parameter 'mb_reset': cpu\(5\): allocating \d+ bytes would exceed the memory budget/,
    );
    expect(await p.describe()).toMatchObject({ ctx: [cpu(6), cpu(7)], version: before.version });
    for (const t of await p.listData()) expect((t.data as Float32Array).every((v) => v === 4)).toBe(true);
    // One copy of 640 KiB moves onto a fresh device (1 MiB budget): only the result is allocated there.
    const q = await ps.parameter('mb_move', { shape: [160, 1024], gradReq: 'null', init: init.constant(6) });
    await q.initialize({ ctx: [cpu(3)] });
    await q.resetCtx([cpu(4)]);
    expect(((await q.data(cpu(4))).data as Float32Array).every((v) => v === 6)).toBe(true);
  });
});
