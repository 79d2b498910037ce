// update.ts: one optimizer step of one parameter on every context copy: the MXNet settings for
// this step (lr and wd multipliers, rescale, update count), a row-sparse gradient applied lazily
// (only its rows) or scattered into a dense one, each weight made safe to write in place (copy
// on write while a read still sends its bytes), and the fused native optimizer kernel.
import * as nk from '../../native/index';
import type { DeviceTensor, OptimizerKind, OptimizerSettings } from '../../native/index';
import type { ParameterEntry } from '../store/parameter-store';
import { writable } from '../store/views';
import type { CombinedGrad } from './gradients';
import type { OptimizerConfig } from '../../common/optimizer/optimizer-spec';
import type { ParamStates } from './trainer';

/**
 * Runs fn holding every entry's lock (in the given order; callers sort by name, so two trainers
 * never deadlock): a step's updates land together, with no other write between them.
 */
export async function withLocks<T>(entries: ParameterEntry[], fn: () => Promise<T>): Promise<T> {
  if (entries.length === 0) return fn();
  const [first, ...rest] = entries;
  return first!.lock.run(() => withLocks(rest, fn));
}

/**
 * One parameter's update with everything it allocates already allocated: the weights made safe
 * to write in place, the gradient on each weight's device (dense), the scratch to free after.
 */
export interface PreparedUpdate {
  entry: ParameterEntry;
  st: ParamStates;
  grad: CombinedGrad;
  /** Per context: the gradient the kernel reads there. */
  grads: DeviceTensor[];
  lazy: boolean;
  temps: DeviceTensor[];
}

/**
 * Allocates what `grad`'s update of every copy of `entry` needs (the caller holds entry.lock),
 * changing no value: a memory budget that runs out fails here, before a step is recorded or
 * any weight moves. Frees what it made if it fails; else runUpdate or discardUpdate frees it.
 */
export async function prepareUpdate(
  optimizer: OptimizerConfig,
  entry: ParameterEntry,
  st: ParamStates,
  grad: CombinedGrad,
): Promise<PreparedUpdate> {
  const { kind } = nativeUpdate(optimizer, { lr: 0, lrMult: 1, wdMult: 1, rescale: 1, t: 1 });
  const lazy = grad.kind === 'rows' && optimizer.params.lazyUpdate && kind !== 'lamb';
  const temps: DeviceTensor[] = [];
  try {
    let values = grad.values;
    if (grad.kind === 'rows' && !lazy) {
      values = nk.empty(grad.values.device, entry.spec.dtype, entry.spec.shape as number[]);
      temps.push(values);
      await nk.scatterAddRows(values, grad.values, grad.ids);
    }
    const grads: DeviceTensor[] = [];
    for (let i = 0; i < entry.data!.length; i++) {
      // Copy on write now if a read is still sending this weight's bytes (the copy is equal).
      const weight = await writable(entry.data!, i);
      let g = values;
      if (!nk.sameDevice(weight.device, values.device)) {
        g = nk.empty(weight.device, values.dtype, values.shape);
        temps.push(g);
        await nk.copy(g, values);
      }
      grads.push(g);
    }
    return { entry, st, grad, grads, lazy, temps };
  } catch (err) {
    for (const t of temps) t.dispose();
    throw err;
  }
}

/** Frees a prepared update that will not run. */
export function discardUpdate(p: PreparedUpdate): void {
  for (const t of p.temps) t.dispose();
}

/** Runs a prepared update: the fused kernel on every copy, then the count and the version. */
export async function runUpdate(
  optimizer: OptimizerConfig,
  p: PreparedUpdate,
  lr: number,
  rescale: number,
): Promise<void> {
  const { entry, st, grad } = p;
  const { kind, settings } = nativeUpdate(optimizer, {
    lr,
    lrMult: entry.spec.lrMult,
    wdMult: entry.spec.wdMult,
    rescale,
    t: st.count + 1,
  });
  try {
    for (let i = 0; i < entry.data!.length; i++) {
      // Still writable: the caller held entry.lock since prepareUpdate, so no read pinned it.
      const weight = await writable(entry.data!, i);
      await nk.optimizerUpdate(
        kind,
        settings,
        weight,
        p.grads[i]!,
        st.tensors[i]!,
        p.lazy && grad.kind === 'rows' ? grad.ids : undefined,
      );
    }
  } finally {
    discardUpdate(p);
  }
  st.count++;
  entry.version++;
}

/**
 * A step's updates of several parameters (the caller holds every entry's lock): everything they
 * allocate (optimizer states, copies on write, per-device gradients) first, so a memory budget
 * that runs out fails the step before `record` runs or any weight changes (`mapError` words
 * that failure); then `record` (it may throw to refuse the step, which frees it all); then
 * every parameter's kernels, concurrently.
 */
export async function updateAll(
  optimizer: OptimizerConfig,
  items: Array<{ entry: ParameterEntry; states: () => ParamStates; grad: CombinedGrad }>,
  record: () => void,
  how: { lr: number; rescale: number; mapError: (err: unknown) => unknown },
): Promise<void> {
  const prepared = await Promise.allSettled(
    items.map(async ({ entry, states, grad }) => prepareUpdate(optimizer, entry, states(), grad)),
  );
  const ready = prepared.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failedPrep = prepared.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  try {
    if (failedPrep) throw how.mapError(failedPrep.reason);
    record();
  } catch (err) {
    ready.forEach(discardUpdate);
    throw err;
  }
  const settled = await Promise.allSettled(ready.map((p) => runUpdate(optimizer, p, how.lr, how.rescale)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Applies `grad` to every copy of `entry` with states `st` (the caller holds entry.lock). */
export async function updateParameter(
  optimizer: OptimizerConfig,
  entry: ParameterEntry,
  st: ParamStates,
  grad: CombinedGrad,
  lr: number,
  rescale: number,
): Promise<void> {
  await runUpdate(optimizer, await prepareUpdate(optimizer, entry, st, grad), lr, rescale);
}

/** The native kernel and its settings for one parameter's update. */
export function nativeUpdate(
  cfg: OptimizerConfig,
  args: { lr: number; lrMult: number; wdMult: number; rescale: number; t: number },
): { kind: OptimizerKind; settings: OptimizerSettings } {
  const p = cfg.params;
  const kind: OptimizerKind = cfg.name === 'nag' ? 'sgd' : cfg.name;
  const settings: OptimizerSettings = {
    lr: args.lr * args.lrMult,
    wd: p.wd * args.wdMult,
    rescaleGrad: args.rescale,
    // MXNet passes clip_gradient only when set; the kernels treat < 0 as "no clipping".
    clipGradient: p.clipGradient === undefined || p.clipGradient === null ? -1 : p.clipGradient,
    t: args.t,
  };
  const copy = <K extends keyof OptimizerSettings>(key: K, value: OptimizerSettings[K] | undefined): void => {
    if (value !== undefined) settings[key] = value;
  };
  copy('momentum', p.momentum);
  if (cfg.name === 'nag') settings.nesterov = true;
  copy('beta1', p.beta1);
  copy('beta2', p.beta2);
  copy('epsilon', p.epsilon);
  copy('gamma1', p.gamma1);
  copy('gamma2', p.gamma2);
  copy('centered', p.centered);
  copy('clipWeights', p.clipWeights === null ? -1 : p.clipWeights);
  copy('lamda1', p.lamda1);
  copy('beta', p.beta);
  copy('lowerBound', p.lowerBound === null ? -1 : p.lowerBound);
  copy('upperBound', p.upperBound === null ? -1 : p.upperBound);
  copy('biasCorrection', p.biasCorrection);
  return { kind, settings };
}
