// trainer-snapshot.ts: a trainer's whole state as plain data plus tensor bytes (checkpoints),
// and the reverse: spec, step, learning rate, workers, optimizer states, the results of keyed
// calls (so retries after a restart are still answered once), the open sync step and the
// gradients pushed for it. The caller holds the state gate exclusively. As in store/snapshot.ts,
// the host copies are counted against the memory budget but never refused.
import type { Logger } from 'pino';
import * as nk from '../../native/index';
import type { DType } from '../../native/index';
import type { ParameterStore } from '../store/parameter-store';
import { readIntoTensor } from '../store/snapshot';
import type { SnapshotTensor, TensorReader } from '../store/snapshot';
import type { PendingGrad } from './gradients';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import type { OptimizerParams } from '../../common/optimizer/optimizer-spec';
import { Trainer } from './trainer';
import type { CallKey, OpenStep, StepResult, TrainerSpec, Waiter } from './trainer';

export interface TrainerSnapshot {
  spec: Omit<TrainerSpec, 'optimizer'> & { optimizer: { name: string; params: OptimizerParams } };
  step: number;
  learningRate: number;
  seen: number[];
  left: number[];
  /** tensors: `count` per context, in context order (their bytes follow in the tensor list). */
  states: Array<{ param: string; layout: string; count: number; contexts: number; perContext: number }>;
  settled: Array<[string, number, unknown]>;
  open: null | { index: number; stepped: Array<[number, number]>; keys: Array<[number, CallKey]> };
  pending: Array<{ worker: number; param: string; ids: string[] | null; dtype: DType; shape: number[] }>;
}

/** bigint-free JSON: StepResult versions become strings. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
}
function revive(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v) =>
    typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}

export async function snapshotTrainer(t: Trainer): Promise<{ meta: TrainerSnapshot; tensors: SnapshotTensor[] }> {
  const tensors: SnapshotTensor[] = [];
  const states: TrainerSnapshot['states'] = [];
  const base = `trainer/${t.spec.name}`;
  for (const [param, st] of t.states) {
    for (const [c, list] of st.tensors.entries()) {
      for (const [k, x] of list.entries())
        tensors.push({
          name: `${base}/state/${param}/${c}/${k}`,
          dtype: x.dtype,
          shape: [...x.shape],
          bytes: await nk.readBytes(x, { budgeted: false }),
        });
    }
    states.push({
      param,
      layout: st.layout,
      count: st.count,
      contexts: st.tensors.length,
      perContext: st.tensors[0]?.length ?? 0,
    });
  }
  const pending: TrainerSnapshot['pending'] = [];
  for (const [worker, grads] of t.pending) {
    for (const [param, g] of grads) {
      tensors.push({
        name: `${base}/grad/${worker}/${param}`,
        dtype: g.values.dtype,
        shape: [...g.values.shape],
        bytes: await nk.readBytes(g.values, { budgeted: false }),
      });
      pending.push({
        worker,
        param,
        ids: g.kind === 'rows' ? Array.from(g.ids, String) : null,
        dtype: g.values.dtype,
        shape: [...g.values.shape],
      });
    }
  }
  const settled: TrainerSnapshot['settled'] = [];
  for (const [slot, table] of t.keyed.settled)
    for (const [seq, value] of table) settled.push([slot, seq, plain(value)]);
  // An open step marked `applying` has not been applied yet: the apply runs under the shared
  // gate, which the caller holds exclusively. It stays open in the snapshot; its 'trainer.apply'
  // record (after this checkpoint's lsn) or resume() applies it after a restart.
  const open = t.open ? { index: t.open.index, stepped: [...t.open.stepped], keys: [...t.open.keys] } : null;
  const { optimizer, ...spec } = t.spec;
  // A copy (see store/snapshot.ts): the manifest is written after the state gate is released.
  return {
    meta: structuredClone({
      spec: { ...spec, optimizer: { name: optimizer.name, params: optimizer.params } },
      step: t.stepCount,
      learningRate: t.learningRate,
      seen: [...t.seen],
      left: [...t.left],
      states,
      settled,
      open,
      pending,
    }),
    tensors,
  };
}

/** Rebuilds a trainer; open steps resume (with their deadline) once `resume()` is called. */
export async function restoreTrainer(
  meta: TrainerSnapshot,
  names: readonly string[],
  read: TensorReader,
  store: ParameterStore,
  log: Logger,
): Promise<Trainer> {
  const who = `trainer '${meta.spec.name}'`;
  const spec: TrainerSpec = {
    ...meta.spec,
    optimizer: buildOptimizer(who, meta.spec.optimizer.name, meta.spec.optimizer.params as Record<string, unknown>),
  };
  const t = new Trainer(spec, store, log);
  t.replaying = true; // no deadline until resume()
  t.stepCount = meta.step;
  t.learningRate = meta.learningRate;
  for (const w of meta.seen) t.seen.add(w);
  for (const w of meta.left) t.left.add(w);
  let next = 0;
  for (const s of meta.states) {
    const entry = store.entry(s.param);
    const list = [];
    for (let c = 0; c < s.contexts; c++) {
      const weight = entry.data![c]!;
      const perCtx = [];
      for (let k = 0; k < s.perContext; k++) {
        const x = nk.emptyUninitialized(weight.device, weight.dtype, weight.shape); // read in full next
        await readIntoTensor(x, names[next++]!, read);
        perCtx.push(x);
      }
      list.push(perCtx);
    }
    t.states.set(s.param, { layout: s.layout, tensors: list, count: s.count });
  }
  for (const p of meta.pending) {
    const entry = store.entry(p.param);
    const values = nk.emptyUninitialized(entry.ctx![0]!, p.dtype, p.shape);
    await readIntoTensor(values, names[next++]!, read);
    const g: PendingGrad =
      p.ids === null
        ? { kind: 'dense', values }
        : { kind: 'rows', ids: BigInt64Array.from(p.ids, (v) => BigInt(v)), values };
    const mine = t.pending.get(p.worker) ?? new Map<string, PendingGrad>();
    mine.set(p.param, g);
    t.pending.set(p.worker, mine);
  }
  for (const [slot, seq, value] of meta.settled) {
    const [workerId, incarnation] = slot.split(':').map(Number) as [number, number];
    t.keyed.restore({ workerId, incarnation, sequence: seq }, revive(value));
  }
  if (meta.open) {
    const open: OpenStep = {
      index: meta.open.index,
      stepped: new Map(meta.open.stepped),
      keys: new Map(meta.open.keys),
      waiters: [],
      timer: null,
      applying: false,
      openedAt: Date.now(),
      decided: null, // dropped after recovery anyway (Trainer.restartOpenStep)
      decidedBatch: 0,
    };
    // A worker that was waiting at the barrier retries its step with the same key: it finds
    // this promise, which settles when the step is applied or fails.
    for (const [, key] of open.keys) {
      const table = t.keyed.table(key);
      const waiting = new Promise<StepResult>((resolve, reject) => open.waiters.push({ resolve, reject } as Waiter));
      waiting.catch(() => table.delete(key.sequence));
      table.set(key.sequence, waiting);
    }
    t.open = open;
  }
  return t;
}
