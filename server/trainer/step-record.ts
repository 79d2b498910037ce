// step-record.ts: the one write-ahead log record of an applied step, 'trainer.commit'
// (docs/durability.md): the summed gradients the optimizer applies (dense, or unique rows and
// their ids), the learning rate and rescale used, the step number, the workers and the keys it
// answers. It is written from the tensors' memory off the main thread (Journal.appendParts)
// while the update kernels run; replay re-runs the same update, so parameters and optimizer
// states come back bit-identical. A step whose record one log record cannot hold is refused
// before anything changes: an append that fails for size would fail the whole log.
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';
import { NO_JOURNAL } from '../durability/journal';
import { exhausted } from '../errors';
import type { HostTensor, ParameterEntry } from '../store/parameter-store';
import type { CombinedGrad } from './gradients';
import { slotOf } from './keyed-results';
import type { Trainer } from './trainer';
import type { CallKey, StepResult } from './types';
import { updateParameter, withLocks } from './update';

/** One parameter's part of the record's meta; its gradient's bytes follow in the payload, in order. */
interface RecordedParam {
  name: string;
  dtype: HostTensor['dtype'];
  shape: number[];
  /** Row ids (decimal strings: JSON has no int64) of a row_sparse sum; null for a dense one. */
  ids: string[] | null;
}

/**
 * Appends step `trainer.stepCount`'s record: `sums[i]` is the gradient applied to `work[i]`.
 * Throws RESOURCE_EXHAUSTED, synchronously and before anything is appended, when the record is
 * over what one log record holds; the caller has changed nothing yet, so the step fails cleanly.
 * The promise settles when the record is as durable as the mode promises; until then the sums
 * must stay alive and unchanged (the writer reads them in place).
 */
export function recordStep(
  trainer: Trainer,
  work: Array<{ entry: ParameterEntry }>,
  sums: CombinedGrad[],
  keys: CallKey[],
  workers: number[],
  lr: number,
  rescale: number,
  batch: number,
): Promise<void> {
  const journal = trainer.journal;
  if (journal === NO_JOURNAL) return Promise.resolve();
  const parts: DeviceTensor[] = [];
  let payloadBytes = 0;
  const params: RecordedParam[] = work.map(({ entry }, i) => {
    const g = sums[i]!;
    parts.push(g.values);
    payloadBytes += g.values.byteLength;
    return {
      name: entry.spec.name,
      dtype: g.values.dtype,
      shape: [...g.values.shape],
      ids: g.kind === 'rows' ? Array.from(g.ids, String) : null,
    };
  });
  const step = trainer.stepCount;
  const meta = { op: 'trainer.commit', trainer: trainer.spec.name, step, keys, workers, lr, rescale, batch, params };
  // The meta is counted with the payload (row ids can make it large), so the log's room for
  // metas is never what refuses the record.
  const bytes = payloadBytes + Buffer.byteLength(JSON.stringify(meta), 'utf8');
  if (bytes > journal.maxPayloadBytes)
    throw exhausted(
      `${trainer.who}: step ${step} was not applied: its log record (the summed gradients of ${params.length} parameter${params.length === 1 ? '' : 's'} and their row ids) is ${bytes} bytes, over the limit of ${journal.maxPayloadBytes} bytes that one write-ahead log record holds; train fewer or smaller parameters per trainer, or use --durability checkpoint (no log)`,
    );
  if (parts.some((p) => p.device.type !== 'cpu')) {
    // Device memory is read back to the host first (the writer reads host memory in place).
    return Promise.all(parts.map((p) => nk.readBytes(p, { budgeted: false }))).then((b) =>
      journal.appendParts(meta, b),
    );
  }
  return journal.appendParts(meta, parts);
}

/**
 * Replay of a 'trainer.commit' record: the same update with the recorded sums, learning rate
 * and rescale (bit-identical parameters and states), and the keys' results for retries.
 */
export async function replayCommit(trainer: Trainer, m: Record<string, unknown>, payload: Uint8Array): Promise<void> {
  const params = m.params as RecordedParam[];
  const lr = Number(m.lr);
  const rescale = Number(m.rescale);
  trainer.open = null;
  trainer.discardPending();
  let offset = 0;
  await withLocks(
    [...params.map((p) => p.name)].sort().map((p) => trainer.store.entry(p)),
    async () => {
      for (const p of params) {
        const entry = trainer.store.entry(p.name);
        const n = p.shape.reduce((a, b) => a * b, 1) * nk.dtypeSize(p.dtype);
        const values = await nk.fromBytes(entry.ctx![0]!, p.dtype, p.shape, payload.subarray(offset, offset + n));
        offset += n;
        const grad: CombinedGrad =
          p.ids === null
            ? { kind: 'dense', values }
            : { kind: 'rows', ids: BigInt64Array.from(p.ids, (v) => BigInt(v)), values };
        try {
          await updateParameter(trainer.spec.optimizer, entry, trainer.statesFor(entry), grad, lr, rescale);
        } finally {
          values.dispose();
        }
      }
    },
  );
  trainer.stepCount = Number(m.step) + 1;
  const result: StepResult = {
    step: trainer.stepCount,
    versions: trainer.spec.params.map((p) => trainer.store.entry(p).version),
    workers: m.workers as number[],
    // Records written before the batch was logged: unknown.
    ...(typeof m.batch === 'number' ? { batch: m.batch } : {}),
  };
  for (const key of m.keys as CallKey[]) {
    const seen = trainer.keyed.results.get(slotOf(key))?.has(key.sequence) ?? false;
    if (!seen) trainer.keyed.restore(key, result);
  }
}
