// The client's one call layer. A Channel owns the gRPC connection to one server and every
// policy a call needs, for every service on it (parameters, trainers, admin): the credentials
// (plaintext or TLS, mutual TLS), the bearer token, the per-call deadline, the refusal of calls
// after close(), the chunked tensor streams (client/transport.ts) and the mapping of every
// failure to a GluonPsError. Parameter handles, trainers, saveParameters/loadParameters and
// the gluonps CLI all call through it, so these policies are written once.
//
// Retries are not here: only the trainer's keyed calls may be sent twice (client/retry.ts),
// and it wraps the calls it sends in `attempt`.
import * as grpc from '@grpc/grpc-js';
import type { AdminServiceClient } from '../protos/generated/gluonps/v1/AdminService';
import type { ParameterServiceClient } from '../protos/generated/gluonps/v1/ParameterService';
import type { TensorHeader, TensorHeader__Output } from '../protos/generated/gluonps/v1/TensorHeader';
import type { TensorUpload } from '../protos/generated/gluonps/v1/TensorUpload';
import type { TrainerServiceClient } from '../protos/generated/gluonps/v1/TrainerService';
import { loadProtos } from '../protos/load';
import { ROUTE_METADATA_KEY } from '../common/cluster/route';
import { checkKeys } from './convert';
import { GluonPsError, invalidArgument, show, Status, toGluonPsError } from './errors';
import {
  CHUNKED_READ_METHODS,
  clientChannelOptions,
  pullTensor,
  pullTensors,
  pushTensor,
  withChunkDeserializers,
  type CollectedTensor,
  type PullOptions,
} from './transport';

/** TLS material; each field is PEM bytes. `true` means TLS with the system's root CAs. */
export interface TlsOptions {
  /** Root CA(s) to trust instead of the system's. */
  ca?: Buffer;
  /** Client certificate chain, for mutual TLS (needs `key`). */
  cert?: Buffer;
  /** Private key of `cert`. */
  key?: Buffer;
}

export interface ConnectOptions {
  /** Sent as `authorization: Bearer <token>` metadata on every call. */
  token?: string;
  /** TLS instead of plaintext. */
  tls?: TlsOptions | boolean;
  /** Deadline of each call in ms, streams included (whole transfer); default none. */
  deadlineMs?: number;
  /** How long connect() waits for the channel to be ready; default 10000 ms. */
  connectTimeoutMs?: number;
  /** Extra grpc-js channel options, applied over the defaults (e.g. grpc.ssl_target_name_override). */
  channelOptions?: grpc.ChannelOptions;
}

const CONNECT_KEYS = ['token', 'tls', 'deadlineMs', 'connectTimeoutMs', 'channelOptions'];
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Keepalive: a ping after 60 s without traffic on a connection that has calls open (a long
 * sync step wait, say), answered within 20 s, so a dead peer or dropped NAT mapping fails the
 * call instead of hanging it. No pings on an idle connection: servers that police ping rates
 * (gRPC C-core's default) would answer frequent idle pings with GOAWAY.
 */
const KEEPALIVE_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
};

type StubConstructor<S> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => S;
let parameterService: StubConstructor<ParameterServiceClient> | undefined;

/** A received tensor of a parameter: its header and its bytes. */
export type Pulled = CollectedTensor<TensorHeader__Output>;

/** One attempt of a call: whether it carries a deadline (for the retry rule) and its outcome. */
export interface Attempt<T> {
  deadlineSet: boolean;
  result: Promise<T>;
}

export type UnaryInvoke<Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;
type ServerStreamInvoke = (metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<object>;
type ClientStreamInvoke<Req, Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientWritableStream<Req>;

const makeError = (code: grpc.status, message: string): Error => new GluonPsError(code, message);

function positiveMs(who: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(`${who}: ${field} must be a positive number of milliseconds, got ${show(value)}`);
  }
  return value;
}

function credentialsFor(who: string, tls: TlsOptions | boolean | undefined): grpc.ChannelCredentials {
  if (tls === undefined || tls === false) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  if (typeof tls !== 'object' || tls === null)
    throw invalidArgument(`${who}: tls must be a boolean or { ca?, cert?, key? }, got ${show(tls)}`);
  checkKeys(`${who}: tls`, tls, ['ca', 'cert', 'key']);
  for (const field of ['ca', 'cert', 'key'] as const) {
    const v = tls[field];
    if (v !== undefined && !Buffer.isBuffer(v))
      throw invalidArgument(`${who}: tls.${field} must be a Buffer of PEM bytes`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw invalidArgument(`${who}: tls.cert and tls.key go together (mutual TLS needs both)`);
  }
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

function authMetadata(who: string, token: unknown): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token === undefined) return metadata;
  // HTTP/2 header values must be visible ASCII; a newline or a non-ASCII character would make
  // grpc-js throw deep inside the first call instead.
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw invalidArgument(`${who}: token must be a non-empty string of visible ASCII characters`);
  }
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function waitForReady(stub: grpc.Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    stub.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
  });
}

export class Channel {
  #closed = false;
  #parameters: ParameterServiceClient;
  #address: string;
  #trainers: TrainerServiceClient | undefined;
  #admin: AdminServiceClient | undefined;
  /** Opens the stub of another address with this channel's credentials and options (retarget). */
  #reopen: ((address: string) => ParameterServiceClient) | null = null;

  /**
   * @internal Use Channel.open (connect()). `parameters` owns the gRPC channel; the stubs of the
   * other services share it. `stubs` replaces them in unit tests.
   */
  constructor(
    /** The ParameterService stub (owns the channel). */
    parameters: ParameterServiceClient,
    /** host:port as given to connect(), for messages. */
    address: string,
    /** Sent with every call (authorization); cloned per call since grpc-js may add to it. */
    private readonly metadata: grpc.Metadata,
    /** The per-call deadline in ms (connect({ deadlineMs })), or undefined for none. */
    readonly deadlineMs: number | undefined,
    stubs: { trainers?: TrainerServiceClient; admin?: AdminServiceClient } = {},
  ) {
    this.#parameters = parameters;
    this.#address = address;
    this.#trainers = stubs.trainers;
    this.#admin = stubs.admin;
  }

  /** The ParameterService stub (owns the gRPC channel). */
  get parameters(): ParameterServiceClient {
    return this.#parameters;
  }

  /** host:port as given to connect() (or the latest retarget()), for messages. */
  get address(): string {
    return this.#address;
  }

  /**
   * Opens a channel to a gluon-ps server at `address` (host:port) and waits until it is ready,
   * so a wrong address or a server that is down fails here (UNAVAILABLE naming the address)
   * rather than on the first call.
   */
  static async open(address: string, options: ConnectOptions = {}, who = 'connect()'): Promise<Channel> {
    if (typeof address !== 'string' || address === '')
      throw invalidArgument(`${who}: address must be a non-empty "host:port" string, got ${show(address)}`);
    if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
    checkKeys(who, options, CONNECT_KEYS);
    const deadlineMs = options.deadlineMs === undefined ? undefined : positiveMs(who, 'deadlineMs', options.deadlineMs);
    const connectTimeoutMs =
      options.connectTimeoutMs === undefined
        ? DEFAULT_CONNECT_TIMEOUT_MS
        : positiveMs(who, 'connectTimeoutMs', options.connectTimeoutMs);
    const credentials = credentialsFor(who, options.tls);
    const metadata = authMetadata(who, options.token);

    // Chunk-only read replies (TensorChunk.chunk is field 2) skip protobufjs.
    parameterService ??= withChunkDeserializers(
      loadProtos().gluonps.v1.ParameterService as unknown as grpc.ServiceClientConstructor,
      CHUNKED_READ_METHODS,
      'header',
      'chunk',
      2,
    ) as unknown as StubConstructor<ParameterServiceClient>;
    const ctor = parameterService;
    const reopen = (at: string): ParameterServiceClient =>
      new ctor(at, credentials, clientChannelOptions(undefined, { ...KEEPALIVE_OPTIONS, ...options.channelOptions }));
    const stub = reopen(address);
    try {
      await waitForReady(stub, connectTimeoutMs);
    } catch (err) {
      stub.close();
      const reason = err instanceof Error ? err.message : String(err);
      throw new GluonPsError(
        Status.UNAVAILABLE,
        `cannot connect to the gluon-ps server at ${address}: not ready after ${connectTimeoutMs} ms (${reason})`,
        { cause: err },
      );
    }
    const channel = new Channel(stub, address, metadata, deadlineMs);
    channel.#reopen = reopen;
    return channel;
  }

  /**
   * @internal Sends later calls to `address` instead (same credentials, options, metadata):
   * a cluster shard that re-registered elsewhere (etcd membership, client/cluster/shards.ts).
   * Calls in flight finish on the old connection, which is then closed.
   */
  retarget(address: string): void {
    if (this.#closed || this.#reopen === null || address === this.#address) return;
    const old = this.#parameters;
    this.#parameters = this.#reopen(address);
    this.#address = address;
    this.#trainers = undefined;
    this.#admin = undefined;
    old.close();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * @internal Sends `value` as the cluster routing metadata (common/cluster/route.ts) with every
   * call from now on: a cluster client's channel to one shard (client/cluster/shards.ts).
   */
  setRoute(value: string): void {
    this.metadata.set(ROUTE_METADATA_KEY, value);
  }

  /** The TrainerService stub on this channel (one connection for every service). */
  get trainers(): TrainerServiceClient {
    this.#trainers ??= this.#share(loadProtos().gluonps.v1.TrainerService);
    return this.#trainers;
  }

  /** The AdminService stub on this channel. */
  get admin(): AdminServiceClient {
    this.#admin ??= this.#share(loadProtos().gluonps.v1.AdminService);
    return this.#admin;
  }

  /** A unary call, e.g. `ch.unary((md, o, cb) => ch.parameters.describe({ name }, md, o, cb))`. */
  unary<Res>(invoke: UnaryInvoke<Res>, deadlineMs: number | undefined = this.deadlineMs): Promise<Res> {
    return this.#guard(
      () =>
        new Promise<Res>((resolve, reject) => {
          invoke(this.metadata.clone(), this.#options(deadlineMs), (err, reply) => {
            if (err !== null) reject(err);
            else if (reply === undefined)
              reject(new GluonPsError(Status.INTERNAL, 'the call completed without a reply'));
            else resolve(reply);
          });
        }),
    );
  }

  /** A server-streaming call carrying exactly one tensor (data, grad, row_sparse_data, save_states). */
  pull<H extends object = TensorHeader__Output>(
    open: ServerStreamInvoke,
    options: PullOptions<H> = {},
    deadlineMs: number | undefined = this.deadlineMs,
  ): Promise<CollectedTensor<H>> {
    return this.#guard(() =>
      pullTensor<H>(open(this.metadata.clone(), this.#options(deadlineMs)), { makeError, ...options }),
    );
  }

  /** A server-streaming call carrying a tensor per context (list_data, list_grad, ...). */
  pullAll(name: string, open: ServerStreamInvoke): Promise<Pulled[]> {
    return this.#guard(() =>
      pullTensors<TensorHeader__Output>(open(this.metadata.clone(), this.#options(this.deadlineMs)), {
        name,
        makeError,
      }),
    );
  }

  /** A client-streaming upload of one tensor: `first` (name + header), then <= 1 MiB chunks of `bytes`. */
  push<Req extends object, Res>(
    open: ClientStreamInvoke<Req, Res>,
    first: Omit<Req, 'chunk'>,
    bytes: Uint8Array,
    deadlineMs: number | undefined = this.deadlineMs,
  ): Promise<Res> {
    return this.#guard(() =>
      pushTensor<Req, Res>(
        (callback) => open(this.metadata.clone(), this.#options(deadlineMs), callback),
        first,
        bytes,
        { makeError },
      ),
    );
  }

  /** A parameter upload (set_data, declare_constant): name + TensorHeader, then the bytes. */
  pushTensor<Res>(
    name: string,
    header: TensorHeader,
    bytes: Uint8Array,
    open: ClientStreamInvoke<TensorUpload, Res>,
  ): Promise<Res> {
    return this.push<TensorUpload, Res>(open, { name, header }, bytes);
  }

  /** `run` sent with `deadlineMs`, as the retry rule sees it (client/retry.ts). */
  attempt<T>(deadlineMs: number | undefined, run: (deadlineMs: number | undefined) => Promise<T>): Attempt<T> {
    return { deadlineSet: deadlineMs !== undefined, result: run(deadlineMs) };
  }

  /** Closes the channel; idempotent. Calls already in flight run to completion. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The other stubs share this channel (channelOverride); closing it closes them all.
    this.parameters.close();
  }

  #share<S>(ctor: StubConstructor<S>): S {
    // channelOverride: the credentials argument is unused; the channel carries the connection's.
    return new ctor(this.address, grpc.credentials.createInsecure(), { channelOverride: this.parameters.getChannel() });
  }

  #options(deadlineMs: number | undefined): grpc.CallOptions {
    return deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  }

  /** Runs one call: refuses after close, and maps anything thrown or rejected to GluonPsError. */
  async #guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      throw new GluonPsError(
        Status.CANCELLED,
        `the gluon-ps client for ${this.address} is closed; connect() again to make calls`,
      );
    }
    try {
      return await run();
    } catch (err) {
      throw toGluonPsError(err);
    }
  }
}
