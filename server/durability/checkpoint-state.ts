// checkpoint-state.ts: what a checkpoint of the data dir holds and how it is read back. The
// whole state goes into one safetensors file (every entry's and trainer's tensors) beside the
// manifest's meta (CheckpointMeta: the lsn it covers, and the entries' and trainers'
// descriptions naming their tensors). Loading reads the tensors straight into their own memory
// on pool threads, checksumming as it reads, and adopts nothing of a checkpoint that fails its
// crc32. Which checkpoint to load, when to write one, and the log around them: durability.ts.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { safetensorsLayout } from '../../common/formats/safetensors';
import { openSafetensors } from '../../common/formats/safetensors-file';
import * as nk from '../../native/index';
import type { ParameterEntry, ParameterStore } from '../store/parameter-store';
import { restoreEntry } from '../store/snapshot';
import type { EntrySnapshot, SnapshotTensor } from '../store/snapshot';
import type { Trainer } from '../trainer/trainer';
import { restoreTrainer } from '../trainer/trainer-snapshot';
import type { TrainerSnapshot } from '../trainer/trainer-snapshot';
import { crc32Combine, type CheckpointFile } from './checkpoint-dir';

export interface CheckpointMeta {
  /** Every journal record up to this lsn is contained. */
  lsn: string;
  entries: Array<{ meta: EntrySnapshot; tensors: string[] }>;
  trainers: Array<{ meta: TrainerSnapshot; tensors: string[] }>;
}

const TENSORS_FILE = 'tensors.safetensors';
/** Concurrent reads (pieces of tensors) while loading a checkpoint: the libuv pool's size. */
const LOAD_READS_IN_FLIGHT = Math.max(2, Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '4', 10) || 4);
/** A checkpoint load reads large tensors in pieces of this many bytes, several at once. */
const LOAD_PIECE_BYTES = 16 * 2 ** 20;

export class ChecksumError extends Error {
  override name = 'ChecksumError';
}

async function readRange(path: string, start: number, length: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, start + done);
      if (bytesRead === 0) throw new ChecksumError(`${path}: ends after ${start + done} bytes`);
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** The checkpoint's tensor file: a safetensors header, then every tensor's bytes at its offset. */
export function tensorsFile(tensors: SnapshotTensor[]): CheckpointFile {
  const layout = safetensorsLayout(tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })));
  const byName = new Map(tensors.map((t) => [t.name, t.bytes]));
  return {
    name: TENSORS_FILE,
    write: async (fh: FileHandle) => {
      await writeAll(fh, layout.header, 0);
      for (const t of layout.tensors) await writeAll(fh, byName.get(t.name)!, t.byteOffset);
    },
  };
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten === 0) throw new Error('checkpoint write made no progress');
    done += bytesWritten;
  }
}

/**
 * Rebuilds every entry and trainer straight from the tensor file (host tensors are read into
 * their own memory, no intermediate buffer), checksumming each tensor as it arrives; the
 * per-tensor crc32s are combined in file order and checked against the manifest before
 * anything is adopted, so a bad checkpoint changes nothing. The entries are adopted into
 * `store`; the trainers are returned for the caller to adopt (they are checked by then).
 */
export async function loadCheckpointState(
  dir: string,
  meta: CheckpointMeta,
  files: Array<{ name: string; size: number; crc32: number }>,
  store: ParameterStore,
  log: Logger,
): Promise<Trainer[]> {
  const path = join(dir, TENSORS_FILE);
  const expected = files.find((f) => f.name === TENSORS_FILE);
  if (!expected) throw new ChecksumError(`${path} is not listed in the manifest`);
  const file = await openSafetensors(path, {
    limits: {
      maxTensorBytes: Number.MAX_SAFE_INTEGER,
      maxTotalBytes: Number.MAX_SAFE_INTEGER,
      maxTensors: 10_000_000,
      maxFileBytes: Number.MAX_SAFE_INTEGER,
    },
  });
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    await file.close();
    throw err;
  }
  // Each tensor is read in pieces of LOAD_PIECE_BYTES, LOAD_READS_IN_FLIGHT at once, each
  // read and checksummed on a pool thread (nk.fileRead: pread + crc32 while the bytes are in
  // cache), straight into the tensor's memory; the JS thread only combines the crc32s. Before
  // this, the crc32 of every byte ran on the JS thread after the read (~3 GB/s here: 60 % of a
  // load that the page cache serves at 7 GB/s).
  const crcs = new Map<string, number>();
  let active = 0;
  const waiting: Array<() => void> = [];
  const piece = async (position: number, dest: Uint8Array, offset: number, length: number): Promise<number> => {
    if (active >= LOAD_READS_IN_FLIGHT) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await nk.fileRead(fh.fd, position, dest, offset, length);
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
  const read = async (name: string, dest: Uint8Array): Promise<void> => {
    const stored = file.info(name);
    if (stored === undefined) {
      await file.readInto(name, dest); // throws the file's own error for a missing tensor
      return;
    }
    if (stored.byteLength !== dest.byteLength) {
      throw new Error(
        `${path}: tensor '${name}' holds ${stored.byteLength} bytes, the checkpoint's description needs ${dest.byteLength}`,
      );
    }
    const lengths: number[] = [];
    for (let at = 0; at < dest.byteLength; at += LOAD_PIECE_BYTES)
      lengths.push(Math.min(LOAD_PIECE_BYTES, dest.byteLength - at));
    // Every piece is awaited, failed or not, before the caller may free `dest`.
    const settled = await Promise.allSettled(
      lengths.map((n, i) => piece(stored.byteOffset + i * LOAD_PIECE_BYTES, dest, i * LOAD_PIECE_BYTES, n)),
    );
    let crc = 0;
    for (let i = 0; i < settled.length; i++) {
      const r = settled[i]!;
      if (r.status === 'rejected') throw r.reason;
      crc = i === 0 ? r.value : crc32Combine(crc, r.value, lengths[i]!);
    }
    crcs.set(name, crc);
  };
  const entries: ParameterEntry[] = [];
  const trainers: Trainer[] = [];
  try {
    const restored = await Promise.allSettled(meta.entries.map((e) => restoreEntry(e.meta, e.tensors, read)));
    for (const r of restored) if (r.status === 'fulfilled') entries.push(r.value);
    const failure = restored.find((r) => r.status === 'rejected');
    if (failure) {
      for (const e of entries) store.adopt(e); // so clear() below frees them
      throw (failure as PromiseRejectedResult).reason;
    }
    // Trainers look their parameters up in the store: adopt the entries first (undone below
    // if the checksum fails).
    for (const e of entries) store.adopt(e);
    for (const t of meta.trainers) trainers.push(await restoreTrainer(t.meta, t.tensors, read, store, log));
    let crc = crc32(await readRange(path, 0, file.tensors[0]?.byteOffset ?? expected.size));
    for (const t of file.tensors)
      crc = crc32Combine(crc, crcs.get(t.name) ?? crc32(await file.read(t.name)), t.byteLength);
    if (crc >>> 0 !== expected.crc32 >>> 0)
      throw new ChecksumError(`${path}: crc32 ${crc >>> 0} does not match the manifest's ${expected.crc32}`);
  } catch (err) {
    for (const t of trainers) t.close();
    store.clear();
    throw err;
  } finally {
    await file.close();
    await fh.close();
  }
  return trainers;
}
