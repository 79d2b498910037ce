// The parameter store directly over the CPU addon: the semantics that are awkward to reach
// through gRPC (atomic failures under a memory budget, lock ordering, deferred init paths).
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu } from '../../native/index';
import { Status } from '../../server/errors';
import { ParameterStore } from '../../server/store/parameter-store';
import type { HostTensor } from '../../server/store/parameter-store';
import { snapshotEntry } from '../../server/store/snapshot';

const f32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  bytes: new Uint8Array(new Float32Array(values).buffer),
});
const floats = (bytes: Uint8Array): number[] => [...new Float32Array(bytes.slice().buffer)];

async function rejectsWith(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
}

describe('ParameterStore', () => {
  it('initializes every context with identical values and zero grads, reproducibly per seed', async () => {
    const store = new ParameterStore();
    await store.declare({ name: 'w', shape: [3, 4], init: { kind: 'xavier' } });
    await store.initialize('w', { ctx: [cpu(0), cpu(1)], seed: 5 });
    const [a, b] = await store.listData('w');
    expect(a!.bytes).toEqual(b!.bytes);
    expect(floats((await store.grad('w', cpu(1))).bytes)).toEqual(Array(12).fill(0));
    const limit = Math.sqrt(3 / 3.5);
    expect(floats(a!.bytes).every((v) => Math.abs(v) <= limit)).toBe(true);
    const other = new ParameterStore();
    await other.declare({ name: 'w', shape: [3, 4], init: { kind: 'xavier' } });
    await other.initialize('w', { seed: 5 });
    expect((await other.data('w')).bytes).toEqual(a!.bytes);
  });

  it('leaves the old value on every context when set_data fails for memory', async () => {
    const store = new ParameterStore();
    await store.declare({ name: 'p', shape: [256], init: { kind: 'one' } });
    await store.initialize('p', { ctx: [cpu(4), cpu(5)] });
    nk.setMemoryBudget(cpu(5), nk.memoryStats(cpu(5)).allocated + 100);
    try {
      await rejectsWith(
        store.setData('p', f32([256], Array(256).fill(7))),
        Status.RESOURCE_EXHAUSTED,
        /parameter 'p': cpu\(5\): allocating 1024 bytes would exceed the memory budget/,
      );
    } finally {
      nk.setMemoryBudget(cpu(5), null);
    }
    for (const snap of await store.listData('p')) expect(floats(snap.bytes)).toEqual(Array(256).fill(1));
    expect(store.describe('p').version).toBe(1n);
  });

  it('orders concurrent writers and readers: every read equals one complete write', async () => {
    const store = new ParameterStore();
    await store.declare({ name: 'c', shape: [64 * 1024], init: { kind: 'zero' } });
    await store.initialize('c', { ctx: [cpu(0), cpu(1)] });
    const ops: Array<Promise<unknown>> = [];
    const reads: Array<Promise<{ bytes: Uint8Array; version: bigint }>> = [];
    for (let k = 1; k <= 20; k++) {
      ops.push(store.setData('c', f32([64 * 1024], Array(64 * 1024).fill(k))));
      reads.push(store.data('c', cpu(k % 2)));
    }
    await Promise.all(ops);
    const seen = await Promise.all(reads);
    seen.forEach((snap, k) => {
      const values = new Set(floats(snap.bytes));
      expect(values.size).toBe(1);
      expect([...values][0]).toBe(k + 1);
      expect(snap.version).toBe(BigInt(k + 2));
    });
  });

  it('completes a deferred init from set_data or from the shape, and rolls back a failing one', async () => {
    const store = new ParameterStore();
    await store.declare({ name: 'd', shape: [0, 3], allowDeferredInit: true, init: { kind: 'one' } });
    await store.initialize('d', { ctx: [cpu(0), cpu(2)] });
    expect(await store.listCtx('d')).toEqual([cpu(0), cpu(2)]);
    await rejectsWith(store.data('d'), Status.FAILED_PRECONDITION, /initialization was deferred/);
    await store.setShape('d', [2, 3]);
    expect(floats((await store.data('d', cpu(2))).bytes)).toEqual(Array(6).fill(1));

    await store.declare({ name: 'v', shape: [0], allowDeferredInit: true, init: { kind: 'xavier' } });
    await store.initialize('v');
    await rejectsWith(
      store.setShape('v', [4]),
      Status.INVALID_ARGUMENT,
      /xavier initializer cannot be applied to a vector/,
    );
    expect(store.describe('v').shape).toEqual([0]);
    await store.setData('v', f32([4], [1, 2, 3, 4]));
    expect(floats((await store.data('v')).bytes)).toEqual([1, 2, 3, 4]);
  });

  it('averages copies on reset_ctx and gives fresh zero grads', async () => {
    const store = new ParameterStore();
    await store.declare({ name: 'r', shape: [2], init: { kind: 'zero' } });
    await store.initialize('r', { ctx: [cpu(0)] });
    await store.setData('r', f32([2], [2, 4]));
    await store.resetCtx('r', [cpu(1), cpu(3)]);
    expect((await store.listData('r')).map((s) => floats(s.bytes))).toEqual([
      [2, 4],
      [2, 4],
    ]);
    expect(await store.listCtx('r')).toEqual([cpu(1), cpu(3)]);
    await rejectsWith(
      store.data('r'),
      Status.FAILED_PRECONDITION,
      /was not initialized on cpu\(0\); it was only initialized on \[cpu\(1\), cpu\(3\)\]/,
    );
  });
});

describe('zero-copy reads', () => {
  it('keep the value they read while the parameter is written in place or replaced', async () => {
    const { writable } = await import('../../server/store/views');
    const store = new ParameterStore();
    await store.declare({ name: 'z', shape: [4], init: { kind: 'one' } });
    await store.initialize('z');
    const snap = await store.data('z');
    const e = store.entry('z');
    // An in-place writer (the optimizer step) gets a private copy while the read is open.
    const w = await e.lock.run(() => writable(e.data!, 0));
    await nk.fill(w, 5);
    expect(floats(snap.bytes)).toEqual([1, 1, 1, 1]);
    expect(floats((await store.data('z')).bytes)).toEqual([5, 5, 5, 5]);
    // Replacing writers never touch the bytes of an open read either.
    await store.setData('z', f32([4], [7, 7, 7, 7]));
    expect(floats(snap.bytes)).toEqual([1, 1, 1, 1]);
    snap.release();
    // Once released, the in-place writer works on the tensor itself (no copy).
    const before = e.data![0];
    expect(await e.lock.run(() => writable(e.data!, 0))).toBe(before);
  });
});

describe('checkpoint snapshots', () => {
  it("describe the entry as it was: a later cast or set_shape does not change a taken snapshot's meta", async () => {
    const store = new ParameterStore();
    await store.declare({
      name: 'w',
      shape: [2, 0],
      allowDeferredInit: true,
      init: { kind: 'constant', value: -Infinity },
    });
    await store.declare({ name: 'v', shape: [3], init: { kind: 'one' } });
    await store.initialize('v');
    const w = await snapshotEntry(store.entry('w'));
    const v = await snapshotEntry(store.entry('v'));
    await store.setShape('w', [2, 5]);
    await store.cast('v', 'float64');
    expect(w.meta.spec.shape).toEqual([2, 0]);
    expect(v.meta.spec.dtype).toBe('float32');
    expect(v.tensors.map((t) => t.dtype)).toEqual(['float32']);
    expect(w.meta.spec.init).toEqual({ kind: 'constant', value: -Infinity });
  });
});

describe('a row_sparse scalar from an older data dir', () => {
  it('still recovers, and reading its rows is FAILED_PRECONDITION, not a kernel error', async () => {
    const store = new ParameterStore();
    store.limitsEnforced = false; // replaying: the log holds what was accepted then
    await store.declare({ name: 's', stype: 'row_sparse', allowDeferredInit: true, init: { kind: 'one' } });
    await store.initialize('s');
    await store.setShape('s', []);
    store.limitsEnforced = true;
    await rejectsWith(store.rowSparseData('s', []), Status.FAILED_PRECONDITION, /a scalar has no rows/);
    await rejectsWith(store.listRowSparseData('s', [0]), Status.FAILED_PRECONDITION, /a scalar has no rows/);
  });
});
