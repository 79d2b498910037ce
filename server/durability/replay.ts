// replay.ts: applies one write-ahead-log record to the store or a trainer, through the same
// methods that produced it (the journal is muted meanwhile). Records are only written for
// operations that succeeded, and every operation is deterministic (initializers draw from the
// recorded seed), so replay rebuilds the same values and versions.
import type { DType, Device } from '../../native/index';
import type { ParameterStore } from '../store/parameter-store';
import type { InitSpec, ParameterSpecInput, PartSpec } from '../store/spec';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import type { OptimizerParams } from '../../common/optimizer/optimizer-spec';
import type { TrainerRegistry } from '../trainer/registry';
import type { CallKey, TrainerSpec } from '../trainer/trainer';
import type { JournalMeta } from './journal';

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** A declaration's recorded order; undefined in logs written before it was recorded (a new one then). */
function recordedOrder(m: JournalMeta): number | undefined {
  return typeof m.order === 'number' && m.order > 0 ? m.order : undefined;
}

export async function applyRecord(
  m: JournalMeta,
  payload: Uint8Array,
  store: ParameterStore,
  trainers: TrainerRegistry,
): Promise<void> {
  const str = (k: string): string => String(m[k]);
  const tensor = (): { dtype: DType; shape: number[]; bytes: Uint8Array } => ({
    dtype: m.dtype as DType,
    shape: m.shape as number[],
    bytes: payload,
  });
  switch (m.op) {
    case 'declare':
      await store.declare(m.spec as ParameterSpecInput, { exact: recordedOrder(m) });
      return;
    case 'declareConstant':
      await store.declareConstant(str('name'), tensor(), (m.part as PartSpec | undefined) ?? null, {
        exact: recordedOrder(m),
      });
      return;
    case 'initialize':
      await store.initialize(str('name'), {
        init: m.init as InitSpec,
        ctx: m.ctx as Device[],
        forceReinit: m.forceReinit === true,
        seed: BigInt(str('seed')),
      });
      return;
    case 'setData':
      await store.setData(str('name'), tensor());
      return;
    case 'setShape':
      await store.setShape(str('name'), m.shape as number[]);
      return;
    case 'cast':
      await store.cast(str('name'), m.dtype as DType);
      return;
    case 'resetCtx':
      await store.resetCtx(str('name'), m.ctx as Device[]);
      return;
    case 'trainer.create': {
      const raw = m.spec as Omit<TrainerSpec, 'optimizer'> & { optimizer: { name: string; params: OptimizerParams } };
      const spec: TrainerSpec = {
        ...raw,
        optimizer: buildOptimizer(
          `trainer '${raw.name}'`,
          raw.optimizer.name,
          raw.optimizer.params as Record<string, unknown>,
        ),
      };
      const t = await trainers.create(spec, Number(m.workerId), true);
      t.replaying = true;
      return;
    }
    case 'trainer.push': {
      const t = trainers.get(str('trainer'));
      const ids = m.rowIds === null ? null : BigInt64Array.from(m.rowIds as string[], (v) => BigInt(v));
      await t.pushGrad(m.key as CallKey, Number(m.step), str('param'), tensor(), ids);
      return;
    }
    case 'trainer.step': {
      const t = trainers.get(str('trainer'));
      if (t.spec.mode === 'async') {
        await t.step(m.key as CallKey, Number(m.step), Number(m.batchSize));
        return;
      }
      // Registers the worker at the barrier (synchronously: nothing holds the gate during
      // replay); the promise settles when a later 'trainer.apply' or 'trainer.abort' record runs.
      void t.step(m.key as CallKey, Number(m.step), Number(m.batchSize)).catch(() => undefined);
      const key = m.key as CallKey;
      if (t.open?.keys.get(key.workerId)?.sequence !== key.sequence)
        throw new ReplayError(`trainer '${t.spec.name}': replayed step of worker ${key.workerId} did not register`);
      return;
    }
    case 'trainer.commit':
      // One applied step (sync or async): its sums, lr and rescale, and the keys it answered.
      await trainers.get(str('trainer')).replayCommit(m, payload);
      return;
    // 'trainer.push', 'trainer.step' (sync) and 'trainer.apply' are the records of logs written
    // before the step record existed: still replayed, so their data dirs recover.
    case 'trainer.apply':
      await trainers.get(str('trainer')).replayApply(Number(m.step), m.workers as number[]);
      return;
    case 'trainer.abort':
      await trainers.get(str('trainer')).replayAbort(Number(m.step));
      return;
    case 'trainer.leave':
      await trainers.get(str('trainer')).leave(Number(m.worker));
      return;
    case 'trainer.lr':
      await trainers.get(str('trainer')).setLearningRate(Number(m.lr));
      return;
    case 'trainer.loadStates':
      await trainers.get(str('trainer')).loadStates(payload);
      return;
    default:
      throw new ReplayError(`unknown write-ahead log record '${m.op}'`);
  }
}
