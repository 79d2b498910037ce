// The one memory budget (--memory-budget): every byte the server holds for callers counts
// against it, whichever context, upload, constant, gradient, optimizer state, pinned read or
// state snapshot holds it. Each kind is taken over the budget through the real server and must
// fail RESOURCE_EXHAUSTED naming the budget, its value and the flag, and change nothing.
//
// The budget and its accounting are the addon's, per process: the server runs in this process,
// so each test starts its own with a budget of what is in use now plus what the test can afford
// (garbage from earlier tests is collected first, so what is in use stays put meanwhile).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import * as nk from '../../native/index';
import { hostMemoryBytes } from '../../server/limits';
import type { ServerOptions } from '../../server/index';
import type { TensorSnapshot } from '../../server/store/parameter-store';
import type { Harness } from './helpers';
import { f32, rejectsWith, startHarness } from './helpers';

const KiB = 1024;
/** One [64, 1024] float32 tensor. */
const T = 256 * KiB;
const SHAPE = [64, 1024];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function inUse(): Promise<number> {
  // Host views and read copies are freed when collected: collect, let finalizers run, measure.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return nk.memoryTotals().total.allocated;
}

/** A server whose budget leaves `room` bytes above what is in use now. */
async function withRoom(room: number, fn: (h: Harness, budget: number) => Promise<void>, options: ServerOptions = {}) {
  const budget = (await inUse()) + room;
  const h = await startHarness({ memoryBudget: budget, ...options });
  try {
    expect(nk.memoryTotals().total.budget).toBe(budget);
    await fn(h, budget);
  } finally {
    await h.close();
  }
}

/** The refusal names the budget, its value and the flag that raises it. */
const over = (budget: number, subject: string): RegExp =>
  new RegExp(
    `^${subject}: .*would exceed the memory budget of ${budget} bytes, with \\d+ bytes in use \\(--memory-budget raises it\\)$`,
  );

const fill = (v: number): ReturnType<typeof f32> => f32(SHAPE, new Float32Array(T / 4).fill(v));

async function values(ps: ParameterServerClient, name: string): Promise<number[]> {
  const out: number[] = [];
  for (const t of await (await ps.get(name)).listData()) out.push(...new Set(t.data as Float32Array));
  return out;
}

describe('one memory budget for the whole server', () => {
  it('is on by default at 80% of the host memory; none turns it off', async () => {
    const h = await startHarness();
    try {
      expect(nk.memoryTotals().total.budget).toBe(Math.floor(hostMemoryBytes() * 0.8));
    } finally {
      await h.close();
    }
    const off = await startHarness({ memoryBudget: null });
    try {
      expect(nk.memoryTotals().total.budget).toBe(-1);
    } finally {
      await off.close();
    }
  });

  it('parameter copies: every context counts against the one budget', async () => {
    await withRoom(5 * T, async ({ ps }, budget) => {
      // 2 copies of 256 KiB fit; 2 more on other devices (each alone far under the budget) do not.
      const a = await ps.parameter('mb_a', { shape: SHAPE, gradReq: 'null', init: init.one() });
      await a.initialize({ ctx: [cpu(0), cpu(1)] });
      const b = await ps.parameter('mb_b', { shape: SHAPE, gradReq: 'write', init: init.one() });
      await rejectsWith(
        b.initialize({ ctx: [cpu(2), cpu(3)] }),
        Status.RESOURCE_EXHAUSTED,
        over(budget, "parameter 'mb_b'"),
      );
      expect((await b.describe()).initialized).toBe(false);
      // What the failed attempt allocated was freed: one copy with its gradient fits.
      await b.initialize({ ctx: [cpu(4)] });
      expect(await values(ps, 'mb_b')).toEqual([1]);
    });
  });

  it('staged uploads: a set_data over the budget is refused and leaves the value', async () => {
    await withRoom(T + T / 2, async ({ ps }, budget) => {
      const p = await ps.parameter('mb_set', { shape: SHAPE, gradReq: 'null', init: init.constant(2) });
      await p.initialize();
      const before = await p.describe();
      // The new value needs 256 KiB more while the old one lives: neither a tensor nor a buffer fits.
      await rejectsWith(
        p.setData(fill(9)),
        Status.RESOURCE_EXHAUSTED,
        over(budget, "parameter 'mb_set': receiving the upload: host memory"),
      );
      expect((await p.describe()).version).toBe(before.version);
      expect(await values(ps, 'mb_set')).toEqual([2]);
    });
  });

  it("constants: the heap copy of a constant's value counts for as long as it exists", async () => {
    await withRoom(3 * T, async ({ ps }, budget) => {
      const external = (): number => nk.memoryTotals().external.allocated;
      const held = external();
      await ps.constant('mb_c1', fill(1));
      // The upload's buffer is released; the constant's own copy stays counted.
      expect(external() - held).toBe(T);
      // 1 + 1 (upload) + 1 (its copy) would fit in 3; 1 + 1.5 + 1.5 does not.
      const big = { shape: [96, 1024], dtype: 'float32' as const, data: new Float32Array(96 * 1024) };
      await rejectsWith(ps.constant('mb_c2', big), Status.RESOURCE_EXHAUSTED, over(budget, "constant 'mb_c2'"));
      expect((await ps.list()).map((d) => d.name)).not.toContain('mb_c2');
      expect(external() - held).toBe(T);
    });
  });

  it('gradients: a pushed gradient over the budget is refused', async () => {
    // data + grad of the parameter, then room for half a gradient.
    await withRoom(2 * T + T / 2, async ({ ps }, budget) => {
      const w = await ps.parameter('mb_gw', { shape: SHAPE, init: init.zero() });
      await w.initialize();
      const tr = await ps.trainer('mb_gt', ['mb_gw'], 'sgd', { learningRate: 1 });
      await rejectsWith(tr.pushGrad('mb_gw', fill(1)), Status.RESOURCE_EXHAUSTED, over(budget, "parameter 'mb_gw'"));
      expect((await tr.describe()).step).toBe(0);
      expect(await values(ps, 'mb_gw')).toEqual([0]);
    });
  });

  it('optimizer states: a step that cannot allocate them is refused before anything changes', async () => {
    // data + grad + the pushed gradient fit; Adam's two states (512 KiB) do not.
    await withRoom(3 * T + T / 2, async ({ ps }, budget) => {
      const w = await ps.parameter('mb_sw', { shape: SHAPE, init: init.one() });
      await w.initialize();
      const tr = await ps.trainer('mb_st', ['mb_sw'], 'adam', { learningRate: 0.5 });
      await tr.pushGrad('mb_sw', fill(1));
      await rejectsWith(tr.step(1), Status.RESOURCE_EXHAUSTED, over(budget, "trainer 'mb_st'"));
      expect((await tr.describe()).step).toBe(0);
      expect((await w.describe()).version).toBe(1);
      expect(await values(ps, 'mb_sw')).toEqual([1]);
    });
  });

  it('pinned read views: a step that must copy a weight a read still pins is refused before any copy changes', async () => {
    // Two copies with gradients, the pushed gradient, and the step's copy of it for cpu(1);
    // not also a copy of cpu(1)'s weight, which a read still sending it pins.
    await withRoom(6 * T + T / 2, async (h, budget) => {
      const w = await h.ps.parameter('mb_pw', { shape: SHAPE, init: init.one() });
      await w.initialize({ ctx: [cpu(0), cpu(1)] });
      const tr = await h.ps.trainer('mb_pt', ['mb_pw'], 'sgd', { learningRate: 1 });
      // A read that has not finished sending pins the weight (as a client that reads slowly does).
      let read: TensorSnapshot | null = await h.server.store.data('mb_pw', nk.cpu(1));
      await tr.pushGrad('mb_pw', fill(1));
      await rejectsWith(tr.step(1), Status.RESOURCE_EXHAUSTED, over(budget, "trainer 'mb_pt'"));
      expect((await tr.describe()).step).toBe(0);
      // Neither copy moved (cpu(0) needed no memory of its own, and still was not updated).
      expect(await values(h.ps, 'mb_pw')).toEqual([1, 1]);
      expect(new Set(new Float32Array(read.bytes.buffer, read.bytes.byteOffset, T / 4))).toEqual(new Set([1]));
      // The pinned copy is freed once the read is done with its bytes (released and collected).
      read.release();
      read = null;
      await inUse();
      await tr.pushGrad('mb_pw', fill(1));
      await tr.step(1);
      expect(await values(h.ps, 'mb_pw')).toEqual([0, 0]);
    });
  });

  it('state snapshots: save_states and load_states bodies count while they are held', async () => {
    // Adam on one parameter: data, grad, two states; then save a snapshot with room to spare.
    let snapshot!: Buffer;
    await withRoom(8 * T, async ({ ps }) => {
      const w = await ps.parameter('mb_xw', { shape: SHAPE, init: init.one() });
      await w.initialize();
      const tr = await ps.trainer('mb_xt', ['mb_xw'], 'adam', { learningRate: 0.5 });
      await tr.pushGrad('mb_xw', fill(1));
      await tr.step(1);
      snapshot = await tr.saveStates();
      expect(snapshot.byteLength).toBeGreaterThan(2 * T);
    });
    // The same model with room for everything but a 512 KiB snapshot.
    await withRoom(5 * T + T / 4, async ({ ps }, budget) => {
      const w = await ps.parameter('mb_xw', { shape: SHAPE, init: init.one() });
      await w.initialize();
      const tr = await ps.trainer('mb_xt', ['mb_xw'], 'adam', { learningRate: 0.5 });
      await tr.pushGrad('mb_xw', fill(1));
      await tr.step(1);
      await rejectsWith(tr.saveStates(), Status.RESOURCE_EXHAUSTED, over(budget, "trainer 'mb_xt'"));
      await rejectsWith(tr.loadStates(snapshot), Status.RESOURCE_EXHAUSTED, over(budget, "trainer 'mb_xt'"));
      expect((await tr.describe()).step).toBe(1);
    });
  });

  it('a data dir holding more than the budget still starts; only new allocations are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gps-mb-'));
    try {
      let h = await startHarness({ dataDir: dir, durability: 'wal-always', memoryBudget: null });
      try {
        await h.ps.constant('mb_rc', fill(3));
        await (await h.ps.get('mb_rc')).initialize({ ctx: [cpu(0), cpu(1)] });
      } finally {
        await h.close();
      }
      const budget = (await inUse()) + T / 2;
      h = await startHarness({ dataDir: dir, memoryBudget: budget });
      try {
        expect(await values(h.ps, 'mb_rc')).toEqual([3, 3]);
        expect(nk.memoryTotals().total.allocated).toBeGreaterThan(budget);
        const p = await h.ps.parameter('mb_new', { shape: SHAPE, gradReq: 'null', init: init.one() });
        await rejectsWith(p.initialize(), Status.RESOURCE_EXHAUSTED, over(budget, "parameter 'mb_new'"));
      } finally {
        await h.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
