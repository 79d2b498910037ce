// status-error.ts: an error that carries the gRPC status it should end a call with. Code both
// ends share (spec validation) throws it; the server's ServerError is one, and the client turns
// any error carrying a numeric code into its GluonPsError, so neither side needs a wrapper.
import { status } from '@grpc/grpc-js';

export class StatusError extends Error {
  override name = 'StatusError';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

/** A value the caller sent can never be accepted. */
export const invalidArgument = (message: string): StatusError => new StatusError(status.INVALID_ARGUMENT, message);
