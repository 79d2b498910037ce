// npz.ts: NumPy's `.npz`, a zip of `<name>.npy` members. numpy.savez writes stored members,
// numpy.savez_compressed deflated ones: both are read (zip.ts checks sizes against the limits
// before inflating, and every CRC). Writing produces stored members, byte for byte what
// Python's zipfile writes with a fixed 1980-01-01 timestamp (so files are reproducible),
// with zip64 records exactly where CPython would put them (members or offsets > 2 GiB).
// A member name without `.npy` is taken whole, as numpy.load does; MXNet's sparse npz layout
// (`<key>/data.npy`, `<key>/indices.npy`, …) is not interpreted (see docs/formats.md).
import { checkTensorsForWrite, concatChunks } from './bytes';
import type { FormatLimits } from './limits';
import { LimitTracker, MAX_BUFFER_BYTES, resolveLimits } from './limits';
import type { NpyWriteOptions } from './npy';
import { checkNpyTensor, npyHeader, parseNpy } from './npy';
import type { Fail, NamedTensor } from './types';
import { failer, q } from './types';
import type { ZipWriteOptions } from './zip';
import { encodeZipChunks, extractZipEntry, readZipDirectory } from './zip';

export interface NpzReadOptions {
  limits?: Partial<FormatLimits>;
  source?: string;
  /** Copy stored members' data out of the input (default true); false returns views. */
  copy?: boolean;
}

export interface NpzWriteOptions extends ZipWriteOptions {
  limits?: Partial<FormatLimits>;
  source?: string;
  bfloat16?: NpyWriteOptions['bfloat16'];
}

/** Reads a whole `.npz` held in memory; tensors in central-directory order. */
export function decodeNpz(bytes: Uint8Array, options: NpzReadOptions = {}): NamedTensor[] {
  const fail: Fail = failer('npz', options.source ?? '<buffer>');
  const limits = resolveLimits(options.limits);
  const tracker = new LimitTracker(limits, fail);
  // A member is an .npy: its data plus a header of at most 12 + maxNpyHeaderBytes bytes.
  const memberSlack = 12 + limits.maxNpyHeaderBytes;
  const entries = readZipDirectory(bytes, fail, {
    maxEntries: limits.maxTensors,
    maxEntryBytes: Math.min(limits.maxTensorBytes + memberSlack, MAX_BUFFER_BYTES),
    maxTotalBytes: limits.maxTotalBytes + Math.min(limits.maxTensors, 1024) * memberSlack,
    maxNameBytes: limits.maxNameBytes + 4,
  });
  const out: NamedTensor[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const where = `member ${q(e.name)}`;
    if (e.name.endsWith('/')) fail('Invalid', `${where}: a directory entry, expected only .npy members`);
    const name = e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name;
    if (seen.has(name)) fail('Duplicate', `${where}: the array name ${q(name)} appears twice`);
    seen.add(name);
    tracker.tensor(where);
    const content = extractZipEntry(bytes, e, fail);
    // A deflated member was inflated into a fresh buffer: no need to copy out of it.
    out.push(parseNpy(content, name, fail, tracker, `${where}: `, e.method === 0 && (options.copy ?? true)));
  }
  return out;
}

/** The archive as chunks: local headers, npy headers and the callers' data buffers (not copied). */
export function encodeNpzChunks(tensors: readonly NamedTensor[], options: NpzWriteOptions = {}): Uint8Array[] {
  const fail: Fail = failer('npz', options.source ?? '<writer>');
  checkTensorsForWrite(tensors, fail, resolveLimits(options.limits), {
    allowRowSparse: false,
    formatNote: '.npz holds dense arrays only; write .params for row_sparse',
  });
  for (const t of tensors) checkNpyTensor(t, fail, options);
  return encodeZipChunks(
    tensors.map((t) => ({ name: `${t.name}.npy`, chunks: [npyHeader(t.dtype, t.shape), t.data] })),
    options,
  );
}

export function encodeNpz(tensors: readonly NamedTensor[], options: NpzWriteOptions = {}): Uint8Array {
  return concatChunks(encodeNpzChunks(tensors, options));
}
