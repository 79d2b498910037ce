// wal.ts: a segmented write-ahead log. Each acknowledged mutation is one record; records are
// replayed over the newest checkpoint at start.
//
// Files: `dir/wal-<lsn of its first record, 20 digits>.log`, no file header. LSNs are
// consecutive (+1 per record) across segments. The record format (header, CRC, JSON meta,
// payload) is in wal-record.ts; the segment file the writer appends to (creation, recycling,
// batch writes, torn-write failpoint) in wal-file.ts.
//
// Writing (WalWriter): one queue, written in append order; each batch of queued records goes
// out in one writev (group commit), payloads are never copied (payloads of 4 KiB or less are
// copied into their header buffer, which saves an iovec), so a payload must stay unchanged
// until its `durable` settles. Replay the log before opening a writer on it (the writer starts
// a new segment at the replayed lastLsn + 1), and never run replay while a writer is open.
// Modes and what a crash can lose:
//   - 'wal-always': `durable` resolves after an fdatasync that covers the record; appends that
//     arrive while a write+fsync is in flight share the next one. A resolved record survives
//     kill -9 and power loss.
//   - 'wal-batch': `durable` resolves once the record is written to the file (in the page cache:
//     it survives kill -9 of the process, not a power loss or kernel crash); an fdatasync runs at
//     most every `batchMs` while there are unsynced writes. Loss window on power loss: the
//     records written in the last `batchMs` plus the duration of one write+fsync.
// A full segment (segmentBytes) is fdatasynced and closed before the next one is created, so
// only the last segment can ever end in a torn record.
//
// Recycling: segments dropped after a checkpoint are renamed `wal-recycled-<lsn>.log` (at most
// maxRecycled of them; the rest are deleted) and a new segment takes one over, overwriting it
// in place. Overwriting blocks a file already owns is an order of magnitude cheaper than
// extending a file: measured on the development VM (ext4), 16 MiB appended to a new file with
// an fdatasync every 10 ms took 46-49 ms and 35-40 ms of CPU, into a recycled file 4.9 ms and
// 1.9 ms (block allocation, journaling and fresh page-cache pages). A recycled segment holds
// stale records of an older generation after what has been written: closing or rotating cuts
// it to its written size (then fsyncs), and after a crash replay recognizes the stale part of
// the last segment by its lower lsns (see wal-replay.ts). A failed write or fsync fails the
// writer for good (after a failed fsync the page cache state is unknown): every pending and
// later call rejects, and the server must stop and recover from disk.
//
// Replay (replayWal, in wal-replay.ts) reads the segments in order and checks length bounds
// (never allocating more than the bytes left in the file), the CRC, the meta JSON and the lsn
// sequence. A bad record at the end of the last segment with nothing valid after it is a torn
// tail: the file is truncated there (and fsynced) with a warning. Anything else is corruption and throws
// WalCorruptError (file, offset, reason), or with `truncateCorrupt` truncates there, deletes the
// later segments and reports it. Under 'wal-batch' a power loss can persist a later page of the
// log but not an earlier one: that shows up as corruption and needs `truncateCorrupt` (which
// only drops records that were never fsynced).
import { resolve } from 'node:path';
import { failpoint, failpointsActive, triggerFailpoint } from './failpoints';
import { fsyncDir, mkdirDurable, type DurabilityLog } from './fsync';
import { WalSegmentFile, type WalFileWrite } from './wal-file';
import { encodeHead, encodeRecord, type EncodedRecord, type WalPart, type WalPartsWriter } from './wal-record';
import { DEFAULT_MAX_RECYCLED_SEGMENTS, listWalSegments, removeWalSegmentsBefore } from './wal-segments';

export {
  DEFAULT_MAX_RECYCLED_SEGMENTS,
  listRecycledWal,
  listWalSegments,
  removeWalSegmentsBefore,
  walRecycledName,
  walSegmentName,
} from './wal-segments';
export type { WalSegment } from './wal-segments';

export { WAL_HEADER_BYTES, WAL_MAX_PAYLOAD_BYTES, WAL_MAX_RECORD_BYTES, WalCorruptError } from './wal-record';
export type { WalPart, WalPartsWriter, WalRecord } from './wal-record';

const MAX_IOVECS = 1024;

export type WalMode = 'wal-always' | 'wal-batch';

/** Thrown by append/flush/rotate/close after the writer failed or was closed. */
export class WalUnavailableError extends Error {
  override name = 'WalUnavailableError';
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface WalWriterOptions {
  mode: WalMode;
  /** wal-batch: the longest time between a write and the fsync that covers it (default 10). */
  batchMs?: number;
  /** A segment is closed once the next record would take it past this size (default 256 MiB). */
  segmentBytes?: number;
  /** The lsn of the first record this writer appends: the replayed log's lastLsn + 1. */
  nextLsn: bigint;
  /** Soft cap on the bytes of one writev batch; one record always fits (default 64 MiB). */
  maxBatchBytes?: number;
  /** Dropped segments kept for reuse (default DEFAULT_MAX_RECYCLED_SEGMENTS; 0 = delete them). */
  maxRecycled?: number;
  /**
   * Writes batches that hold records of parts (appendParts) from outside the main thread, with
   * their crc32s: the server passes the native addon's walWrite, so a training step's gradient
   * goes from tensor memory to the file without a JS copy. Without it appendParts throws.
   */
  writeParts?: WalPartsWriter;
  /** Called after each fdatasync with its duration in seconds (the metrics). */
  onSync?: (seconds: number) => void;
  log?: DurabilityLog;
}

export interface WalAppendResult {
  lsn: bigint;
  /** Resolves when the record is as durable as the mode promises; rejects if the writer fails. */
  durable: Promise<void>;
}

export interface WalStats {
  appends: number;
  /** writev batches (group commits). */
  batches: number;
  fsyncs: number;
  bytes: number;
  segmentsCreated: number;
}

interface Deferred {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface RecordItem extends EncodedRecord {
  kind: 'record';
  /** wal-batch: resolves `durable` once written. */
  written: Deferred | null;
}

interface OpItem extends Deferred {
  kind: 'rotate' | 'close';
}

type Item = RecordItem | OpItem;

function deferred(): { promise: Promise<void>; d: Deferred } {
  let d!: Deferred;
  const promise = new Promise<void>((resolve, reject) => {
    d = { resolve, reject };
  });
  // A caller may drop `durable` (the failure also fails every later call): no unhandled rejection.
  promise.catch(() => undefined);
  return { promise, d };
}

export class WalWriter {
  private readonly queue: Item[] = [];
  /** Resolved when syncedLsn >= lsn, in lsn order (wal-always records and flush() calls). */
  private readonly syncWaiters: Array<{ lsn: bigint; d: Deferred }> = [];
  /** The current segment (the last one once closed); set by open(). */
  private seg!: WalSegmentFile;
  private next: bigint;
  private written: bigint;
  private synced: bigint;
  private pumping = false;
  /** wal-batch: an fdatasync running beside the writes (see pump). */
  private syncing: Promise<void> | null = null;
  private scheduled = false;
  private syncDue = false;
  private timer: NodeJS.Timeout | null = null;
  private lastSyncAt = 0;
  private failure: Error | null = null;
  private closing = false;
  private readonly counters: WalStats = { appends: 0, batches: 0, fsyncs: 0, bytes: 0, segmentsCreated: 0 };
  private readonly mode: WalMode;
  private readonly batchMs: number;
  private readonly segmentBytes: number;
  private readonly maxBatchBytes: number;
  private readonly maxRecycled: number;
  private readonly log: DurabilityLog | undefined;
  private readonly writeParts: WalPartsWriter | undefined;
  private readonly onSync: ((seconds: number) => void) | undefined;

  private constructor(
    readonly dir: string,
    options: WalWriterOptions,
  ) {
    this.mode = options.mode;
    this.batchMs = options.batchMs ?? 10;
    this.segmentBytes = options.segmentBytes ?? 256 * 1024 * 1024;
    this.maxBatchBytes = options.maxBatchBytes ?? 64 * 1024 * 1024;
    this.maxRecycled = options.maxRecycled ?? DEFAULT_MAX_RECYCLED_SEGMENTS;
    this.log = options.log;
    this.writeParts = options.writeParts;
    this.onSync = options.onSync;
    this.next = options.nextLsn;
    this.written = options.nextLsn - 1n;
    this.synced = options.nextLsn - 1n;
  }

  /**
   * Opens a writer that appends from `nextLsn` in a new segment `wal-<nextLsn>.log` (an empty
   * file of that name, left by a crash, is reused). Replay the log first: a segment starting
   * after nextLsn, or a non-empty one at nextLsn, means nextLsn is wrong and is refused.
   */
  static async open(dir: string, options: WalWriterOptions): Promise<WalWriter> {
    if (options.mode !== 'wal-always' && options.mode !== 'wal-batch')
      throw new TypeError(`unknown WAL mode ${String(options.mode)}`);
    if (typeof options.nextLsn !== 'bigint' || options.nextLsn < 1n)
      throw new RangeError('nextLsn must be a bigint >= 1');
    const absDir = resolve(dir);
    await mkdirDurable(absDir);
    for (const seg of await listWalSegments(absDir)) {
      if (seg.firstLsn > options.nextLsn) {
        throw new Error(
          `write-ahead log ${seg.path} starts at lsn ${seg.firstLsn}, after the writer's next lsn ${options.nextLsn}: replay the log and open the writer at its lastLsn + 1`,
        );
      }
    }
    const w = new WalWriter(absDir, options);
    await w.openSegment(options.nextLsn);
    return w;
  }

  /** The lsn the next append gets. */
  get nextLsn(): bigint {
    return this.next;
  }
  /** The last lsn written to the file (page cache). */
  get writtenLsn(): bigint {
    return this.written;
  }
  /** The last lsn covered by an fsync. */
  get syncedLsn(): bigint {
    return this.synced;
  }
  /** The current segment file. */
  get segment(): string {
    return this.seg.path;
  }
  stats(): WalStats {
    return { ...this.counters };
  }

  private unavailable(): WalUnavailableError | null {
    if (this.failure !== null)
      return new WalUnavailableError(`write-ahead log failed earlier: ${this.failure.message}`, {
        cause: this.failure,
      });
    if (this.closing) return new WalUnavailableError('write-ahead log is closed');
    return null;
  }

  /**
   * Appends a record (meta: a JSON object; payload: bytes, not copied: leave it unchanged until
   * `durable` settles). The lsn is assigned now, in call order; throws if the writer failed or
   * is closed.
   */
  append(meta: object, payload?: Uint8Array): WalAppendResult {
    return this.enqueue(() => encodeRecord(this.next, meta, payload));
  }

  /**
   * Appends a record whose payload is `parts` (host tensors or bytes, in order), written and
   * checksummed by the writeParts option away from the main thread. The parts must stay
   * unchanged (and alive) until `durable` settles.
   */
  appendParts(meta: object, parts: WalPart[]): WalAppendResult {
    if (this.writeParts === undefined) throw new Error('appendParts needs the writeParts option');
    return this.enqueue(() => encodeHead(this.next, meta, parts));
  }

  private enqueue(encode: () => EncodedRecord): WalAppendResult {
    const err = this.unavailable();
    if (err !== null) throw err;
    const rec: RecordItem = { kind: 'record', ...encode(), written: null };
    this.next += 1n;
    this.counters.appends++;
    const { promise, d } = deferred();
    if (this.mode === 'wal-always') this.syncWaiters.push({ lsn: rec.lsn, d });
    else rec.written = d;
    this.queue.push(rec);
    this.kick();
    return { lsn: rec.lsn, durable: promise };
  }

  /** Writes and fsyncs everything appended before this call. */
  flush(): Promise<void> {
    const err = this.unavailable();
    if (err !== null) return Promise.reject(err);
    const target = this.next - 1n;
    if (target <= this.synced) return Promise.resolve();
    const { promise, d } = deferred();
    this.syncWaiters.push({ lsn: target, d });
    this.kick();
    return promise;
  }

  /** Ends the current segment (fsynced, closed) and starts a new one at the next lsn; no-op if it is empty. */
  rotate(): Promise<void> {
    return this.op('rotate');
  }

  /** Writes and fsyncs everything queued, then closes the file. Rejects if the writer had failed. */
  close(): Promise<void> {
    if (this.closing) return Promise.reject(new WalUnavailableError('write-ahead log is already closed'));
    const p = this.op('close', true);
    this.closing = true;
    return p;
  }

  /**
   * Deletes segments whose records are all < lsn, never the current one. To drop everything a
   * checkpoint covers, rotate() first. Returns the deleted file names.
   */
  removeSegmentsBefore(lsn: bigint): Promise<string[]> {
    return removeWalSegmentsBefore(this.dir, lsn, { keepFrom: this.seg.firstLsn, maxRecycled: this.maxRecycled });
  }

  private op(kind: 'rotate' | 'close', evenIfFailed = false): Promise<void> {
    const err = this.unavailable();
    if (err !== null && !(evenIfFailed && this.failure !== null)) return Promise.reject(err);
    const { promise, d } = deferred();
    this.queue.push({ kind, ...d });
    this.kick();
    return promise;
  }

  private kick(): void {
    if (this.pumping || this.scheduled) return;
    this.scheduled = true;
    // A microtask, so every append of the current tick joins the first batch.
    queueMicrotask(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  private wantSync(): boolean {
    if (this.written <= this.synced) return false;
    if (this.syncDue) return true;
    const w = this.syncWaiters[0];
    return w !== undefined && w.lsn <= this.written;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.failure !== null) {
          await this.drainAfterFailure();
          break;
        }
        if (this.wantSync() && this.syncing === null) {
          if (this.mode === 'wal-batch' && this.queue[0]?.kind === 'record') {
            // wal-batch acknowledges on write, so the batch fsync need not hold the next writes
            // back: it runs beside them (pwritev and fdatasync on one fd are safe concurrently)
            // and covers what was written when it started.
            this.syncing = this.sync()
              .catch((err: unknown) => this.fail(err as Error))
              .finally(() => {
                this.syncing = null;
                this.kick();
              });
          } else {
            await this.sync();
            continue;
          }
        }
        const head = this.queue[0];
        if (head === undefined) break;
        if (head.kind !== 'record') {
          this.queue.shift();
          try {
            if (head.kind === 'rotate') await this.rotateSegment();
            else await this.closeFile();
            head.resolve();
          } catch (err) {
            head.reject(err as Error);
            throw err;
          }
          continue;
        }
        if (this.seg.size > 0 && this.seg.size + head.size > this.segmentBytes) {
          await this.rotateSegment();
          continue;
        }
        const batch = this.takeBatch();
        try {
          await this.writeBatch(batch);
        } catch (err) {
          const e = new WalUnavailableError(`write-ahead log write failed: ${(err as Error).message}`, { cause: err });
          for (const rec of batch) rec.written?.reject(e);
          throw err;
        }
        if (this.mode === 'wal-always') {
          if (this.written > this.synced) await this.sync();
        } else this.scheduleBatchSync();
      }
    } catch (err) {
      this.fail(err as Error);
      await this.drainAfterFailure();
    } finally {
      this.pumping = false;
    }
  }

  /** Consecutive records from the queue front within the iovec, byte and segment limits. */
  private takeBatch(): RecordItem[] {
    const batch: RecordItem[] = [];
    let iov = 0;
    let bytes = 0;
    let seg = this.seg.size;
    for (const item of this.queue) {
      if (item.kind !== 'record') break;
      const n = 1 + (item.payload === null ? 0 : 1) + (item.parts?.length ?? 0);
      if (
        batch.length > 0 &&
        (iov + n > MAX_IOVECS ||
          bytes + item.size > this.maxBatchBytes ||
          (seg > 0 && seg + item.size > this.segmentBytes))
      )
        break;
      batch.push(item);
      iov += n;
      bytes += item.size;
      seg += item.size;
    }
    this.queue.splice(0, batch.length);
    return batch;
  }

  private async writeBatch(batch: RecordItem[]): Promise<void> {
    failpoint('wal.before-write');
    if (this.writeParts !== undefined && batch.some((r) => r.parts !== null)) {
      // wal-always: the fdatasync runs in the same pool job as the write (one trip through the
      // main thread per batch, not two: under load each trip waits for the event loop). Not while
      // failpoints are set, so that 'wal.after-write-before-fsync' still falls between the two.
      const syncedBefore = performance.now();
      const w = await this.seg.writeParts(batch, this.writeParts, this.mode === 'wal-always' && !failpointsActive());
      this.wrote(batch, w);
      if (w.synced) {
        this.lastSyncAt = syncedBefore;
        this.syncDone(this.written);
        return;
      }
    } else this.wrote(batch, await this.seg.write(batch));
    failpoint('wal.after-write-before-fsync');
    if (this.mode === 'wal-batch') for (const rec of batch) rec.written!.resolve();
  }

  /** Bookkeeping after a batch write (a torn one's failpoint fires here, after the counters). */
  private wrote(batch: RecordItem[], w: WalFileWrite): void {
    this.counters.batches++;
    this.counters.bytes += w.bytes;
    if (w.torn !== null) triggerFailpoint('wal.mid-record', w.torn);
    this.written = batch[batch.length - 1]!.lsn;
  }

  private async sync(): Promise<void> {
    const target = this.written;
    this.syncDue = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastSyncAt = performance.now();
    await this.seg.datasync();
    this.syncDone(target);
  }

  /** Bookkeeping after an fdatasync that covered every record up to `target`. */
  private syncDone(target: bigint): void {
    this.counters.fsyncs++;
    this.onSync?.((performance.now() - this.lastSyncAt) / 1000);
    this.synced = target;
    failpoint('wal.after-fsync-before-ack');
    while (this.syncWaiters.length > 0 && this.syncWaiters[0]!.lsn <= target) this.syncWaiters.shift()!.d.resolve();
  }

  private scheduleBatchSync(): void {
    if (this.timer !== null || this.syncDue || this.written <= this.synced) return;
    const delay = Math.max(0, this.lastSyncAt + this.batchMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.syncDue = true;
      this.kick();
    }, delay);
    this.timer.unref();
  }

  private async openSegment(firstLsn: bigint): Promise<void> {
    this.seg = await WalSegmentFile.create(this.dir, firstLsn, this.maxRecycled);
    this.counters.segmentsCreated++;
    await fsyncDir(this.dir);
    failpoint('wal.after-segment-create');
  }

  private async rotateSegment(): Promise<void> {
    if (this.seg.size === 0) return;
    await this.syncing;
    await this.cutStaleTail();
    if (this.written > this.synced) await this.sync();
    await this.seg.close();
    await this.openSegment(this.written + 1n);
  }

  /**
   * A recycled segment is cut to what was written before it is closed (the fdatasync that
   * follows persists the new size), so only the last segment can hold stale records.
   */
  private async cutStaleTail(): Promise<void> {
    await this.syncing;
    if ((await this.seg.cutStaleTail()) && this.written <= this.synced) await this.seg.datasync();
  }

  private async closeFile(): Promise<void> {
    await this.syncing;
    await this.cutStaleTail();
    if (this.written > this.synced) await this.sync();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.seg.close();
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.log?.warn(
      { err, segment: this.seg.path, writtenLsn: String(this.written), syncedLsn: String(this.synced) },
      'write-ahead log failed; no further records are accepted',
    );
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** After a failure: reject everything pending; a queued close still closes the file. */
  private async drainAfterFailure(): Promise<void> {
    const failure = this.failure!;
    const err = new WalUnavailableError(`write-ahead log failed: ${failure.message}`, { cause: failure });
    for (const w of this.syncWaiters.splice(0)) w.d.reject(err);
    for (const item of this.queue.splice(0)) {
      if (item.kind === 'record') item.written?.reject(err);
      else if (item.kind === 'rotate') item.reject(err);
      else {
        await this.seg.close().catch(() => undefined);
        item.reject(err);
      }
    }
  }
}

export { replayWal } from './wal-replay';
export type { ReplayOptions, ReplayResult } from './wal-replay';
