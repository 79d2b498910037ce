// Client side of the chunked tensor transport: push one tensor over a client-streaming call
// (set_data, declare_constant) and pull one or several tensors from a server-streaming call
// (data, list_data, grad, row_sparse_data...), both honouring backpressure and assembling
// into one preallocated buffer per tensor. The stream rules and the copy accounting live in
// common/wire/chunks.ts, shared with the server so both ends implement one definition of the
// wire format; channel options come from common/wire/channel.ts for the same reason.
import { constants as bufferConstants } from 'node:buffer';
import type * as grpc from '@grpc/grpc-js';
import {
  assembleFromEvents,
  writeTensor,
  type CollectOptions,
  type CollectedTensor,
  type HeaderLike,
  type MakeTransportError,
  type WriteTensorOptions,
} from '../common/wire/chunks';
import { GluonPsError } from './errors';

export { clientChannelOptions, MAX_CHUNK_BYTES } from '../common/wire/channel';
export { CHUNKED_READ_METHODS, withChunkDeserializers } from '../common/wire/chunks';
export type { CollectedTensor } from '../common/wire/chunks';

/**
 * Starts a client-streaming call with `open`, sends `first` (name + header) and `data` in
 * <= 1 MiB chunks with backpressure, half-closes, and resolves with the server's reply.
 * If the server answers early (e.g. RESOURCE_EXHAUSTED after the header), writing stops and
 * the promise rejects with the server's error, which carries the numeric gRPC `code`.
 */
export function pushTensor<Req extends object, Res, C extends string = 'chunk'>(
  open: (callback: grpc.requestCallback<Res>) => grpc.ClientWritableStream<Req>,
  first: Omit<Req, C>,
  data: Uint8Array,
  options: Partial<Omit<WriteTensorOptions<C>, 'signal'>> = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const replied = new AbortController();
    const call = open((err, reply) => {
      replied.abort();
      if (err !== null) reject(err);
      else if (reply === undefined) reject(new Error('pushTensor: the call completed without a reply'));
      else resolve(reply);
    });
    writeTensor(call, first, data, { makeError: clientError, ...options, signal: replied.signal }).then(
      () => call.end(),
      (err: unknown) => {
        // Once the server replied, its status (delivered to the callback) is the real outcome.
        if (replied.signal.aborted) return;
        reject(err);
        call.cancel();
      },
    );
  });
}

/** The client's stream errors: a GluonPsError carrying the status. */
const clientError: MakeTransportError = (code, message) => new GluonPsError(code, message);

/**
 * CollectOptions with maxBytes optional (a client accepts what the server chose to send) and
 * makeError defaulting to GluonPsError.
 */
export type PullOptions<H> = Omit<CollectOptions<H>, 'maxBytes' | 'makeError'> & {
  maxBytes?: number;
  makeError?: MakeTransportError;
};

/** Reads a server stream holding exactly one tensor (data, grad, row_sparse_data). */
export async function pullTensor<H extends HeaderLike>(
  call: grpc.ClientReadableStream<object>,
  options: PullOptions<H> = {},
): Promise<CollectedTensor<H>> {
  const [tensor] = await assemble<H>(call, withLimit(options), 1);
  return tensor!;
}

/** Reads a server stream of tensors in order (list_data, list_grad, list_row_sparse_data). */
export async function pullTensors<H extends HeaderLike>(
  call: grpc.ClientReadableStream<object>,
  options: PullOptions<H> = {},
): Promise<CollectedTensor<H>[]> {
  return assemble<H>(call, withLimit(options), Infinity);
}

/** The stream's tensors via assembleFromEvents (common/wire/chunks.ts); a bad stream is cancelled. */
function assemble<H extends HeaderLike>(
  call: grpc.ClientReadableStream<object>,
  options: CollectOptions<H>,
  count: number,
): Promise<CollectedTensor<H>[]> {
  return assembleFromEvents<H>(call, options, {
    count,
    abort: () => call.cancel(),
    closedEarly: 'the stream closed before all tensors arrived',
  });
}

function withLimit<H>(options: PullOptions<H>): CollectOptions<H> {
  return {
    ...options,
    maxBytes: options.maxBytes ?? bufferConstants.MAX_LENGTH,
    makeError: options.makeError ?? clientError,
  };
}
