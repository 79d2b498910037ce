// materialize.ts: making a parameter's copies. Data on every context from one source (the
// initializer, a constant's value or a staged upload) computed on the first context and copied
// to the others, so every copy starts equal; gradients beside them; swapped in only when all
// of it succeeded, so a failed initialization changes nothing.
import * as nk from '../../native/index';
import type { Device, DeviceTensor } from '../../native/index';
import { StatusError, subject } from '../errors';
import { checkSize, fromKernel } from './checks';
import { checkInitFits, runInitializer } from './initializers';
import type { HostTensor, ParameterEntry } from './parameter-store';
import type { InitSpec } from './spec';

/** Frees every tensor of a list (null: none). */
export function disposeAll(tensors: readonly DeviceTensor[] | null): void {
  for (const t of tensors ?? []) t.dispose();
}

/** Builds data (from the initializer, the constant's value or a staged value) and grads on every
 *  context, then swaps them in. Nothing changes if any step fails. */
export async function materialize(
  e: ParameterEntry,
  maxTensorBytes: number,
  init: InitSpec,
  ctx: Device[],
  seed: bigint,
  staged: HostTensor | null,
): Promise<void> {
  const who = subject(e.spec.name, e.isConstant);
  const shape = e.spec.shape as number[];
  checkSize(who, e.spec.dtype, shape, maxTensorBytes);
  const source = staged ?? e.constantValue;
  if (source === null) checkInitFits(who, init, shape, e.spec.part);
  const created: DeviceTensor[] = [];
  try {
    const data: DeviceTensor[] = [];
    for (const c of ctx) {
      const t = nk.empty(c, e.spec.dtype, shape);
      created.push(t);
      data.push(t);
    }
    // One source value on the first context, copied to the others: every copy starts equal.
    if (source !== null) await uploadInto(data[0]!, source);
    else await runInitializer(who, e.spec.name, init, data[0]!, seed, e.spec.part);
    for (const t of data.slice(1)) await nk.copy(t, data[0]!);
    let grad: DeviceTensor[] | null = null;
    if (e.spec.gradReq !== 'null') {
      grad = ctx.map((c) => {
        const g = nk.empty(c, e.spec.dtype, shape);
        created.push(g);
        return g;
      });
    }
    disposeAll(e.data);
    disposeAll(e.grad);
    e.data = data;
    e.grad = grad;
    e.ctx = ctx;
    e.deferred = null;
    e.version++;
  } catch (err) {
    disposeAll(created);
    if (err instanceof StatusError) throw err;
    fromKernel(who, err);
  }
}

/** Writes host bytes of any dtype into `out` (same shape), converting to out's dtype. */
export async function uploadInto(out: DeviceTensor, value: HostTensor): Promise<void> {
  if (value.dtype === out.dtype) return nk.write(out, value.bytes);
  const staging = await nk.fromBytes(out.device, value.dtype, value.shape, value.bytes);
  try {
    await nk.cast(out, staging);
  } finally {
    staging.dispose();
  }
}
