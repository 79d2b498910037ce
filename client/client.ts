// connect() and the connection object users call `ps`: declares parameters and constants,
// looks them up, lists them, and owns the gRPC channel. Channel settings come from
// client/transport.ts (raised HTTP/2 flow-control windows, message limits) so the product
// client moves tensors exactly as the transport benchmark measured.
import * as grpc from '@grpc/grpc-js';
import type { ListResponse__Output } from '../protos/generated/gluonps/v1/ListResponse';
import type { ParameterInfo__Output } from '../protos/generated/gluonps/v1/ParameterInfo';
import type { ParameterServiceClient } from '../protos/generated/gluonps/v1/ParameterService';
import { loadProtos } from '../protos/load';
import { checkKeys, checkName, describeFromProto, dtypeToProto, specToProto, type ParameterDescriptor, type ParameterSpec } from './convert';
import { GluonPsError, invalidArgument, show, Status } from './errors';
import { Parameter } from './parameter';
import {
  loadParameters,
  saveParameters,
  type LoadParametersOptions,
  type LoadParametersResult,
  type PersistHost,
  type SaveParametersOptions,
  type SaveParametersResult,
} from './persist';
import { Rpc } from './rpc';
import { tensorBytes, toTensor, type TensorInput } from './tensor';
import { createTrainer, TrainerChannel, type OptimizerName, type OptimizerParams, type Trainer, type TrainerOptions } from './trainer';
import { CHUNKED_READ_METHODS, clientChannelOptions, withChunkDeserializers } from './transport';

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

type ServiceConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => ParameterServiceClient;
let serviceConstructor: ServiceConstructor | undefined;

function positiveMs(who: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(`${who}: ${field} must be a positive number of milliseconds, got ${show(value)}`);
  }
  return value;
}

function credentialsFor(who: string, tls: TlsOptions | boolean | undefined): grpc.ChannelCredentials {
  if (tls === undefined || tls === false) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  if (typeof tls !== 'object' || tls === null) throw invalidArgument(`${who}: tls must be a boolean or { ca?, cert?, key? }, got ${show(tls)}`);
  checkKeys(`${who}: tls`, tls, ['ca', 'cert', 'key']);
  for (const field of ['ca', 'cert', 'key'] as const) {
    const v = tls[field];
    if (v !== undefined && !Buffer.isBuffer(v)) throw invalidArgument(`${who}: tls.${field} must be a Buffer of PEM bytes`);
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

/**
 * Opens a channel to a gluon-ps server at `address` (host:port) and waits until it is ready,
 * so a wrong address or a server that is down fails here (UNAVAILABLE naming the address)
 * rather than on the first call.
 */
export async function connect(address: string, options: ConnectOptions = {}): Promise<ParameterServerClient> {
  const who = 'connect()';
  if (typeof address !== 'string' || address === '') throw invalidArgument(`${who}: address must be a non-empty "host:port" string, got ${show(address)}`);
  if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
  checkKeys(who, options, CONNECT_KEYS);
  const deadlineMs = options.deadlineMs === undefined ? undefined : positiveMs(who, 'deadlineMs', options.deadlineMs);
  const connectTimeoutMs = options.connectTimeoutMs === undefined
    ? DEFAULT_CONNECT_TIMEOUT_MS
    : positiveMs(who, 'connectTimeoutMs', options.connectTimeoutMs);
  const credentials = credentialsFor(who, options.tls);
  const metadata = authMetadata(who, options.token);

  // Chunk-only read replies (TensorChunk.chunk is field 2) skip protobufjs.
  serviceConstructor ??= withChunkDeserializers(loadProtos().gluonps.v1.ParameterService as unknown as grpc.ServiceClientConstructor, CHUNKED_READ_METHODS, 'header', 'chunk', 2) as unknown as ServiceConstructor;
  const stub = new serviceConstructor(address, credentials, clientChannelOptions(undefined, {
    ...KEEPALIVE_OPTIONS,
    ...options.channelOptions,
  }));
  try {
    await waitForReady(stub, connectTimeoutMs);
  } catch (err) {
    stub.close();
    const reason = err instanceof Error ? err.message : String(err);
    throw new GluonPsError(Status.UNAVAILABLE,
      `cannot connect to the gluon-ps server at ${address}: not ready after ${connectTimeoutMs} ms (${reason})`, { cause: err });
  }
  return new ParameterServerClient(new Rpc(stub, address, metadata, deadlineMs), { metadata, deadlineMs });
}

/** @internal What calls on other services of the channel (the trainer's) need besides the Rpc. */
export interface CallSettings {
  /** Sent with every call (authorization). */
  metadata: grpc.Metadata;
  /** Per-call deadline in ms, or undefined for none. */
  deadlineMs: number | undefined;
}

/** A connection to one server; `ps` in the docs. */
export class ParameterServerClient {
  readonly #rpc: Rpc;
  readonly #settings: CallSettings;
  #trainerChannel: TrainerChannel | undefined;

  /** @internal Use connect(). */
  constructor(rpc: Rpc, settings: CallSettings = { metadata: new grpc.Metadata(), deadlineMs: undefined }) {
    this.#rpc = rpc;
    this.#settings = settings;
  }

  /** host:port this client talks to. */
  get address(): string {
    return this.#rpc.address;
  }

  /**
   * Declares a Parameter with Gluon's constructor arguments and returns its handle. Declaring
   * a name again with an identical spec returns it; a different spec is ALREADY_EXISTS.
   */
  async parameter(name: string, spec: ParameterSpec = {}): Promise<Parameter> {
    checkName('parameter()', name);
    const request = { spec: specToProto(name, spec) };
    await this.#rpc.unary<ParameterInfo__Output>((md, o, cb) => this.#rpc.stub.declare(request, md, o, cb));
    return new Parameter(this.#rpc, name);
  }

  /**
   * Declares a Gluon Constant holding `value` (gradReq 'null', never changed by a trainer) and
   * returns its handle; initialize() then creates its copies. A Tensor or typed array keeps its
   * dtype; nested numbers make a float32 constant. Re-declaring with the same value returns it.
   */
  async constant(name: string, value: TensorInput): Promise<Parameter> {
    checkName('constant()', name);
    const who = `constant '${name}'`;
    const tensor = toTensor(value, { who: `${who}: value`, nestedDType: 'float32' });
    const bytes = tensorBytes(tensor);
    const header = { shape: tensor.shape, dtype: dtypeToProto(who, tensor.dtype), byteLength: bytes.byteLength };
    await this.#rpc.push<ParameterInfo__Output>(name, header, bytes, (md, o, cb) => this.#rpc.stub.declareConstant(md, o, cb));
    return new Parameter(this.#rpc, name);
  }

  /** The handle of an existing parameter or constant; NOT_FOUND if there is none. */
  async get(name: string): Promise<Parameter> {
    checkName('get()', name);
    await this.#rpc.unary<ParameterInfo__Output>((md, o, cb) => this.#rpc.stub.get({ name }, md, o, cb));
    return new Parameter(this.#rpc, name);
  }

  /** Descriptions of every parameter and constant, in declaration order. */
  async list(): Promise<ParameterDescriptor[]> {
    const reply = await this.#rpc.unary<ListResponse__Output>((md, o, cb) => this.#rpc.stub.list({}, md, o, cb));
    return reply.parameters.map(describeFromProto);
  }

  /**
   * Creates the trainer `name` over `params` with an optimizer spec (MXNet's names in camelCase),
   * or attaches to the existing one when every setting is identical (ALREADY_EXISTS otherwise),
   * and returns this worker's handle (client/trainer.ts).
   */
  async trainer(
    name: string,
    params: ReadonlyArray<Parameter | string>,
    optimizer: OptimizerName,
    optimizerParams: OptimizerParams = {},
    options: TrainerOptions = {},
  ): Promise<Trainer> {
    this.#trainerChannel ??= TrainerChannel.open(this.#rpc, this.#settings.metadata, this.#settings.deadlineMs);
    return createTrainer(this.#trainerChannel, name, params, optimizer, optimizerParams, options);
  }

  /**
   * Gluon's save_parameters: writes the value of every parameter and constant (or of `names`)
   * to `file`, MXNet's `.params` format by default (V2 records, names list), or safetensors or
   * npz (`format`). The file is written under a temporary name and renamed when complete.
   * Every saved parameter must be initialized (FAILED_PRECONDITION otherwise). See
   * docs/api.md, "Saving and loading parameters".
   */
  async saveParameters(file: string, options: SaveParametersOptions = {}): Promise<SaveParametersResult> {
    return saveParameters(this.#persistHost(), file, options);
  }

  /**
   * Gluon's load_parameters: sets every parameter (or those in `names`) from the entries of
   * `file` with the same name (`arg:`/`aux:` prefixes stripped). Missing and extra entries fail
   * unless allowMissing / ignoreExtra; shapes must match the known dims and dtypes must match
   * unless castDtype. Initialized parameters get set_data; deferred ones complete from the
   * file; uninitialized ones are created on `ctx` (default cpu(0)) with the file's value.
   */
  async loadParameters(file: string, options: LoadParametersOptions = {}): Promise<LoadParametersResult> {
    return loadParameters(this.#persistHost(), file, options);
  }

  #persistHost(): PersistHost {
    return {
      list: () => this.list(),
      handle: (name) => new Parameter(this.#rpc, name),
      declare: (name, spec) => this.parameter(name, spec),
    };
  }

  /** Closes the channel; later calls on this client or its handles reject with CANCELLED. Idempotent. */
  async close(): Promise<void> {
    this.#rpc.close();
  }
}
