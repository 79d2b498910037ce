// set-data.ts: set_data under the parameter's lock: the value on every context (new tensors
// built first, then swapped in, so a failure changes nothing), or the completion of a pending
// deferred initialization with the value in place of the initializer. A staged upload (the
// bytes already in a tensor on the first context) is adopted when it still fits.
import * as nk from '../../native/index';
import type { DType, DeviceTensor } from '../../native/index';
import type { JournalMeta, JournalPayload } from '../durability/journal';
import { fmtShape, invalid, precondition, subject } from '../errors';
import { checkTensorHeader, fromKernel } from './checks';
import { disposeAll, materialize, uploadInto } from './materialize';
import { describeEntry } from './reads';
import { mergeShape, shapeIsKnown } from './spec';
import type { Descriptor, HostTensor, ParameterEntry } from './types';

export interface SetDataContext {
  maxTensorBytes: number;
  /** Replaying the data dir: what it holds was accepted once, under the rules of its time. */
  recovering: boolean;
  /** Counts the entry's declared bytes at a new dtype and shape (refused over the limit); returns the undo. */
  recount: (dtype: DType, shape: readonly number[]) => () => void;
  /** Appends the journal record. */
  log: (meta: JournalMeta, payload?: JournalPayload) => void;
  /** Called when `staged` becomes the first context's tensor. */
  adopt: (t: DeviceTensor) => void;
}

export async function setDataLocked(
  e: ParameterEntry,
  value: HostTensor,
  staged: DeviceTensor | null,
  how: SetDataContext,
): Promise<Descriptor> {
  const { maxTensorBytes, log } = how;
  const name = e.spec.name;
  const who = subject(name, e.isConstant);
  // A staged upload's bytes are its tensor's (read them only when needed: see rpc/uploads.ts).
  checkTensorHeader(
    who,
    value.dtype,
    value.shape,
    staged === null ? value.bytes.byteLength : staged.byteLength,
    maxTensorBytes,
  );
  const shape = mergeShape(who, e.spec.shape, value.shape, how.recovering ? 'default' : e.spec.stype);
  if (e.data === null) {
    if (e.deferred === null) throw precondition(`${who} has not been initialized: call initialize() before set_data()`);
    // The value completes the deferred init now (its shape is fully known), in place of the
    // initializer, as MXNet's _finish_deferred_init does with a staged value.
    if (!shapeIsKnown(shape))
      throw invalid(
        `${who}: value shape ${fmtShape(value.shape)} has a zero-size dim, which parameters treat as unknown`,
      );
    const d = e.deferred;
    const previous = e.spec.shape;
    const undo = how.recount(e.spec.dtype, shape);
    e.spec.shape = shape;
    try {
      await materialize(e, maxTensorBytes, d.init, d.ctx, d.seed, {
        dtype: value.dtype,
        shape: [...value.shape],
        bytes: value.bytes,
      });
    } catch (err) {
      e.spec.shape = previous;
      undo();
      throw err;
    }
    log({ op: 'setData', name, dtype: value.dtype, shape: value.shape }, () => value.bytes);
    return describeEntry(e);
  }
  // New tensors on every context first; swap only when all are written.
  const fresh: DeviceTensor[] = [];
  const stagedFits =
    staged !== null &&
    staged.dtype === e.spec.dtype &&
    nk.sameDevice(staged.device, e.ctx![0]!) &&
    staged.shape.join(',') === shape.join(',');
  const useStaged = stagedFits ? staged : null;
  try {
    if (useStaged) fresh.push(useStaged);
    for (const c of e.ctx!.slice(fresh.length)) fresh.push(nk.empty(c, e.spec.dtype, shape));
    if (!useStaged) await uploadInto(fresh[0]!, value);
    for (const t of fresh.slice(1)) await nk.copy(t, fresh[0]!);
  } catch (err) {
    disposeAll(useStaged ? fresh.slice(1) : fresh);
    fromKernel(who, err);
  }
  if (useStaged) how.adopt(useStaged);
  disposeAll(e.data);
  e.data = fresh;
  e.spec.shape = shape;
  e.version++;
  log({ op: 'setData', name, dtype: value.dtype, shape: value.shape }, () => value.bytes);
  return describeEntry(e);
}
