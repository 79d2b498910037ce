// Large tensors and concurrent calls through the real client and an in-process server: a 64 MiB
// float32 round trip byte for byte, and writers racing readers on one multi-chunk parameter
// where every read must equal exactly one complete written value, at the version it reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import type { Harness } from './helpers';
import { bytesOf, startHarness } from './helpers';

let h: Harness;
let ps: ParameterServerClient;
const extra: ParameterServerClient[] = [];

beforeAll(async () => {
  h = await startHarness();
  ps = h.ps;
  // Separate channels, so calls really overlap on the server rather than queue on one connection.
  for (let i = 0; i < 3; i++) extra.push(await connect(h.server.address));
});
afterAll(async () => {
  for (const c of extra) await c.close();
  await h?.close();
});

describe('a 64 MiB float32 parameter', () => {
  it('set then get returns the same bytes, on both contexts', async () => {
    const n = 16 * 1024 * 1024; // 64 MiB of float32
    const p = await ps.parameter('big64', { shape: [4096, 4096], gradReq: 'null', init: init.zero() });
    await p.initialize({ ctx: [cpu(0), cpu(1)] });
    // Deterministic bits that are finite floats: a multiplicative hash folded to [-1, 1).
    const value = new Float32Array(n);
    let x = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      value[i] = x / 2 ** 31 - 1;
    }
    const d = await p.setData({ shape: [4096, 4096], dtype: 'float32', data: value });
    const got = await p.data(cpu(1));
    expect(got.shape).toEqual([4096, 4096]);
    expect(got.data.byteLength).toBe(64 * 1024 * 1024);
    expect(got.version).toBe(d.version);
    expect(bytesOf(got).equals(bytesOf({ shape: [4096, 4096], dtype: 'float32', data: value }))).toBe(true);
    const got0 = await p.data(cpu(0));
    expect(bytesOf(got0).equals(bytesOf(got))).toBe(true);
  });
});

describe('concurrent calls', () => {
  it('8 writers and 4 readers on one parameter: every read is one whole written value at its version', async () => {
    const n = 768 * 1024; // 3 MiB: several 1 MiB chunks each way
    const clients = [ps, ...extra];
    const p0 = await ps.parameter('race', { shape: [n], init: init.zero() });
    const d0 = await p0.initialize({ ctx: [cpu(0), cpu(1)] });
    const handles = await Promise.all(clients.map((c) => c.get('race')));
    const valueAt = new Map<number, number>([[d0.version, 0]]);
    const writes = 3;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      const p = handles[w % handles.length]!;
      for (let k = 0; k < writes; k++) {
        const fill = w * writes + k + 1; // distinct per write
        const d = await p.setData({ shape: [n], dtype: 'float32', data: new Float32Array(n).fill(fill) });
        expect(valueAt.has(d.version)).toBe(false);
        valueAt.set(d.version, fill);
      }
    });
    const reads: Array<{ version: number; value: number; ctx: number }> = [];
    const readers = Array.from({ length: 4 }, async (_, r) => {
      const p = handles[(r + 1) % handles.length]!;
      let last = -1;
      for (let k = 0; k < 8; k++) {
        const ctx = cpu(k % 2);
        const t = await p.data(ctx);
        const data = t.data as Float32Array;
        const first = data[0]!;
        // Not torn: every element equals the first.
        let same = true;
        for (let i = 1; i < n; i++)
          if (data[i] !== first) {
            same = false;
            break;
          }
        expect(same).toBe(true);
        // A reader's own sequential reads never go back in time.
        expect(t.version).toBeGreaterThanOrEqual(last);
        last = t.version;
        reads.push({ version: t.version, value: first, ctx: ctx.deviceId });
      }
    });
    await Promise.all([...writers, ...readers]);
    // Every read equals exactly the value written at the version it reports.
    for (const r of reads) expect(valueAt.get(r.version)).toBe(r.value);
    const versions = [...valueAt.keys()].sort((a, b) => a - b);
    expect(versions).toHaveLength(8 * writes + 1);
    expect(versions[versions.length - 1]).toBe(d0.version + 8 * writes);
    // The final value is the last write, the same on both contexts.
    const final = valueAt.get(versions[versions.length - 1]!)!;
    for (const t of await p0.listData()) expect((t.data as Float32Array).every((v) => v === final)).toBe(true);
  });

  it('racing declarations and initializations: one spec wins, one initialization happens', async () => {
    const clients = [ps, ...extra];
    const spec = { shape: [4, 4], init: init.uniform({ scale: 1 }) };
    const handles = await Promise.all(
      Array.from({ length: 12 }, (_, i) => clients[i % clients.length]!.parameter('race_init', spec)),
    );
    const described = await Promise.all(handles.map((p, i) => p.initialize({ ctx: [cpu(i % 3)], seed: i })));
    // Exactly one initialize took effect; the others saw an initialized parameter and changed nothing.
    const finals = await Promise.all(handles.map((p) => p.describe()));
    for (const d of finals) expect(d).toMatchObject({ version: 1, initialized: true });
    expect(described.filter((d) => d.version === 1)).toHaveLength(12);
    const ctx = finals[0]!.ctx;
    expect(ctx).toHaveLength(1);
    const reads = await Promise.all(handles.map((p) => p.data()));
    for (const t of reads) expect(bytesOf(t).equals(bytesOf(reads[0]!))).toBe(true);
  });

  it('many small reads in flight on several channels all complete with the right value', async () => {
    const clients = [ps, ...extra];
    const p = await ps.parameter('small_many', { shape: [1024], dtype: 'int32', init: init.zero() });
    await p.initialize();
    await p.setData(Int32Array.from({ length: 1024 }, (_, i) => i));
    const handles = await Promise.all(clients.map((c) => c.get('small_many')));
    const reads = await Promise.all(Array.from({ length: 256 }, (_, i) => handles[i % handles.length]!.data()));
    for (const t of reads) {
      expect(t.data.length).toBe(1024);
      expect((t.data as Int32Array)[1023]).toBe(1023);
    }
  });
});
