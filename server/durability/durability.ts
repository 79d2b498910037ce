// durability.ts: the data directory. On start it locks the directory, removes leftovers, loads
// the newest valid checkpoint and replays the write-ahead log over it; while serving it is the
// store's and the trainers' Journal, and it takes checkpoints (every N steps, every T seconds,
// on demand, at shutdown). What a checkpoint holds and how it is loaded: checkpoint-state.ts.
// Loss windows by mode are in docs/durability.md.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { exhausted, unavailable, type ServerError } from '../errors';
import { DEFAULT_CHECKPOINT_MIN_INTERVAL_MS } from '../limits';
import type { ParameterStore } from '../store/parameter-store';
import { Mutex } from '../store/mutex';
import { snapshotEntry } from '../store/snapshot';
import type { SnapshotTensor } from '../store/snapshot';
import type { TrainerRegistry } from '../trainer/registry';
import { snapshotTrainer } from '../trainer/trainer-snapshot';
import {
  checkpointDamage,
  listCheckpoints,
  ManifestTooLargeError,
  pruneCheckpoints,
  removeLeftovers,
  setAsideDamaged,
  writeCheckpoint,
} from './checkpoint-dir';
import { ChecksumError, loadCheckpointState, tensorsFile, type CheckpointMeta } from './checkpoint-state';
import * as nk from '../../native/index';
import type { Journal, JournalMeta, JournalPart, JournalPayload } from './journal';
import { NO_JOURNAL } from './journal';
import { mkdirDurable } from './fsync';
import { acquireDataDirLock } from './lock';
import type { DataDirLock } from './lock';
import { applyRecord } from './replay';
import { replayWal, WAL_MAX_PAYLOAD_BYTES, WalWriter } from './wal';
import type { WalStats } from './wal';
import type { CheckpointStatus } from '../../common/status';

export const DURABILITY_MODES = ['checkpoint', 'wal-batch', 'wal-always'] as const;
export type DurabilityMode = (typeof DURABILITY_MODES)[number];

export interface DurabilityOptions {
  dataDir: string;
  mode: DurabilityMode;
  /** wal-batch: longest time between a write and its fsync (default 10 ms). */
  walBatchMs?: number;
  /** Checkpoint after this many applied trainer steps (default: none). */
  checkpointEverySteps?: number;
  /** Checkpoint this often, in seconds, when something changed (default 300). */
  checkpointEverySeconds?: number;
  /** Valid checkpoints kept (default 3). */
  keepCheckpoints?: number;
  /** Drop a corrupt write-ahead log record in the middle and everything after it, instead of refusing to start. */
  truncateCorruptWal?: boolean;
  /** Least time between the starts of two on-demand checkpoints (default 1000 ms; requestCheckpoint). */
  checkpointMinIntervalMs?: number;
  /**
   * Called once when the write-ahead log fails (disk full, I/O error): the state in memory is
   * then ahead of the disk, so the server must stop serving (startServer refuses every call
   * with UNAVAILABLE and reports NOT_SERVING). Default: nothing.
   */
  onLogFailure?: (message: string) => void;
  /** Where checkpoints and log fsyncs are reported (the metrics); default: nowhere. */
  events?: DurabilityEvents;
}

/** What the data dir reports as it works, for the metrics (server/observability/metrics.ts). */
export interface DurabilityEvents {
  checkpointWritten(seconds: number, bytes: number): void;
  /** One fdatasync of the write-ahead log and how long it took. */
  walSynced(seconds: number): void;
}

export class Durability implements Journal {
  private wal: WalWriter | null = null;
  /** The lsn of the last replayed record (checkpoint mode has no writer to ask). */
  private nextLsnAfterReplay = 0n;
  private readonly checkpointLock = new Mutex();
  private nextCheckpointId = 1n;
  private changesSinceCheckpoint = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set once the write-ahead log failed: every later change is refused. */
  private logFailure: ServerError | null = null;
  /** The on-demand checkpoint that has not started yet: later requests join it. */
  private pendingOnDemand: { promise: Promise<bigint>; joined: number } | null = null;
  /** performance.now() when the last on-demand checkpoint started. */
  private lastOnDemandStart = -Infinity;
  /** How long the start-up recovery took (lock, checkpoint load, log replay), in seconds. */
  recoverySeconds = 0;
  /** The newest checkpoint written or recovered from (GetStatus). */
  lastCheckpoint: CheckpointStatus | null = null;
  /** The last failure of a checkpoint or of the log (GetStatus). */
  lastError: { timeUnixMs: number; message: string } | null = null;

  private constructor(
    readonly options: Required<Omit<DurabilityOptions, 'checkpointEverySteps' | 'onLogFailure' | 'events'>> & {
      checkpointEverySteps: number | null;
      onLogFailure?: (message: string) => void;
      events?: DurabilityEvents;
    },
    private readonly store: ParameterStore,
    private readonly trainers: TrainerRegistry,
    private readonly log: Logger,
    private readonly lock: DataDirLock,
  ) {}

  private get checkpointsDir(): string {
    return join(this.options.dataDir, 'checkpoints');
  }
  get walDir(): string {
    return join(this.options.dataDir, 'wal');
  }

  /** Locks the data dir, recovers its state into `store` and `trainers`, and starts journaling. */
  static async open(
    options: DurabilityOptions,
    store: ParameterStore,
    trainers: TrainerRegistry,
    log: Logger,
  ): Promise<Durability> {
    const full = {
      dataDir: options.dataDir,
      mode: options.mode,
      walBatchMs: options.walBatchMs ?? 10,
      checkpointEverySteps: options.checkpointEverySteps ?? null,
      checkpointEverySeconds: options.checkpointEverySeconds ?? 300,
      keepCheckpoints: options.keepCheckpoints ?? 3,
      truncateCorruptWal: options.truncateCorruptWal ?? false,
      checkpointMinIntervalMs: options.checkpointMinIntervalMs ?? DEFAULT_CHECKPOINT_MIN_INTERVAL_MS,
      onLogFailure: options.onLogFailure,
      events: options.events,
    };
    // acquireDataDirLock creates the data dir durably (its parent fsynced).
    const lock = await acquireDataDirLock(full.dataDir, { log });
    const d = new Durability(full, store, trainers, log, lock);
    try {
      await d.recover();
    } catch (err) {
      await lock.release();
      throw err;
    }
    return d;
  }

  private async recover(): Promise<void> {
    const started = performance.now();
    // Created durably (an entry that a power loss could drop would lose the log with it).
    await mkdirDurable(this.checkpointsDir);
    await mkdirDurable(this.walDir);
    // Sizes only: checksums are verified while the checkpoint is loaded (one read of its data).
    const removed = await removeLeftovers(this.checkpointsDir, { verify: 'size', log: this.log });
    if (removed.length > 0) this.log.warn({ removed }, 'removed incomplete checkpoints');
    // Sizes are checked when listing; checksums while loading (one read of the data), falling
    // back to the next older checkpoint if one does not match.
    const candidates = await listCheckpoints(this.checkpointsDir, { verify: 'size', log: this.log });
    let newest: (typeof candidates)[number] | undefined;
    for (const c of candidates) {
      try {
        await this.loadCheckpoint(c.dir, c.manifest.meta as CheckpointMeta, c.manifest.files);
        newest = c;
        break;
      } catch (err) {
        // Damage anywhere in the files (the header included, which fails parsing before any
        // checksum is computed) falls back to an older checkpoint; any other failure stops.
        const damage = err instanceof ChecksumError ? err.message : await checkpointDamage(c.dir, c.manifest);
        if (damage === null) throw err;
        const aside = await setAsideDamaged(c.dir);
        this.log.warn(
          { checkpoint: c.dir, reason: damage, setAside: aside },
          'checkpoint failed its checksum; trying an older one',
        );
      }
    }
    let fromLsn = 1n;
    if (newest) {
      const meta = newest.manifest.meta as CheckpointMeta;
      fromLsn = BigInt(meta.lsn) + 1n;
      this.nextCheckpointId = (candidates[0]?.id ?? newest.id) + 1n;
      this.noteCheckpoint(newest.id, newest.manifest, meta, 'recovered', 0);
    }
    // Replay with the journal muted: the records are already in the log.
    this.store.journal = NO_JOURNAL;
    this.trainers.journal = NO_JOURNAL;
    for (const t of this.trainers.all()) t.replaying = true;
    const replayed = await replayWal(this.walDir, {
      fromLsn,
      truncateCorrupt: this.options.truncateCorruptWal,
      log: this.log,
      onRecord: (r) => applyRecord(r.meta as JournalMeta, r.payload, this.store, this.trainers),
    });
    if (this.options.mode !== 'checkpoint') {
      this.wal = await WalWriter.open(this.walDir, {
        mode: this.options.mode,
        batchMs: this.options.walBatchMs,
        nextLsn: replayed.lastLsn + 1n,
        writeParts: (fd, position, records, options) =>
          nk.walWrite(fd, position, records as Array<{ head: Buffer; parts: nk.WalWriteRecord['parts'] }>, options),
        onSync: this.options.events && ((seconds) => this.options.events!.walSynced(seconds)),
        log: this.log,
      });
    }
    this.nextLsnAfterReplay = replayed.lastLsn;
    this.recoverySeconds = (performance.now() - started) / 1000;
    this.store.journal = this;
    this.trainers.journal = this;
    // Only now: resuming may apply an open step whose workers all stepped before the crash, and
    // that apply must reach the log (with the journal still muted it would be lost, and the next
    // replay would find later steps' records with this step still open).
    // The open steps' staged pushes are not in the log (docs/durability.md): each worker's next
    // call for such a step is told to push again.
    for (const t of this.trainers.all()) t.restartOpenStep();
    for (const t of this.trainers.all()) t.resume();
    this.log.info(
      {
        dataDir: this.options.dataDir,
        mode: this.options.mode,
        checkpoint: newest ? newest.id.toString() : null,
        replayed: replayed.records,
        tornTail: replayed.tornTail,
        ms: Math.round(performance.now() - started),
      },
      'recovered',
    );
    // A log left by a WAL mode: fold it into a checkpoint, after which it is no longer needed.
    if (replayed.records > 0 && this.options.mode === 'checkpoint') await this.checkpoint('fold write-ahead log');
    this.timer = setInterval(() => {
      if (this.changesSinceCheckpoint > 0)
        void this.checkpoint('interval').catch((err: unknown) => this.log.error({ err }, 'checkpoint failed'));
    }, this.options.checkpointEverySeconds * 1000);
    this.timer.unref();
  }

  /** Records carry payloads only in the WAL modes; a checkpoint holds tensors of any size. */
  get maxPayloadBytes(): number {
    return this.options.mode === 'checkpoint' ? Infinity : WAL_MAX_PAYLOAD_BYTES;
  }

  private lastLsn(): bigint {
    return this.wal ? this.wal.nextLsn - 1n : this.nextLsnAfterReplay;
  }

  // --- Journal ---------------------------------------------------------------------------------

  appendParts(meta: JournalMeta, parts: JournalPart[]): Promise<void> {
    const checkpointed = this.countChange(meta);
    if (this.wal === null) return checkpointed;
    if (this.logFailure !== null) return Promise.reject(this.logFailure);
    try {
      return this.wal.appendParts(meta, parts).durable.catch((err: unknown) => Promise.reject(this.logFailed(err)));
    } catch (err) {
      return Promise.reject(this.logFailed(err));
    }
  }

  /** The number of changes recorded since the last checkpoint (GetStatus). */
  get changesPending(): number {
    return this.changesSinceCheckpoint;
  }

  /** The last log record's sequence number. */
  get lastRecordLsn(): bigint {
    return this.lastLsn();
  }

  private noteCheckpoint(
    id: bigint,
    manifest: { createdAt: string; files: Array<{ size: number }> },
    meta: CheckpointMeta,
    reason: string,
    ms: number,
  ): void {
    this.lastCheckpoint = {
      id: Number(id),
      timeUnixMs: Date.parse(manifest.createdAt) || Date.now(),
      lsn: Number(meta.lsn),
      bytes: manifest.files.reduce((a, f) => a + f.size, 0),
      durationMs: Math.round(ms),
      reason,
      trainerSteps: meta.trainers.map((t) => ({ trainer: t.meta.spec.name, step: t.meta.step })),
    };
  }

  private noteError(message: string): void {
    this.lastError = { timeUnixMs: Date.now(), message };
  }

  /** Bytes appended to the write-ahead log since start (0 without one). */
  get walBytes(): number {
    return this.wal?.stats().bytes ?? 0;
  }

  /** The log writer's counters since start (appends, bytes, fsyncs...); null without a log. */
  walStats(): WalStats | null {
    return this.wal?.stats() ?? null;
  }

  append(meta: JournalMeta, payload?: JournalPayload): Promise<void> {
    const checkpointed = this.countChange(meta);
    if (this.wal === null) return checkpointed;
    if (this.logFailure !== null) return Promise.reject(this.logFailure);
    try {
      return this.wal
        .append(meta, typeof payload === 'function' ? payload() : payload)
        .durable.catch((err: unknown) => Promise.reject(this.logFailed(err)));
    } catch (err) {
      return Promise.reject(this.logFailed(err));
    }
  }

  /**
   * Counts a change for the interval checkpoint, and starts the every-N-steps one after a step
   * whose number (the trainer's step count once it is applied) is a multiple of N: each
   * trainer's own count, so the shards of a cluster checkpoint at the same step numbers
   * (docs/cluster.md). In `checkpoint` mode the returned promise settles once that checkpoint is
   * written (or failed, which is logged), and the step is answered only then: a worker whose
   * step k returned knows every shard holds a checkpoint of step k. The checkpoint waits for the
   * state gate, which the step's apply releases before it waits for this promise, so for a
   * sync trainer the checkpoint holds exactly step k (no later step can start before the step
   * is answered).
   */
  private countChange(meta: JournalMeta): Promise<void> {
    this.changesSinceCheckpoint++;
    const every = this.options.checkpointEverySteps;
    const step = alignedStep(meta);
    if (every === null || step === null || step % every !== 0) return Promise.resolve();
    // Started after this record's caller went on (as before: it asks for the gate only then).
    const written = new Promise<void>((resolve) =>
      setImmediate(() =>
        this.checkpoint('steps')
          .catch((err: unknown) => this.log.error({ err, trainer: meta.trainer, step }, 'checkpoint failed'))
          .finally(resolve),
      ),
    );
    return this.options.mode === 'checkpoint' ? written : Promise.resolve();
  }

  /**
   * The log failed (disk full, I/O error): this change is applied in memory but cannot be made
   * durable, and neither can any later one. Logged once as fatal; the caller of each change
   * gets UNAVAILABLE, and onLogFailure stops the server from serving the state at all.
   */
  private logFailed(err: unknown): ServerError {
    if (this.logFailure === null) {
      const reason = err instanceof Error ? err.message : String(err);
      this.logFailure = unavailable(
        `the write-ahead log failed (${reason}): changes can no longer be made durable, so the server accepts no more calls; ` +
          `restart it to recover the acknowledged state from ${this.options.dataDir}`,
      );
      this.noteError(this.logFailure.message);
      this.log.fatal(
        { err, dataDir: this.options.dataDir },
        'write-ahead log failed; refusing every call until restarted',
      );
      this.options.onLogFailure?.(this.logFailure.message);
    }
    return this.logFailure;
  }

  // --- Checkpoints -----------------------------------------------------------------------------

  /**
   * An on-demand checkpoint (AdminService.Checkpoint): one that starts after this call, so it
   * holds every change acknowledged before it. Requests that arrive before it starts share it,
   * and on-demand checkpoints start at least checkpointMinIntervalMs apart: each takes the state
   * gate exclusively, and a flood of requests must not stall every other caller.
   */
  requestCheckpoint(reason: string): Promise<bigint> {
    if (this.closed)
      return Promise.reject(
        unavailable('checkpoint: the server is shutting down (it writes a last checkpoint itself)'),
      );
    const pending = this.pendingOnDemand;
    if (pending !== null) {
      pending.joined++;
      return pending.promise;
    }
    const mine = { promise: Promise.resolve(0n), joined: 1 };
    this.pendingOnDemand = mine;
    const wait = this.lastOnDemandStart + this.options.checkpointMinIntervalMs - performance.now();
    mine.promise = (async () => {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return this.checkpoint(reason, () => {
        // From here on the snapshot is taken: a later request needs a later checkpoint.
        if (this.pendingOnDemand === mine) this.pendingOnDemand = null;
        this.lastOnDemandStart = performance.now();
        if (this.closed)
          throw unavailable('checkpoint: the server is shutting down (it writes a last checkpoint itself)');
        return mine.joined;
      });
    })();
    return mine.promise;
  }

  /**
   * Writes a checkpoint of the whole state; returns its id. `onStart` runs once the checkpoint
   * holds the lock, before the snapshot, and returns how many requests it answers (for the log).
   */
  checkpoint(reason: string, onStart?: () => number): Promise<bigint> {
    return this.checkpointLock.run(async () => {
      const requests = onStart?.() ?? 1;
      const started = performance.now();
      // A consistent cut: no mutation is halfway, and every record up to `lsn` is in the state.
      const snap = await this.store.gate.exclusive(async () => {
        const lsn = this.lastLsn();
        const entries = [];
        for (const e of this.store.entriesInOrder()) entries.push(await snapshotEntry(e));
        const trainers = [];
        for (const t of this.trainers.all()) trainers.push(await snapshotTrainer(t));
        const changes = this.changesSinceCheckpoint;
        this.changesSinceCheckpoint = 0;
        return { lsn, entries, trainers, changes };
      });
      const tensors: SnapshotTensor[] = [
        ...snap.entries.flatMap((e) => e.tensors),
        ...snap.trainers.flatMap((t) => t.tensors),
      ];
      const meta: CheckpointMeta = {
        lsn: snap.lsn.toString(),
        entries: snap.entries.map((e) => ({ meta: e.meta, tensors: e.tensors.map((t) => t.name) })),
        trainers: snap.trainers.map((t) => ({ meta: t.meta, tensors: t.tensors.map((x) => x.name) })),
      };
      const id = this.nextCheckpointId++;
      const written = writeCheckpoint(this.checkpointsDir, id, [tensorsFile(tensors)], meta, { log: this.log });
      let result: Awaited<typeof written>;
      try {
        result = await written;
      } catch (err) {
        // Nothing was acknowledged: the interval tries again, and the log (kept whole, since no
        // segment is dropped) still holds every change.
        this.changesSinceCheckpoint += snap.changes;
        this.noteError(`checkpoint ${id} (${reason}) failed: ${err instanceof Error ? err.message : String(err)}`);
        if (err instanceof ManifestTooLargeError) throw exhausted(`checkpoint: ${err.message}`);
        throw err;
      }
      const { kept } = await pruneCheckpoints(this.checkpointsDir, this.options.keepCheckpoints, { log: this.log });
      // The log is kept back to the oldest kept checkpoint, so recovery can fall back to any of
      // them (if the newest fails its checksum) and still replay everything after it.
      if (this.wal) {
        await this.wal.rotate();
        const oldest = kept[kept.length - 1];
        if (oldest) await this.wal.removeSegmentsBefore(BigInt((oldest.manifest.meta as CheckpointMeta).lsn) + 1n);
      }
      const bytes = tensors.reduce((a, t) => a + t.bytes.byteLength, 0);
      this.noteCheckpoint(id, result.manifest, meta, reason, performance.now() - started);
      this.options.events?.checkpointWritten((performance.now() - started) / 1000, bytes);
      this.log.info(
        {
          id: id.toString(),
          reason,
          requests,
          lsn: snap.lsn.toString(),
          bytes,
          walBytes: this.walBytes,
          ms: Math.round(performance.now() - started),
        },
        'checkpoint written',
      );
      return id;
    });
  }

  /** Loads a checkpoint's state into the store and the trainers, or changes nothing (checkpoint-state.ts). */
  private async loadCheckpoint(
    dir: string,
    meta: CheckpointMeta,
    files: Array<{ name: string; size: number; crc32: number }>,
  ): Promise<void> {
    for (const t of await loadCheckpointState(dir, meta, files, this.store, this.log)) this.trainers.adopt(t);
  }

  // --- Shutdown --------------------------------------------------------------------------------

  /** A last checkpoint (graceful shutdown), then the log is closed and the lock released. */
  async close(options: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (options.checkpoint !== false) await this.checkpoint('shutdown');
    } finally {
      this.store.journal = NO_JOURNAL;
      this.trainers.journal = NO_JOURNAL;
      if (this.wal) await this.wal.close();
      await this.lock.release();
    }
  }
}

/** The trainer's step count after the step a record applies (a 'trainer.commit', sync or async), or null. */
function alignedStep(meta: JournalMeta): number | null {
  return meta.op === 'trainer.commit' && typeof meta.step === 'number' ? meta.step + 1 : null;
}
