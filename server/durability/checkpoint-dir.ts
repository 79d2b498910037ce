// checkpoint-dir.ts: atomic multi-file checkpoints. A checkpoint is a directory
// `root/ckpt-<id, 20 digits>/` holding any files plus `manifest.json`, which is written last:
//
//   { "format": "gluonps-checkpoint/1", "id": "<decimal>", "createdAt": "<ISO 8601>",
//     "files": [{ "name": ..., "size": <bytes>, "crc32": <zlib crc32, unsigned> }],
//     "metaCrc32": <zlib crc32 of the meta's compact state-json text>, "meta": ... }
//
// in the state encoding of state-json.ts (NaN, the infinities and -0 kept as tagged numbers).
// A manifest is at most MAX_MANIFEST_BYTES, for the writer as for the reader: a checkpoint
// whose manifest would be larger is refused before a file is written (ManifestTooLargeError),
// never written, acknowledged and then found invalid at the next start. metaCrc32 catches a
// change inside the meta that leaves valid JSON (a flipped digit); manifests written before it
// existed have none and are read as before (a manifest with any other key is refused, so a
// damaged "metaCrc32" key does not turn the check off).
//
// writeCheckpoint builds it as `root/tmp-ckpt-<id>/`: each file is written by its caller through
// a FileHandle wrapper that hashes the bytes as they are written (so there is no read-back),
// then fsynced; then the manifest is written and fsynced, the tmp dir fsynced, renamed to
// `ckpt-<id>`, and the root fsynced. A crash at any point leaves either a complete checkpoint
// or a `tmp-*` dir (or, after a crash during pruning, a `tmp-del-*` dir) that removeLeftovers
// deletes. A `ckpt-*` dir without a valid manifest, or whose files do not match it, does not
// exist as far as listCheckpoints is concerned.
//
// Spare files: pruning keeps up to MAX_SPARE_FILES of a deleted checkpoint's files as
// `root/spare-<n>.bin`, and the next checkpoint writes its files over them (cut to size) instead
// of into new files: on the development VM (ext4) writing 16 MiB into a new file cost 35-40 ms
// of CPU, over an existing one 2 ms (block allocation, journaling, fresh page-cache pages). A
// spare is just bytes; it becomes part of a checkpoint only by the same tmp dir, fsync and
// rename steps as a new file.
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { failpoint, failpointHit, triggerFailpoint } from './failpoints';
import { fsyncDir, mkdirDurable, readdirIfExists, type DurabilityLog } from './fsync';
import { crc32File, HashingHandle } from './hashing-handle';
import { parseState, stringifyState } from '../../common/formats/state-json';

export { crc32Combine, crc32File } from './hashing-handle';

export const CHECKPOINT_FORMAT = 'gluonps-checkpoint/1';
export const MANIFEST_NAME = 'manifest.json';
/** The largest manifest.json written or read. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const CKPT_RE = /^ckpt-(\d{20})$/;
const SPARE_RE = /^spare-(\d{20})\.bin$/;
/** Files of pruned checkpoints kept for reuse (each as large as a checkpoint file). */
export const MAX_SPARE_FILES = 2;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const MANIFEST_KEYS = new Set(['format', 'id', 'createdAt', 'files', 'metaCrc32', 'meta']);

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
  /** crc32 of stringifyState(meta); absent in manifests written before it was added. */
  metaCrc32?: number;
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

/** The manifest would be over MAX_MANIFEST_BYTES: nothing was written. */
export class ManifestTooLargeError extends Error {
  override name = 'ManifestTooLargeError';
  constructor(readonly bytes: number) {
    super(
      `the checkpoint's manifest would be ${bytes} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes a manifest may have (the largest parts are constant initializer lists and the row ids of pending row_sparse gradients); nothing was written`,
    );
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
  if (typeof id !== 'bigint' || id < 0n || id > 99_999_999_999_999_999_999n)
    throw new RangeError(`checkpoint id ${String(id)} out of range`);
  return `ckpt-${id.toString().padStart(20, '0')}`;
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
    throw new TypeError(
      `checkpoint file name ${JSON.stringify(name)} is not allowed (letters, digits and ._- only, not manifest.json)`,
    );
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
export async function writeCheckpoint(
  root: string,
  id: bigint,
  files: CheckpointFile[],
  meta: unknown,
  options: WriteCheckpointOptions = {},
): Promise<WriteCheckpointResult> {
  const absRoot = resolve(root);
  const finalName = checkpointDirName(id);
  const seen = new Set<string>();
  for (const f of files) checkName(f.name, seen);
  const metaText = stringifyState(meta) as string | undefined;
  if (metaText === undefined) throw new TypeError('checkpoint meta must be JSON-serializable');
  // The manifest holds the meta as it was now, when its crc32 is taken: the caller's objects may
  // change while the files are written (a manifest whose meta no longer matched its checksum was
  // written, then skipped as invalid).
  const frozenMeta: unknown = parseState(metaText);
  // Checked before the (large) files are written: the indented manifest is a little larger than
  // the compact meta, and is checked again once it exists.
  if (metaText.length > MAX_MANIFEST_BYTES) throw new ManifestTooLargeError(Buffer.byteLength(metaText, 'utf8'));
  const metaCrc32 = crc32(metaText);

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

  const spares = await listSpareFiles(absRoot);
  const open_: FileHandle[] = [];
  const syncing: Array<Promise<void>> = [];
  const limit = Math.max(1, options.syncConcurrency ?? 8);
  let committed = false;
  try {
    const entries: ManifestFile[] = [];
    const readBack: Array<{ name: string; reason: string }> = [];
    for (const f of files) {
      const path = join(tmpDir, f.name);
      const spare = spares.shift();
      if (spare !== undefined) await rename(spare, path);
      const fh = await open(path, spare !== undefined ? 'r+' : 'wx+', 0o644);
      open_.push(fh);
      const hh = new HashingHandle(fh, options.writebackBytes ?? 64 * 1024 * 1024);
      await f.write(hh.proxy);
      if (spare !== undefined) await fh.truncate(hh.writtenEnd); // the reused file's old tail
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

    const manifest: CheckpointManifest = {
      format: CHECKPOINT_FORMAT,
      id: id.toString(),
      createdAt: new Date().toISOString(),
      files: entries,
      metaCrc32,
      meta: frozenMeta,
    };
    const text = Buffer.from(`${stringifyState(manifest, 1)}\n`, 'utf8');
    if (text.byteLength > MAX_MANIFEST_BYTES) throw new ManifestTooLargeError(text.byteLength);
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
    for (const r of readBack)
      options.log?.warn(
        { dir: finalDir, file: r.name, reason: r.reason },
        'checkpoint file checksum needed a read-back',
      );
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
  if (expectId !== null && BigInt(m.id as string) !== expectId)
    bad(`says id ${String(m.id)} but the directory is ${checkpointDirName(expectId)}`);
  if (typeof m.createdAt !== 'string') bad('has no createdAt');
  if (!Array.isArray(m.files)) bad('has no files list');
  if (!('meta' in m)) bad('has no meta');
  // Only the keys a manifest has: a damaged key (a renamed metaCrc32) must not pass as an old
  // manifest without a checksum.
  const unknown = Object.keys(m).filter((k) => !MANIFEST_KEYS.has(k));
  if (unknown.length > 0) bad(`has unknown keys ${JSON.stringify(unknown)}`);
  if ('metaCrc32' in m) {
    if (!Number.isInteger(m.metaCrc32) || (m.metaCrc32 as number) < 0 || (m.metaCrc32 as number) > 0xffffffff)
      bad('has a bad metaCrc32');
    const actual = crc32(stringifyState(m.meta));
    if (actual !== m.metaCrc32)
      bad(`meta has crc32 ${actual.toString(16)}, the manifest says ${(m.metaCrc32 as number).toString(16)}`);
  }
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    const e = f as Partial<ManifestFile> | null;
    if (e === null || typeof e !== 'object') bad('has a malformed file entry');
    if (typeof e!.name !== 'string' || !NAME_RE.test(e!.name) || e!.name === MANIFEST_NAME || seen.has(e!.name))
      bad(`has a bad file name ${JSON.stringify(e!.name)}`);
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
    if (st.size > MAX_MANIFEST_BYTES)
      throw new CheckpointInvalidError(dir, `manifest.json is ${st.size} bytes, over ${MAX_MANIFEST_BYTES}`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new CheckpointInvalidError(dir, 'manifest.json is missing');
    throw err;
  }
  let v: unknown;
  try {
    v = parseState(text);
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
  for (const name of (await readdirIfExists(absRoot)).sort()) {
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
export async function listCheckpoints(
  root: string,
  options: { verify?: VerifyLevel; log?: DurabilityLog } = {},
): Promise<CheckpointInfo[]> {
  const r = await inspectCheckpoints(root, options);
  for (const bad of r.invalid)
    options.log?.warn({ dir: bad.dir, reason: bad.reason }, 'skipping an invalid checkpoint');
  return r.valid;
}

/**
 * Why a checkpoint's files do not match its manifest (size or crc32; every byte is read), or
 * null when they do: tells damage on disk from any other failure to load it.
 */
export function checkpointDamage(dir: string, manifest: CheckpointManifest): Promise<string | null> {
  return filesProblem(dir, manifest, 'full');
}

/**
 * Renames a checkpoint found damaged to `damaged-<name>` (a name no listing, pruning or log
 * retention counts, and that no start removes), so it can neither be loaded again nor push a
 * good checkpoint out of --keep-checkpoints. Returns the new path.
 */
export async function setAsideDamaged(dir: string): Promise<string> {
  const aside = join(dirname(dir), `damaged-${basename(dir)}`);
  await rm(aside, { recursive: true, force: true });
  await rename(dir, aside);
  await fsyncDir(dirname(dir));
  return aside;
}

/** Deletes `tmp-*` entries and invalid `ckpt-*` dirs; returns what it deleted. */
export async function removeLeftovers(
  root: string,
  options: { verify?: VerifyLevel; log?: DurabilityLog } = {},
): Promise<string[]> {
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
 * half-deleted checkpoint. Invalid dirs are left to removeLeftovers. Returns the deleted dirs and
 * the kept checkpoints (newest first).
 */
export async function pruneCheckpoints(
  root: string,
  keep: number,
  options: { log?: DurabilityLog } = {},
): Promise<{ removed: string[]; kept: CheckpointInfo[] }> {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
  const absRoot = resolve(root);
  const { valid, invalid } = await inspectCheckpoints(absRoot, { verify: 'size' });
  const removed: string[] = [];
  // An invalid checkpoint older than the newest valid one is never used again (recovery takes the
  // newest valid one): removed here too, or damage would pile up until the next start.
  const newest = valid[0]?.id;
  for (const bad of invalid) {
    const id = dirId(bad.dir);
    if (newest === undefined || id === null || id >= newest) {
      options.log?.warn({ dir: bad.dir, reason: bad.reason }, 'skipping an invalid checkpoint');
      continue;
    }
    options.log?.warn(
      { dir: bad.dir, reason: bad.reason },
      'removing an invalid checkpoint older than the newest valid one',
    );
    await rm(bad.dir, { recursive: true, force: true });
    removed.push(bad.dir);
  }
  for (const c of valid.slice(keep)) {
    const doomed = join(absRoot, `tmp-del-${basename(c.dir)}`);
    await rm(doomed, { recursive: true, force: true });
    await rename(c.dir, doomed);
    failpoint('checkpoint.prune-after-rename');
    await keepSpares(absRoot, doomed, c.manifest);
    await rm(doomed, { recursive: true, force: true });
    removed.push(c.dir);
  }
  if (removed.length > 0) await fsyncDir(absRoot);
  return { removed, kept: valid.slice(0, keep) };
}

/** The spare files under `root`, in name order. */
async function listSpareFiles(root: string): Promise<string[]> {
  const names = await readdirIfExists(root);
  return names
    .filter((n) => SPARE_RE.test(n))
    .sort()
    .map((n) => join(root, n));
}

/** Moves files of a checkpoint being deleted to spare-<n>.bin while fewer than MAX_SPARE_FILES exist. */
async function keepSpares(root: string, doomed: string, manifest: CheckpointManifest): Promise<void> {
  const existing = await listSpareFiles(root);
  let next = existing.reduce((n, p) => Math.max(n, Number(SPARE_RE.exec(basename(p))![1]) + 1), 0);
  let count = existing.length;
  // Largest first: the tensor files are what is worth reusing.
  for (const f of [...manifest.files].sort((a, b) => b.size - a.size)) {
    if (count >= MAX_SPARE_FILES) break;
    const kept = await rename(join(doomed, f.name), join(root, `spare-${String(next++).padStart(20, '0')}.bin`)).then(
      () => true,
      () => false,
    );
    if (kept) count++;
  }
}
