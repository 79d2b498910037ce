// The connection object users call `ps` (connect() is in client/connect.ts): declares parameters
// and constants, looks them up, lists them, creates trainers, saves and loads files, asks for
// checkpoints and for the server's status. Every call goes through its Channel
// (client/channel.ts): credentials, token, deadlines, streams and errors are handled there, once
// for every service. On a cluster, client/cluster/client.ts's subclass answers every method over
// the shards.
import type { CheckpointResponse__Output } from '../protos/generated/gluonps/v1/CheckpointResponse';
import type { ListTrainersResponse__Output } from '../protos/generated/gluonps/v1/ListTrainersResponse';
import type { ServerStatus__Output } from '../protos/generated/gluonps/v1/ServerStatus';
import { statusFromProto, type ServerStatus, type TrainerSummary } from '../common/status';
import type { ListResponse__Output } from '../protos/generated/gluonps/v1/ListResponse';
import type { ParameterInfo__Output } from '../protos/generated/gluonps/v1/ParameterInfo';
import type { Channel } from './channel';
import type { ClusterDescription } from './cluster/types';
import { describeShard } from './cluster/shards';
import {
  checkName,
  describeFromProto,
  dtypeToProto,
  specToProto,
  type ParameterDescriptor,
  type ParameterSpec,
} from './convert';
import { invalidArgument, show } from './errors';
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
import { tensorBytes, toTensor, type TensorInput } from './tensor';
import { createTrainer, type Trainer } from './trainer';
import type { OptimizerName, OptimizerParams, TrainerDescriptor, TrainerOptions } from './trainer-types';
import { describeTrainerInfo } from './trainer-wire';
import type { TrainerInfo__Output } from '../protos/generated/gluonps/v1/TrainerInfo';

/** What AdminService.Checkpoint answered. */
export interface CheckpointResult {
  /** The checkpoint's id (its directory is checkpoints/ckpt-<id>). */
  id: number;
  /** The server's data directory. */
  dataDir: string;
  /** On a cluster: every shard's checkpoint (the fields above are shard 0's). */
  shards?: Array<{ index: number; id: number; dataDir: string }>;
}

/** checkpoint()'s reason, checked (the single server's and the cluster's checkpoint() share it). */
export function checkpointReason(options: { reason?: string }): string {
  const reason = options.reason ?? 'on demand';
  if (typeof reason !== 'string') throw invalidArgument(`checkpoint(): reason must be a string, got ${show(reason)}`);
  return reason;
}

/** A connection to one server; `ps` in the docs. */
export class ParameterServerClient {
  readonly #ch: Channel;

  /** @internal Use connect(). */
  constructor(channel: Channel) {
    this.#ch = channel;
  }

  /** host:port this client talks to. */
  get address(): string {
    return this.#ch.address;
  }

  /**
   * Declares a Parameter with Gluon's constructor arguments and returns its handle. Declaring
   * a name again with an identical spec returns it; a different spec is ALREADY_EXISTS.
   */
  async parameter(name: string, spec: ParameterSpec = {}): Promise<Parameter> {
    checkName('parameter()', name);
    const request = { spec: specToProto(name, spec) };
    await this.#ch.unary<ParameterInfo__Output>((md, o, cb) => this.#ch.parameters.declare(request, md, o, cb));
    return this.handle(name);
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
    await this.#ch.pushTensor<ParameterInfo__Output>(name, header, bytes, (md, o, cb) =>
      this.#ch.parameters.declareConstant(md, o, cb),
    );
    return this.handle(name);
  }

  /** The handle of an existing parameter or constant; NOT_FOUND if there is none. */
  async get(name: string): Promise<Parameter> {
    checkName('get()', name);
    await this.#ch.unary<ParameterInfo__Output>((md, o, cb) => this.#ch.parameters.get({ name }, md, o, cb));
    return this.handle(name);
  }

  /** Descriptions of every parameter and constant, in declaration order. */
  async list(): Promise<ParameterDescriptor[]> {
    const reply = await this.#ch.unary<ListResponse__Output>((md, o, cb) => this.#ch.parameters.list({}, md, o, cb));
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
    return createTrainer(this.#ch, name, params, optimizer, optimizerParams, options);
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

  /** Through the methods above, so a cluster client saves and loads through its own. */
  #persistHost(): PersistHost {
    return {
      list: () => this.list(),
      handle: (name) => this.handle(name),
      declare: (name, spec) => this.parameter(name, spec),
    };
  }

  /** @internal The handle of `name` this client hands out (a cluster's reaches its shards). */
  protected handle(name: string): Parameter {
    return new Parameter(this.#ch, name);
  }

  /**
   * Asks the server to write a checkpoint of its data directory now (AdminService.Checkpoint;
   * needs a full-access token when tokens are set). `reason` goes to the server's log.
   * FAILED_PRECONDITION when the server runs without a data dir.
   */
  async checkpoint(options: { reason?: string } = {}): Promise<CheckpointResult> {
    const reason = checkpointReason(options);
    const reply = await this.#ch.unary<CheckpointResponse__Output>((md, o, cb) =>
      this.#ch.admin.checkpoint({ reason }, md, o, cb),
    );
    return { id: Number(reply.id), dataDir: reply.dataDir };
  }

  /**
   * A snapshot of the server (AdminService.GetStatus; a full-access token when tokens are set):
   * health, version, uptime, memory by device and kind, durability, parameters, trainers with
   * the workers an open step waits for, recent warnings. `trainer`: only that trainer
   * (NOT_FOUND when it does not exist). See docs/operations.md.
   */
  async status(options: { trainer?: string } = {}): Promise<ServerStatus> {
    const trainer = options.trainer ?? '';
    if (typeof trainer !== 'string') throw invalidArgument(`status(): trainer must be a string, got ${show(trainer)}`);
    const reply = await this.#ch.unary<ServerStatus__Output>((md, o, cb) =>
      this.#ch.admin.getStatus({ trainer }, md, o, cb),
    );
    return statusFromProto(reply);
  }

  /**
   * The trainer `name` as its workers see it (TrainerService.DescribeTrainer, read-only): its
   * parameters, optimizer and settings, step, workers. NOT_FOUND when it does not exist. For
   * tools; workers use their Trainer handle's describe().
   */
  async describeTrainer(name: string): Promise<TrainerDescriptor> {
    if (typeof name !== 'string' || name === '')
      throw invalidArgument(`describeTrainer(): a trainer name must be a non-empty string, got ${show(name)}`);
    const info = await this.#ch.unary<TrainerInfo__Output>((md, o, cb) =>
      this.#ch.trainers.describeTrainer({ name }, md, o, cb),
    );
    return describeTrainerInfo(info);
  }

  /** Every trainer's name and a one-line description (AdminService.ListTrainers), by name. */
  async listTrainers(): Promise<TrainerSummary[]> {
    const reply = await this.#ch.unary<ListTrainersResponse__Output>((md, o, cb) =>
      this.#ch.admin.listTrainers({}, md, o, cb),
    );
    return reply.trainers.map((t) => ({ name: t.name, description: t.description }));
  }

  /**
   * Which shard of which cluster this server is, and the layout (AdminService.DescribeShard); a
   * server started without --num-shards is shard 0 of 1 of cluster 'default'.
   */
  async cluster(): Promise<ClusterDescription> {
    const info = await describeShard(this.#ch);
    return {
      cluster: info.cluster,
      layout: { version: info.layoutVersion, shards: info.numShards, sliceBytes: info.sliceBytes },
      shards: [{ index: info.shardIndex, address: this.#ch.address, serving: info.serving }],
    };
  }

  /** Closes the channel; later calls on this client or its handles reject with CANCELLED. Idempotent. */
  async close(): Promise<void> {
    this.#ch.close();
  }
}
