// gradients.ts: gradients a worker pushed for one step, held on the parameter's first context,
// and their combination across workers: a dense sum, or for row_sparse gradients the sorted
// union of rows with duplicate rows added (so the optimizer's lazy update sees unique ids); and
// the checks and upload of a pushed gradient.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { invalid, precondition } from '../errors';
import type { HostTensor, ParameterEntry } from '../store/parameter-store';

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

/**
 * Checks a pushed gradient against its parameter (float dtype, shape, row ids in range) and
 * brings it to the parameter's first context in its dtype: the tensor it was received into
 * when that already fits (`staged`), else uploaded and cast. `who` names the trainer.
 */
export async function uploadGrad(
  who: string,
  entry: ParameterEntry,
  value: HostTensor,
  rowIds: BigInt64Array | null,
  staged: DeviceTensor | null,
): Promise<PendingGrad> {
  const name = entry.spec.name;
  if (entry.isConstant)
    throw precondition(`${who}: constant '${name}' takes no gradient: trainers never change constants`);
  if (entry.spec.gradReq === 'null')
    throw precondition(`${who}: parameter '${name}' takes no gradient because grad_req='null'`);
  if (entry.data === null) throw precondition(`${who}: parameter '${name}' has not been initialized`);
  const shape = entry.spec.shape as number[];
  if (!nk.isFloatDType(value.dtype))
    throw invalid(`${who}: gradient for '${name}' must be a float tensor, got ${value.dtype}`);
  if (rowIds === null) {
    if (value.shape.join(',') !== shape.join(','))
      throw invalid(
        `${who}: gradient for '${name}' has shape [${value.shape.join(',')}], expected [${shape.join(',')}]`,
      );
  } else {
    if (shape.length === 0)
      throw invalid(`${who}: a row_sparse gradient needs a parameter of rank >= 1; '${name}' is a scalar`);
    const want = [rowIds.length, ...shape.slice(1)];
    if (value.shape.join(',') !== want.join(','))
      throw invalid(
        `${who}: row_sparse gradient for '${name}' has shape [${value.shape.join(',')}], expected [${want.join(',')}] (one row per id)`,
      );
    for (let i = 0; i < rowIds.length; i++) {
      if (rowIds[i]! < 0n || rowIds[i]! >= BigInt(shape[0]!))
        throw invalid(
          `${who}: gradient for '${name}': row id ${rowIds[i]} at position ${i} is out of range [0, ${shape[0]})`,
        );
    }
  }
  const device = entry.ctx![0]!;
  if (
    staged !== null &&
    staged.dtype === entry.spec.dtype &&
    nk.sameDevice(staged.device, device) &&
    staged.shape.join(',') === value.shape.join(',')
  ) {
    return rowIds === null ? { kind: 'dense', values: staged } : { kind: 'rows', ids: rowIds, values: staged };
  }
  const raw = await nk.fromBytes(device, value.dtype, value.shape, value.bytes);
  let values = raw;
  if (value.dtype !== entry.spec.dtype) {
    values = nk.empty(device, entry.spec.dtype, value.shape);
    try {
      await nk.cast(values, raw);
    } finally {
      raw.dispose();
    }
  }
  return rowIds === null ? { kind: 'dense', values } : { kind: 'rows', ids: rowIds, values };
}
