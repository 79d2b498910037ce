// The one error type the client rejects with. Every failure a user sees, whether the server
// answered with a gRPC status, the transport broke, or the client refused bad input before
// sending anything, is a GluonPsError whose numeric `code` is a gRPC status, so callers branch
// on `err.code === Status.NOT_FOUND` without knowing where the failure happened. A refusal
// the client acts on also has a typed `reason` (common/error-reason.ts), read from the status's
// trailing metadata, so no code matches message text.
import { Metadata, status } from '@grpc/grpc-js';
import { parseReason, REASON_METADATA_KEY, type ErrorReason } from '../common/error-reason';

export { status as Status } from '@grpc/grpc-js';
export type { ErrorReason } from '../common/error-reason';

/** A failed call: `code` is the gRPC status, `message` the server's own text. */
export class GluonPsError extends Error {
  override name = 'GluonPsError';
  /** The numeric gRPC status (grpc.status / Status). */
  readonly code: status;
  /** The status details as sent by the server (equal to `message`). */
  readonly details: string;
  /** Trailing metadata of the failed call, when the server sent a status. */
  readonly metadata: Metadata | undefined;
  /**
   * Why, for the refusals a caller may act on (docs/api.md, "Errors"): 'stale-step' (a push or
   * step for a step that is closed or not open yet). From the `gluonps-reason` metadata entry;
   * undefined for every other failure.
   */
  readonly reason: ErrorReason | undefined;

  constructor(
    code: status,
    message: string,
    options: { cause?: unknown; metadata?: Metadata; reason?: ErrorReason } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = message;
    this.metadata = options.metadata;
    this.reason = options.reason ?? parseReason(options.metadata?.get(REASON_METADATA_KEY)[0]);
  }
}

/** A client-side check failed: INVALID_ARGUMENT, nothing was sent. */
export function invalidArgument(message: string): GluonPsError {
  return new GluonPsError(status.INVALID_ARGUMENT, message);
}

/** The shape of grpc-js's ServiceError, checked structurally (it is an interface, not a class). */
interface StatusLike {
  code: unknown;
  details?: unknown;
  message?: unknown;
  metadata?: unknown;
  /** A StatusError's typed reason (common/ code that the client runs). */
  info?: { reason?: unknown };
}

// grpc-js builds `message` as "<code> <NAME>: <details>"; users want the server's text only.
const GRPC_PREFIX = /^\d+ [A-Z_]+: /;

/**
 * Normalizes anything a call can throw into a GluonPsError. A grpc-js status keeps its code and
 * uses `details` (the server's message) as the message; any other error is UNKNOWN, keeping
 * the original as `cause` so nothing is lost for debugging.
 */
export function toGluonPsError(err: unknown): GluonPsError {
  if (err instanceof GluonPsError) return err;
  if (typeof err === 'object' && err !== null && typeof (err as StatusLike).code === 'number') {
    const e = err as StatusLike;
    const code = e.code as status;
    const details =
      typeof e.details === 'string' && e.details !== ''
        ? e.details
        : typeof e.message === 'string'
          ? e.message.replace(GRPC_PREFIX, '')
          : (status[code] ?? 'unknown error');
    const metadata = e.metadata instanceof Metadata ? e.metadata : undefined;
    const reason = parseReason(e.info?.reason);
    return new GluonPsError(code, details, { cause: err, metadata, ...(reason === undefined ? {} : { reason }) });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GluonPsError(status.UNKNOWN, message, { cause: err });
}

/** A user value for an error message: JSON where possible (bigints as 12n), never throwing. */
export function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
