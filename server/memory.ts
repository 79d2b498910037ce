// memory.ts: the one memory budget (--memory-budget) as the server applies it. The addon keeps
// the total (native/src/device.cc): every tensor on every device, host copies being sent, and
// the JS memory the server holds for callers, which is reported here (holdBytes). Going over
// it is RESOURCE_EXHAUSTED naming the budget, its value and the flag, and allocates nothing.
import * as nk from '../native/index';
import { exhausted, type ServerError } from './errors';

export const MEMORY_BUDGET_FLAG = '--memory-budget';

/** A kernel's EBUDGET (or EOOM) as RESOURCE_EXHAUSTED under `who`; null for any other error. */
export function memoryError(who: string, err: unknown): ServerError | null {
  if (!(err instanceof nk.KernelError)) return null;
  if (err.code === 'EBUDGET') return exhausted(`${who}: ${err.message} (${MEMORY_BUDGET_FLAG} raises it)`);
  if (err.code === 'EOOM') return exhausted(`${who}: ${err.message}`);
  return null;
}

/**
 * Counts `bytes` of JS memory held for a caller (an upload's buffer, a constant's value, a
 * states snapshot) against the budget until the returned function is called (idempotent).
 * Over the budget it throws RESOURCE_EXHAUSTED under `who` and counts nothing. `force` counts
 * without refusing (state recovered from the data dir must load).
 */
export function holdBytes(who: string, bytes: number, force = false): () => void {
  try {
    return nk.reserveExternal(bytes, force);
  } catch (err) {
    throw memoryError(who, err) ?? err;
  }
}

/** Sets the budget (null: none); the addon refuses allocations over it from now on. */
export function applyMemoryBudget(bytes: number | null): void {
  nk.setTotalMemoryBudget(bytes);
}

/** The total held, its peak and the budget (-1 = none), in bytes. */
export function memoryInUse(): nk.MemoryStats {
  return nk.memoryTotals().total;
}
