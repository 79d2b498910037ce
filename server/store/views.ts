// views.ts: zero-copy reads. A read of a host tensor hands out a view of its memory instead of
// a copy; the view keeps the memory alive even after the tensor is disposed. Writers that
// replace a tensor wholesale (set_data, cast, reset_ctx) never disturb a view; the few that
// write in place (an optimizer step, zero_grad) first ask for an unviewed tensor, which is a
// fresh copy while any view is open (copy on write).
import * as nk from '../../native/index';
import type { DeviceTensor } from '../../native/index';

const openViews = new WeakMap<DeviceTensor, number>();

export interface TensorView {
  bytes: Uint8Array;
  /** Ends the read; call once the bytes were sent (idempotent). */
  release: () => void;
}

/** A view of a host tensor's bytes (counted until released), or a copy for a device tensor. */
export async function readView(t: DeviceTensor): Promise<TensorView> {
  if (t.device.type !== 'cpu') return { bytes: await nk.readBytes(t), release: () => undefined };
  return { bytes: nk.hostView(t), release: pin(t) };
}

/** Counts an outside reference to t's bytes (e.g. a log write in flight) until the returned call. */
export function pin(t: DeviceTensor): () => void {
  openViews.set(t, (openViews.get(t) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    openViews.set(t, (openViews.get(t) ?? 1) - 1);
  };
}

export function isViewed(t: DeviceTensor): boolean {
  return (openViews.get(t) ?? 0) > 0;
}

/**
 * The tensor at list[i], made safe to write in place: if a read still views it, list[i] is
 * replaced by a copy (the old memory lives on for the view). The caller holds the entry's lock.
 */
export async function writable(list: DeviceTensor[], i: number, copyValues = true): Promise<DeviceTensor> {
  const t = list[i]!;
  if (!isViewed(t)) return t;
  const fresh = copyValues ? nk.emptyUninitialized(t.device, t.dtype, t.shape) : nk.empty(t.device, t.dtype, t.shape);
  try {
    if (copyValues) await nk.copy(fresh, t);
  } catch (err) {
    fresh.dispose();
    throw err;
  }
  list[i] = fresh;
  t.dispose();
  return fresh;
}
