// assemble.ts: moving between a split parameter's whole tensor and its parts (rows rowStart +
// j * rowStep of the whole, common/cluster/placement.ts): cutting a value or a gradient into the
// parts' rows, joining the parts' reads into the whole, and routing row ids to the parts and
// their rows back. Pure byte work, no gRPC; the parts come in placement.parts order.
import type { Part, Placement } from '../../common/cluster/placement';
import { locateRow } from '../../common/cluster/placement';
import { fmtShape } from '../../common/shape';
import { GluonPsError, Status } from '../errors';
import { dtypeSize, tensorBytes, tensorFromBytes, type DType, type Tensor } from '../tensor';

export type Split = Exclude<Placement, { kind: 'whole' }>;

/** Bytes of one row (the dims after the first) of `shape`. */
export function rowBytesOf(shape: readonly number[], dtype: DType): number {
  return shape.slice(1).reduce((a, b) => a * b, 1) * dtypeSize(dtype);
}

/** A part's own shape. */
export function partShapeOf(fullShape: readonly number[], part: Part): number[] {
  return [part.rows, ...fullShape.slice(1)];
}

/** The whole tensor's bytes cut into each part's rows: views for slices, copies for rows r mod N. */
export function splitRows(p: Split, fullShape: readonly number[], tensor: Tensor): Tensor[] {
  const bytes = tensorBytes(tensor);
  const rowBytes = rowBytesOf(fullShape, tensor.dtype);
  return p.parts.map((part) => {
    let out: Uint8Array;
    if (part.rowStep === 1) {
      out = bytes.subarray(part.rowStart * rowBytes, (part.rowStart + part.rows) * rowBytes);
    } else {
      out = new Uint8Array(part.rows * rowBytes);
      for (let j = 0; j < part.rows; j++) {
        const from = (part.rowStart + j * part.rowStep) * rowBytes;
        out.set(bytes.subarray(from, from + rowBytes), j * rowBytes);
      }
    }
    return tensorFromBytes(partShapeOf(fullShape, part), tensor.dtype, out);
  });
}

/**
 * The parts' reads joined into the whole tensor. Each must have its part's shape and all one
 * dtype; anything else is a shard holding another placement (FAILED_PRECONDITION naming it).
 */
export function joinRows(name: string, p: Split, fullShape: readonly number[], parts: readonly Tensor[]): Tensor {
  const dtype = parts[0]!.dtype;
  const rowBytes = rowBytesOf(fullShape, dtype);
  const out = new Uint8Array(p.rows * rowBytes);
  p.parts.forEach((part, k) => {
    const t = parts[k]!;
    const want = partShapeOf(fullShape, part);
    if (t.dtype !== dtype || fmtShape(t.shape) !== fmtShape(want))
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `parameter '${name}': shard ${part.shard} sent ${t.dtype} ${fmtShape(t.shape)} for its part, expected ${dtype} ${fmtShape(want)}; the shards hold different placements of it`,
      );
    const bytes = tensorBytes(t);
    if (part.rowStep === 1) out.set(bytes, part.rowStart * rowBytes);
    else
      for (let j = 0; j < part.rows; j++)
        out.set(bytes.subarray(j * rowBytes, (j + 1) * rowBytes), (part.rowStart + j * part.rowStep) * rowBytes);
  });
  return tensorFromBytes(fullShape, dtype, out);
}

/** Row ids sent to one part: its own (local) ids, and where each came from in the caller's list. */
export interface PartRows {
  local: number[];
  positions: number[];
}

/** Each part's share of `ids` (global row ids, in range), in the callers' order. */
export function routeRows(p: Split, ids: readonly number[]): PartRows[] {
  const out = p.parts.map((): PartRows => ({ local: [], positions: [] }));
  const index = new Map(p.parts.map((part, k) => [part, k]));
  ids.forEach((id, position) => {
    const { part, local } = locateRow(p, id);
    const k = index.get(part)!;
    out[k]!.local.push(local);
    out[k]!.positions.push(position);
  });
  return out;
}

/** A part's answer to a row read: its sorted unique local ids and their rows. */
export interface PartRowsRead {
  part: Part;
  indices: BigInt64Array;
  values: Tensor;
}

/**
 * The parts' row reads merged into one answer: global ids sorted and unique, one row each, as
 * one server answers (every part's ids are sorted, and a part's rows map to global rows in order).
 */
export function mergeRows(
  fullShape: readonly number[],
  dtype: DType,
  reads: readonly PartRowsRead[],
): { indices: BigInt64Array; values: Tensor } {
  const rowBytes = rowBytesOf(fullShape, dtype);
  const rows: Array<{ id: bigint; bytes: Uint8Array }> = [];
  for (const r of reads) {
    const bytes = tensorBytes(r.values);
    r.indices.forEach((local, j) => {
      const id = BigInt(r.part.rowStart) + local * BigInt(r.part.rowStep);
      rows.push({ id, bytes: bytes.subarray(j * rowBytes, (j + 1) * rowBytes) });
    });
  }
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out = new Uint8Array(rows.length * rowBytes);
  rows.forEach((row, i) => out.set(row.bytes, i * rowBytes));
  return {
    indices: BigInt64Array.from(rows, (row) => row.id),
    values: tensorFromBytes([rows.length, ...fullShape.slice(1)], dtype, out),
  };
}

/** Rows `positions` of a [n, ...] tensor, in that order, as a new tensor. */
export function pickRows(values: Tensor, positions: readonly number[]): Tensor {
  const bytes = tensorBytes(values);
  const rowBytes = rowBytesOf(values.shape, values.dtype);
  const out = new Uint8Array(positions.length * rowBytes);
  positions.forEach((pos, i) => out.set(bytes.subarray(pos * rowBytes, (pos + 1) * rowBytes), i * rowBytes));
  return tensorFromBytes([positions.length, ...values.shape.slice(1)], values.dtype, out);
}
