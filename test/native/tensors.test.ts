// Tensors, bytes in and out, devices and memory accounting on the CPU addon.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu, gpu } from '../../native/index';

describe('tensors', () => {
  it('creates zero-filled tensors with shape, dtype, device and byte length', async () => {
    for (const dtype of nk.DTYPES) {
      const t = nk.empty(cpu(0), dtype, [2, 3]);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 3]);
      expect(t.device).toEqual({ type: 'cpu', id: 0 });
      expect(t.size).toBe(6);
      expect(t.byteLength).toBe(6 * nk.dtypeSize(dtype));
      expect([...(await nk.readBytes(t))].every((b) => b === 0)).toBe(true);
      t.dispose();
      expect(t.disposed).toBe(true);
    }
  });

  it('allows zero-size dims, scalars and rank 8; rejects rank 9, negative and fractional dims', () => {
    expect(nk.empty(cpu(0), 'float32', [0, 5]).byteLength).toBe(0);
    expect(nk.empty(cpu(0), 'float32', []).size).toBe(1);
    expect(nk.empty(cpu(0), 'int8', [1, 1, 1, 1, 1, 1, 1, 2]).size).toBe(2);
    expect(() => nk.empty(cpu(0), 'float32', [1, 1, 1, 1, 1, 1, 1, 1, 1])).toThrow(/rank 9 exceeds the maximum of 8/);
    expect(() => nk.empty(cpu(0), 'float32', [2, -1])).toThrow(/integers >= 0/);
    expect(() => nk.empty(cpu(0), 'float32', [2.5])).toThrow(/integers >= 0/);
    expect(() => nk.empty(cpu(0), 'complex64' as nk.DType, [2])).toThrow(/unknown dtype 'complex64'/);
  });

  it('rejects element counts that overflow before allocating', () => {
    expect(() => nk.empty(cpu(0), 'float64', [2 ** 40, 2 ** 40])).toThrow(/too many elements/);
    expect(() => nk.empty(cpu(0), 'float64', [2 ** 30, 2 ** 30])).toThrow(/overflow|too many|out of memory/);
  });

  it('round-trips bytes for every dtype with exactly one copy each way', async () => {
    for (const dtype of nk.DTYPES) {
      const bytes = new Uint8Array(7 * nk.dtypeSize(dtype)).map((_, i) => (i * 37 + 11) & 0xff);
      const t = await nk.fromBytes(cpu(1), dtype, [7], bytes);
      const back = await nk.readBytes(t);
      expect(back).toEqual(bytes);
      // readBytes is a snapshot: later writes do not change it.
      await nk.fill(t, 0);
      expect(back).toEqual(bytes);
    }
  });

  it('hostView hands out the live bytes without copying', async () => {
    const t = nk.empty(cpu(0), 'int32', [4]);
    const view = nk.hostView(t);
    await nk.fill(t, 7);
    expect([...new Int32Array(view.buffer, view.byteOffset, 4)]).toEqual([7, 7, 7, 7]);
    t.dispose();
    // The view keeps the memory alive after dispose.
    expect(new Int32Array(view.buffer, view.byteOffset, 4)[0]).toBe(7);
  });

  it('hostView reuses one buffer per tensor', () => {
    const t = nk.empty(cpu(0), 'float32', [8]);
    const a = nk.hostView(t);
    const b = nk.hostView(t);
    expect(b.buffer).toBe(a.buffer);
    expect(a.byteLength).toBe(32);
    const other = nk.empty(cpu(0), 'float32', [8]);
    expect(nk.hostView(other).buffer).not.toBe(a.buffer);
    t.dispose();
    other.dispose();
  });

  it('frees a disposed tensor once its last view is collected, and not before', () => {
    // A child with --expose-gc: the views' memory must go back when the GC drops them (the
    // deleter of ops.cc's backing store), and stay while one is still referenced.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import * as nk from './native/index.ts';
      const used = () => nk.memoryStats(nk.cpu(0)).allocated;
      const before = used();
      const t = nk.empty(nk.cpu(0), 'uint8', [8 << 20]);
      let kept = nk.hostView(t);
      kept[5] = 42;
      for (let i = 0; i < 3; i++) nk.hostView(t);
      t.dispose();
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 50));
      const whileHeld = used() - before;
      const value = kept[5];
      kept = null;
      for (let i = 0; i < 5 && used() > before; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log(JSON.stringify({ whileHeld, value, after: used() - before }));`;
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ whileHeld: 8 << 20, value: 42, after: 0 });
  });

  // Kernels without transparent huge pages reject the advice (and have no such directory);
  // some sandboxed kernels list no VmFlags to check.
  const thpCheckable =
    existsSync('/sys/kernel/mm/transparent_hugepage') &&
    existsSync('/proc/self/smaps') &&
    readFileSync('/proc/self/smaps', 'utf8').includes('VmFlags:');
  if (!thpCheckable)
    console.log('huge-page advice test skipped: no transparent huge pages, or no VmFlags in /proc/self/smaps');
  it.skipIf(!thpCheckable)('advises large host tensors for transparent huge pages, and leaves small ones alone', () => {
    // A fresh child, so no earlier allocation has advised the heap around the small tensor.
    // VmFlags "hg" in /proc/self/smaps marks memory advised with MADV_HUGEPAGE (set whether or
    // not the kernel then finds huge pages, so this does not depend on memory fragmentation).
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { readFileSync } from 'node:fs';
      import * as nk from './native/index.ts';
      const advisedBytes = () => {
        let total = 0, size = 0;
        for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
          if (line.startsWith('Size:')) size = Number(line.split(/\\s+/)[1]) * 1024;
          else if (line.startsWith('VmFlags:') && line.split(/\\s+/).includes('hg')) total += size;
        }
        return total;
      };
      const MiB = 1 << 20;
      const held = [];
      const grew = (make) => { const before = advisedBytes(); held.push(make()); return advisedBytes() - before; };
      console.log(JSON.stringify({
        small: grew(() => nk.emptyUninitialized(nk.cpu(0), 'uint8', [1 * MiB])),
        uninitialized: grew(() => nk.emptyUninitialized(nk.cpu(0), 'float32', [16 * MiB])),
        zeroed: grew(() => nk.empty(nk.cpu(0), 'float32', [16 * MiB])),
      }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    const grew = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    expect(grew.small).toBe(0);
    // 64 MiB each; madvise covers the 2 MiB-aligned interior (at least 62 MiB).
    expect(grew.uninitialized).toBeGreaterThanOrEqual(62 << 20);
    expect(grew.zeroed).toBeGreaterThanOrEqual(62 << 20);
  });

  it('writeAt copies bytes in at an offset and rejects what does not fit', async () => {
    const t = nk.empty(cpu(0), 'uint8', [8]);
    nk.writeAt(t, 2, new Uint8Array([1, 2, 3]));
    const backing = new Uint8Array([9, 8, 7, 6]);
    nk.writeAt(t, 6, backing.subarray(2)); // a view at a non-zero offset
    nk.writeAt(t, 8, new Uint8Array(0));
    expect([...(await nk.readBytes(t))]).toEqual([0, 0, 1, 2, 3, 0, 7, 6]);
    expect(() => nk.writeAt(t, 6, new Uint8Array(3))).toThrow(/3 bytes at offset 6 do not fit in a tensor of 8 bytes/);
    expect(() => nk.writeAt(t, -1, new Uint8Array(1))).toThrow(/do not fit/);
    expect(() => nk.writeAt(t, 1.5, new Uint8Array(1))).toThrow(/do not fit/);
    for (const offset of [Infinity, NaN, 1e300, 2 ** 64])
      expect(() => nk.writeAt(t, offset, new Uint8Array(0))).toThrow(/do not fit/);
    expect([...(await nk.readBytes(t))]).toEqual([0, 0, 1, 2, 3, 0, 7, 6]);
    t.dispose();
    expect(() => nk.writeAt(t, 0, new Uint8Array(1))).toThrow(/disposed Tensor/);
  });

  it('reads a byte view at a non-zero offset and rejects wrong byte lengths without writing', async () => {
    const backing = new Uint8Array(16).map((_, i) => i);
    const t = await nk.fromBytes(cpu(0), 'uint8', [8], backing.subarray(4, 12));
    expect([...(await nk.readBytes(t))]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    await expect(nk.write(t, new Uint8Array(9))).rejects.toThrow(/got 9 bytes, expected 8 for uint8 \[8\]/);
    expect([...(await nk.readBytes(t))]).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('keeps cpu(i) copies independent', async () => {
    const a = await nk.fromBytes(cpu(0), 'float32', [2], new Uint8Array(new Float32Array([1, 2]).buffer));
    const b = nk.empty(cpu(1), 'float32', [2]);
    await nk.copy(b, a);
    await nk.fill(a, 9);
    expect([...new Float32Array((await nk.readBytes(b)).buffer)]).toEqual([1, 2]);
  });

  it('fails on a disposed tensor with a clear error', async () => {
    const t = nk.empty(cpu(0), 'float32', [2]);
    t.dispose();
    await expect(nk.fill(t, 1)).rejects.toThrow(/disposed Tensor/);
    expect(() => nk.hostView(t)).toThrow(/disposed Tensor/);
  });
});

describe('devices', () => {
  it('reports gpu(i) as unavailable on a CPU-only build, never crashing', () => {
    const info = nk.buildInfo();
    if (info.cuda) return; // covered by test/gpu
    expect(() => nk.checkDevice(gpu(0))).toThrow('gpu(0) is not available: built without CUDA');
    expect(() => nk.empty(gpu(0), 'float32', [2])).toThrow('gpu(0) is not available: built without CUDA');
  });

  it('rejects negative and out-of-range cpu ids', () => {
    expect(() => nk.empty(cpu(-1), 'float32', [1])).toThrow(/cpu\(-1\) is not a valid device/);
    expect(() => nk.empty(cpu(100000), 'float32', [1])).toThrow(/cpu\(100000\) is not available/);
  });
});

describe('memory accounting', () => {
  it('counts bytes per device and enforces a budget with a clear error', () => {
    const dev = cpu(7);
    const before = nk.memoryStats(dev).allocated;
    const t = nk.empty(dev, 'float32', [1000]);
    expect(nk.memoryStats(dev).allocated).toBe(before + 4000);
    nk.setMemoryBudget(dev, before + 6000);
    expect(() => nk.empty(dev, 'float32', [1000])).toThrow(
      new RegExp(
        `cpu\\(7\\): allocating 4000 bytes would exceed the memory budget of cpu\\(7\\) \\(${before + 4000} of ${before + 6000} bytes in use\\)`,
      ),
    );
    expect(nk.memoryStats(dev).allocated).toBe(before + 4000);
    t.dispose();
    expect(nk.memoryStats(dev).allocated).toBe(before);
    const u = nk.empty(dev, 'float32', [1000]);
    expect(nk.memoryStats(dev).budget).toBe(before + 6000);
    u.dispose();
    nk.setMemoryBudget(dev, null);
    expect(nk.memoryStats(dev).budget).toBe(-1);
    expect(nk.memoryStats(dev).peak).toBeGreaterThanOrEqual(before + 4000);
  });

  it('counts every device, the staging copies and external bytes in one total under one budget', async () => {
    const total = (): number => nk.memoryTotals().total.allocated;
    const start = total();
    const a = nk.empty(cpu(3), 'float32', [1000]);
    const b = nk.empty(cpu(4), 'float32', [1000]);
    const releaseJs = nk.reserveExternal(2000);
    expect(total()).toBe(start + 10_000);
    expect(nk.memoryTotals().external.allocated).toBeGreaterThanOrEqual(2000);
    nk.setTotalMemoryBudget(start + 11_000);
    try {
      // Each device alone is far from 11 kB; together they are not.
      expect(() => nk.empty(cpu(5), 'float32', [1000])).toThrow(
        new RegExp(
          `^cpu\\(5\\): allocating 4000 bytes would exceed the memory budget of ${start + 11_000} bytes, with ${start + 10_000} bytes in use$`,
        ),
      );
      expect(() => nk.empty(cpu(5), 'float32', [1000])).toThrow(expect.objectContaining({ code: 'EBUDGET' }));
      expect(() => nk.reserveExternal(2000)).toThrow(
        /^host memory: allocating 2000 bytes would exceed the memory budget/,
      );
      await expect(nk.readBytes(a)).rejects.toThrow(
        /^host staging: allocating 4000 bytes would exceed the memory budget/,
      );
      expect(total()).toBe(start + 10_000); // nothing refused was counted
      // The server's own copies and recovered state are counted, never refused.
      const copy = await nk.readBytes(a, { budgeted: false });
      expect(copy.byteLength).toBe(4000);
      const forced = nk.reserveExternal(3000, true);
      expect(total()).toBeGreaterThanOrEqual(start + 13_000);
      forced();
      forced(); // once only
    } finally {
      nk.setTotalMemoryBudget(null);
    }
    expect(nk.memoryTotals().total.budget).toBe(-1);
    a.dispose();
    b.dispose();
    releaseJs();
    releaseJs();
    expect(total()).toBeLessThanOrEqual(start + 4000); // the unbudgeted copy lives until collected
  });

  it('keeps memory alive for a kernel in flight when its tensor is disposed', async () => {
    const n = 1 << 20;
    const t = nk.empty(cpu(6), 'float32', [n]);
    const pending = nk.fill(t, 3);
    t.dispose();
    await pending;
    expect(nk.memoryStats(cpu(6)).allocated).toBe(0);
  });
});
