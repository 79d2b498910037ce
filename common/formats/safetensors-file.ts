// safetensors-file.ts: safetensors on disk. openSafetensors reads only the header (checked as
// safetensors.ts checks it), then each tensor on demand with positional reads; SafetensorsWriter
// writes the header, then the caller's buffers at their offsets, without holding the file in
// memory.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { allocBytes, readFully, writeFully } from './bytes';
import { resolveLimits } from './limits';
import type { Fail, NamedTensor } from './types';
import { failer, FormatError, q } from './types';
import { headerSize, parseHeader, safetensorsLayout } from './safetensors';
import type {
  SafetensorsHeader,
  SafetensorsLayout,
  SafetensorsReadOptions,
  SafetensorsTensorInfo,
  SafetensorsTensorSpec,
  SafetensorsWriteOptions,
} from './safetensors';

// ---------------------------------------------------------------------------------------------
// File reader

export interface SafetensorsFile {
  readonly path: string;
  /** In file (data-offset) order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly metadata: Record<string, string> | null;
  readonly header: SafetensorsHeader;
  info(name: string): SafetensorsTensorInfo | undefined;
  /** The tensor's bytes in a new (unpooled) Buffer. */
  read(name: string): Promise<Buffer>;
  /** Reads the tensor's bytes into `target` at `targetOffset` (no allocation). */
  readInto(name: string, target: Uint8Array, targetOffset?: number): Promise<void>;
  /** read() as a NamedTensor. */
  readTensor(name: string): Promise<NamedTensor>;
  close(): Promise<void>;
}

/**
 * Opens a safetensors file and validates its header (reading only the 8-byte size and the
 * header); tensor bytes are read later, one tensor at a time, with positional reads.
 */
export async function openSafetensors(path: string, options: SafetensorsReadOptions = {}): Promise<SafetensorsFile> {
  const source = options.source ?? path;
  const fail: Fail = failer('safetensors', source);
  const limits = resolveLimits(options.limits);
  const fh = await open(path, 'r');
  let header: SafetensorsHeader;
  try {
    const { size } = await fh.stat();
    const first8 = new Uint8Array(8);
    const got = await readFully(fh, first8, 0, Math.min(8, size), 0);
    const n = headerSize(first8.subarray(0, got), size, fail, limits);
    const hb = allocBytes(n);
    if ((await readFully(fh, hb, 0, n, 8)) !== n)
      fail('Truncated', `the file ended while reading the ${n}-byte header`);
    header = parseHeader(hb, n, size, fail, limits);
  } catch (e) {
    await fh.close();
    throw e;
  }
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  let closed = false;
  const get = (name: string): SafetensorsTensorInfo => {
    if (closed) throw new Error(`${source}: safetensors file is closed`);
    const t = byName.get(name);
    if (t === undefined) throw new FormatError('safetensors', source, 'Invalid', `no tensor named ${q(name)}`);
    return t;
  };
  const readInto = async (name: string, target: Uint8Array, targetOffset = 0): Promise<void> => {
    const t = get(name);
    if (!Number.isSafeInteger(targetOffset) || targetOffset < 0 || targetOffset + t.byteLength > target.byteLength) {
      throw new RangeError(
        `${source}: tensor ${q(name)} needs ${t.byteLength} bytes at offset ${targetOffset} of a ${target.byteLength}-byte target`,
      );
    }
    const got = await readFully(fh, target, targetOffset, t.byteLength, t.byteOffset);
    if (got !== t.byteLength) {
      fail(
        'Truncated',
        `tensor ${q(name)}: the file ended after ${got} of ${t.byteLength} bytes at offset ${t.byteOffset} (was it truncated since it was opened?)`,
      );
    }
  };
  const read = async (name: string): Promise<Buffer> => {
    const t = get(name);
    const buf = allocBytes(t.byteLength);
    await readInto(name, buf, 0);
    return buf;
  };
  return {
    path,
    tensors: header.tensors,
    metadata: header.metadata,
    header,
    info: (name) => byName.get(name),
    read,
    readInto,
    readTensor: async (name) => {
      const t = get(name);
      return { name: t.name, dtype: t.dtype, shape: t.shape, data: await read(name), stype: 'default' };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

export interface SafetensorsFileWriteOptions extends SafetensorsWriteOptions {
  /** fsync before close (default false). */
  fsync?: boolean;
  /** Mode of a new file (default 0o644). */
  mode?: number;
}

/**
 * A streaming writer: `open` writes the header; `write(name, bytes, offsetInTensor)` puts the
 * caller's bytes at their place with positional writes (tensors in any order, concurrently;
 * within one tensor the chunks must come in order); `close` checks every byte was written.
 */
export class SafetensorsWriter {
  private readonly next = new Map<string, number>();
  private readonly byName: Map<string, SafetensorsTensorInfo>;
  private closed = false;
  private readonly fail: Fail;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly layout: SafetensorsLayout,
    private readonly options: SafetensorsFileWriteOptions,
  ) {
    this.byName = new Map(layout.tensors.map((t) => [t.name, t]));
    for (const t of layout.tensors) this.next.set(t.name, 0);
    this.fail = failer('safetensors', options.source ?? path);
  }

  static async open(
    path: string,
    specs: readonly SafetensorsTensorSpec[],
    options: SafetensorsFileWriteOptions = {},
  ): Promise<SafetensorsWriter> {
    const layout = safetensorsLayout(specs, { ...options, source: options.source ?? path });
    const fh = await open(path, 'w', options.mode ?? 0o644);
    try {
      await writeFully(fh, layout.header, 0);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new SafetensorsWriter(path, fh, layout, options);
  }

  /** Writes `chunk` as the tensor's bytes from `offsetInTensor` (default: where the last write ended). */
  async write(name: string, chunk: Uint8Array, offsetInTensor?: number): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: safetensors writer is closed`);
    const t = this.byName.get(name);
    if (t === undefined) this.fail('Invalid', `no tensor named ${q(name)} in this file's layout`);
    const at = this.next.get(name)!;
    const off = offsetInTensor ?? at;
    if (off !== at)
      this.fail(
        'Invalid',
        `tensor ${q(name)}: write at offset ${off}, expected ${at} (chunks of one tensor go in order)`,
      );
    if (off + chunk.byteLength > t.byteLength) {
      this.fail(
        'Invalid',
        `tensor ${q(name)}: ${chunk.byteLength} bytes at offset ${off} run past its ${t.byteLength} bytes`,
      );
    }
    this.next.set(name, off + chunk.byteLength);
    await writeFully(this.fh, chunk, t.byteOffset + off);
  }

  /** Checks every tensor is complete, optionally fsyncs, and closes. Fails (and closes) if not. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const missing = this.layout.tensors.filter((t) => this.next.get(t.name)! !== t.byteLength);
      if (missing.length > 0) {
        const m = missing[0]!;
        this.fail(
          'WriteIncomplete',
          `${missing.length} tensor(s) incomplete, e.g. ${q(m.name)}: ${this.next.get(m.name)} of ${m.byteLength} bytes written`,
        );
      }
      if (this.options.fsync) await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  /** Closes without checks (the caller removes the partial file). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

export interface SafetensorsSource extends SafetensorsTensorSpec {
  /** The bytes, or a function producing them (called once, when the tensor's turn comes). */
  data: Uint8Array | (() => Promise<Uint8Array | readonly Uint8Array[]>);
}

/**
 * Writes a safetensors file from the callers' buffers without concatenating them: header
 * first, then each tensor (in file order, loading lazy sources one at a time).
 */
export async function writeSafetensorsFile(
  path: string,
  sources: readonly SafetensorsSource[],
  options: SafetensorsFileWriteOptions = {},
): Promise<SafetensorsLayout> {
  const writer = await SafetensorsWriter.open(path, sources, options);
  try {
    const byName = new Map(sources.map((s) => [s.name, s]));
    for (const t of writer.layout.tensors) {
      const src = byName.get(t.name)!;
      const data = typeof src.data === 'function' ? await src.data() : src.data;
      const chunks = data instanceof Uint8Array ? [data] : data;
      for (const c of chunks) await writer.write(t.name, c);
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await writer.close();
  return writer.layout;
}
