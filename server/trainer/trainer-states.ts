// trainer-states.ts: a trainer's optimizer states as one snapshot (saveStates / loadStates,
// the bytes of common/formats/states.ts): saving reads every state tensor; loading checks the whole
// snapshot against the trainer (size bounds before a byte is buffered, optimizer, parameters,
// layouts, tensor sizes) before it writes anything, then journals it. The Trainer calls these
// under its apply lock.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { exhausted, invalid, precondition } from '../errors';
import type { ParameterEntry } from '../store/parameter-store';
import { deviceKey } from '../store/spec';
import { maxStatesBytes, readStates, writeStates } from '../../common/formats/states';
import type { SavedParamStates } from '../../common/formats/states';
import type { Trainer } from './trainer';
import type { ParamStates } from './types';
import { nativeUpdate } from './update';
import { holdBytes } from '../memory';

/** The contexts, dtype and shape a parameter's optimizer states are made for. */
export function statesLayout(entry: ParameterEntry): string {
  return `${entry.ctx!.map(deviceKey).join(',')}|${entry.spec.dtype}|${(entry.spec.shape as number[]).join(',')}`;
}

/**
 * The trainer's optimizer states for entry's current contexts, dtype and shape: the ones it has,
 * or fresh zeros if the layout changed (the old ones are freed only once the new ones exist, so
 * running out of memory leaves them as they were).
 */
export function statesFor(trainer: Trainer, entry: ParameterEntry): ParamStates {
  const layout = statesLayout(entry);
  const existing = trainer.states.get(entry.spec.name);
  if (existing && existing.layout === layout) return existing;
  const { kind, settings } = nativeUpdate(trainer.spec.optimizer, { lr: 0, lrMult: 1, wdMult: 1, rescale: 1, t: 1 });
  const n = nk.optimizerStateCount(kind, settings);
  const made: DeviceTensor[] = [];
  let tensors: DeviceTensor[][];
  try {
    tensors = entry.data!.map((w) =>
      Array.from({ length: n }, () => {
        const t = nk.empty(w.device, w.dtype, w.shape);
        made.push(t);
        return t;
      }),
    );
  } catch (err) {
    for (const t of made) t.dispose();
    throw trainer.kernelError(err);
  }
  for (const list of existing?.tensors ?? []) for (const t of list) t.dispose();
  const fresh = { layout, tensors, count: existing?.count ?? 0 };
  trainer.states.set(entry.spec.name, fresh);
  return fresh;
}

/**
 * Every optimizer state tensor (per parameter and context), counts, step and learning rate, in
 * one buffer counted against the memory budget until `release` is called (after sending it).
 * The caller holds the apply lock, so no step changes a state meanwhile: host states are read
 * in place (no copy besides the snapshot itself), device states through a host copy.
 */
export async function saveStates(trainer: Trainer): Promise<{ bytes: Buffer; release: () => void }> {
  {
    const params: SavedParamStates[] = [];
    // In the trainer's parameter order (not the order states were first made in), so a cluster
    // writes the same bytes from its shards' snapshots whatever order they were trained in.
    for (const name of trainer.spec.params) {
      const st = trainer.states.get(name);
      if (st === undefined) continue;
      const entry = trainer.store.entry(name);
      const tensors = await entry.lock.run(() =>
        Promise.all(
          st.tensors.map((list) =>
            Promise.all(list.map((t) => (t.device.type === 'cpu' ? nk.hostView(t) : nk.readBytes(t)))),
          ),
        ),
      );
      params.push({
        name,
        layout: st.layout,
        count: st.count,
        dtype: entry.spec.dtype,
        shape: entry.spec.shape as number[],
        tensors,
      });
    }
    let release = (): void => undefined;
    const bytes = writeStates(
      {
        trainer: trainer.spec.name,
        optimizer: trainer.spec.optimizer.name,
        step: trainer.stepCount,
        learningRate: trainer.learningRate,
        params,
      },
      (n) => {
        release = holdBytes(`${trainer.who}: saving the states`, n);
        return Buffer.allocUnsafeSlow(n);
      },
    );
    return { bytes, release };
  }
}

/**
 * Refuses a snapshot of `byteLength` bytes that this trainer's states could never fill (its
 * initialized parameters' states on their contexts: INVALID_ARGUMENT) or that the log cannot
 * record (RESOURCE_EXHAUSTED), so LoadStates checks it before buffering a byte.
 */
export function checkStatesSize(trainer: Trainer, byteLength: number): void {
  const { kind, settings } = nativeUpdate(trainer.spec.optimizer, { lr: 0, lrMult: 1, wdMult: 1, rescale: 1, t: 1 });
  const perContext = nk.optimizerStateCount(kind, settings);
  const shapes = trainer.spec.params
    .filter((p) => trainer.store.has(p) && trainer.store.entry(p).data !== null)
    .map((name) => {
      const e = trainer.store.entry(name);
      return {
        name,
        layout: statesLayout(e),
        contexts: e.data!.length,
        perContext,
        tensorBytes: e.data![0]!.byteLength,
      };
    });
  const most = maxStatesBytes(shapes);
  if (byteLength > most)
    throw invalid(
      `${trainer.who}: a states snapshot of ${byteLength} bytes is larger than its optimizer states can be (at most ${most} bytes for its initialized parameters)`,
    );
  const logMax = trainer.journal.maxPayloadBytes;
  if (byteLength > logMax) {
    throw exhausted(
      `${trainer.who}: a states snapshot of ${byteLength} bytes is over the limit of ${logMax} bytes that one write-ahead log record holds (--durability checkpoint has no such limit)`,
    );
  }
}

/** Restores a saveStates() snapshot: every state tensor, update counts, step and learning rate. */
export async function loadStates(trainer: Trainer, bytes: Uint8Array): Promise<void> {
  {
    checkStatesSize(trainer, bytes.byteLength);
    const saved = readStates(trainer.who, bytes, invalid);
    if (saved.optimizer !== trainer.spec.optimizer.name)
      throw invalid(
        `${trainer.who}: states were saved for optimizer ${saved.optimizer}, this trainer uses ${trainer.spec.optimizer.name}`,
      );
    // Validate everything before changing anything.
    for (const p of saved.params) {
      if (!trainer.spec.params.includes(p.name))
        throw invalid(`${trainer.who}: states name parameter '${p.name}', which is not one of its parameters`);
      const entry = trainer.store.entry(p.name);
      if (entry.data === null)
        throw precondition(
          `${trainer.who}: parameter '${p.name}' must be initialized before loading its optimizer states`,
        );
      const layout = statesLayout(entry);
      if (layout !== p.layout)
        throw invalid(
          `${trainer.who}: states of '${p.name}' were saved for ${p.layout}, the parameter is now ${layout}`,
        );
    }
    const targets: Array<{ st: ParamStates; saved: (typeof saved.params)[number] }> = [];
    for (const p of saved.params) {
      const entry = trainer.store.entry(p.name);
      const st = await entry.lock.run(() => trainer.statesFor(entry));
      const sizes = st.tensors.map((list) => list.map((t) => t.byteLength));
      const got = p.tensors.map((list) => list.map((t) => t.byteLength));
      if (JSON.stringify(sizes) !== JSON.stringify(got)) {
        throw invalid(
          `${trainer.who}: states of '${p.name}' hold tensors of ${JSON.stringify(got)} bytes, this optimizer keeps ${JSON.stringify(sizes)}`,
        );
      }
      targets.push({ st, saved: p });
    }
    for (const { st, saved: p } of targets) {
      await trainer.store.entry(p.name).lock.run(async () => {
        for (let i = 0; i < st.tensors.length; i++)
          for (let k = 0; k < st.tensors[i]!.length; k++) await nk.write(st.tensors[i]![k]!, p.tensors[i]![k]!);
        st.count = p.count;
      });
    }
    trainer.stepCount = saved.step;
    if (!trainer.spec.optimizer.scheduler) trainer.learningRate = saved.learningRate;
    await trainer.journal.append({ op: 'trainer.loadStates', trainer: trainer.spec.name }, bytes);
  }
}
