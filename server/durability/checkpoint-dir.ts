// checkpoint-dir.ts: atomic multi-file checkpoints. A checkpoint is a directory
// `root/ckpt-<id, 20 digits>/` holding any files plus `manifest.json`, which is written last:
//
//   { "format": "gluonps-checkpoint/1", "id": "<decimal>", "createdAt": "<ISO 8601>",
//     "files": [{ "name": ..., "size": <bytes>, "crc32": <zlib crc32, unsigned> }], "meta": ... }
//
// writeCheckpoint builds it as `root/tmp-ckpt-<id>/`: each file is written by its caller through
// a FileHandle wrapper that hashes the bytes as they are written (so there is no read-back),
// then fsynced; then the manifest is written and fsynced, the tmp dir fsynced, renamed to
// `ckpt-<id>`, and the root fsynced. A crash at any point leaves either a complete checkpoint
// or a `tmp-*` dir (or, after a crash during pruning, a `tmp-del-*` dir) that removeLeftovers
// deletes. A `ckpt-*` dir without a valid manifest, or whose files do not match it, does not
// exist as far as listCheckpoints is concerned.
import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { failpoint, failpointHit, triggerFailpoint } from './failpoints';
import { fsyncDir, mkdirDurable, type DurabilityLog } from './fsync';

export const CHECKPOINT_FORMAT = 'gluonps-checkpoint/1';
export const MANIFEST_NAME = 'manifest.json';
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const CKPT_RE = /^ckpt-(\d{20})$/;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const READ_CHUNK = 8 * 1024 * 1024;

export interface ManifestFile {
  name: string;
  size: number;
  crc32: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  /** The checkpoint id as a decimal string (JSON has no 64-bit integers). */
  id: string;
  createdAt: string;
  files: ManifestFile[];
  meta: unknown;
}

export interface CheckpointFile {
  /** A plain file name: letters, digits, `._-`, not starting with `.` or `-`; not manifest.json. */
  name: string;
  /**
   * Writes the file's bytes through `fh` (write/writev/writeFile, positional or not, in any
   * order; concurrent positional writes are fine). Do not close it. Touching `fh.fd`,
   * truncate() or streams still works but makes the checksum a read-back of the file.
   */
  write: (fh: FileHandle) => Promise<void>;
}

export interface CheckpointInfo {
  id: bigint;
  dir: string;
  manifest: CheckpointManifest;
}

export type VerifyLevel = 'size' | 'full';

export class CheckpointInvalidError extends Error {
  override name = 'CheckpointInvalidError';
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`checkpoint ${dir} is not valid: ${reason}`);
  }
}

export class CheckpointExistsError extends Error {
  override name = 'CheckpointExistsError';
  readonly code = 'EEXIST';
  constructor(readonly dir: string) {
    super(`checkpoint ${dir} already exists`);
  }
}

export function checkpointDirName(id: bigint): string {
  if (typeof id !== 'bigint' || id < 0n || id > 99_999_999_999_999_999_999n) throw new RangeError(`checkpoint id ${String(id)} out of range`);
  return `ckpt-${id.toString().padStart(20, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// crc32 of a file from the crc32s of its pieces (zlib's crc32_combine, x^(8n) mod p method).

const POLY = 0xedb88320;

function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

const X2N: number[] = (() => {
  const t = [1 << 30];
  for (let k = 1; k < 32; k++) t.push(multmodp(t[k - 1]!, t[k - 1]!));
  return t;
})();

/** x^(n * 2^k) mod p. */
function x2nmodp(n: number, k: number): number {
  let p = 0x80000000;
  while (n > 0) {
    if (n % 2 === 1) p = multmodp(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** crc32(A ++ B) from crc32(A), crc32(B) and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multmodp(x2nmodp(lengthB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/** crc32 of a whole file, read in 8 MiB chunks. */
export async function crc32File(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    return await crc32Handle(fh);
  } finally {
    await fh.close();
  }
}

async function crc32Handle(fh: FileHandle): Promise<number> {
  const size = (await fh.stat()).size;
  const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, size)));
  let crc = 0;
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
    if (bytesRead === 0) break;
    crc = crc32(buf.subarray(0, bytesRead), crc);
    pos += bytesRead;
  }
  return crc >>> 0;
}

// ---------------------------------------------------------------------------------------------
// The hashing FileHandle wrapper.

interface Extent {
  start: number;
  end: number;
  crc: number;
}

/** Methods that write; everything not listed here or in PASS makes the checksum a read-back. */
const PASS = new Set<PropertyKey>(['stat', 'read', 'readv', 'readFile', 'sync', 'datasync', 'getAsyncId', 'readLines', 'readableWebStream', 'then']);

class HashingHandle {
  readonly extents: Extent[] = [];
  /** Why the extents cannot be trusted, if they cannot. */
  untracked: string | null = null;
  /** The file position position-less writes go to (they are issued as positional writes). */
  private cursor = 0;
  /** Early writeback: bytes written since the last background fdatasync was started. */
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private syncError: Error | null = null;
  readonly proxy: FileHandle;

  constructor(
    private readonly fh: FileHandle,
    private readonly writebackBytes: number,
  ) {
    this.proxy = new Proxy(fh, {
      get: (target, prop) => {
        switch (prop) {
          case 'write':
            return this.write.bind(this);
          case 'writev':
            return this.writev.bind(this);
          case 'writeFile':
          case 'appendFile':
            return this.writeFile.bind(this);
          case 'close':
          case Symbol.asyncDispose:
            return async () => undefined; // writeCheckpoint closes it
        }
        const value = Reflect.get(target, prop, target) as unknown;
        if (!PASS.has(prop) && typeof prop === 'string') this.untracked ??= `the writer used fh.${prop}`;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private record(pos: number, crc: number, len: number): void {
    if (len === 0) return;
    this.unsynced += len;
    if (this.writebackBytes > 0 && this.unsynced >= this.writebackBytes && this.syncing === null) {
      // Start writing back what is written so far while the caller keeps writing, so the disk
      // works during the write phase instead of only in the final fsync. Its error is kept
      // (a later fsync may not report it again) and thrown by finish().
      this.unsynced = 0;
      this.syncing = this.fh
        .datasync()
        .catch((err: Error) => void (this.syncError ??= err))
        .finally(() => (this.syncing = null));
    }
    const last = this.extents[this.extents.length - 1];
    if (last !== undefined && last.end === pos) {
      last.crc = crc32Combine(last.crc, crc, len);
      last.end += len;
    } else {
      this.extents.push({ start: pos, end: pos + len, crc });
    }
  }

  private place(position: unknown, len: number): number {
    if (typeof position === 'number' && position >= 0) return position;
    if (typeof position === 'bigint' && position >= 0n) return Number(position);
    const pos = this.cursor;
    this.cursor += len;
    return pos;
  }

  async write(data: unknown, a?: unknown, b?: unknown, c?: unknown): Promise<{ bytesWritten: number; buffer: unknown }> {
    let view: Uint8Array;
    let position: unknown;
    if (typeof data === 'string') {
      view = Buffer.from(data, typeof b === 'string' ? (b as BufferEncoding) : 'utf8');
      position = a;
    } else if (ArrayBuffer.isView(data)) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let offset = 0;
      let length: number | undefined;
      if (a !== null && typeof a === 'object') {
        const o = a as { offset?: number; length?: number; position?: unknown };
        offset = o.offset ?? 0;
        length = o.length;
        position = o.position;
      } else {
        offset = typeof a === 'number' ? a : 0;
        length = typeof b === 'number' ? b : undefined;
        position = c;
      }
      view = bytes.subarray(offset, length === undefined ? undefined : offset + length);
    } else {
      throw new TypeError('checkpoint file write: data must be a string or an ArrayBufferView');
    }
    const pos = this.place(position, view.byteLength);
    const pending = this.fh.write(view, 0, view.byteLength, pos);
    // Hash while the thread pool writes.
    const crc = crc32(view);
    const { bytesWritten } = await pending;
    this.record(pos, bytesWritten === view.byteLength ? crc : crc32(view.subarray(0, bytesWritten)), bytesWritten);
    return { bytesWritten, buffer: data };
  }

  async writev(buffers: ArrayBufferView[], position?: unknown): Promise<{ bytesWritten: number; buffers: ArrayBufferView[] }> {
    const views = buffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const total = views.reduce((n, v) => n + v.byteLength, 0);
    const pos = this.place(position, total);
    const pending = this.fh.writev(views, pos);
    const hash = (limit: number) => {
      let crc = 0;
      for (const v of views) {
        if (limit <= 0) break;
        const part = v.byteLength <= limit ? v : v.subarray(0, limit);
        crc = crc32(part, crc);
        limit -= part.byteLength;
      }
      return crc;
    };
    const crc = hash(total);
    const { bytesWritten } = await pending;
    this.record(pos, bytesWritten === total ? crc : hash(bytesWritten), bytesWritten);
    return { bytesWritten, buffers };
  }

  async writeFile(data: unknown, options?: unknown): Promise<void> {
    if (typeof data !== 'string' && !ArrayBuffer.isView(data)) {
      this.untracked ??= 'writeFile with a stream or iterable';
      await this.fh.writeFile(data as Parameters<FileHandle['writeFile']>[0], options as Parameters<FileHandle['writeFile']>[1]);
      return;
    }
    const enc = typeof options === 'string' ? options : ((options as { encoding?: BufferEncoding } | undefined)?.encoding ?? 'utf8');
    const bytes = typeof data === 'string' ? Buffer.from(data, enc as BufferEncoding) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await this.write(bytes.subarray(off));
      if (bytesWritten <= 0) throw new Error('write wrote nothing');
      off += bytesWritten;
    }
  }

  /** The file's size and crc32: combined from the write extents when they tile the file exactly, else read back. */
  async finish(): Promise<{ size: number; crc32: number; readBack: string | null }> {
    await this.syncing;
    if (this.syncError !== null) throw this.syncError;
    const size = (await this.fh.stat()).size;
    let why = this.untracked;
    if (why === null) {
      const ext = [...this.extents].sort((x, y) => x.start - y.start);
      let covered = 0;
      let crc = 0;
      for (const e of ext) {
        if (e.start !== covered) {
          why = e.start < covered ? 'overlapping writes' : 'a hole in the file';
          break;
        }
        crc = crc32Combine(crc, e.crc, e.end - e.start);
        covered = e.end;
      }
      if (why === null && covered !== size) why = 'the file size differs from the bytes written';
      if (why === null) return { size, crc32: crc >>> 0, readBack: null };
    }
    return { size, crc32: await crc32Handle(this.fh), readBack: why };
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface WriteCheckpointOptions {
  log?: DurabilityLog;
  /** How many written files may be fsyncing in the background while the next is written (default 8). */
  syncConcurrency?: number;
  /**
   * Start a background fdatasync after every this many bytes written to a file, so the disk
   * writes during the write phase (default 64 MiB; 0 = only the final fsync).
   */
  writebackBytes?: number;
}

export interface WriteCheckpointResult {
  dir: string;
  manifest: CheckpointManifest;
  /** Files whose checksum needed a read-back, with why. */
  readBack: Array<{ name: string; reason: string }>;
}

function checkName(name: string, seen: Set<string>): void {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name === MANIFEST_NAME) {
    throw new TypeError(`checkpoint file name ${JSON.stringify(name)} is not allowed (letters, digits and ._- only, not manifest.json)`);
  }
  if (seen.has(name)) throw new TypeError(`checkpoint file name ${name} is listed twice`);
  seen.add(name);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Writes checkpoint `id` under `root` (see the header comment). Throws CheckpointExistsError if
 * a valid checkpoint with this id exists (an invalid one is replaced). On an error the tmp dir
 * is removed and the error rethrown.
 */
export async function writeCheckpoint(root: string, id: bigint, files: CheckpointFile[], meta: unknown, options: WriteCheckpointOptions = {}): Promise<WriteCheckpointResult> {
  const absRoot = resolve(root);
  const finalName = checkpointDirName(id);
  const seen = new Set<string>();
  for (const f of files) checkName(f.name, seen);
  if (JSON.stringify(meta) === undefined) throw new TypeError('checkpoint meta must be JSON-serializable');

  await mkdirDurable(absRoot);
  const finalDir = join(absRoot, finalName);
  if (await exists(finalDir)) {
    const reason = await checkpointProblem(finalDir, 'size');
    if (reason === null) throw new CheckpointExistsError(finalDir);
    options.log?.warn({ dir: finalDir, reason }, 'replacing an invalid checkpoint directory');
    await rm(finalDir, { recursive: true, force: true });
  }
  const tmpDir = join(absRoot, `tmp-${finalName}`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir);

  const open_: FileHandle[] = [];
  const syncing: Array<Promise<void>> = [];
  const limit = Math.max(1, options.syncConcurrency ?? 8);
  let committed = false;
  try {
    const entries: ManifestFile[] = [];
    const readBack: Array<{ name: string; reason: string }> = [];
    for (const f of files) {
      const fh = await open(join(tmpDir, f.name), 'wx+', 0o644);
      open_.push(fh);
      const hh = new HashingHandle(fh, options.writebackBytes ?? 64 * 1024 * 1024);
      await f.write(hh.proxy);
      const { size, crc32: crc, readBack: why } = await hh.finish();
      if (why !== null) readBack.push({ name: f.name, reason: why });
      entries.push({ name: f.name, size, crc32: crc });
      // fsync in the background while the next file is written; at most `limit` at a time.
      if (syncing.length >= limit) await syncing.shift();
      const done = fh.sync().finally(async () => {
        const i = open_.indexOf(fh);
        if (i >= 0) open_.splice(i, 1);
        await fh.close();
      });
      done.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
      syncing.push(done);
    }
    failpoint('checkpoint.after-tensor-files');
    await Promise.all(syncing.splice(0));
    failpoint('checkpoint.before-manifest');

    const manifest: CheckpointManifest = { format: CHECKPOINT_FORMAT, id: id.toString(), createdAt: new Date().toISOString(), files: entries, meta };
    const text = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`, 'utf8');
    const mfh = await open(join(tmpDir, MANIFEST_NAME), 'wx', 0o644);
    open_.push(mfh);
    const torn = failpointHit('checkpoint.mid-manifest');
    if (torn !== null) {
      await mfh.write(text, 0, text.byteLength >> 1, 0);
      await mfh.sync();
      triggerFailpoint('checkpoint.mid-manifest', torn);
    }
    await mfh.writeFile(text);
    await mfh.sync();
    open_.splice(open_.indexOf(mfh), 1);
    await mfh.close();
    await fsyncDir(tmpDir);
    failpoint('checkpoint.after-manifest-before-rename');

    await rename(tmpDir, finalDir);
    committed = true;
    failpoint('checkpoint.after-rename-before-dirsync');
    await fsyncDir(absRoot);
    failpoint('checkpoint.after-dirsync');
    for (const r of readBack) options.log?.warn({ dir: finalDir, file: r.name, reason: r.reason }, 'checkpoint file checksum needed a read-back');
    return { dir: finalDir, manifest, readBack };
  } catch (err) {
    await Promise.allSettled(syncing);
    await Promise.allSettled(open_.map((fh) => fh.close()));
    if (!committed) await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading, listing, cleaning

function validateManifest(v: unknown, dir: string, expectId: bigint | null): CheckpointManifest {
  const bad: (why: string) => never = (why) => {
    throw new CheckpointInvalidError(dir, `manifest.json ${why}`);
  };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('is not a JSON object');
  const m = v as Record<string, unknown>;
  if (m.format !== CHECKPOINT_FORMAT) bad(`has format ${JSON.stringify(m.format)}, expected ${CHECKPOINT_FORMAT}`);
  if (typeof m.id !== 'string' || !/^\d{1,20}$/.test(m.id)) bad('has no valid id');
  if (expectId !== null && BigInt(m.id as string) !== expectId) bad(`says id ${String(m.id)} but the directory is ${checkpointDirName(expectId)}`);
  if (typeof m.createdAt !== 'string') bad('has no createdAt');
  if (!Array.isArray(m.files)) bad('has no files list');
  if (!('meta' in m)) bad('has no meta');
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    const e = f as Partial<ManifestFile> | null;
    if (e === null || typeof e !== 'object') bad('has a malformed file entry');
    if (typeof e!.name !== 'string' || !NAME_RE.test(e!.name) || e!.name === MANIFEST_NAME || seen.has(e!.name)) bad(`has a bad file name ${JSON.stringify(e!.name)}`);
    seen.add(e!.name!);
    if (!Number.isSafeInteger(e!.size) || e!.size! < 0) bad(`has a bad size for ${e!.name}`);
    if (!Number.isInteger(e!.crc32) || e!.crc32! < 0 || e!.crc32! > 0xffffffff) bad(`has a bad crc32 for ${e!.name}`);
  }
  return m as unknown as CheckpointManifest;
}

function dirId(dir: string): bigint | null {
  const m = CKPT_RE.exec(basename(dir));
  return m === null ? null : BigInt(m[1]!);
}

/** Reads and validates `dir/manifest.json`; throws CheckpointInvalidError if missing or malformed. */
export async function readManifest(dir: string): Promise<CheckpointManifest> {
  const path = join(dir, MANIFEST_NAME);
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new CheckpointInvalidError(dir, 'manifest.json is not a file');
    if (st.size > MAX_MANIFEST_BYTES) throw new CheckpointInvalidError(dir, `manifest.json is ${st.size} bytes, over ${MAX_MANIFEST_BYTES}`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new CheckpointInvalidError(dir, 'manifest.json is missing');
    throw err;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CheckpointInvalidError(dir, 'manifest.json is not valid JSON (torn?)');
  }
  return validateManifest(v, dir, dirId(dir));
}

/** Why the checkpoint in `dir` is invalid, or null when it is valid. Unexpected I/O errors throw. */
async function checkpointProblem(dir: string, verify: VerifyLevel): Promise<string | null> {
  let manifest: CheckpointManifest;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    if (err instanceof CheckpointInvalidError) return err.reason;
    throw err;
  }
  return filesProblem(dir, manifest, verify);
}

async function filesProblem(dir: string, manifest: CheckpointManifest, verify: VerifyLevel): Promise<string | null> {
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) return `${f.name} is not a file`;
      size = st.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `${f.name} is missing`;
      throw err;
    }
    if (size !== f.size) return `${f.name} is ${size} bytes, the manifest says ${f.size}`;
    if (verify === 'full') {
      const crc = await crc32File(path);
      if (crc !== f.crc32) return `${f.name} has crc32 ${crc.toString(16)}, the manifest says ${f.crc32.toString(16)}`;
    }
  }
  return null;
}

export interface InspectResult {
  /** Valid checkpoints, newest (highest id) first. */
  valid: CheckpointInfo[];
  invalid: Array<{ dir: string; reason: string }>;
  /** `tmp-*` entries: unfinished checkpoints and interrupted prunes. */
  leftovers: string[];
}

/** Classifies every entry of `root` (a missing root is empty). */
export async function inspectCheckpoints(root: string, options: { verify?: VerifyLevel } = {}): Promise<InspectResult> {
  const absRoot = resolve(root);
  const verify = options.verify ?? 'size';
  const out: InspectResult = { valid: [], invalid: [], leftovers: [] };
  let names: string[];
  try {
    names = await readdir(absRoot);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.sort()) {
    const dir = join(absRoot, name);
    if (name.startsWith('tmp-')) {
      out.leftovers.push(dir);
      continue;
    }
    const m = CKPT_RE.exec(name);
    if (m === null) continue;
    const id = BigInt(m[1]!);
    let manifest: CheckpointManifest;
    try {
      manifest = await readManifest(dir);
    } catch (err) {
      if (!(err instanceof CheckpointInvalidError)) throw err;
      out.invalid.push({ dir, reason: err.reason });
      continue;
    }
    const reason = await filesProblem(dir, manifest, verify);
    if (reason !== null) out.invalid.push({ dir, reason });
    else out.valid.push({ id, dir, manifest });
  }
  out.valid.sort((a, b) => (a.id > b.id ? -1 : a.id < b.id ? 1 : 0));
  return out;
}

/** Valid checkpoints newest first; invalid ones are skipped and reported through `log`. */
export async function listCheckpoints(root: string, options: { verify?: VerifyLevel; log?: DurabilityLog } = {}): Promise<CheckpointInfo[]> {
  const r = await inspectCheckpoints(root, options);
  for (const bad of r.invalid) options.log?.warn({ dir: bad.dir, reason: bad.reason }, 'skipping an invalid checkpoint');
  return r.valid;
}

/** Deletes `tmp-*` entries and invalid `ckpt-*` dirs; returns what it deleted. */
export async function removeLeftovers(root: string, options: { verify?: VerifyLevel; log?: DurabilityLog } = {}): Promise<string[]> {
  const absRoot = resolve(root);
  const r = await inspectCheckpoints(absRoot, options);
  const removed: string[] = [];
  for (const dir of r.leftovers) {
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  for (const bad of r.invalid) {
    options.log?.warn({ dir: bad.dir, reason: bad.reason }, 'removing an invalid checkpoint');
    await rm(bad.dir, { recursive: true, force: true });
    removed.push(bad.dir);
  }
  if (removed.length > 0) await fsyncDir(absRoot);
  return removed;
}

/**
 * Keeps the newest `keep` (>= 1) valid checkpoints (size-verified) and deletes the older valid
 * ones: each is renamed to `tmp-del-<name>` first, so a crash mid-delete leaves a leftover, not a
 * half-deleted checkpoint. Invalid dirs are left to removeLeftovers. Returns the deleted dirs.
 */
export async function pruneCheckpoints(root: string, keep: number, options: { log?: DurabilityLog } = {}): Promise<string[]> {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
  const absRoot = resolve(root);
  const valid = await listCheckpoints(absRoot, { verify: 'size', log: options.log });
  const removed: string[] = [];
  for (const c of valid.slice(keep)) {
    const doomed = join(absRoot, `tmp-del-${basename(c.dir)}`);
    await rm(doomed, { recursive: true, force: true });
    await rename(c.dir, doomed);
    failpoint('checkpoint.prune-after-rename');
    await rm(doomed, { recursive: true, force: true });
    removed.push(c.dir);
  }
  if (removed.length > 0) await fsyncDir(absRoot);
  return removed;
}
