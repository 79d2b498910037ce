// hashing-handle.ts: crc32 of checkpoint files without reading them back. HashingHandle wraps
// the FileHandle a checkpoint file's writer is given and hashes every write as it goes out;
// the per-write crc32s are combined (zlib's crc32_combine) into the file's when the writes
// tile it exactly, else the file is read back. Also crc32 of a whole file, for verification.
import { crc32 } from 'node:zlib';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

const READ_CHUNK = 8 * 1024 * 1024;

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
const PASS = new Set<PropertyKey>([
  'stat',
  'read',
  'readv',
  'readFile',
  'sync',
  'datasync',
  'getAsyncId',
  'readLines',
  'readableWebStream',
  'then',
]);

export class HashingHandle {
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

  async write(
    data: unknown,
    a?: unknown,
    b?: unknown,
    c?: unknown,
  ): Promise<{ bytesWritten: number; buffer: unknown }> {
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

  async writev(
    buffers: ArrayBufferView[],
    position?: unknown,
  ): Promise<{ bytesWritten: number; buffers: ArrayBufferView[] }> {
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
      await this.fh.writeFile(
        data as Parameters<FileHandle['writeFile']>[0],
        options as Parameters<FileHandle['writeFile']>[1],
      );
      return;
    }
    const enc =
      typeof options === 'string'
        ? options
        : ((options as { encoding?: BufferEncoding } | undefined)?.encoding ?? 'utf8');
    const bytes =
      typeof data === 'string'
        ? Buffer.from(data, enc as BufferEncoding)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await this.write(bytes.subarray(off));
      if (bytesWritten <= 0) throw new Error('write wrote nothing');
      off += bytesWritten;
    }
  }

  /** One past the last byte any write reached (what a reused, longer file is cut to). */
  get writtenEnd(): number {
    return this.extents.reduce((end, e) => Math.max(end, e.end), 0);
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
