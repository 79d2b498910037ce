// order.ts: where each declaration stands in the order parameters were declared, so that a
// cluster's parameters list in one order across shards (docs/cluster.md, "Declaration order").
// Each server keeps a hybrid logical clock: a new parameter's order is above every order this
// server assigned, above the highest order the declaring client has seen on any shard (`after`),
// and at least the time in microseconds since the epoch (the wall clock at start, then the
// monotonic clock). So one client's declarations list in its order whatever the shards' clocks
// say; a client that saw a parameter (connect() reads every shard's clock, list() every order)
// declares after it; declarations one after another by clients that saw nothing of each other
// list in time order within the shards' clock skew; and concurrent ones in some order every
// client sees alike (ties broken by name). The order is recorded with the declaration (log,
// checkpoint) and never changes. 2^53 microseconds since 1970 last until the year 2255.
import { invalid } from '../errors';

/** The largest order (and `after`): 2^53 - 2, so that order + 1 is still exact. */
export const MAX_ORDER = Number.MAX_SAFE_INTEGER - 1;

/** Microseconds since the epoch, never going back within this process. */
function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** How a declaration gets its order: above `after`, or `exact` (replaying a recorded one). */
export interface OrderRequest {
  after?: number;
  exact?: number;
}

export class DeclarationClock {
  #last = 0;

  /** The highest order assigned (or adopted) so far; 0 when none. */
  get last(): number {
    return this.#last;
  }

  /** The order of a new declaration. */
  next(request: OrderRequest = {}): number {
    const order = request.exact ?? Math.min(MAX_ORDER, Math.max(this.#last + 1, (request.after ?? 0) + 1, nowMicros()));
    this.#last = Math.max(this.#last, order);
    return order;
  }

  /**
   * A restored entry's order; 0 (a data dir written before orders were recorded) gets the next
   * one, so restored entries keep their declaration order.
   */
  adopt(order: number): number {
    if (order > 0) {
      this.#last = Math.max(this.#last, order);
      return order;
    }
    this.#last = Math.min(MAX_ORDER, this.#last + 1);
    return this.#last;
  }

  reset(): void {
    this.#last = 0;
  }
}

/** A request's `after`, checked (INVALID_ARGUMENT naming `who` when out of range). */
export function checkAfter(who: string, after: number | undefined): number {
  const v = after ?? 0;
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_ORDER)
    throw invalid(`${who}: after must be a declaration order from 0 to ${MAX_ORDER}, got ${String(v)}`);
  return v;
}
