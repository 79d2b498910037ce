// wal-segments.ts: the files of a write-ahead log directory (see wal.ts for the format):
// `wal-<first lsn>.log` segments in lsn order, and dropped segments kept for reuse as
// `wal-recycled-<lsn>.log` (the writer overwrites one instead of growing a new file).
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, readdirIfExists } from './fsync';

const SEGMENT_RE = /^wal-(\d{20})\.log$/;
const RECYCLED_RE = /^wal-recycled-(\d{20})\.log$/;
/** Dropped segments kept for reuse by default (each up to segmentBytes on disk). */
export const DEFAULT_MAX_RECYCLED_SEGMENTS = 4;

export function walSegmentName(firstLsn: bigint): string {
  if (firstLsn < 0n || firstLsn > 99_999_999_999_999_999_999n) throw new RangeError(`lsn ${firstLsn} out of range`);
  return `wal-${firstLsn.toString().padStart(20, '0')}.log`;
}

/** The name a dropped segment is kept under for reuse. */
export function walRecycledName(firstLsn: bigint): string {
  return `wal-recycled-${walSegmentName(firstLsn).slice(4, 24)}.log`;
}

/** Paths of the recycled segments of `dir`, oldest first ([] if the dir does not exist). */
export async function listRecycledWal(dir: string): Promise<string[]> {
  const names = await readdirIfExists(dir);
  return names
    .filter((f) => RECYCLED_RE.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export interface WalSegment {
  file: string;
  path: string;
  firstLsn: bigint;
}

/** The segment files of `dir` in lsn order ([] if the dir does not exist). Other files are ignored. */
export async function listWalSegments(dir: string): Promise<WalSegment[]> {
  const names = await readdirIfExists(dir);
  const out: WalSegment[] = [];
  for (const file of names) {
    const m = SEGMENT_RE.exec(file);
    if (m !== null) out.push({ file, path: join(dir, file), firstLsn: BigInt(m[1]!) });
  }
  return out.sort((a, b) => (a.firstLsn < b.firstLsn ? -1 : a.firstLsn > b.firstLsn ? 1 : 0));
}

/**
 * Drops the segments whose records all have lsn < `lsn` (known because the next segment starts
 * at or below `lsn`): each is kept for reuse as a recycled segment while fewer than
 * `maxRecycled` are (default DEFAULT_MAX_RECYCLED_SEGMENTS), else deleted. The last segment,
 * and any segment at or after `keepFrom`, is kept. Returns the dropped segments' file names.
 */
export async function removeWalSegmentsBefore(
  dir: string,
  lsn: bigint,
  options: { keepFrom?: bigint; maxRecycled?: number } = {},
): Promise<string[]> {
  const segs = await listWalSegments(dir);
  const removed: string[] = [];
  let recycled = (await listRecycledWal(dir)).length;
  const maxRecycled = options.maxRecycled ?? DEFAULT_MAX_RECYCLED_SEGMENTS;
  for (let i = 0; i + 1 < segs.length; i++) {
    const seg = segs[i]!;
    if (options.keepFrom !== undefined && seg.firstLsn >= options.keepFrom) break;
    if (segs[i + 1]!.firstLsn > lsn) break;
    if (recycled < maxRecycled) {
      await rename(seg.path, join(dir, walRecycledName(seg.firstLsn)));
      recycled++;
    } else {
      await unlink(seg.path);
    }
    removed.push(seg.file);
  }
  if (removed.length > 0) await fsyncDir(dir);
  return removed;
}
