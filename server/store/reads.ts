// reads.ts: the read side of the store: which copy a read names, the checks a read makes
// (initialized, storage type, gradient present), row-id validation, descriptors, and the
// snapshots handed to the rpc layer (zero-copy views of host tensors; see views.ts). Callers hold the entry's lock.
import * as nk from '../../native/index';
import type { Device, DeviceTensor } from '../../native/index';
import { fmtShape, invalid, precondition, subject } from '../errors';
import { fromKernel } from './checks';
import type { Descriptor, ParameterEntry, RowSparseSnapshot, TensorSnapshot } from './types';
import { deviceKey } from './spec';
import { readView } from './views';

export async function gather(e: ParameterEntry, i: number, ids: BigInt64Array): Promise<RowSparseSnapshot> {
  const shape = [ids.length, ...(e.spec.shape as number[]).slice(1)];
  const rows = nk.empty(e.ctx![i]!, e.spec.dtype, shape);
  try {
    await nk.gatherRows(rows, e.data![i]!, ids);
    // The rows tensor is private to this read: its view needs no copy and no counting.
    const bytes = rows.device.type === 'cpu' ? nk.hostView(rows) : await nk.readBytes(rows);
    return {
      dtype: e.spec.dtype,
      shape,
      bytes,
      ctx: e.ctx![i]!,
      version: e.version,
      indices: ids,
      release: () => undefined,
    };
  } catch (err) {
    fromKernel(subject(e.spec.name), err);
  } finally {
    rows.dispose();
  }
}

export function checkRowIds(e: ParameterEntry, rowIds: ArrayLike<number | bigint>): BigInt64Array {
  const who = subject(e.spec.name);
  // Only a data dir from before row_sparse scalars were refused can hold one.
  if ((e.spec.shape as number[]).length === 0)
    throw precondition(`${who}: a scalar has no rows; row_sparse reads need a parameter of rank >= 1`);
  const numRows = (e.spec.shape as number[])[0]!;
  // Row counts are far below 2^53, so ids are checked and sorted as doubles (a typed-array
  // sort), then deduplicated in one pass.
  const ids = new Float64Array(rowIds.length);
  for (let k = 0; k < rowIds.length; k++) {
    const raw = rowIds[k]!;
    const id = typeof raw === 'bigint' ? (raw < 0n || raw >= BigInt(numRows) ? -1 : Number(raw)) : raw;
    if (typeof raw === 'number' && !Number.isSafeInteger(raw))
      throw invalid(`${who}: row id ${raw} at position ${k} is not an integer`);
    if (id < 0 || id >= numRows)
      throw invalid(`${who}: row id ${String(raw)} at position ${k} is out of range [0, ${numRows})`);
    ids[k] = id;
  }
  ids.sort();
  let unique = 0;
  for (let k = 0; k < ids.length; k++) if (k === 0 || ids[k] !== ids[k - 1]) ids[unique++] = ids[k]!;
  const out = new BigInt64Array(unique);
  for (let k = 0; k < unique; k++) out[k] = BigInt(ids[k]!);
  return out;
}

export async function snapshot(e: ParameterEntry, t: DeviceTensor, ctx: Device): Promise<TensorSnapshot> {
  try {
    // Under the lock, a zero-copy view of a host tensor: writers replace tensors or copy on
    // write (views.ts), so the view keeps exactly this value.
    const view = await readView(t);
    return { dtype: t.dtype, shape: [...t.shape], bytes: view.bytes, ctx, version: e.version, release: view.release };
  } catch (err) {
    fromKernel(subject(e.spec.name, e.isConstant), err);
  }
}

export function requireInitialized(e: ParameterEntry): void {
  if (e.data !== null) return;
  const who = subject(e.spec.name, e.isConstant);
  if (e.deferred !== null) {
    throw precondition(
      `${who}: initialization was deferred until its shape ${fmtShape(e.spec.shape)} is known; set the shape or call set_data first`,
    );
  }
  throw precondition(`${who} has not been initialized`);
}

export function requireStype(e: ParameterEntry, want: 'default' | 'row_sparse'): void {
  if (e.spec.stype !== want) {
    const hint = want === 'default' ? 'use row_sparse_data() instead' : 'use data() instead';
    throw precondition(
      `${subject(e.spec.name, e.isConstant)}: storage type is ${e.spec.stype}, expected ${want}; ${hint}`,
    );
  }
}

export function requireGrad(e: ParameterEntry): void {
  requireInitialized(e);
  if (e.grad === null)
    throw precondition(`${subject(e.spec.name, e.isConstant)} has no gradient because grad_req='null'`);
}

/** Index of the context to read: the given one, the only one, or cpu(0) (MXNet's current context). */
export function pick(e: ParameterEntry, ctx: Device | null): number {
  requireInitialized(e);
  const list = e.ctx!;
  if (ctx === null && list.length === 1) return 0;
  const want = ctx ?? nk.cpu(0);
  const i = list.findIndex((c) => nk.sameDevice(c, want));
  if (i < 0) {
    throw precondition(
      `${subject(e.spec.name, e.isConstant)} was not initialized on ${deviceKey(want)}; it was only initialized on [${list.map(deviceKey).join(', ')}]`,
    );
  }
  return i;
}

/** What describe() answers: the spec as it is now, whether and where it is initialized, its version. */
export function describeEntry(e: ParameterEntry): Descriptor {
  const s = e.spec;
  return {
    name: s.name,
    shape: s.shape === null ? null : [...s.shape],
    dtype: s.dtype,
    gradReq: s.gradReq,
    stype: s.stype,
    gradStype: s.gradStype,
    lrMult: s.lrMult,
    wdMult: s.wdMult,
    differentiable: s.differentiable,
    allowDeferredInit: s.allowDeferredInit,
    init: s.init,
    initialized: e.data !== null,
    deferred: e.deferred !== null,
    ctx: [...(e.ctx ?? e.deferred?.ctx ?? [])],
    version: e.version,
    isConstant: e.isConstant,
    order: e.order,
    ...(s.part ? { part: s.part } : {}),
  };
}
