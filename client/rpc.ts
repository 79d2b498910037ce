// The client's one gateway to the generated ParameterService stub: it adds the auth metadata
// and the per-call deadline to every call, refuses calls after close(), turns unary callbacks
// and tensor streams into promises (via the shared chunk helpers in client/transport.ts), and
// normalizes every failure into a GluonPsError. Parameter handles and the client go through
// it only, so these policies hold for every method without being repeated.
//
// No retries happen here: grpc-js only replays a call transparently when it never reached the
// server, which is safe for any method; retrying writes that did reach it is not (the Trainer
// issue adds retries for idempotent calls).
import type * as grpc from '@grpc/grpc-js';
import type { ParameterServiceClient } from '../protos/generated/gluonps/v1/ParameterService';
import type { TensorHeader, TensorHeader__Output } from '../protos/generated/gluonps/v1/TensorHeader';
import type { TensorUpload } from '../protos/generated/gluonps/v1/TensorUpload';
import { GluonPsError, Status, toGluonPsError } from './errors';
import { pullTensor, pullTensors, pushTensor, type CollectedTensor } from './transport';

/** A received tensor: its header and its bytes. */
export type Pulled = CollectedTensor<TensorHeader__Output>;

type UnaryInvoke<Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;
type ServerStreamInvoke = (metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<object>;
type ClientStreamInvoke<Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientWritableStream<TensorUpload>;

const makeError = (code: grpc.status, message: string): Error => new GluonPsError(code, message);

export class Rpc {
  private closed = false;

  constructor(
    /** The generated stub (owns the channel). */
    readonly stub: ParameterServiceClient,
    /** host:port as given to connect(), for messages. */
    readonly address: string,
    /** Sent with every call (authorization); cloned per call since grpc-js may add to it. */
    private readonly metadata: grpc.Metadata,
    /** Per-call deadline in ms, or undefined for none. */
    private readonly deadlineMs: number | undefined,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** A unary call, e.g. `rpc.unary((md, o, cb) => rpc.stub.describe({ name }, md, o, cb))`. */
  unary<Res>(invoke: UnaryInvoke<Res>): Promise<Res> {
    return this.guard(() => new Promise<Res>((resolve, reject) => {
      invoke(this.metadata.clone(), this.options(), (err, reply) => {
        if (err !== null) reject(err);
        else if (reply === undefined) reject(new GluonPsError(Status.INTERNAL, 'the call completed without a reply'));
        else resolve(reply);
      });
    }));
  }

  /** A server-streaming call carrying exactly one tensor (data, grad, row_sparse_data). */
  pull(name: string, open: ServerStreamInvoke): Promise<Pulled> {
    return this.guard(() => pullTensor<TensorHeader__Output>(open(this.metadata.clone(), this.options()), { name, makeError }));
  }

  /** A server-streaming call carrying a tensor per context (list_data, list_grad, ...). */
  pullAll(name: string, open: ServerStreamInvoke): Promise<Pulled[]> {
    return this.guard(() => pullTensors<TensorHeader__Output>(open(this.metadata.clone(), this.options()), { name, makeError }));
  }

  /** A client-streaming upload of one tensor (set_data, declare_constant). */
  push<Res>(name: string, header: TensorHeader, bytes: Uint8Array, open: ClientStreamInvoke<Res>): Promise<Res> {
    return this.guard(() => pushTensor<TensorUpload, Res>(
      (callback) => open(this.metadata.clone(), this.options(), callback),
      { name, header },
      bytes,
      { makeError },
    ));
  }

  /** Closes the channel; idempotent. Calls already in flight run to completion. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stub.close();
  }

  private options(): grpc.CallOptions {
    return this.deadlineMs === undefined ? {} : { deadline: Date.now() + this.deadlineMs };
  }

  /** Runs one call: refuses after close, and maps anything thrown or rejected to GluonPsError. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed) {
      throw new GluonPsError(Status.CANCELLED, `the gluon-ps client for ${this.address} is closed; connect() again to make calls`);
    }
    try {
      return await run();
    } catch (err) {
      throw toGluonPsError(err);
    }
  }
}
