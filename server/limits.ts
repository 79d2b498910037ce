// limits.ts: the defaults of the server's limits on what callers may make it hold, and the one
// way a refusal over a limit is worded. Every limit here has a flag (server/config.ts) and is
// listed in docs/configuration.md ("Limits") and docs/errors.md. Kept free of native imports so
// configuration code can read it without loading the addon.
import { exhausted, type ServerError } from './errors';

/** Workers one trainer may be created for (sync barriers, idempotency slots, describe replies). */
export const DEFAULT_MAX_WORKERS_PER_TRAINER = 4096;

/** Worker ids a reply or a log line lists at most; the rest are counted, not listed. */
export const MAX_LISTED_WORKERS = 1024;

/**
 * RESOURCE_EXHAUSTED naming the limit, its value and the flag that raises it:
 * `trainer 't': num_workers 5000 is over the limit of 4096 (--max-workers-per-trainer raises it)`.
 */
export function overLimit(what: string, got: number | bigint | string, limit: number | bigint, flag: string): ServerError {
  return exhausted(`${what} ${got} is over the limit of ${limit} (${flag} raises it)`);
}
