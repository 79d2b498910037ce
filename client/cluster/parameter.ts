// parameter.ts: a Parameter handle on a cluster. Same methods, same answers, same errors as on
// one server (client/parameter.ts); underneath, a parameter placed whole goes to its home shard
// as it is, and a split one (common/cluster/placement.ts) fans out to the shards holding its
// parts in parallel and assembles their answers (client/cluster/assemble.ts):
// - reads (data, list_data, grad, list_grad) join the parts' rows into the whole tensor;
// - writes (set_data) cut the value into the parts' rows; initialize sends every part the same
//   seed (a random one when none is given), and each shard fills its rows with exactly what one
//   server would (server/store/initializers.ts); reset_ctx, zero_grad, cast go to every part;
// - row_sparse_data routes each row id to the part holding it and merges the rows back;
// - describe, list_ctx, var answer from the home shard's part, with the whole shape.
// A description's version is the home part's: every write reaches every part once, so the parts'
// versions move together. Reads of a split parameter join parts of one version: parts read at
// different versions (a step applied on one shard and not yet on another) are read again until
// they agree (#agreed; bounded, see there).
import type { Part } from '../../common/cluster/placement';
import { fmtShape } from '../../common/shape';
import { checkDeclaredShape, rowIdsToProto, type Context, type ParameterDescriptor } from '../convert';
import { GluonPsError, invalidArgument, Status } from '../errors';
import { Parameter, type InitializeOptions, type ReadTensor, type RowSparseTensor, type SymbolVar } from '../parameter';
import { toTensor, type DType, type Tensor, type TensorInput } from '../tensor';
import { joinRows, mergeRows, routeRows, splitRows, partShapeOf, type Split } from './assemble';
import type { Resolved, Shards } from './shards';

/** A random seed in [0, 2^53): one for every part of a split parameter. */
function randomSeed(): number {
  const b = new Uint32Array(2);
  crypto.getRandomValues(b);
  return (b[0]! >>> 11) * 2 ** 32 + b[1]!;
}

/** A read tensor with its version and context as non-enumerable properties (as client/parameter.ts makes them). */
function asRead(t: Tensor, like: ReadTensor): ReadTensor {
  Object.defineProperties(t, {
    version: { value: like.version, enumerable: false },
    ctx: { value: like.ctx, enumerable: false },
  });
  return t as ReadTensor;
}

/** How long a read of a split parameter waits for its parts to reach one version. */
const AGREE_MS = 2_000;

/** MXNet's __shape__ attribute: a Python tuple. */
function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export class ClusterParameter extends Parameter {
  readonly #shards: Shards;

  /** @internal Handles come from the cluster client's parameter / constant / get. */
  constructor(shards: Shards, name: string) {
    super(shards.channels[shards.home(name)]!, name);
    this.#shards = shards;
  }

  #who(r: Resolved): string {
    return `${r.isConstant ? 'constant' : 'parameter'} '${this.name}'`;
  }

  /**
   * Runs `whole` against the home shard when the parameter is whole there, else `split` with
   * the placement; where it lives is looked up once per name.
   */
  async #route<T>(
    whole: (p: Parameter) => Promise<T>,
    split: (r: Resolved & { placement: Split; fullShape: number[] }) => Promise<T>,
  ): Promise<T> {
    const r = await this.#shards.resolve(this.name);
    if (r.placement.kind === 'whole') {
      const home = r.placement.home;
      return this.#shards.on(home, () => whole(this.#shards.handle(home, this.name)));
    }
    return split(r as Resolved & { placement: Split; fullShape: number[] });
  }

  /** `fn` on every part at once, answers in parts order; the failure of the lowest shard wins. */
  async #parts<T>(p: Split, fn: (h: Parameter, part: Part, k: number) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(
      p.parts.map((part, k) =>
        this.#shards.on(part.shard, () => fn(this.#shards.handle(part.shard, this.name), part, k)),
      ),
    );
    let failed: { shard: number; reason: unknown } | null = null;
    settled.forEach((s, k) => {
      const shard = p.parts[k]!.shard;
      if (s.status === 'rejected' && (failed === null || shard < failed.shard)) failed = { shard, reason: s.reason };
    });
    if (failed !== null) throw (failed as { reason: unknown }).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  }

  /**
   * Reads the parts (`read`) until their answers hold one version: a step being applied reaches
   * the shards one after the other, so parts read meanwhile are read again (waits of 5 ms
   * doubling to 200 ms) for up to AGREE_MS. A difference that stays the same that long (a write
   * that failed on some shards left the parts' counts apart) is learnt as the parts' offsets and
   * read as one version from then on (and parts level again for that long forget it); parts whose
   * versions keep advancing (async training: three advances) are joined as read.
   */
  async #agreed<T>(name: string, read: () => Promise<T[]>, versionsOf: (answer: T) => number[]): Promise<T[]> {
    const started = Date.now();
    let seen: { offsets: string; since: number } | null = null;
    let lowest = -Infinity;
    let advanced = 0;
    for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 200)) {
      const answers = await read();
      const versions = answers.map((a) => versionsOf(a));
      // Every context of a part holds one version; parts differ only by their offsets.
      if (versions.some((v) => new Set(v).size > 1) || versions.length === 0) return answers;
      const first = versions[0]![0]!;
      const offsets = versions.map((v) => v[0]! - first).join(',');
      const zeros = versions.map(() => 0).join(',');
      // The parts agree when they stand as they always do: level, or at the offsets learnt.
      if (offsets === (this.#shards.versionOffsets.get(name) ?? zeros)) return answers;
      // Steps landing one after the other (async training): no read finds the parts still.
      const low = Math.min(...versions.map((v) => v[0]!));
      if (low > lowest) {
        if (lowest !== -Infinity) advanced++;
        lowest = low;
      }
      if (advanced >= 3) return answers;
      const now = Date.now();
      if (seen === null || seen.offsets !== offsets) seen = { offsets, since: now };
      if (now - started + waitMs > AGREE_MS) {
        // A difference that held still: the parts' standing offsets from now on (level again: none).
        if (now - seen.since >= AGREE_MS / 2) {
          if (offsets === zeros) this.#shards.versionOffsets.delete(name);
          else this.#shards.versionOffsets.set(name, offsets);
        }
        return answers;
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** The index in p.parts of the part on the home shard (where descriptions come from). */
  #homeIndex(p: Split): number {
    return p.parts.findIndex((part) => part.shard === p.home);
  }

  /** The home part's description with the whole parameter's shape. */
  #merge(r: { placement: Split; fullShape: number[] }, descs: ParameterDescriptor[]): ParameterDescriptor {
    return { ...descs[this.#homeIndex(r.placement)]!, shape: [...r.fullShape] };
  }

  override async initialize(options: InitializeOptions = {}): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.initialize(options),
      async (r) => {
        // One seed for every part, so the parts are rows of one initialization.
        const withSeed =
          typeof options === 'object' && options !== null
            ? { ...options, seed: options.seed ?? randomSeed() }
            : options;
        return this.#merge(r, await this.#parts(r.placement, (h) => h.initialize(withSeed)));
      },
    );
  }

  override async data(ctx?: Context): Promise<ReadTensor> {
    return this.#route(
      (h) => h.data(ctx),
      async (r) => {
        const reads = await this.#agreed(
          this.name,
          () => this.#parts(r.placement, (h) => h.data(ctx)),
          (t) => [t.version],
        );
        return asRead(joinRows(this.name, r.placement, r.fullShape, reads), reads[this.#homeIndex(r.placement)]!);
      },
    );
  }

  override async listData(): Promise<ReadTensor[]> {
    return this.#route(
      (h) => h.listData(),
      async (r) =>
        this.#joinLists(
          r,
          await this.#agreed(
            this.name,
            () => this.#parts(r.placement, (h) => h.listData()),
            (l) => l.map((t) => t.version),
          ),
        ),
    );
  }

  override async grad(ctx?: Context): Promise<ReadTensor> {
    return this.#route(
      (h) => h.grad(ctx),
      async (r) => {
        const reads = await this.#agreed(
          this.name,
          () => this.#parts(r.placement, (h) => h.grad(ctx)),
          (t) => [t.version],
        );
        return asRead(joinRows(this.name, r.placement, r.fullShape, reads), reads[this.#homeIndex(r.placement)]!);
      },
    );
  }

  override async listGrad(): Promise<ReadTensor[]> {
    return this.#route(
      (h) => h.listGrad(),
      async (r) =>
        this.#joinLists(
          r,
          await this.#agreed(
            this.name,
            () => this.#parts(r.placement, (h) => h.listGrad()),
            (l) => l.map((t) => t.version),
          ),
        ),
    );
  }

  /** Per context, the parts' copies joined. */
  #joinLists(r: { placement: Split; fullShape: number[] }, lists: ReadTensor[][]): ReadTensor[] {
    const home = lists[this.#homeIndex(r.placement)]!;
    if (lists.some((l) => l.length !== home.length))
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `parameter '${this.name}': its parts have copies on different numbers of contexts (${lists.map((l) => l.length).join(', ')})`,
      );
    return home.map((like, c) =>
      asRead(
        joinRows(
          this.name,
          r.placement,
          r.fullShape,
          lists.map((l) => l[c]!),
        ),
        like,
      ),
    );
  }

  override async listCtx(): Promise<Context[]> {
    return this.#route(
      (h) => h.listCtx(),
      (r) => this.#shards.on(r.placement.home, () => this.#shards.handle(r.placement.home, this.name).listCtx()),
    );
  }

  override async resetCtx(ctx: Context | readonly Context[]): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.resetCtx(ctx),
      async (r) => this.#merge(r, await this.#parts(r.placement, (h) => h.resetCtx(ctx))),
    );
  }

  override async setData(value: TensorInput): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.setData(value),
      async (r) => {
        const who = this.#who(r);
        const tensor = toTensor(value, { who: `${who}: setData value`, nestedDType: 'float64' });
        // What one server answers a value of another shape (server/store/spec.ts, mergeShape).
        if (fmtShape(tensor.shape) !== fmtShape(r.fullShape))
          throw invalidArgument(`${who}: shape ${fmtShape(tensor.shape)} does not match ${fmtShape(r.fullShape)}`);
        const parts = splitRows(r.placement, r.fullShape, tensor);
        return this.#merge(r, await this.#parts(r.placement, (h, _part, k) => h.setData(parts[k]!)));
      },
    );
  }

  override async rowSparseData(rowIds: ArrayLike<number | bigint>, ctx?: Context): Promise<RowSparseTensor> {
    return this.#route(
      (h) => h.rowSparseData(rowIds, ctx),
      async (r) => (await this.#rows(r, rowIds, (h, ids) => h.rowSparseData(ids, ctx).then((t) => [t])))[0]!,
    );
  }

  override async listRowSparseData(rowIds: ArrayLike<number | bigint>): Promise<RowSparseTensor[]> {
    return this.#route(
      (h) => h.listRowSparseData(rowIds),
      (r) => this.#rows(r, rowIds, (h, ids) => h.listRowSparseData(ids)),
    );
  }

  /**
   * Row reads of a split parameter: each id to the part holding it, the parts' rows merged per
   * context. Only a row_sparse parameter is split by rows; a sliced (dense) one goes to its home
   * part, which refuses row reads as one server does.
   */
  async #rows(
    r: Resolved & { placement: Split; fullShape: number[] },
    rowIds: ArrayLike<number | bigint>,
    read: (h: Parameter, ids: number[]) => Promise<RowSparseTensor[]>,
  ): Promise<RowSparseTensor[]> {
    const who = this.#who(r);
    const home = r.placement.home;
    const atHome = (ids: ArrayLike<number | bigint>): Promise<RowSparseTensor[]> =>
      this.#shards.on(home, () => read(this.#shards.handle(home, this.name), Array.from(ids, Number)));
    if (r.placement.kind === 'slices') return atHome(rowIdsToProto(who, rowIds));
    const ids = rowIdsToProto(who, rowIds);
    const rows = r.fullShape[0]!;
    const bad = ids.findIndex((id) => id < 0 || id >= rows);
    if (bad >= 0) {
      // One server checks the storage type, the context and initialization first.
      await atHome([]);
      throw invalidArgument(`${who}: row id ${String(rowIds[bad])} at position ${bad} is out of range [0, ${rows})`);
    }
    if (ids.length === 0) return atHome([]);
    const routed = routeRows(r.placement, ids);
    const asked = r.placement.parts
      .map((part, k) => ({ part, local: routed[k]!.local }))
      .filter((a) => a.local.length > 0);
    const answers = await this.#agreed(
      // Offsets learnt over these parts only.
      `${this.name}#${asked.map((a) => a.part.shard).join(',')}`,
      async () => {
        const settled = await Promise.allSettled(
          asked.map((a) =>
            this.#shards.on(a.part.shard, () => read(this.#shards.handle(a.part.shard, this.name), a.local)),
          ),
        );
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.map((s) => (s as PromiseFulfilledResult<RowSparseTensor[]>).value);
      },
      (l) => l.map((t) => t.version),
    );
    const first = answers[0]!;
    return first.map((like, c) => {
      const dtype: DType = like.values.dtype;
      const merged = mergeRows(
        r.fullShape,
        dtype,
        answers.map((a, i) => ({ part: asked[i]!.part, indices: a[c]!.indices, values: a[c]!.values })),
      );
      return { indices: merged.indices, values: merged.values, version: like.version, ctx: like.ctx };
    });
  }

  override async zeroGrad(): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.zeroGrad(),
      async (r) => this.#merge(r, await this.#parts(r.placement, (h) => h.zeroGrad())),
    );
  }

  override async cast(dtype: DType): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.cast(dtype),
      async (r) => this.#merge(r, await this.#parts(r.placement, (h) => h.cast(dtype))),
    );
  }

  override async var(): Promise<SymbolVar> {
    return this.#route(
      (h) => h.var(),
      async (r) => {
        const v = await this.#shards.on(r.placement.home, () => this.#shards.handle(r.placement.home, this.name).var());
        return { name: v.name, attrs: { ...v.attrs, __shape__: pyTuple(r.fullShape) } };
      },
    );
  }

  override async describe(): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.describe(),
      async (r) => {
        const d = await this.#shards.on(r.placement.home, () =>
          this.#shards.handle(r.placement.home, this.name).describe(),
        );
        return { ...d, shape: [...r.fullShape] };
      },
    );
  }

  override async setShape(shape: number | readonly number[]): Promise<ParameterDescriptor> {
    return this.#route(
      (h) => h.setShape(shape),
      async (r) => {
        const who = this.#who(r);
        // A split parameter's shape is fully known: only the same shape is accepted (-1 reads 0).
        const next = checkDeclaredShape(who, shape).map((d) => (d === -1 ? 0 : d));
        if (fmtShape(next) !== fmtShape(r.fullShape))
          throw invalidArgument(`${who}: shape ${fmtShape(next)} does not match ${fmtShape(r.fullShape)}`);
        return this.#merge(r, await this.#parts(r.placement, (h, part) => h.setShape(partShapeOf(r.fullShape, part))));
      },
    );
  }
}
