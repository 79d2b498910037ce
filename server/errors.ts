// errors.ts: the one error type the service raises on purpose. A ServerError carries a gRPC
// status code and a message naming the parameter, what was expected and what was received;
// anything else that escapes a handler becomes INTERNAL with a generic message (rpc layer).
// Validation shared with the client (common/) throws StatusError, of which ServerError is one.
import { status } from '@grpc/grpc-js';
import { StatusError } from '../common/status-error';

export { status as Status } from '@grpc/grpc-js';
export { fmtShape } from '../common/shape';
export { StatusError } from '../common/status-error';

export class ServerError extends StatusError {
  override name = 'ServerError';
}

/** The server's stream errors (common/wire/chunks.ts takes a factory from each end). */
export const streamError = (code: status, message: string): ServerError => new ServerError(code, message);
export const notFound = (msg: string): ServerError => new ServerError(status.NOT_FOUND, msg);
export const invalid = (msg: string): ServerError => new ServerError(status.INVALID_ARGUMENT, msg);
export const precondition = (msg: string): ServerError => new ServerError(status.FAILED_PRECONDITION, msg);
export const exists = (msg: string): ServerError => new ServerError(status.ALREADY_EXISTS, msg);
export const exhausted = (msg: string): ServerError => new ServerError(status.RESOURCE_EXHAUSTED, msg);
export const unavailable = (msg: string): ServerError => new ServerError(status.UNAVAILABLE, msg);

/**
 * A push or step for a step that is closed or not open yet: FAILED_PRECONDITION with the typed
 * reason 'stale-step' and both step numbers (common/error-reason.ts), which clients act on.
 */
export function staleStep(message: string, step: number, trainerStep: number): ServerError {
  return new ServerError(status.FAILED_PRECONDITION, message, {
    reason: 'stale-step',
    fields: { step: String(step), 'trainer-step': String(trainerStep) },
  });
}

/** `parameter 'name'` (or `constant 'name'`), the subject of every message. */
export function subject(name: string, isConstant = false): string {
  return `${isConstant ? 'constant' : 'parameter'} '${name}'`;
}

/**
 * A value for a message, as JSON but with numbers as JavaScript writes them: NaN and the
 * infinities show as themselves, not as JSON's `null` (`got NaN`, not `got null`).
 */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(',')}]`;
  return JSON.stringify(v) ?? String(v);
}

/**
 * A list for a message, bounded: the first `max` items, then how many more. A request can name
 * any number of things; echoing them all made a reply (and its log line) as large as the request.
 */
export function fmtList(items: readonly string[], max = 16): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, ... (${items.length} in all)` : shown;
}
