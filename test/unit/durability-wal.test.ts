// The write-ahead log (server/durability/wal.ts) on real files in a temp dir: round trip,
// a torn tail at every byte of the last record (truncated, and every bit flip there), hostile
// lengths, corruption in the middle (WalCorruptError, or truncateCorrupt), missing segments,
// group commit in wal-always, the fsync cadence of wal-batch, rotation and segment removal,
// and real processes killed with SIGKILL by a failpoint in the middle of appends.
import { mkdirSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  WAL_HEADER_BYTES,
  WalCorruptError,
  WalUnavailableError,
  WalWriter,
  listRecycledWal,
  listWalSegments,
  replayWal,
  walRecycledName,
  walSegmentName,
  type WalRecord,
} from '../../server/durability/wal';
import { runChild, useBundledModule } from '../fixtures/bundled-module';

const scratch = useBundledModule('wal', 'server/durability/wal.ts');
const WAL_TS = scratch.bundle;
const freshDir = scratch.fresh;

interface Got {
  lsn: bigint;
  meta: Record<string, unknown>;
  payload: Buffer;
}

async function replayAll(dir: string, opts: { fromLsn?: bigint; truncateCorrupt?: boolean } = {}) {
  const got: Got[] = [];
  const warnings: string[] = [];
  const result = await replayWal(dir, {
    ...opts,
    onRecord: (r: WalRecord) => {
      got.push({ lsn: r.lsn, meta: r.meta, payload: r.payload });
    },
    log: { warn: (_o, msg) => warnings.push(msg) },
  });
  return { got, result, warnings };
}

function payloadFor(i: number): Uint8Array {
  const len = (i * 37) % 200;
  return Uint8Array.from({ length: len }, (_, k) => (i + k) & 255);
}

/** Writes records 1..count (meta {i}, payloadFor(i)) and closes; returns the segment path. */
async function writeRecords(
  dir: string,
  count: number,
  mode: 'wal-always' | 'wal-batch' = 'wal-batch',
): Promise<string> {
  const w = await WalWriter.open(dir, { mode, nextLsn: 1n });
  for (let i = 1; i <= count; i++) void w.append({ op: 'set', i }, payloadFor(i));
  await w.close();
  return path.join(dir, walSegmentName(1n));
}

/** Byte offsets of each record in a segment (parsed from the length fields). */
function recordOffsets(file: string): number[] {
  const b = readFileSync(file);
  const out: number[] = [];
  for (let p = 0; p < b.length; p += b.readUInt32LE(p)) out.push(p);
  return out;
}

describe('write and replay', () => {
  it('round-trips meta and payloads (small, inline, large) in lsn order', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-always', nextLsn: 7n });
    const big = new Uint8Array(3 * 1024 * 1024).map((_, k) => (k * 13) & 255);
    const a = w.append({ op: 'a' });
    const b = w.append({ op: 'b', name: 'wé' }, Uint8Array.of(1, 2, 3));
    const c = w.append({ op: 'c' }, big);
    expect([a.lsn, b.lsn, c.lsn]).toEqual([7n, 8n, 9n]);
    await Promise.all([a.durable, b.durable, c.durable]);
    expect(w.syncedLsn).toBe(9n);
    await w.close();
    expect(() => w.append({ op: 'late' })).toThrow(WalUnavailableError);
    const { got, result } = await replayAll(dir);
    expect(result).toMatchObject({ lastLsn: 9n, records: 3, tornTail: false });
    expect(got.map((g) => [g.lsn, g.meta])).toEqual([
      [7n, { op: 'a' }],
      [8n, { op: 'b', name: 'wé' }],
      [9n, { op: 'c' }],
    ]);
    expect(got[0]!.payload.byteLength).toBe(0);
    expect([...got[1]!.payload]).toEqual([1, 2, 3]);
    expect(Buffer.compare(got[2]!.payload, Buffer.from(big))).toBe(0);
    // fromLsn: earlier records are checked, not delivered; lastLsn is the log's last.
    const later = await replayAll(dir, { fromLsn: 9n });
    expect(later.got.map((g) => g.lsn)).toEqual([9n]);
    expect(later.result).toMatchObject({ lastLsn: 9n, records: 1, scanned: 3 });
  });

  it('an empty or missing log replays nothing; lastLsn is fromLsn - 1', async () => {
    const dir = freshDir();
    expect((await replayAll(dir)).result).toMatchObject({ lastLsn: 0n, records: 0, segments: 0 });
    expect((await replayAll(dir, { fromLsn: 42n })).result.lastLsn).toBe(41n);
  });

  it('payloads handed to onRecord stay intact after later reads (onRecord may keep them)', async () => {
    const dir = freshDir();
    await writeRecords(dir, 300);
    const kept: Buffer[] = [];
    await replayWal(dir, { onRecord: (r) => void kept.push(r.payload), readChunkBytes: 64 * 1024 });
    kept.forEach((p, k) => expect(Buffer.compare(p, Buffer.from(payloadFor(k + 1)))).toBe(0));
  });

  it('refuses meta that is not a JSON object', async () => {
    const w = await WalWriter.open(freshDir(), { mode: 'wal-batch', nextLsn: 1n });
    expect(() => w.append([1, 2] as unknown as object)).toThrow(TypeError);
    expect(() => w.append({ big: 1n } as unknown as object)).toThrow(TypeError);
    await w.close();
  });
});

describe('torn tail', () => {
  it('a cut at every byte offset inside the last record drops just that record and truncates the file', async () => {
    const dir = freshDir();
    const file = await writeRecords(dir, 6);
    const full = readFileSync(file);
    const lastStart = recordOffsets(file)[5]!;
    for (let cut = lastStart; cut <= full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      const { got, result, warnings } = await replayAll(dir);
      const complete = cut === full.length;
      expect(got.map((g) => g.meta.i)).toEqual(complete ? [1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5]);
      expect(result.tornTail).toBe(cut > lastStart && !complete);
      expect(result.lastLsn).toBe(complete ? 6n : 5n);
      expect(statSync(file).size).toBe(complete ? full.length : lastStart);
      if (result.tornTail) {
        expect(result.truncatedAt).toMatchObject({ file, offset: lastStart });
        expect(warnings.length).toBe(1);
      }
    }
  });

  it('a corrupted byte anywhere in the last record is a torn tail (CRC or length), never an error', async () => {
    const dir = freshDir();
    const file = await writeRecords(dir, 6);
    const full = readFileSync(file);
    const lastStart = recordOffsets(file)[5]!;
    for (let at = lastStart; at < full.length; at++) {
      const bad = Buffer.from(full);
      bad[at] = bad[at]! ^ 0x5a;
      writeFileSync(file, bad);
      const { got, result } = await replayAll(dir);
      expect(got.length).toBe(5);
      expect(result.tornTail).toBe(true);
      expect(statSync(file).size).toBe(lastStart);
    }
  });

  it('garbage or zeros after the last record are a torn tail', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from('not a wal record at all, just junk bytes')]) {
      const dir = freshDir();
      const file = await writeRecords(dir, 3);
      const size = statSync(file).size;
      writeFileSync(file, Buffer.concat([readFileSync(file), tail]));
      const { got, result } = await replayAll(dir);
      expect(got.length).toBe(3);
      expect(result.tornTail).toBe(true);
      expect(statSync(file).size).toBe(size);
    }
  });

  it('a hostile length (4 GiB) is bounded by the file size: torn tail, nothing allocated', async () => {
    const dir = freshDir();
    const file = await writeRecords(dir, 2);
    const size = statSync(file).size;
    const h = Buffer.alloc(WAL_HEADER_BYTES);
    h.writeUInt32LE(0xfffffff0, 0);
    h.writeBigUInt64LE(3n, 8);
    writeFileSync(file, Buffer.concat([readFileSync(file), h, Buffer.alloc(100)]));
    const { got, result } = await replayAll(dir);
    expect(got.length).toBe(2);
    expect(result.tornTail).toBe(true);
    expect(statSync(file).size).toBe(size);
  });

  it('after a torn tail the writer continues at lastLsn + 1 and the log stays contiguous', async () => {
    const dir = freshDir();
    const file = await writeRecords(dir, 4);
    truncateSync(file, statSync(file).size - 3);
    const first = await replayAll(dir);
    expect(first.result.lastLsn).toBe(3n);
    const w = await WalWriter.open(dir, { mode: 'wal-always', nextLsn: first.result.lastLsn + 1n });
    await w.append({ op: 'set', i: 99 }).durable;
    await w.close();
    const again = await replayAll(dir);
    expect(again.got.map((g) => [g.lsn, g.meta.i])).toEqual([
      [1n, 1],
      [2n, 2],
      [3n, 3],
      [4n, 99],
    ]);
    expect(again.result.tornTail).toBe(false);
  });
});

describe('corruption in the middle', () => {
  it('a bad record with valid records after it throws WalCorruptError naming file, offset and reason', async () => {
    const dir = freshDir();
    const file = await writeRecords(dir, 6);
    const offs = recordOffsets(file);
    const bad = readFileSync(file);
    bad[offs[2]! + WAL_HEADER_BYTES + 2] = bad[offs[2]! + WAL_HEADER_BYTES + 2]! ^ 0xff; // inside record 3's meta
    writeFileSync(file, bad);
    const seen: bigint[] = [];
    const err = await replayWal(dir, { onRecord: (r) => void seen.push(r.lsn) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    const e = err as WalCorruptError;
    expect(e.file).toBe(file);
    expect(e.offset).toBe(offs[2]);
    expect(e.reason).toMatch(/crc mismatch/);
    expect(e.message).toContain(`${file} is corrupt at byte ${offs[2]}`);
    expect(statSync(file).size).toBe(bad.length); // untouched
    // With truncateCorrupt: cut there, report it.
    const { got, result, warnings } = await replayAll(dir, { truncateCorrupt: true });
    expect(got.map((g) => g.lsn)).toEqual([1n, 2n]);
    expect(result).toMatchObject({ lastLsn: 2n, tornTail: false, truncatedAt: { file, offset: offs[2] } });
    expect(warnings[0]).toMatch(/truncate-corrupt/);
    expect(statSync(file).size).toBe(offs[2]);
  });

  it('a torn record in a segment that is not the last is corruption; truncateCorrupt drops the later segments', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n });
    for (let i = 1; i <= 3; i++) void w.append({ i });
    await w.rotate();
    for (let i = 4; i <= 6; i++) void w.append({ i });
    await w.close();
    const segs = await listWalSegments(dir);
    expect(segs.map((s) => s.firstLsn)).toEqual([1n, 4n]);
    truncateSync(segs[0]!.path, statSync(segs[0]!.path).size - 1);
    await expect(replayAll(dir)).rejects.toBeInstanceOf(WalCorruptError);
    const { got, result } = await replayAll(dir, { truncateCorrupt: true });
    expect(got.map((g) => g.lsn)).toEqual([1n, 2n]);
    expect(result.removedSegments).toEqual([segs[1]!.file]);
    expect(readdirSync(dir)).toEqual([segs[0]!.file]);
  });

  it('a missing segment is reported unless replay starts after the gap', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n, segmentBytes: 1 });
    for (let i = 1; i <= 4; i++) void w.append({ i }); // one record per segment
    await w.close();
    unlinkSync(path.join(dir, walSegmentName(2n)));
    await expect(replayAll(dir)).rejects.toThrow(/records 2..2 are missing/);
    const { got } = await replayAll(dir, { fromLsn: 3n });
    expect(got.map((g) => g.lsn)).toEqual([3n, 4n]);
    // Replay needs records the log no longer has.
    unlinkSync(path.join(dir, walSegmentName(1n)));
    await expect(replayAll(dir, { fromLsn: 2n })).rejects.toThrow(
      /starts at lsn 3 but replay needs records from lsn 2/,
    );
  });
});

describe('WalWriter', () => {
  it('wal-always: concurrent appends share fsyncs (group commit), and each resolves only once fsynced', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-always', nextLsn: 1n });
    // 300 appends in one tick: one writev, one fsync.
    const burst = Array.from({ length: 300 }, (_, i) => w.append({ i }, payloadFor(i)));
    await Promise.all(burst.map((r) => r.durable));
    expect(w.stats()).toMatchObject({ appends: 300, batches: 1, fsyncs: 1 });
    // 200 appends spread over ticks: those arriving during a write+fsync join the next one.
    const violations: bigint[] = [];
    const spread: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      const r = w.append({ i }, payloadFor(i));
      spread.push(r.durable.then(() => void (w.syncedLsn < r.lsn && violations.push(r.lsn))));
      if (i % 4 === 3) await new Promise((res) => setImmediate(res));
    }
    await Promise.all(spread);
    const s = w.stats();
    expect(violations).toEqual([]);
    expect(s.fsyncs).toBe(s.batches);
    expect(s.fsyncs - 1).toBeLessThan(50); // at most one per tick of 4 appends, typically far fewer
    await w.close();
    expect((await replayAll(dir)).result.lastLsn).toBe(500n);
  });

  it('wal-batch: durable resolves once written; fsync runs at most every batchMs and covers everything within it', async () => {
    const dir = freshDir();
    const batchMs = 25;
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n, batchMs });
    const t0 = performance.now();
    let resolvedBeforeSync = 0;
    let last = 0n;
    while (performance.now() - t0 < 250) {
      const r = w.append({ t: performance.now() });
      last = r.lsn;
      await r.durable;
      if (w.syncedLsn < r.lsn) resolvedBeforeSync++;
      await new Promise((res) => setTimeout(res, 3));
    }
    const elapsed = performance.now() - t0;
    const { fsyncs, appends } = w.stats();
    expect(resolvedBeforeSync).toBeGreaterThan(appends / 2);
    expect(fsyncs).toBeGreaterThanOrEqual(3);
    expect(fsyncs).toBeLessThanOrEqual(Math.ceil(elapsed / batchMs) + 1);
    // Without a flush, the timer alone syncs the last write, batchMs later (polled, so a slow
    // fsync on a loaded machine cannot fail the test; the bound only catches a timer that never fires).
    const deadline = performance.now() + 2000;
    while (w.syncedLsn < last && performance.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    expect(w.syncedLsn).toBe(last);
    await w.close();
  });

  it('flush() writes and fsyncs everything queued', async () => {
    const w = await WalWriter.open(freshDir(), { mode: 'wal-batch', nextLsn: 1n, batchMs: 10_000 });
    for (let i = 0; i < 10; i++) void w.append({ i });
    await w.flush();
    expect(w.syncedLsn).toBe(10n);
    await w.flush(); // nothing pending
    await w.close();
  });

  it('rotates at segmentBytes and on rotate(); removeSegmentsBefore drops only fully covered segments', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n, segmentBytes: 1000 });
    for (let i = 1; i <= 50; i++) void w.append({ op: 'set', i }, new Uint8Array(80));
    await w.flush();
    let segs = await listWalSegments(dir);
    expect(segs.length).toBeGreaterThan(5);
    for (const s of segs) expect(statSync(s.path).size).toBeLessThanOrEqual(1000);
    await w.rotate();
    await w.rotate(); // empty segment: no-op
    expect(path.basename(w.segment)).toBe(walSegmentName(51n));
    const removed = await w.removeSegmentsBefore(30n);
    segs = await listWalSegments(dir);
    expect(removed.length).toBeGreaterThan(0);
    expect(segs[0]!.firstLsn).toBeLessThanOrEqual(30n);
    expect(segs[1]!.firstLsn).toBeGreaterThan(30n);
    for (let i = 51; i <= 55; i++) void w.append({ op: 'set', i }, new Uint8Array(80));
    await w.close();
    const { got } = await replayAll(dir, { fromLsn: 30n });
    expect(got.map((g) => Number(g.lsn))).toEqual(Array.from({ length: 26 }, (_, k) => 30 + k));
    // Everything before the current segment can go; the current one stays.
    const w2 = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 56n });
    await w2.removeSegmentsBefore(56n);
    expect((await listWalSegments(dir)).map((s) => s.firstLsn)).toEqual([56n]);
    await w2.close();
  });

  it('open refuses a nextLsn behind the log', async () => {
    const dir = freshDir();
    await writeRecords(dir, 3);
    await expect(WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n })).rejects.toThrow(
      /already exists and is not empty/,
    );
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 10n, segmentBytes: 1 });
    void w.append({});
    void w.append({});
    await w.close();
    await expect(WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 4n })).rejects.toThrow(
      /after the writer's next lsn/,
    );
  });
});

describe('recycled segments', () => {
  /**
   * Generation 1: records 1..count in segment 1 (big payloads), dropped into the recycle pool;
   * then record count+1 in the next segment and a rotation, so the current segment (starting
   * at count+2) has taken the recycled file over.
   */
  async function recycledDir(count: number): Promise<{ dir: string; w: WalWriter; old: Buffer; first: number }> {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n });
    // Two-digit ids, as the new records below: same record sizes, so stale records start
    // exactly where the new ones end (a valid stale record, not garbage, follows them).
    for (let i = 1; i <= count; i++) void w.append({ op: 'old', i: i + 10 }, new Uint8Array(500).fill(i));
    await w.rotate();
    const old = readFileSync(path.join(dir, walSegmentName(1n)));
    expect(await w.removeSegmentsBefore(BigInt(count + 1))).toEqual([walSegmentName(1n)]);
    expect(await listRecycledWal(dir)).toEqual([path.join(dir, walRecycledName(1n))]);
    void w.append({ op: 'bridge' });
    await w.rotate();
    const first = count + 2;
    expect(path.basename(w.segment)).toBe(walSegmentName(BigInt(first)));
    expect(await listRecycledWal(dir)).toEqual([]);
    expect(statSync(w.segment).size).toBe(old.length); // the recycled file, stale content and all
    return { dir, w, old, first };
  }

  it('a dropped segment is reused in place; closing cuts it to what was written; replay sees only current records', async () => {
    const { dir, w, old, first } = await recycledDir(40);
    for (let i = first; i < first + 5; i++) void w.append({ op: 'new', i }, payloadFor(i));
    await w.flush();
    const seg = path.join(dir, walSegmentName(BigInt(first)));
    expect(statSync(seg).size).toBe(old.length); // overwritten in place, stale rest still there
    await w.close();
    expect(statSync(seg).size).toBeLessThan(old.length);
    const { got, result, warnings } = await replayAll(dir, { fromLsn: BigInt(first) });
    expect(got.map((g) => Number(g.lsn))).toEqual([42, 43, 44, 45, 46]);
    expect(result.tornTail).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('after a crash, the stale records past the last one written are the end of the log, even over a torn record', async () => {
    const { dir, w, old, first } = await recycledDir(40);
    for (let i = first; i < first + 4; i++) void w.append({ op: 'new', i }, new Uint8Array(500).fill(i));
    await w.flush();
    const seg = path.join(dir, walSegmentName(BigInt(first)));
    const crashed = readFileSync(seg); // as a kill -9 would leave it: not cut yet
    expect(crashed.readBigUInt64LE(4 * crashed.readUInt32LE(0) + 8)).toBe(5n); // a whole stale record follows
    await w.close();
    expect(recordOffsets(seg).length).toBe(4);
    const offsets = recordOffsets(seg);
    const lastStart = offsets[offsets.length - 1]!;
    for (const tornLast of [false, true]) {
      const copy = freshDir();
      mkdirSync(copy);
      const bytes = Buffer.from(crashed);
      // A torn last record: its second half still holds generation 1's bytes.
      if (tornLast) {
        const total = bytes.readUInt32LE(lastStart);
        old.copy(bytes, lastStart + Math.floor(total / 2), lastStart + Math.floor(total / 2), lastStart + total);
      }
      writeFileSync(path.join(copy, walSegmentName(BigInt(first))), bytes);
      const { got, result } = await replayAll(copy);
      const want = tornLast ? [42, 43, 44] : [42, 43, 44, 45];
      expect(got.map((g) => Number(g.lsn))).toEqual(want);
      expect(result.tornTail).toBe(true);
      expect(statSync(path.join(copy, walSegmentName(BigInt(first)))).size).toBe(
        tornLast ? lastStart : statSync(seg).size,
      );
      // The writer continues after it, in sequence.
      const w2 = await WalWriter.open(copy, { mode: 'wal-batch', nextLsn: result.lastLsn + 1n });
      void w2.append({ op: 'after' });
      await w2.close();
      expect((await replayAll(copy)).got.map((g) => Number(g.lsn))).toEqual([...want, want[want.length - 1]! + 1]);
    }
  });

  it('a segment renamed from the pool but never written (crash right after) replays as empty', async () => {
    const dir = freshDir();
    const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n });
    for (let i = 1; i <= 10; i++) void w.append({ op: 'old', i }, new Uint8Array(300));
    await w.rotate();
    const old = readFileSync(path.join(dir, walSegmentName(1n)));
    await w.removeSegmentsBefore(11n);
    for (let i = 11; i <= 12; i++) void w.append({ op: 'new', i });
    await w.close();
    // As if the next segment had just been renamed from the pool when the process died.
    writeFileSync(path.join(dir, walSegmentName(13n)), old);
    const { got, result } = await replayAll(dir, { fromLsn: 11n });
    expect(got.map((g) => Number(g.lsn))).toEqual([11, 12]);
    expect(result.lastLsn).toBe(12n);
    expect(statSync(path.join(dir, walSegmentName(13n))).size).toBe(0);
  });

  it('keeps at most maxRecycled dropped segments; 0 deletes them all', async () => {
    for (const maxRecycled of [0, 2]) {
      const dir = freshDir();
      const w = await WalWriter.open(dir, { mode: 'wal-batch', nextLsn: 1n, segmentBytes: 300, maxRecycled });
      for (let i = 1; i <= 12; i++) void w.append({ op: 'x', i }, new Uint8Array(200));
      await w.rotate();
      const removed = await w.removeSegmentsBefore(13n);
      expect(removed.length).toBeGreaterThan(maxRecycled);
      expect((await listRecycledWal(dir)).length).toBe(maxRecycled);
      await w.close();
    }
  });
});

describe('kill -9 during appends (child process, failpoints)', () => {
  const child = (mode: string, concurrent: boolean, dir: string) => `
    import { writeSync } from 'node:fs';
    const { WalWriter } = await import(${JSON.stringify(WAL_TS)});
    const w = await WalWriter.open(${JSON.stringify(dir)}, { mode: ${JSON.stringify(mode)}, nextLsn: 1n, batchMs: 5 });
    for (let i = 1; i <= 400; i++) {
      const payload = new Uint8Array(i % 3 === 0 ? 20000 : 50).fill(i & 255);
      const r = w.append({ op: 'set', i }, payload);
      const ack = r.durable.then(() => writeSync(1, 'ack ' + r.lsn + '\\n'));
      if (${!concurrent} || i % 8 === 0) await ack;
    }
    await w.close();
    writeSync(1, 'done\\n');
  `;

  it('mid-record kill: the torn record is dropped, every acknowledged record is replayed', async () => {
    const cases = [
      { mode: 'wal-always', concurrent: false, fp: 'wal.mid-record=150' },
      { mode: 'wal-always', concurrent: true, fp: 'wal.after-write-before-fsync=9' },
      { mode: 'wal-batch', concurrent: true, fp: 'wal.mid-record=77' },
    ].map((c) => ({ ...c, dir: freshDir() }));
    const runs = await Promise.all(
      cases.map((c) => runChild(child(c.mode, c.concurrent, c.dir), { GLUONPS_FAILPOINTS: c.fp })),
    );
    for (const [k, run] of runs.entries()) {
      const c = cases[k]!;
      expect(run.signal, run.stderr).toBe('SIGKILL');
      expect(run.stderr).toContain(`failpoint ${c.fp.split('=')[0]} fired`);
      const acked = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('ack '))
        .map((l) => BigInt(l.slice(4)));
      expect(acked.length).toBeGreaterThan(0);
      const { got, result } = await replayAll(c.dir);
      const lsns = got.map((g) => g.lsn);
      expect(lsns).toEqual(Array.from({ length: lsns.length }, (_, i) => BigInt(i + 1)));
      for (const a of acked) expect(a).toBeLessThanOrEqual(result.lastLsn);
      for (const g of got) {
        const i = Number(g.meta.i);
        expect(BigInt(i)).toBe(g.lsn);
        expect(g.payload.byteLength).toBe(i % 3 === 0 ? 20000 : 50);
        expect(g.payload.every((x) => x === (i & 255))).toBe(true);
      }
      if (c.fp.startsWith('wal.mid-record')) {
        expect(result.tornTail).toBe(true);
        expect(result.lastLsn).toBe(BigInt(Number(c.fp.split('=')[1]) - 1));
      } else {
        expect(result.tornTail).toBe(false);
      }
      // The log is clean again: a second replay changes nothing.
      const again = await replayAll(c.dir);
      expect(again.result).toMatchObject({ lastLsn: result.lastLsn, tornTail: false });
    }
  }, 20_000);
});
