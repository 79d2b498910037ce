// balance.ts: how evenly placement (placement.ts) spreads a model's bytes over the shards, and
// the bound docs/cluster.md states for it. Used by the property test and bench/cluster-balance.ts.
//
// The bound. A shard's bytes are a sum over tensors: a tensor split over all N shards (a slice
// per shard, or row_sparse rows) gives every shard its share, one row more at most; the pieces
// placed by a name's hash (a whole tensor, or each of S < N slices from the home shard on) land
// on a given shard with probability 1/N each when hashes are uniform. Bernstein's inequality
// with a union over the N shards gives
//   max_i bytes_i <= T/N + (one row per evenly split tensor) + M L / 3 + sqrt((M L / 3)^2 + 2 V L)
// with T the model's bytes, M the largest piece placed by hash, V = sum of piece^2 / N and
// L = ln(N / 1e-6): a model breaks it with probability below 1e-6.
import { bytesPerShard, place, tensorBytesOf, type Layout, type PlacementInput } from './placement';

/** Chance that a model with uniform hashes breaks the bound. */
export const BOUND_FAILURE_PROBABILITY = 1e-6;

/** Bytes each shard holds of the model (tensors of unknown shape count 0). */
export function modelBytesPerShard(model: readonly PlacementInput[], layout: Layout): number[] {
  const out = new Array<number>(layout.shards).fill(0);
  for (const t of model) bytesPerShard(t, layout).forEach((b, i) => (out[i]! += b));
  return out;
}

/** The most bytes any shard may hold for `model` (every shape known), by the bound above. */
export function balanceBound(model: readonly PlacementInput[], layout: Layout): number {
  const n = layout.shards;
  let total = 0;
  let rowsSlack = 0;
  let variance = 0;
  let largest = 0;
  for (const t of model) {
    const shape = t.shape!;
    const bytes = tensorBytesOf(shape, t.dtype);
    total += bytes;
    const p = place(t, layout);
    const rowBytes = shape.length === 0 ? bytes : bytes / shape[0]!;
    if (p.kind !== 'whole' && p.parts.length === n) {
      rowsSlack += rowBytes;
      continue;
    }
    const pieces = p.kind === 'whole' ? [bytes] : p.parts.map((part) => part.rows * rowBytes);
    for (const b of pieces) {
      variance += (b * b) / n;
      largest = Math.max(largest, b);
    }
  }
  const l = Math.log(n / BOUND_FAILURE_PROBABILITY);
  const m = (largest * l) / 3;
  return total / n + rowsSlack + m + Math.sqrt(m * m + 2 * variance * l);
}
