// client.ts: `ps` on a cluster (connect([...]), static membership). The same methods as one
// server's ParameterServerClient, answered over the shards (client/cluster/shards.ts):
// - parameter(): placed by the layout (common/cluster/placement.ts): declared whole on its home
//   shard, or as a part on every shard holding one (each part's own shape, and where it lies in
//   the whole); constant(): the same, the value cut into the parts' rows;
// - get(): asks the name's home shard, which holds the parameter or a part telling the placement;
// - list(): every shard's parameters, split ones once, in the cluster's declaration order: each
//   declaration carries the highest order this client has seen (`after`) and its shard answers
//   the order it gave the parameter (server/store/order.ts), so one client's declarations list
//   in its order, as one server lists them (docs/cluster.md, "Declaration order");
// - trainer(): client/cluster/trainer.ts; saveParameters / loadParameters are the single
//   server's, through the cluster's handles (handle()); checkpoint(): every shard; cluster():
//   every shard's state and the layout;
//   listTrainers(): every shard's, once each; status() and describeTrainer(): every shard's,
//   merged (status.ts, trainer-merge.ts).
import type { CheckpointResponse__Output } from '../../protos/generated/gluonps/v1/CheckpointResponse';
import type { ListTrainersResponse__Output } from '../../protos/generated/gluonps/v1/ListTrainersResponse';
import type { ServerStatus, TrainerSummary } from '../../common/status';
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { checkpointReason, ParameterServerClient, type CheckpointResult } from '../client';
import {
  checkName,
  describeFromProto,
  dtypeToProto,
  specToProto,
  type ParameterDescriptor,
  type ParameterSpec,
} from '../convert';
import type { Parameter } from '../parameter';
import { tensorBytes, toTensor, type DType, type TensorInput } from '../tensor';
import type { Trainer } from '../trainer';
import type { OptimizerName, OptimizerParams, TrainerDescriptor, TrainerOptions } from '../trainer-types';
import { partShapeOf, splitRows } from './assemble';
import { ClusterParameter } from './parameter';
import type { Shards } from './shards';
import { createClusterTrainer } from './trainer';
import { describeClusterTrainer } from './trainer-merge';
import { clusterStatus } from './status';
import type { ClusterDescription } from './types';

export class ClusterClient extends ParameterServerClient {
  readonly #shards: Shards;

  /** @internal Use connect([...]). */
  constructor(shards: Shards) {
    super(shards.channels[0]!);
    this.#shards = shards;
  }

  /** Every shard's host:port, in shard-index order, comma-separated. */
  override get address(): string {
    return this.#shards.channels.map((c) => c.address).join(',');
  }

  override async parameter(name: string, spec: ParameterSpec = {}): Promise<Parameter> {
    checkName('parameter()', name);
    const proto = specToProto(name, spec);
    const r = this.#shards.plan(
      {
        name,
        // -1 and 0 both mean unknown; the placement is decided on the declared shape.
        shape: proto.shapeUnknown ? null : (proto.shape as number[]).map((d) => Math.max(d, 0)),
        dtype: spec.dtype ?? 'float32',
        stype: spec.stype ?? 'default',
        whole: spec.placement === 'whole',
      },
      false,
    );
    const p = r.placement;
    const after = this.#shards.clock;
    if (p.kind === 'whole') {
      const info = await this.#shards.on(p.home, (ch) =>
        ch.unary<ParameterInfo__Output>((md, o, cb) => ch.parameters.declare({ spec: proto, after }, md, o, cb)),
      );
      this.#shards.observe(info.order);
    } else {
      const full = r.fullShape!;
      const parts = new Map(p.parts.map((part) => [part.shard, part]));
      const infos = await this.#shards.all(
        [...parts.keys()].sort((a, b) => a - b),
        (s, ch) => {
          const part = parts.get(s)!;
          const request = {
            spec: {
              ...proto,
              shape: partShapeOf(full, part),
              part: { fullShape: full, rowStart: part.rowStart, rowStep: part.rowStep, parts: p.parts.length },
            },
            after,
          };
          return ch.unary<ParameterInfo__Output>((md, o, cb) => ch.parameters.declare(request, md, o, cb));
        },
      );
      for (const info of infos) this.#shards.observe(info.order);
    }
    this.#shards.remember(name, r);
    return this.handle(name);
  }

  override async constant(name: string, value: TensorInput): Promise<Parameter> {
    checkName('constant()', name);
    const who = `constant '${name}'`;
    const tensor = toTensor(value, { who: `${who}: value`, nestedDType: 'float32' });
    const dtype = dtypeToProto(who, tensor.dtype);
    const r = this.#shards.plan({ name, shape: tensor.shape, dtype: tensor.dtype as DType, stype: 'default' }, true);
    const p = r.placement;
    const after = this.#shards.clock;
    if (p.kind === 'whole') {
      const bytes = tensorBytes(tensor);
      const header = { shape: tensor.shape, dtype, byteLength: bytes.byteLength };
      const info = await this.#shards.on(p.home, (ch) =>
        ch.push<TensorUpload, ParameterInfo__Output>(
          (md, o, cb) => ch.parameters.declareConstant(md, o, cb),
          { name, header, after },
          bytes,
        ),
      );
      this.#shards.observe(info.order);
    } else {
      const full = r.fullShape!;
      const values = splitRows(p, full, tensor);
      const byShard = new Map(p.parts.map((part, k) => [part.shard, { part, value: values[k]! }]));
      const infos = await this.#shards.all(
        [...byShard.keys()].sort((a, b) => a - b),
        (s, ch) => {
          const { part, value } = byShard.get(s)!;
          const bytes = tensorBytes(value);
          const first: Omit<TensorUpload, 'chunk'> = {
            name,
            header: { shape: value.shape, dtype, byteLength: bytes.byteLength },
            part: { fullShape: full, rowStart: part.rowStart, rowStep: part.rowStep, parts: p.parts.length },
            after,
          };
          return ch.push<TensorUpload, ParameterInfo__Output>(
            (md, o, cb) => ch.parameters.declareConstant(md, o, cb),
            first,
            bytes,
          );
        },
      );
      for (const info of infos) this.#shards.observe(info.order);
    }
    this.#shards.remember(name, r);
    return this.handle(name);
  }

  override async get(name: string): Promise<Parameter> {
    checkName('get()', name);
    const home = this.#shards.home(name);
    const info = await this.#shards.on(home, (ch) =>
      ch.unary<ParameterInfo__Output>((md, o, cb) => ch.parameters.get({ name }, md, o, cb)),
    );
    this.#shards.learn(name, info);
    this.#shards.observe(info.order);
    return this.handle(name);
  }

  /**
   * Every parameter and constant once, in the cluster's declaration order: by the order its home
   * shard gave it, ties (declarations no client saw one after the other) by name. A split
   * parameter is described by its home shard's part, with the whole shape.
   */
  override async list(): Promise<ParameterDescriptor[]> {
    const all = this.#shards.channels.map((_, i) => i);
    const lists = await this.#shards.all(all, (_, ch) =>
      ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb)),
    );
    const described = new Map<string, ParameterInfo__Output>();
    const fromHome = new Set<string>();
    lists.forEach((reply, shard) => {
      for (const info of reply.parameters) {
        const name = info.spec?.name ?? '';
        this.#shards.observe(info.order);
        // The home shard's part describes a split parameter (as describe() does) and orders it.
        if (shard === this.#shards.home(name)) {
          described.set(name, info);
          fromHome.add(name);
        } else if (!described.has(name)) described.set(name, info);
      }
    });
    const order = [...described.keys()].sort((a, b) => {
      const oa = described.get(a)!.order;
      const ob = described.get(b)!.order;
      return oa !== ob ? oa - ob : a < b ? -1 : a > b ? 1 : 0;
    });
    return order.map((name) => {
      const info = described.get(name)!;
      if (fromHome.has(name)) this.#shards.learn(name, info);
      const d = describeFromProto(info);
      const part = info.spec?.part ?? null;
      return part === null ? d : { ...d, shape: [...part.fullShape] };
    });
  }

  override async trainer(
    name: string,
    params: ReadonlyArray<Parameter | string>,
    optimizer: OptimizerName,
    optimizerParams: OptimizerParams = {},
    options: TrainerOptions = {},
  ): Promise<Trainer> {
    return createClusterTrainer(this.#shards, name, params, optimizer, optimizerParams, options);
  }

  /** @internal saveParameters / loadParameters (the single server's) go through these handles. */
  protected override handle(name: string): Parameter {
    return new ClusterParameter(this.#shards, name);
  }

  /** A checkpoint on every shard at once; the result is shard 0's, with every shard's in `shards`. */
  override async checkpoint(options: { reason?: string } = {}): Promise<CheckpointResult> {
    const reason = checkpointReason(options);
    const all = this.#shards.channels.map((_, i) => i);
    const replies = await this.#shards.all(all, (_, ch) =>
      ch.unary<CheckpointResponse__Output>((md, o, cb) => ch.admin.checkpoint({ reason }, md, o, cb)),
    );
    const shards = replies.map((r, index) => ({ index, id: Number(r.id), dataDir: r.dataDir }));
    return { id: shards[0]!.id, dataDir: shards[0]!.dataDir, shards };
  }

  /**
   * The cluster's status: every shard's merged into one ServerStatus, each shard's own in
   * `shards` (client/cluster/status.ts); UNAVAILABLE naming a shard that does not answer.
   */
  override async status(options: { trainer?: string } = {}): Promise<ServerStatus> {
    return clusterStatus(this.#shards, options);
  }

  /** Every shard's description of the trainer, merged as its handles' describe() (trainer-merge.ts). */
  override async describeTrainer(name: string): Promise<TrainerDescriptor> {
    return describeClusterTrainer(this.#shards, name);
  }

  /** Every shard's trainers, each once (a trainer lives on every shard holding one of its parameters), by name. */
  override async listTrainers(): Promise<TrainerSummary[]> {
    const all = this.#shards.channels.map((_, i) => i);
    const replies = await this.#shards.all(all, (_, ch) =>
      ch.unary<ListTrainersResponse__Output>((md, o, cb) => ch.admin.listTrainers({}, md, o, cb)),
    );
    const byName = new Map<string, TrainerSummary>();
    for (const r of replies) for (const t of r.trainers) if (!byName.has(t.name)) byName.set(t.name, { ...t });
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every shard's index, address and whether it serves, and the layout. */
  override async cluster(): Promise<ClusterDescription> {
    return this.#shards.describe(this.#shards.channels[0]!.deadlineMs);
  }

  override async close(): Promise<void> {
    this.#shards.close();
  }
}
