// wal-file.ts: the segment file a WalWriter (wal.ts) appends to. Creating it (taking over a
// recycled file when one is kept), writing a batch of records at its end (one writev, or one
// job of the native parts writer), the 'wal.mid-record' failpoint's torn write, cutting a
// recycled file's stale tail, fdatasync and close. The queue, group commit, the sync policy of
// each mode and the acknowledgements stay in wal.ts; file names and recycling in wal-segments.ts.
import { open, rename, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { failpointHit, type FailpointAction } from './failpoints';
import type { EncodedRecord, WalPart, WalPartsWriter } from './wal-record';
import { listRecycledWal, walSegmentName } from './wal-segments';

/** What a batch write did: bytes written, and the fired 'wal.mid-record' action (half a record written). */
export interface WalFileWrite {
  bytes: number;
  torn: FailpointAction | null;
}

/** writev until every byte is written (a regular file may take a large write in parts). */
async function writevFully(fh: FileHandle, bufs: Uint8Array[], position: number): Promise<void> {
  let total = 0;
  for (const b of bufs) total += b.byteLength;
  let pending = bufs;
  while (total > 0) {
    const { bytesWritten } = await fh.writev(pending, position);
    if (bytesWritten <= 0) throw new Error('writev wrote nothing');
    total -= bytesWritten;
    position += bytesWritten;
    if (total === 0) break;
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}

export class WalSegmentFile {
  /** Bytes written so far; the next record goes there. */
  private written = 0;
  private fh: FileHandle | null;

  private constructor(
    readonly path: string,
    readonly firstLsn: bigint,
    fh: FileHandle,
    /** The file was a recycled segment: bytes past `size` are stale records until cut. */
    private recycled: boolean,
  ) {
    this.fh = fh;
  }

  /**
   * Creates `dir/wal-<firstLsn>.log`, taking over a recycled segment when maxRecycled allows one
   * (an empty file of that name, left by a crash, is reused). A non-empty one is refused: the
   * writer's next lsn is then wrong. The caller fsyncs the directory.
   */
  static async create(dir: string, firstLsn: bigint, maxRecycled: number): Promise<WalSegmentFile> {
    const path = join(dir, walSegmentName(firstLsn));
    const notEmpty = (): Error =>
      new Error(
        `write-ahead log segment ${path} already exists and is not empty: replay the log and open the writer at its lastLsn + 1`,
      );
    const existing = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (existing !== null && existing.size > 0) throw notEmpty();
    const spare = maxRecycled > 0 ? (await listRecycledWal(dir))[0] : undefined;
    let fh: FileHandle;
    if (spare !== undefined) {
      await rename(spare, path); // replaces an empty leftover of the same name
      fh = await open(path, 'r+');
    } else {
      try {
        fh = await open(path, 'wx', 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        fh = await open(path, 'r+');
        if ((await fh.stat()).size > 0) {
          await fh.close();
          throw notEmpty();
        }
      }
    }
    return new WalSegmentFile(path, firstLsn, fh, spare !== undefined);
  }

  /** Bytes of records written to this segment. */
  get size(): number {
    return this.written;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.fh === null;
  }

  private handle(): FileHandle {
    if (this.fh === null) throw new Error(`write-ahead log segment ${this.path} is closed`);
    return this.fh;
  }

  /**
   * Writes the records (head, then payload) at the end in one writev. When 'wal.mid-record'
   * fires on a record, only its first half is written and nothing after it, as if the process
   * died inside the write; the caller then triggers the returned action.
   */
  async write(batch: readonly EncodedRecord[]): Promise<WalFileWrite> {
    const bufs: Uint8Array[] = [];
    let bytes = 0;
    let torn: FailpointAction | null = null;
    for (const rec of batch) {
      torn = failpointHit('wal.mid-record');
      if (torn !== null) {
        let half = Math.floor(rec.size / 2);
        const h = rec.head.subarray(0, Math.min(half, rec.head.byteLength));
        bufs.push(h);
        half -= h.byteLength;
        if (half > 0 && rec.payload !== null) bufs.push(rec.payload.subarray(0, half));
        bytes += Math.floor(rec.size / 2);
        break;
      }
      bufs.push(rec.head);
      if (rec.payload !== null) bufs.push(rec.payload);
      bytes += rec.size;
    }
    await writevFully(this.handle(), bufs, this.written);
    this.written += bytes;
    return { bytes, torn };
  }

  /**
   * write() for a batch with records of parts: `writeParts` checksums and writes it all on a
   * pool thread, and with `sync` fdatasyncs in the same job (never after a torn write).
   * Returns `synced` when it did.
   */
  async writeParts(
    batch: readonly EncodedRecord[],
    writeParts: WalPartsWriter,
    sync: boolean,
  ): Promise<WalFileWrite & { synced: boolean }> {
    let bytes = 0;
    let torn: FailpointAction | null = null;
    let limit: number | undefined;
    const records: Array<{ head: Buffer; parts: WalPart[] }> = [];
    for (const rec of batch) {
      records.push({ head: rec.head, parts: rec.parts ?? (rec.payload === null ? [] : [rec.payload]) });
      torn = failpointHit('wal.mid-record');
      if (torn !== null) {
        // Half of this record, as if the process died inside the write.
        limit = bytes + Math.floor(rec.size / 2);
        bytes = limit;
        break;
      }
      bytes += rec.size;
    }
    const synced = sync && limit === undefined;
    const wrote = await writeParts(
      this.handle().fd,
      this.written,
      records,
      limit === undefined ? (synced ? { sync: true } : {}) : { limit },
    );
    if (wrote !== bytes) throw new Error(`wrote ${wrote} of ${bytes} bytes`);
    this.written += bytes;
    return { bytes, torn, synced };
  }

  datasync(): Promise<void> {
    return this.handle().datasync();
  }

  /**
   * A recycled segment is cut to what was written (its stale records of an older generation
   * dropped) before it is closed; returns whether it cut anything. The caller fsyncs after.
   */
  async cutStaleTail(): Promise<boolean> {
    if (!this.recycled || this.fh === null) return false;
    await this.fh.truncate(this.written);
    this.recycled = false;
    return true;
  }

  /** Closes the file; a no-op once closed. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}
