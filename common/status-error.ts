// status-error.ts: an error that carries the gRPC status it should end a call with. Code both
// ends share (spec validation) throws it; the server's ServerError is one, and the client turns
// any error carrying a numeric code into its GluonPsError, so neither side needs a wrapper.
// A refusal a client acts on also carries an ErrorInfo (a typed reason, error-reason.ts), which
// the server sends as trailing metadata.
import { status } from '@grpc/grpc-js';
import type { ErrorInfo } from './error-reason';

export class StatusError extends Error {
  override name = 'StatusError';
  constructor(
    readonly code: status,
    message: string,
    readonly info?: ErrorInfo,
  ) {
    super(message);
  }
}

/** A value the caller sent can never be accepted. */
export const invalidArgument = (message: string): StatusError => new StatusError(status.INVALID_ARGUMENT, message);
