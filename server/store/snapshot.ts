// snapshot.ts: a parameter's whole state as plain data plus tensor bytes (for checkpoints),
// and the reverse. The caller holds the state gate exclusively, so no mutation is halfway. The
// host copies are the server's own: counted in the memory total but never refused by the budget,
// so callers cannot make a checkpoint fail.
import * as nk from '../../native/index';
import type { Device, DeviceTensor } from '../../native/index';
import { Mutex } from './mutex';
import type { HostTensor, ParameterEntry } from './types';
import type { InitSpec, ParameterSpec } from './spec';

/** One tensor of a checkpoint: a unique name, its dtype and shape, its bytes. */
export interface SnapshotTensor {
  name: string;
  dtype: HostTensor['dtype'];
  shape: number[];
  bytes: Uint8Array;
}

export interface EntrySnapshot {
  declared: ParameterSpec;
  spec: ParameterSpec;
  isConstant: boolean;
  constant: { dtype: HostTensor['dtype']; shape: number[] } | null;
  ctx: Device[] | null;
  deferred: { init: InitSpec; ctx: Device[]; seed: string } | null;
  version: string;
  /** Absent in checkpoints written before the declaration order was recorded. */
  order?: number;
}

/** The entry's metadata, and its tensors' bytes: the constant value, then one per context. */
export async function snapshotEntry(e: ParameterEntry): Promise<{ meta: EntrySnapshot; tensors: SnapshotTensor[] }> {
  const name = e.declared.name;
  const tensors: SnapshotTensor[] = [];
  if (e.constantValue)
    tensors.push({
      name: `const/${name}`,
      dtype: e.constantValue.dtype,
      shape: e.constantValue.shape,
      bytes: e.constantValue.bytes,
    });
  for (const [i, t] of (e.data ?? []).entries())
    tensors.push({
      name: `param/${name}/${i}`,
      dtype: t.dtype,
      shape: [...t.shape],
      bytes: await nk.readBytes(t, { budgeted: false }),
    });
  // A copy, not the live objects: the checkpoint writes its manifest after the state gate is
  // released, and a cast or set_shape meanwhile changes e.spec in place (the manifest then
  // described a dtype or shape the tensors beside it do not have).
  const meta: EntrySnapshot = structuredClone({
    declared: e.declared,
    spec: e.spec,
    isConstant: e.isConstant,
    constant: e.constantValue ? { dtype: e.constantValue.dtype, shape: e.constantValue.shape } : null,
    ctx: e.ctx,
    deferred: e.deferred ? { init: e.deferred.init, ctx: e.deferred.ctx, seed: e.deferred.seed.toString() } : null,
    version: e.version.toString(),
    order: e.order,
  });
  return { meta, tensors };
}

/** Reads a saved tensor's bytes into `dest` (exactly its length). */
export type TensorReader = (name: string, dest: Uint8Array) => Promise<void>;

/** Fills `t` from the saved tensor `name`: straight into host memory, or through a buffer. */
export async function readIntoTensor(t: DeviceTensor, name: string, read: TensorReader): Promise<void> {
  if (t.device.type === 'cpu') return read(name, nk.hostView(t));
  const buf = Buffer.allocUnsafeSlow(t.byteLength);
  await read(name, buf);
  await nk.write(t, buf);
}

/** Rebuilds an entry (data on every context, zero gradients) from a snapshot; `names` are its
 *  tensors in snapshotEntry's order. */
export async function restoreEntry(
  meta: EntrySnapshot,
  names: readonly string[],
  read: TensorReader,
): Promise<ParameterEntry> {
  let next = 0;
  let constantValue: HostTensor | null = null;
  // Every read is started before any is awaited, so a reader that runs several at once can.
  const reads: Array<Promise<void>> = [];
  if (meta.constant) {
    const bytes = new Uint8Array(nk.shapeSize(meta.constant.shape) * nk.dtypeSize(meta.constant.dtype));
    reads.push(read(names[next++]!, bytes));
    constantValue = { ...meta.constant, bytes };
  }
  const created: DeviceTensor[] = [];
  try {
    let data: DeviceTensor[] | null = null;
    let grad: DeviceTensor[] | null = null;
    if (meta.ctx !== null) {
      data = [];
      for (const c of meta.ctx) {
        const t = nk.emptyUninitialized(c, meta.spec.dtype, meta.spec.shape as number[]); // read in full next
        created.push(t);
        reads.push(readIntoTensor(t, names[next++]!, read));
        data.push(t);
      }
      if (meta.spec.gradReq !== 'null') {
        grad = meta.ctx.map((c) => {
          const g = nk.empty(c, meta.spec.dtype, meta.spec.shape as number[]);
          created.push(g);
          return g;
        });
      }
    }
    await Promise.all(reads);
    return {
      declared: meta.declared,
      spec: meta.spec,
      isConstant: meta.isConstant,
      constantValue,
      ctx: meta.ctx,
      data,
      grad,
      deferred: meta.deferred
        ? { init: meta.deferred.init, ctx: meta.deferred.ctx, seed: BigInt(meta.deferred.seed) }
        : null,
      version: BigInt(meta.version),
      order: meta.order ?? 0,
      lock: new Mutex(),
    };
  } catch (err) {
    await Promise.allSettled(reads); // no read may still be writing into memory being freed
    for (const t of created) t.dispose();
    throw err;
  }
}
