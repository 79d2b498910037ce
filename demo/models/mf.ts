// Matrix factorisation with row-sparse embeddings: rating(u, i) ~ <user_u, item_i>, L2 loss
// 0.5 (pred - r)^2 as Gluon's L2Loss. A batch touches few rows, so the worker reads only those
// rows (row_sparse_data of the batch's ids) and pushes gradients for only those rows
// (row_sparse {indices, values}); this file maps a batch onto such row sets and back.
import type { FloatArray } from './mlp';

/** A set of embedding rows: sorted unique ids and their rows, row-major [ids.length, dim]. */
export interface Rows<A extends FloatArray = FloatArray> {
  ids: ArrayLike<number>;
  values: A;
}

/** Sorted unique ids of `rows` of `column` (the rows a batch touches). */
export function uniqueIds(column: ArrayLike<number>, rows: ArrayLike<number>): number[] {
  const set = new Set<number>();
  for (let r = 0; r < rows.length; r++) set.add(column[rows[r]!]!);
  return [...set].sort((a, b) => a - b);
}

/** id -> position in `ids`. */
function positions(ids: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let k = 0; k < ids.length; k++) m.set(Number(ids[k]), k);
  return m;
}

/** The batch's data: entry k is (users[k], items[k], ratings[k]). */
export interface MfData {
  users: ArrayLike<number>;
  items: ArrayLike<number>;
  ratings: ArrayLike<number>;
}

export interface MfResult<A extends FloatArray> {
  /** Sum over the batch of 0.5 (pred - rating)^2. */
  loss: number;
  /** Summed gradients, laid out like the input row sets (same ids). */
  userGrad: A;
  itemGrad: A;
}

/**
 * Loss and summed gradients of `rows` of `data`, given the user and item rows that cover them
 * (any id the batch uses must be present; extra ids get zero gradient).
 */
export function mfLossAndGrad<A extends FloatArray>(
  dim: number,
  users: Rows<A>,
  items: Rows<A>,
  data: MfData,
  rows: ArrayLike<number>,
  withGrad = true,
): MfResult<A> {
  const up = positions(users.ids);
  const ip = positions(items.ids);
  const make = (n: number): A => new (users.values.constructor as new (n: number) => A)(withGrad ? n : 0);
  const userGrad = make(users.values.length);
  const itemGrad = make(items.values.length);
  let loss = 0;
  for (let r = 0; r < rows.length; r++) {
    const k = rows[r]!;
    const u = up.get(data.users[k]!);
    const i = ip.get(data.items[k]!);
    if (u === undefined || i === undefined) {
      throw new Error(`mf: rows for user ${data.users[k]} / item ${data.items[k]} were not read`);
    }
    const uo = u * dim;
    const io = i * dim;
    let pred = 0;
    for (let d = 0; d < dim; d++) pred += users.values[uo + d]! * items.values[io + d]!;
    const e = pred - data.ratings[k]!;
    loss += 0.5 * e * e;
    if (!withGrad) continue;
    for (let d = 0; d < dim; d++) {
      userGrad[uo + d]! += e * items.values[io + d]!;
      itemGrad[io + d]! += e * users.values[uo + d]!;
    }
  }
  return { loss, userGrad, itemGrad };
}
