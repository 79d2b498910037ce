// gradients.ts: gradients a worker pushed for one step, held on the parameter's first context,
// and their combination across workers: a dense sum, or for row_sparse gradients the sorted
// union of rows with duplicate rows added (so the optimizer's lazy update sees unique ids).
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';

export type PendingGrad =
  | { kind: 'dense'; values: DeviceTensor }
  | { kind: 'rows'; ids: BigInt64Array; values: DeviceTensor };

export function disposeGrad(g: PendingGrad): void {
  g.values.dispose();
}

/** The combined gradient of one parameter: dense, or unique sorted rows. */
export type CombinedGrad =
  | { kind: 'dense'; values: DeviceTensor; borrowed?: true }
  | { kind: 'rows'; ids: BigInt64Array; values: DeviceTensor };

/**
 * Sums the workers' gradients for one parameter of shape `shape` on `device`. Any dense
 * contribution makes the result dense (row contributions are scattered into it). The result is
 * a new tensor owned by the caller; the inputs are untouched.
 */
export async function combine(
  grads: readonly PendingGrad[],
  shape: readonly number[],
  device: nk.Device,
): Promise<CombinedGrad> {
  const dtype = grads[0]!.values.dtype;
  if (grads.some((g) => g.kind === 'dense')) {
    const dense = grads.filter((g) => g.kind === 'dense').map((g) => g.values);
    // One worker's dense gradient alone is used as it is (no copy); several are summed into a
    // new tensor, leaving each pushed gradient as it was pushed (they are disposed with the
    // step's pending gradients, whatever the apply's outcome).
    if (dense.length === 1 && grads.length === 1) return { kind: 'dense', values: dense[0]!, borrowed: true };
    const out = nk.emptyUninitialized(device, dtype, shape);
    try {
      await nk.addN(out, dense);
      for (const g of grads) if (g.kind === 'rows') await nk.scatterAddRows(out, g.values, g.ids);
      return { kind: 'dense', values: out };
    } catch (err) {
      out.dispose();
      throw err;
    }
  }
  // Union of rows, sorted; each contribution scatters into its positions in the union.
  const all = new Set<bigint>();
  for (const g of grads) if (g.kind === 'rows') for (const id of g.ids) all.add(id);
  const ids = BigInt64Array.from([...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  const position = new Map<bigint, number>();
  ids.forEach((id, i) => position.set(id, i));
  const out = nk.empty(device, dtype, [ids.length, ...shape.slice(1)]);
  try {
    for (const g of grads) {
      if (g.kind !== 'rows') continue;
      await nk.scatterAddRows(
        out,
        g.values,
        Array.from(g.ids, (id) => position.get(id)!),
      );
    }
    return { kind: 'rows', ids, values: out };
  } catch (err) {
    out.dispose();
    throw err;
  }
}
