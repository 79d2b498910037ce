// states.ts: the opaque snapshot of a trainer's optimizer states (save_states / load_states):
// magic "GPSSTAT1", a u32 JSON header length, the JSON header (trainer, optimizer, step,
// learning rate, and per parameter its layout, update count and tensor byte ranges), then the
// raw tensor bytes. Readers check every range before using it. The header is in the state
// encoding (state-json.ts), as everything else the server writes about its state. Shared by the
// server (its trainers' snapshots) and the cluster client, which assembles one server's snapshot
// from its shards' and cuts one into theirs (client/cluster/states.ts); each end passes its own
// error type.
import { invalidArgument } from '../status-error';
import { parseState, stringifyState } from './state-json';

/** The first bytes of every snapshot. */
export const STATES_MAGIC = Buffer.from('GPSSTAT1', 'ascii');
const MAGIC = STATES_MAGIC;

export interface SavedParamStates {
  name: string;
  layout: string;
  count: number;
  dtype: string;
  shape: number[];
  /** Per context, per state tensor: the bytes. */
  tensors: Uint8Array[][];
}

export interface SavedStates {
  trainer: string;
  optimizer: string;
  step: number;
  learningRate: number;
  params: SavedParamStates[];
}

interface HeaderParam {
  name: string;
  layout: string;
  count: number;
  dtype: string;
  shape: number[];
  ranges: Array<Array<[number, number]>>;
}

/** Lays the snapshot out in one buffer from `allocate` (default: a plain Buffer of that size). */
export function writeStates(s: SavedStates, allocate: (byteLength: number) => Buffer = Buffer.allocUnsafe): Buffer {
  let offset = 0;
  const params: HeaderParam[] = s.params.map((p) => ({
    name: p.name,
    layout: p.layout,
    count: p.count,
    dtype: p.dtype,
    shape: p.shape,
    ranges: p.tensors.map((list) =>
      list.map((t): [number, number] => {
        const r: [number, number] = [offset, t.byteLength];
        offset += t.byteLength;
        return r;
      }),
    ),
  }));
  const header = Buffer.from(
    stringifyState({ trainer: s.trainer, optimizer: s.optimizer, step: s.step, learningRate: s.learningRate, params }),
    'utf8',
  );
  const out = allocate(MAGIC.length + 4 + header.length + offset);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  let at = MAGIC.length + 4 + header.length;
  for (const p of s.params)
    for (const list of p.tensors)
      for (const t of list) {
        out.set(t, at);
        at += t.byteLength;
      }
  return out;
}

/** The states `bytes` hold; anything writeStates could not have written is `invalid` (INVALID_ARGUMENT). */
export function readStates(
  who: string,
  bytes: Uint8Array,
  invalid: (message: string) => Error = invalidArgument,
): SavedStates {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): never => {
    throw invalid(`${who}: not a saved optimizer-state snapshot: ${why}`);
  };
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) bad('missing the GPSSTAT1 magic');
  const headerLength = buf.readUInt32LE(MAGIC.length);
  const dataStart = MAGIC.length + 4 + headerLength;
  if (dataStart > buf.length) bad(`header length ${headerLength} runs past the end (${buf.length} bytes)`);
  let header: { trainer: string; optimizer: string; step: number; learningRate: number; params: HeaderParam[] };
  try {
    header = parseState(buf.subarray(MAGIC.length + 4, dataStart).toString('utf8')) as typeof header;
  } catch {
    return bad('the header is not valid JSON');
  }
  if (
    typeof header !== 'object' ||
    header === null ||
    !Array.isArray(header.params) ||
    !Number.isSafeInteger(header.step) ||
    typeof header.trainer !== 'string' ||
    typeof header.optimizer !== 'string' ||
    typeof header.learningRate !== 'number'
  )
    bad('the header lacks trainer, step, optimizer, learningRate or params');
  if (header.step < 0) bad(`the step must be >= 0, got ${header.step}`);
  if (!Number.isFinite(header.learningRate) || header.learningRate < 0)
    bad(`the learning rate must be a finite number >= 0, got ${header.learningRate}`);
  const dataLength = buf.length - dataStart;
  // writeStates lays the tensors out back to back in header order: anything else (a gap, an
  // overlap, bytes after the last tensor) is not a snapshot it wrote.
  let next = 0;
  const names = new Set<string>();
  const params = header.params.map((p): SavedParamStates => {
    if (
      typeof p?.name !== 'string' ||
      typeof p.layout !== 'string' ||
      !Number.isSafeInteger(p.count) ||
      p.count < 0 ||
      typeof p.dtype !== 'string' ||
      !Array.isArray(p.shape) ||
      !p.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !Array.isArray(p.ranges)
    )
      bad('a parameter entry is malformed');
    if (names.has(p.name)) bad(`parameter '${p.name}' is listed twice`);
    names.add(p.name);
    // Every parameter lives on at least one context: an empty context list is never saved.
    if (p.ranges.length === 0) bad(`parameter '${p.name}' has an empty list of contexts`);
    return {
      name: p.name,
      layout: p.layout,
      count: p.count,
      dtype: p.dtype,
      shape: p.shape,
      tensors: p.ranges.map((list) =>
        (Array.isArray(list) ? list : bad('ranges must be lists')).map((range: unknown) => {
          if (!Array.isArray(range) || range.length !== 2) bad(`a byte range of '${p.name}' is not [start, length]`);
          const [start, length] = range as [number, number];
          if (
            !Number.isSafeInteger(start) ||
            !Number.isSafeInteger(length) ||
            start < 0 ||
            length < 0 ||
            start + length > dataLength
          )
            bad(`a byte range [${start}, +${length}) of '${p.name}' is outside the data`);
          if (start !== next)
            bad(`a byte range of '${p.name}' starts at ${start}, expected ${next} (right after the previous one)`);
          next = start + length;
          return buf.subarray(dataStart + start, dataStart + start + length);
        }),
      ),
    };
  });
  if (next !== dataLength) bad(`${dataLength - next} bytes follow the last state tensor`);
  return {
    trainer: header.trainer,
    optimizer: header.optimizer,
    step: header.step,
    learningRate: header.learningRate,
    params,
  };
}

/** What one parameter's states can hold: `contexts` lists of `perContext` tensors of `tensorBytes`. */
export interface StatesShape {
  name: string;
  layout: string;
  contexts: number;
  perContext: number;
  tensorBytes: number;
}

/**
 * The largest snapshot writeStates makes for these parameters: every tensor's bytes plus a
 * generous bound on the header (each number at most 24 characters of JSON, names and layouts
 * twice over for escapes). A LoadStates body over it cannot be a snapshot of this trainer.
 */
export function maxStatesBytes(params: readonly StatesShape[]): number {
  let total = MAGIC.length + 4 + 4096;
  for (const p of params) {
    const tensors = p.contexts * p.perContext;
    total += tensors * p.tensorBytes + 512 + 2 * (p.name.length + p.layout.length) + 64 * tensors + 8 * p.contexts;
  }
  return total;
}
