// Retries for the trainer's keyed calls. A push or step carries an idempotency key (worker,
// incarnation, sequence) and the server caches each key's result, so the client may send the
// same call again when it cannot know whether the first one arrived: the server applies it once
// and answers the retry with the first call's result.
//
// Which failures are retried (the one rule, shared by every retried call):
// - UNAVAILABLE: the connection failed or the server is restarting; the request may or may not
//   have arrived.
// - DEADLINE_EXCEEDED only when it is gRPC's own deadline of this attempt: the attempt was
//   sent with a deadline, and the status text is gRPC's ("Deadline exceeded..."; grpc-js
//   writes it on the client, and the server's runtime writes it when the propagated deadline
//   passes there). The trainer's sync-barrier timeout is also DEADLINE_EXCEEDED, but its text
//   is the trainer's own ("trainer 'x': step N timed out after ... waiting for worker ...") and
//   it is a final answer for that step: the step was not applied and the server forgot the
//   key, so sending it again would open the step anew instead of repeating an answer. Step
//   calls are also sent with a deadline longer than the trainer's step timeout, so the server's
//   answer normally arrives first.
// Everything else (INVALID_ARGUMENT, FAILED_PRECONDITION, CANCELLED after close(), ...) is a
// final answer and is not retried.
import { GluonPsError, Status } from './errors';

export interface RetryOptions {
  /** Attempts in all, the first included (default 8; 1 = no retries). */
  maxAttempts?: number;
  /** Wait before the first retry in ms (default 50); it doubles for each further retry. */
  initialBackoffMs?: number;
  /** Longest wait between two attempts in ms (default 2000). */
  maxBackoffMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 8, initialBackoffMs: 50, maxBackoffMs: 2000 };

/** gRPC's own deadline text (grpc-js client side: "Deadline exceeded after 1.2s,...", server runtime: "Deadline exceeded"). */
const GRPC_DEADLINE_TEXT = /^deadline exceeded\b/i;

/**
 * Whether a failed attempt may be sent again with the same idempotency key.
 * @param deadlineSet whether this attempt was sent with a gRPC deadline.
 */
export function isRetryable(err: GluonPsError, deadlineSet: boolean): boolean {
  if (err.code === Status.UNAVAILABLE) return true;
  if (err.code === Status.DEADLINE_EXCEEDED) return deadlineSet && GRPC_DEADLINE_TEXT.test(err.details);
  return false;
}

/** Checked retry settings with defaults filled. */
export function retrySettings(who: string, options: RetryOptions | undefined): Required<RetryOptions> {
  const out = { ...DEFAULT_RETRY };
  if (options === undefined) return out;
  if (typeof options !== 'object' || options === null)
    throw new GluonPsError(
      Status.INVALID_ARGUMENT,
      `${who}: retry must be an object { maxAttempts?, initialBackoffMs?, maxBackoffMs? }`,
    );
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_RETRY)) {
      throw new GluonPsError(
        Status.INVALID_ARGUMENT,
        `${who}: unknown retry option '${key}'; expected ${Object.keys(DEFAULT_RETRY).join(', ')}`,
      );
    }
  }
  const check = (key: keyof RetryOptions, min: number): void => {
    const v = options[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new GluonPsError(
        Status.INVALID_ARGUMENT,
        `${who}: retry.${key} must be an integer >= ${min}, got ${String(v)}`,
      );
    }
    out[key] = v;
  };
  check('maxAttempts', 1);
  check('initialBackoffMs', 0);
  check('maxBackoffMs', 0);
  return out;
}

/**
 * The wait before retry number `retry` (1 for the first retry): initialBackoffMs doubled per
 * retry, capped at maxBackoffMs, with "equal jitter" (a random point in its upper half) so
 * workers that lost the same connection do not come back in lockstep.
 */
export function backoffMs(retry: number, settings: Required<RetryOptions>, random: () => number = Math.random): number {
  const base = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** Math.max(0, retry - 1));
  return base / 2 + (random() * base) / 2;
}

export interface RetryHooks {
  /** Sleeps `ms` (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Random source for the jitter (tests pass a fixed one). */
  random?: () => number;
  /** Called before each retry, e.g. for logging. */
  onRetry?: (err: GluonPsError, retry: number, waitMs: number) => void;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it succeeds, fails with a final answer, or `maxAttempts` ran. Each call
 * of `attempt` must send the SAME request (same idempotency key); it reports whether it set a
 * deadline so a DEADLINE_EXCEEDED can be classified. After the last attempt the error says how
 * many were made.
 */
export async function withRetry<T>(
  settings: Required<RetryOptions>,
  attempt: (n: number) => { deadlineSet: boolean; result: Promise<T> },
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? realSleep;
  for (let n = 1; ; n++) {
    let deadlineSet = false;
    try {
      const sent = attempt(n);
      deadlineSet = sent.deadlineSet;
      return await sent.result;
    } catch (raw) {
      const err = raw instanceof GluonPsError ? raw : new GluonPsError(Status.UNKNOWN, String(raw), { cause: raw });
      if (!isRetryable(err, deadlineSet)) throw err;
      if (n >= settings.maxAttempts) {
        if (n === 1) throw err;
        throw new GluonPsError(err.code, `${err.message} (gave up after ${n} attempts with the same idempotency key)`, {
          cause: err,
          metadata: err.metadata,
        });
      }
      const wait = backoffMs(n, settings, hooks.random);
      hooks.onRetry?.(err, n, wait);
      await sleep(wait);
    }
  }
}
