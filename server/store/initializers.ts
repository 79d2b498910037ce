// initializers.ts: MXNet's registered initializers (MXNet python/mxnet/initializer.py) over the native
// kernels. Values are drawn from Philox with the caller's seed; the stream offset is a hash of
// the parameter name, so one seed gives different (but reproducible) values per parameter.
//
// A shard's part of a split parameter (spec.part: rows rowStart + j * rowStep of the whole) is
// filled with exactly what those rows hold when one server initializes the whole parameter:
// fans come from the full shape; random draws use the counters of the rows' places in the whole
// (native RowsOf), so no shard computes more than its rows; a constant array gives its rows.
// Orthogonal alone needs the whole matrix (each row is orthogonalized against the ones before
// it): the shard draws and orthogonalizes the full sample, then keeps its rows.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { invalid, exhausted } from '../errors';
import type { InitSpec, PartSpec } from './spec';

/** FNV-1a 64-bit of the name: the Philox stream for this parameter. */
export function streamOf(name: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

function fans(who: string, kind: string, shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw invalid(
      `${who}: ${kind} initializer cannot be applied to a vector: shape [${shape.join(',')}] needs at least 2 dims`,
    );
  }
  const hw = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * hw, fanOut: shape[0]! * hw };
}

function factorOf(fanIn: number, fanOut: number, factorType: 'avg' | 'in' | 'out'): number {
  return factorType === 'avg' ? (fanIn + fanOut) / 2 : factorType === 'in' ? fanIn : fanOut;
}

/**
 * Checks that `init` can fill `shape` (e.g. xavier needs 2 dims), before anything is allocated;
 * for a part of a split parameter, the whole parameter's shape is what must fit.
 */
export function checkInitFits(who: string, init: InitSpec, ownShape: readonly number[], part?: PartSpec): void {
  const shape = part?.fullShape ?? ownShape;
  const size = shape.reduce((a, b) => a * b, 1);
  switch (init.kind) {
    case 'xavier':
    case 'msraprelu':
      fans(who, init.kind, shape);
      break;
    case 'orthogonal': {
      if (shape.length < 1) throw invalid(`${who}: orthogonal initializer needs at least 1 dim, got a scalar`);
      const rows = shape[0]!,
        cols = size / rows;
      const k = Math.min(rows, cols);
      if (k * k * Math.max(rows, cols) > 2 ** 34) {
        throw exhausted(
          `${who}: orthogonal initializer on [${shape.join(',')}] is too large to orthogonalize (at most ~1.7e10 operations)`,
        );
      }
      break;
    }
    case 'constant': {
      if (Array.isArray(init.value) && init.value.length !== 1 && init.value.length !== size) {
        throw invalid(
          `${who}: constant initializer has ${init.value.length} values, expected 1 or ${size} for shape [${shape.join(',')}]`,
        );
      }
      break;
    }
    default:
      break;
  }
}

/**
 * Fills `out` (a fresh tensor of the parameter's shape and dtype) as `init` prescribes; with
 * `part`, `out` is that part of the whole parameter and gets exactly the whole's values there.
 */
export async function runInitializer(
  who: string,
  name: string,
  init: InitSpec,
  out: DeviceTensor,
  seed: bigint,
  part?: PartSpec,
): Promise<void> {
  const stream = streamOf(name);
  const shape = part?.fullShape ?? out.shape;
  const rows: nk.RowsOf | undefined = part ? { firstRow: part.rowStart, rowStep: part.rowStep } : undefined;
  switch (init.kind) {
    case 'zero':
      return nk.fill(out, 0);
    case 'one':
      return nk.fill(out, 1);
    case 'uniform': {
      const scale = init.scale ?? 0.07;
      return nk.uniform(out, -scale, scale, seed, stream, rows);
    }
    case 'normal':
      return nk.normal(out, 0, init.sigma ?? 0.01, seed, stream, rows);
    case 'xavier':
    case 'msraprelu': {
      const { fanIn, fanOut } = fans(who, init.kind, shape);
      const factor = factorOf(fanIn, fanOut, init.factorType ?? 'avg');
      if (init.kind === 'xavier') {
        const s = Math.sqrt((init.magnitude ?? 3) / factor);
        return (init.rndType ?? 'uniform') === 'uniform'
          ? nk.uniform(out, -s, s, seed, stream, rows)
          : nk.normal(out, 0, s, seed, stream, rows);
      }
      const slope = init.slope ?? 0.25;
      return nk.normal(out, 0, Math.sqrt(2 / (1 + slope * slope) / factor), seed, stream, rows);
    }
    case 'constant': {
      if (!Array.isArray(init.value) || init.value.length === 1) {
        return nk.fill(out, Array.isArray(init.value) ? init.value[0]! : init.value);
      }
      return writeFloat64(out, rowsOfWhole(Float64Array.from(init.value), shape, part, out.shape[0] ?? 1));
    }
    case 'orthogonal':
      return orthogonal(out, shape, part, init.scale ?? 1.414, init.randType ?? 'uniform', seed, stream);
  }
}

/** The `count` rows of `whole` (row-major, of shape `shape`) that `part` holds; all of it without a part. */
function rowsOfWhole(
  whole: Float64Array,
  shape: readonly number[],
  part: PartSpec | undefined,
  count: number,
): Float64Array {
  if (part === undefined) return whole;
  const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(count * rowElems);
  for (let j = 0; j < count; j++) {
    const from = (part.rowStart + j * part.rowStep) * rowElems;
    out.set(whole.subarray(from, from + rowElems), j * rowElems);
  }
  return out;
}

/** Writes float64 values into `out`, converting to its dtype with the kernels' cast rule. */
async function writeFloat64(out: DeviceTensor, values: Float64Array): Promise<void> {
  const staging = await nk.fromBytes(
    out.device,
    'float64',
    out.shape,
    new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  );
  try {
    await nk.cast(out, staging);
  } finally {
    staging.dispose();
  }
}

/**
 * MXNet draws a (rows, cols) matrix from U(-1,1) or N(0,1) and keeps the orthonormal factor of
 * its SVD that has the sample's shape. We orthonormalize the same sample by modified
 * Gram-Schmidt along the shorter side, which yields the same kind of matrix (orthonormal rows
 * when rows <= cols, else orthonormal columns), then scale.
 */
async function orthogonal(
  out: DeviceTensor,
  shape: readonly number[],
  part: PartSpec | undefined,
  scale: number,
  randType: 'uniform' | 'normal',
  seed: bigint,
  stream: bigint,
): Promise<void> {
  const rows = shape[0]!;
  const cols = shape.reduce((a, b) => a * b, 1) / rows;
  // The whole sample, also on a shard that keeps only some rows (see the header).
  const sample = nk.empty(out.device, 'float64', [...shape]);
  try {
    if (randType === 'uniform') await nk.uniform(sample, -1, 1, seed, stream);
    else await nk.normal(sample, 0, 1, seed, stream);
    const m = new Float64Array((await nk.readBytes(sample)).buffer);
    const byRows = rows <= cols;
    const count = byRows ? rows : cols;
    const len = byRows ? cols : rows;
    const at = (v: number, k: number): number => (byRows ? v * cols + k : k * cols + v);
    for (let v = 0; v < count; v++) {
      for (let u = 0; u < v; u++) {
        let dot = 0;
        for (let k = 0; k < len; k++) dot += m[at(u, k)]! * m[at(v, k)]!;
        for (let k = 0; k < len; k++) m[at(v, k)]! -= dot * m[at(u, k)]!;
      }
      let norm = 0;
      for (let k = 0; k < len; k++) norm += m[at(v, k)]! ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let k = 0; k < len; k++) m[at(v, k)]! /= norm;
    }
    for (let i = 0; i < m.length; i++) m[i]! *= scale;
    await writeFloat64(out, rowsOfWhole(m, shape, part, out.shape[0] ?? 1));
  } finally {
    sample.dispose();
  }
}

/** MXNet's Initializer.dumps(): ["name", {kwargs}] as JSON, for var()'s __init__ attribute. */
export function dumpsInit(init: InitSpec): string {
  switch (init.kind) {
    case 'uniform':
      return JSON.stringify(['uniform', { scale: init.scale ?? 0.07 }]);
    case 'normal':
      return JSON.stringify(['normal', { sigma: init.sigma ?? 0.01 }]);
    case 'xavier':
      return JSON.stringify([
        'xavier',
        { rnd_type: init.rndType ?? 'uniform', factor_type: init.factorType ?? 'avg', magnitude: init.magnitude ?? 3 },
      ]);
    case 'msraprelu':
      return JSON.stringify(['msraprelu', { factor_type: init.factorType ?? 'avg', slope: init.slope ?? 0.25 }]);
    case 'constant':
      return JSON.stringify(['constant', { value: init.value }]);
    case 'zero':
      return JSON.stringify(['zero', {}]);
    case 'one':
      return JSON.stringify(['one', {}]);
    case 'orthogonal':
      return JSON.stringify(['orthogonal', { scale: init.scale ?? 1.414, rand_type: init.randType ?? 'uniform' }]);
  }
}
