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

/** Applies `grad` to every copy of `entry` with states `st` (the caller holds entry.lock). */
export async function updateParameter(
  optimizer: OptimizerConfig,
  entry: ParameterEntry,
  st: ParamStates,
  grad: CombinedGrad,
  lr: number,
  rescale: number,
): Promise<void> {
  const { kind, settings } = nativeUpdate(optimizer, {
    lr,
    lrMult: entry.spec.lrMult,
    wdMult: entry.spec.wdMult,
    rescale,
    t: st.count + 1,
  });
  const lazy = grad.kind === 'rows' && optimizer.params.lazyUpdate && kind !== 'lamb';
  const temps: DeviceTensor[] = [];
  try {
    let values = grad.values;
    if (grad.kind === 'rows' && !lazy) {
      values = nk.empty(grad.values.device, entry.spec.dtype, entry.spec.shape as number[]);
      temps.push(values);
      await nk.scatterAddRows(values, grad.values, grad.ids);
    }
    for (let i = 0; i < entry.data!.length; i++) {
      // Copy on write if a read is still sending this weight's bytes.
      const weight = await writable(entry.data!, i);
      let g = values;
      if (!nk.sameDevice(weight.device, values.device)) {
        g = nk.empty(weight.device, values.dtype, values.shape);
        temps.push(g);
        await nk.copy(g, values);
      }
      await nk.optimizerUpdate(kind, settings, weight, g, st.tensors[i]!, lazy ? grad.ids : undefined);
    }
  } finally {
    for (const t of temps) t.dispose();
  }
  st.count++;
  entry.version++;
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
