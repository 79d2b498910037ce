// limits.ts: the defaults of the server's limits on what callers may make it hold, and the one
// way a refusal over a limit is worded. Every limit here has a flag (server/config.ts) and is
// listed in docs/configuration.md ("Limits") and docs/errors.md. Kept free of native imports so
// configuration code can read it without loading the addon.
import { totalmem } from 'node:os';
import { exhausted, type ServerError } from './errors';

/** Workers one trainer may be created for (sync barriers, idempotency slots, describe replies). */
export const DEFAULT_MAX_WORKERS_PER_TRAINER = 4096;

/** setTimeout's largest delay: a longer one fires after 1 ms (Node clamps it and warns). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Bytes of a caller's reason string (Checkpoint's `reason`), which goes to the log. */
export const DEFAULT_MAX_REASON_BYTES = 1024;

/** The least time between the starts of two on-demand checkpoints (each takes the state gate exclusively). */
export const DEFAULT_CHECKPOINT_MIN_INTERVAL_MS = 1000;

/** An upload stream (set_data, push_grad, declare_constant, load_states) may go this long without a message. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 30_000;

/**
 * A streamed read (data, grad, row_sparse_data, their list_ forms, save_states) may take this
 * long; meanwhile it pins the version it reads (an in-place step then copies the tensor).
 */
export const DEFAULT_READ_TIMEOUT_MS = 120_000;

/** How often the server pings an idle connection, and how long it waits for the answer. */
export const DEFAULT_KEEPALIVE_TIME_MS = 60_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;

/** Parameters (constants not counted) the store may hold. */
export const DEFAULT_MAX_PARAMETERS = 100_000;

/** Constants the store may hold (each keeps a copy of its value for checkpoints and replies). */
export const DEFAULT_MAX_CONSTANTS = 10_000;

/** Trainers the server may hold. */
export const DEFAULT_MAX_TRAINERS = 1024;

/** Concurrent HTTP/2 streams (calls) one connection may open: more wait in the client's queue. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 256;

/** Calls in flight on the whole server, every connection together (health checks aside). */
export const DEFAULT_MAX_CONCURRENT_CALLS = 4096;

/** Bytes of a call's request metadata (names and values, as received). */
export const DEFAULT_MAX_METADATA_BYTES = 16 * 1024;

/** Health Watch streams open at once (health needs no token, so this is its only bound). */
export const DEFAULT_MAX_HEALTH_WATCHERS = 1024;

/** Worker ids a reply or a log line lists at most; the rest are counted, not listed. */
export const MAX_LISTED_WORKERS = 1024;

/**
 * RESOURCE_EXHAUSTED naming the limit, its value and the flag that raises it:
 * `trainer 't': num_workers 5000 is over the limit of 4096 (--max-workers-per-trainer raises it)`.
 */
export function overLimit(
  what: string,
  got: number | bigint | string,
  limit: number | bigint | string,
  flag: string,
): ServerError {
  return exhausted(`${what} ${got} is over the limit of ${limit} (${flag} raises it)`);
}

/** The memory budget's default: this fraction of the host's memory (hostMemoryBytes). */
export const DEFAULT_MEMORY_BUDGET_FRACTION = 0.8;

/**
 * The memory this process may use: the machine's, or the cgroup's limit when lower (a
 * container). Node reports no cgroup limit as a huge number or 0.
 */
export function hostMemoryBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < total ? constrained : total;
}

/** The memory budget when --memory-budget is not given: 80% of hostMemoryBytes(). */
export function defaultMemoryBudget(): number {
  return Math.floor(hostMemoryBytes() * DEFAULT_MEMORY_BUDGET_FRACTION);
}

/**
 * --max-declared-bytes when not given: the host's memory. Every declared parameter needs at least
 * one copy once initialized; more than the machine holds is a mistake or an attack (with GPUs
 * holding more than the host, raise it).
 */
export function defaultMaxDeclaredBytes(): number {
  return hostMemoryBytes();
}
