// fsync.ts: the three durability primitives everything else uses. A file's bytes are durable
// after fsync(file); a create, rename or unlink is durable only after fsync of the directory
// that holds the entry. writeFileDurable is the classic atomic replace: temp file in the same
// directory, write, fsync, rename over the target, fsync the directory.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The logger the durability modules warn through (a pino Logger fits). */
export interface DurabilityLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  info?(obj: Record<string, unknown>, msg: string): void;
}

/** fsync(2) of an existing file (opened read-only; Linux flushes the inode's dirty pages). */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsync(2) of a directory, making creates, renames and unlinks in it durable. Filesystems that
 * cannot fsync a directory (EINVAL, ENOTSUP) are tolerated: there is nothing more to do there.
 */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw err;
  } finally {
    await fh.close();
  }
}

/** A temp name next to `path` (same directory, so the rename is atomic): `.<name>.tmp-<pid>-<hex>`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Atomically replaces `path` with `data`: after it resolves the new content is durable; after a
 * crash at any point the file holds either the old or the new content, never a mix. A temp file
 * left by a crash is named `.<name>.tmp-*` in the same directory.
 */
export async function writeFileDurable(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  let renamed = false;
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await fsyncDir(dirname(path));
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}

/**
 * mkdir -p that makes the new directories durable: each directory it creates is fsynced into its
 * parent. Returns whether anything was created.
 */
export async function mkdirDurable(path: string): Promise<boolean> {
  const target = resolve(path);
  const first = await mkdir(target, { recursive: true });
  if (first === undefined) return false;
  // `first` is the topmost directory created; fsync its parent and every new level below it.
  let dir = target;
  const levels: string[] = [];
  while (dir !== first && dir !== dirname(dir)) {
    levels.push(dirname(dir));
    dir = dirname(dir);
  }
  levels.push(dirname(first));
  for (const d of levels.reverse()) await fsyncDir(d);
  return true;
}

/** The names in `dir`, or [] if it does not exist. */
export async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
