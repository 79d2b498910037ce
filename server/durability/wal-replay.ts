// wal-replay.ts: reading a write-ahead log back (replayWal): segments in order, length bounds
// checked before any allocation, CRC, meta JSON and the lsn sequence; a torn tail is truncated,
// corruption in the middle throws WalCorruptError or, with truncateCorrupt, is cut off. The
// record format is in wal-record.ts, the writer in wal.ts.
//
// Recycled segments (wal.ts) add one case: after a crash, the last segment may continue past
// its last record with stale records of an older generation, whose CRCs are fine but whose
// lsns are lower than the one expected. A stale record in the last segment with no current
// record (lsn >= the expected one) after it is the end of the log: the file is cut there, as
// for a torn tail. Anywhere else a stale record is corruption like any other.
import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fsyncDir, type DurabilityLog } from './fsync';
import {
  checkHeader,
  decodeRecord,
  WAL_HEADER_BYTES,
  WalCorruptError,
  type Decoded,
  type WalRecord,
} from './wal-record';
import { listWalSegments } from './wal-segments';

export interface ReplayOptions {
  /** Records below this lsn are checked but not delivered. Also: records from here on must all be present. */
  fromLsn?: bigint;
  onRecord: (r: WalRecord) => Promise<void> | void;
  /** Truncate at a corrupt record in the middle (dropping everything after it) instead of throwing. */
  truncateCorrupt?: boolean;
  log?: DurabilityLog;
  /** Read chunk size (default 1 MiB). */
  readChunkBytes?: number;
}

export interface ReplayResult {
  /** The last valid lsn in the log, or fromLsn - 1 if that is larger (0 for an empty log): the writer's nextLsn is lastLsn + 1. */
  lastLsn: bigint;
  /** Records delivered to onRecord. */
  records: number;
  /** Valid records read, delivered or not. */
  scanned: number;
  segments: number;
  tornTail: boolean;
  /** Where the log was truncated (torn tail, or corruption with truncateCorrupt). */
  truncatedAt?: { file: string; offset: number; reason: string };
  /** Segment files deleted: the empty ones after a torn tail, and every later one with truncateCorrupt. */
  removedSegments: string[];
}

class SegmentReader {
  private buf: Buffer | null = null;
  private bufStart = 0;
  private bufEnd = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunk: number,
  ) {}

  /** Bytes [pos, pos+n), n <= size - pos (checked by the caller). Never overwrites a handed-out buffer. */
  async view(pos: number, n: number): Promise<Buffer> {
    const buf = this.buf;
    if (buf !== null && pos >= this.bufStart && pos + n <= this.bufEnd)
      return buf.subarray(pos - this.bufStart, pos - this.bufStart + n);
    if (pos + n > this.size) throw new RangeError('read past the end of the segment');
    if (n > this.chunk) {
      const own = Buffer.allocUnsafe(n);
      await this.readFully(own, pos);
      return own;
    }
    const len = Math.min(this.chunk, this.size - pos);
    const fresh = Buffer.allocUnsafe(len);
    await this.readFully(fresh, pos);
    this.buf = fresh;
    this.bufStart = pos;
    this.bufEnd = pos + len;
    return fresh.subarray(0, n);
  }

  private async readFully(b: Buffer, pos: number): Promise<void> {
    let off = 0;
    while (off < b.byteLength) {
      const { bytesRead } = await this.fh.read(b, off, b.byteLength - off, pos + off);
      if (bytesRead === 0) throw new Error('write-ahead log segment shrank while being read');
      off += bytesRead;
    }
  }
}

type Parsed = Decoded | { ok: false; reason: string; incomplete: boolean };

async function parseAt(r: SegmentReader, pos: number): Promise<Parsed> {
  const remaining = r.size - pos;
  if (remaining < WAL_HEADER_BYTES)
    return {
      ok: false,
      reason: `incomplete record header (${remaining} of ${WAL_HEADER_BYTES} bytes)`,
      incomplete: true,
    };
  const h = checkHeader(await r.view(pos, WAL_HEADER_BYTES), remaining);
  if (!h.ok) return h;
  return decodeRecord(await r.view(pos, h.total), h.metaLen);
}

/**
 * Is there a valid record (CRC ok, lsn >= minLsn) starting anywhere in (from, size)? Cheap
 * bounds checks first, so garbage or a zero-filled tail is scanned at memory speed.
 */
async function validRecordAfter(
  r: SegmentReader,
  fh: FileHandle,
  from: number,
  minLsn: bigint,
): Promise<number | null> {
  const size = r.size;
  const maxLsn = minLsn + BigInt(Math.ceil((size - from) / WAL_HEADER_BYTES)) + 1n;
  const WINDOW = 1 << 20;
  for (let start = from + 1; start + WAL_HEADER_BYTES <= size; start += WINDOW) {
    const len = Math.min(WINDOW + WAL_HEADER_BYTES - 1, size - start);
    const win = Buffer.allocUnsafe(len);
    let off = 0;
    while (off < len) {
      const { bytesRead } = await fh.read(win, off, len - off, start + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    for (let i = 0; i + WAL_HEADER_BYTES <= off && i < WINDOW; i++) {
      const o = start + i;
      const total = win.readUInt32LE(i);
      if (total < WAL_HEADER_BYTES || total > size - o) continue;
      if (win.readUInt32LE(i + 16) > total - WAL_HEADER_BYTES) continue;
      const lsn = win.readBigUInt64LE(i + 8);
      if (lsn < minLsn || lsn > maxLsn) continue;
      const p = await parseAt(r, o);
      if (p.ok) return o;
    }
  }
  return null;
}

async function truncateFile(fh: FileHandle, offset: number): Promise<void> {
  await fh.truncate(offset);
  await fh.sync();
}

/** Replays the log in `dir` (see the header comment for what is checked and repaired). */
export async function replayWal(dir: string, options: ReplayOptions): Promise<ReplayResult> {
  const absDir = resolve(dir);
  const segs = await listWalSegments(absDir);
  const chunk = Math.max(64 * 1024, options.readChunkBytes ?? 1 << 20);
  const fromLsn = options.fromLsn;
  const result: ReplayResult = {
    lastLsn: 0n,
    records: 0,
    scanned: 0,
    segments: segs.length,
    tornTail: false,
    removedSegments: [],
  };
  let expected: bigint | null = null;
  let last: bigint | null = null;

  // Segment sizes first: "the last segment" is the last one with any bytes.
  const sizes: number[] = [];
  for (const seg of segs) {
    const fh = await open(seg.path, 'r');
    try {
      sizes.push((await fh.stat()).size);
    } finally {
      await fh.close();
    }
  }
  let lastNonEmpty = -1;
  sizes.forEach((s, i) => {
    if (s > 0) lastNonEmpty = i;
  });

  segments: for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const fh = await open(seg.path, 'r+');
    try {
      const size = (await fh.stat()).size;
      const reader = new SegmentReader(fh, size, chunk);
      const isLast = i >= lastNonEmpty;
      let pos = 0;
      let first = true;
      while (pos < size) {
        const p = await parseAt(reader, pos);
        let bad: string | null = null;
        let incomplete = false;
        // A valid record from before this log's current generation (a recycled segment's past).
        const stale = p.ok && p.lsn < (expected !== null && !first ? expected : seg.firstLsn);
        if (!p.ok) {
          bad = p.reason;
          incomplete = p.incomplete;
        } else if (first && p.lsn !== seg.firstLsn) {
          bad = `first record has lsn ${p.lsn} but the segment name says ${seg.firstLsn}`;
        } else if (expected !== null && p.lsn !== expected) {
          if (first && p.lsn > expected) {
            if (fromLsn === undefined || p.lsn > fromLsn)
              bad = `records ${expected}..${p.lsn - 1n} are missing before this segment`;
          } else {
            bad = `lsn ${p.lsn} out of sequence (expected ${expected})`;
          }
        } else if (expected === null && fromLsn !== undefined && p.lsn > fromLsn) {
          bad = `the log starts at lsn ${p.lsn} but replay needs records from lsn ${fromLsn} (removed or lost)`;
        }
        if (bad !== null) {
          let torn = false;
          if (isLast && (incomplete || !p.ok || stale)) {
            torn = incomplete || (await validRecordAfter(reader, fh, pos, expected ?? seg.firstLsn)) === null;
          }
          if (!torn && !options.truncateCorrupt) throw new WalCorruptError(seg.path, pos, bad);
          await truncateFile(fh, pos);
          result.truncatedAt = { file: seg.path, offset: pos, reason: bad };
          if (torn) {
            result.tornTail = true;
            // Only empty segments can follow the last non-empty one; they would confuse the writer.
            for (const later of segs.slice(i + 1)) {
              await unlink(later.path);
              result.removedSegments.push(later.file);
            }
            if (result.removedSegments.length > 0) await fsyncDir(absDir);
            if (stale)
              options.log?.info?.(
                { file: seg.path, offset: pos, droppedBytes: size - pos },
                'write-ahead log: cut the stale rest of a recycled segment at the end of the log',
              );
            else
              options.log?.warn(
                { file: seg.path, offset: pos, reason: bad, droppedBytes: size - pos },
                'write-ahead log: dropped a torn record at the end of the log',
              );
          } else {
            for (const later of segs.slice(i + 1)) {
              await unlink(later.path);
              result.removedSegments.push(later.file);
            }
            if (result.removedSegments.length > 0) await fsyncDir(absDir);
            options.log?.warn(
              {
                file: seg.path,
                offset: pos,
                reason: bad,
                droppedBytes: size - pos,
                removedSegments: result.removedSegments,
              },
              'write-ahead log: truncated at a corrupt record (truncate-corrupt); records after it are lost',
            );
          }
          break segments;
        }
        if (!p.ok) throw new Error('unreachable');
        first = false;
        expected = p.lsn + 1n;
        last = p.lsn;
        result.scanned++;
        if (fromLsn === undefined || p.lsn >= fromLsn) {
          await options.onRecord({ lsn: p.lsn, meta: p.meta, payload: p.payload, file: seg.path, offset: pos });
          result.records++;
        }
        pos += p.total;
      }
    } finally {
      await fh.close();
    }
  }
  const floor = fromLsn !== undefined ? fromLsn - 1n : 0n;
  result.lastLsn = last !== null && last > floor ? last : floor;
  return result;
}
