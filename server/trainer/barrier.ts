// barrier.ts: who a sync step still waits for. Counted from the workers that stepped or left,
// never by walking every worker id (num_workers may be up to 2^32 - 1), and listed only up to a
// bound, lowest ids first. A step that follows its decider's decision (follower.ts) waits only
// for the decided workers.
import { MAX_LISTED_WORKERS } from '../limits';
import type { OpenStep } from './types';

/** The lowest MAX_LISTED_WORKERS ids of a set, ascending: a bounded list for replies. */
export function lowest(ids: Set<number>): number[] {
  return [...ids].sort((a, b) => a - b).slice(0, MAX_LISTED_WORKERS);
}

/** How many workers that have not left the open step is still waiting for. */
export function missingCount(open: OpenStep, numWorkers: number, left: ReadonlySet<number>): number {
  if (open.decided !== null) return open.decided.filter((w) => !open.stepped.has(w) && !left.has(w)).length;
  let steppedActive = 0;
  for (const w of open.stepped.keys()) if (!left.has(w)) steppedActive++;
  return numWorkers - left.size - steppedActive;
}

/** The lowest `limit` ids of those workers: skips only ids that stepped or left, so it costs O(limit + stepped + left). */
export function missingWorkers(
  open: OpenStep,
  numWorkers: number,
  left: ReadonlySet<number>,
  limit = MAX_LISTED_WORKERS,
): number[] {
  if (open.decided !== null) return open.decided.filter((w) => !open.stepped.has(w) && !left.has(w)).slice(0, limit);
  const out: number[] = [];
  for (let w = 0; w < numWorkers && out.length < limit; w++) {
    if (!open.stepped.has(w) && !left.has(w)) out.push(w);
  }
  return out;
}
