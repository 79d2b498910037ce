// states.ts: a cluster trainer's optimizer states in one server's snapshot format (GPSSTAT1,
// common/formats/states.ts), so a snapshot moves between one server and clusters of any size.
// Every optimizer state tensor is shaped like its weight and updated elementwise (LAMB, the one
// that reads whole-tensor norms, never has split parameters: placement.ts), so a split
// parameter's states are rows of the whole parameter's, laid out as its values are
// (assemble.ts: contiguous axis-0 slices, or rows r mod N).
// - saving: each shard's own snapshot is read, a whole parameter's states taken as they are
//   and a split one's joined from its parts' rows, with the whole shape, in the trainer's order;
// - loading: a snapshot (one server's or any cluster's) is checked against the trainer the way
//   one server checks it (same order, same words), all before any shard is sent anything, then
//   cut into what each shard's own saveStates would have given, to load on every shard;
// - an old cluster snapshot ("GPSCLUS1": every shard's snapshot concatenated) still loads into
//   a trainer on the same shards.
import { maxStatesBytes, readStates, writeStates } from '../../common/formats/states';
import type { SavedParamStates, SavedStates } from '../../common/formats/states';
import type { Part } from '../../common/cluster/placement';
import { dtypeSize } from '../../common/dtype';
import type { OptimizerName, OptimizerParams } from '../../common/optimizer/optimizer-spec';
import { optimizerStateTensors } from '../../common/optimizer/state-count';
import { GluonPsError, invalidArgument, Status } from '../errors';
import { describeFromProto, type Context, type ParameterDescriptor } from '../convert';
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import type { Split } from './assemble';
import type { Resolved, Shards } from './shards';
import type { TrainerDescriptor } from '../trainer-types';

// --- Rows -----------------------------------------------------------------------------------------

/** `part`'s rows of a whole tensor of `rowBytes`-byte rows: a view for a slice, a copy for rows r mod N. */
export function cutRowBytes(whole: Uint8Array, rowBytes: number, part: Part): Uint8Array {
  if (part.rowStep === 1) return whole.subarray(part.rowStart * rowBytes, (part.rowStart + part.rows) * rowBytes);
  const out = new Uint8Array(part.rows * rowBytes);
  for (let j = 0; j < part.rows; j++) {
    const from = (part.rowStart + j * part.rowStep) * rowBytes;
    out.set(whole.subarray(from, from + rowBytes), j * rowBytes);
  }
  return out;
}

/** The whole tensor from its parts' rows (`parts` in placement order, each its part's rows). */
export function joinRowBytes(p: Split, rowBytes: number, parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(p.rows * rowBytes);
  p.parts.forEach((part, k) => {
    const bytes = parts[k]!;
    if (part.rowStep === 1) out.set(bytes, part.rowStart * rowBytes);
    else
      for (let j = 0; j < part.rows; j++)
        out.set(bytes.subarray(j * rowBytes, (j + 1) * rowBytes), (part.rowStart + j * part.rowStep) * rowBytes);
  });
  return out;
}

/** A states layout as the server writes it (server/trainer/trainer-states.ts statesLayout). */
export function statesLayoutOf(ctx: readonly Context[], dtype: string, shape: readonly number[]): string {
  return `${ctx.map((c) => `${c.deviceType}(${c.deviceId})`).join(',')}|${dtype}|${shape.join(',')}`;
}

/** The contexts part of a layout ("cpu(0),cpu(1)"): device keys hold no '|'. */
function contextsOf(layout: string): string {
  return layout.slice(0, layout.indexOf('|'));
}

// --- Saving ---------------------------------------------------------------------------------------

const differ = (who: string, what: string): GluonPsError =>
  new GluonPsError(
    Status.FAILED_PRECONDITION,
    `${who}: the shards' copies of this trainer differ (${what}), so they make no one snapshot (docs/cluster.md)`,
  );

/**
 * One server's snapshot of the trainer from its shards' own (`snapshots`, by shard index): the
 * header of the lowest shard (all must agree on optimizer, step and learning rate), every
 * parameter that has states in the trainer's order (`params`), a split one's joined.
 */
export function assembleStates(
  who: string,
  params: readonly string[],
  plans: ReadonlyMap<string, Resolved>,
  snapshots: ReadonlyMap<number, SavedStates>,
): SavedStates {
  const shards = [...snapshots.keys()].sort((a, b) => a - b);
  const first = snapshots.get(shards[0]!)!;
  for (const s of shards) {
    const x = snapshots.get(s)!;
    if (x.optimizer !== first.optimizer || x.step !== first.step || !Object.is(x.learningRate, first.learningRate))
      throw differ(
        who,
        `shard ${shards[0]}: ${first.optimizer} at step ${first.step}, learning rate ${first.learningRate}; shard ${s}: ${x.optimizer} at step ${x.step}, learning rate ${x.learningRate}`,
      );
  }
  const byShard = new Map(shards.map((s) => [s, new Map(snapshots.get(s)!.params.map((p) => [p.name, p]))]));
  const out: SavedParamStates[] = [];
  for (const name of params) {
    const r = plans.get(name)!;
    if (r.placement.kind === 'whole') {
      const p = byShard.get(r.placement.home)?.get(name);
      if (p !== undefined) out.push(p);
      continue;
    }
    const placement = r.placement;
    const parts = placement.parts.map((part) => byShard.get(part.shard)?.get(name));
    const having = placement.parts.filter((_, k) => parts[k] !== undefined).map((part) => part.shard);
    if (having.length === 0) continue;
    if (having.length !== parts.length)
      throw differ(
        who,
        `parameter '${name}' has optimizer states on shard${having.length > 1 ? 's' : ''} ${having.join(', ')} but not on ${placement.parts
          .map((part) => part.shard)
          .filter((s) => !having.includes(s))
          .join(', ')}`,
      );
    out.push(joinParam(who, name, placement, r.fullShape!, parts as SavedParamStates[]));
  }
  return {
    trainer: first.trainer,
    optimizer: first.optimizer,
    step: first.step,
    learningRate: first.learningRate,
    params: out,
  };
}

/** A split parameter's states joined from its parts' (placement order). */
function joinParam(
  who: string,
  name: string,
  placement: Split,
  fullShape: readonly number[],
  parts: readonly SavedParamStates[],
): SavedParamStates {
  const head = parts[0]!;
  const shape = (p: SavedParamStates): string => p.tensors.map((l) => l.length).join(',');
  parts.forEach((p, k) => {
    const shard = placement.parts[k]!.shard;
    const at = `parameter '${name}' on shard ${placement.parts[0]!.shard} and on shard ${shard}`;
    if (p.count !== head.count) throw differ(who, `${at}: ${head.count} and ${p.count} updates`);
    if (p.dtype !== head.dtype || contextsOf(p.layout) !== contextsOf(head.layout) || shape(p) !== shape(head))
      throw differ(who, `${at}: states for ${head.layout} and ${p.layout}`);
  });
  const tensors = head.tensors.map((list, c) =>
    list.map((_, k) => {
      const bytes = parts.map((p) => p.tensors[c]![k]!);
      const rowBytes = bytes[0]!.byteLength / placement.parts[0]!.rows;
      placement.parts.forEach((part, i) => {
        if (bytes[i]!.byteLength !== part.rows * rowBytes)
          throw differ(
            who,
            `parameter '${name}' on shard ${part.shard}: a state of ${bytes[i]!.byteLength} bytes for ${part.rows} rows of ${rowBytes} bytes`,
          );
      });
      return joinRowBytes(placement, rowBytes, bytes);
    }),
  );
  return {
    name,
    layout: `${contextsOf(head.layout)}|${head.dtype}|${fullShape.join(',')}`,
    count: head.count,
    dtype: head.dtype,
    shape: [...fullShape],
    tensors,
  };
}

/** saveStates() of a cluster trainer: one server's bytes from its shards' snapshots. */
export function saveClusterStates(
  who: string,
  params: readonly string[],
  plans: ReadonlyMap<string, Resolved>,
  blobs: ReadonlyMap<number, Uint8Array>,
): Buffer {
  const snapshots = new Map(
    [...blobs].map(([s, b]) => [s, readStates(`${who} (shard ${s})`, b, (m) => new GluonPsError(Status.INTERNAL, m))]),
  );
  return writeStates(assembleStates(who, params, plans, snapshots));
}

// --- Loading --------------------------------------------------------------------------------------

/** What loading needs to know of one of the trainer's parameters: its placement and each part's description. */
export interface ParamTarget {
  name: string;
  resolved: Resolved;
  /** Per shard holding it (the home shard for a whole one): its description there. */
  parts: ReadonlyMap<number, ParameterDescriptor>;
}

/** What one server's loadStates checks the snapshot against (server/trainer/trainer-states.ts). */
export interface LoadTarget {
  who: string;
  /** The trainer's name and its parameters, in its order. */
  name: string;
  params: readonly string[];
  optimizer: { name: OptimizerName; params: OptimizerParams };
  targets: ReadonlyMap<string, ParamTarget>;
  /** Every shard the trainer lives on, ascending. */
  shards: readonly number[];
}

/** The home description (where a whole parameter lives, or a split one's home part) with the whole shape. */
function wholeOf(t: ParamTarget): ParameterDescriptor {
  const r = t.resolved;
  const home = t.parts.get(r.placement.home)!;
  return r.fullShape === null ? home : { ...home, shape: [...r.fullShape] };
}

/**
 * Checks `bytes` against the trainer as one server does, in its order and with its words:
 * the size bound, the format, the optimizer, each parameter (one of the trainer's, initialized
 * on every shard holding it, the same contexts, dtype and shape), each tensor's size. Throws
 * before anything is sent; returns the snapshot.
 */
export function checkStates(t: LoadTarget, bytes: Uint8Array): SavedStates {
  const perContext = optimizerStateTensors(t.optimizer.name, t.optimizer.params);
  const initialized = [...t.targets.values()].filter((p) => [...p.parts.values()].every((d) => d.initialized));
  const shapes = initialized.map((p) => {
    const d = wholeOf(p);
    return {
      name: p.name,
      layout: statesLayoutOf(d.ctx, d.dtype, d.shape ?? []),
      contexts: d.ctx.length,
      perContext,
      tensorBytes: (d.shape ?? []).reduce((a, b) => a * b, 1) * dtypeSize(d.dtype),
    };
  });
  const most = maxStatesBytes(shapes);
  if (bytes.byteLength > most)
    throw invalidArgument(
      `${t.who}: a states snapshot of ${bytes.byteLength} bytes is larger than its optimizer states can be (at most ${most} bytes for its initialized parameters)`,
    );
  const saved = readStates(t.who, bytes, invalidArgument);
  if (saved.optimizer !== t.optimizer.name)
    throw invalidArgument(
      `${t.who}: states were saved for optimizer ${saved.optimizer}, this trainer uses ${t.optimizer.name}`,
    );
  const layouts = new Map<string, { tensorBytes: number; contexts: number }>();
  for (const p of saved.params) {
    const target = t.targets.get(p.name);
    if (!t.params.includes(p.name) || target === undefined)
      throw invalidArgument(`${t.who}: states name parameter '${p.name}', which is not one of its parameters`);
    if (![...target.parts.values()].every((d) => d.initialized))
      throw new GluonPsError(
        Status.FAILED_PRECONDITION,
        `${t.who}: parameter '${p.name}' must be initialized before loading its optimizer states`,
      );
    const d = wholeOf(target);
    // Every part must be where and what the home part is, or its shard would refuse its cut
    // after others loaded theirs.
    const where = (x: typeof d): string =>
      `${x.dtype} on ${x.ctx.map((c) => `${c.deviceType}(${c.deviceId})`).join(', ')}`;
    for (const [shard, part] of target.parts)
      if (where(part) !== where(d))
        throw new GluonPsError(
          Status.FAILED_PRECONDITION,
          `${t.who}: parameter '${p.name}' has parts on different contexts or dtypes (shard ${shard}: ${where(part)}; its home part: ${where(d)}); set them alike (resetCtx, cast) before loading its optimizer states`,
        );
    const shape = d.shape ?? [];
    const layout = statesLayoutOf(d.ctx, d.dtype, shape);
    if (layout !== p.layout)
      throw invalidArgument(
        `${t.who}: states of '${p.name}' were saved for ${p.layout}, the parameter is now ${layout}`,
      );
    layouts.set(p.name, {
      tensorBytes: shape.reduce((a, b) => a * b, 1) * dtypeSize(d.dtype),
      contexts: d.ctx.length,
    });
  }
  for (const p of saved.params) {
    const { tensorBytes, contexts } = layouts.get(p.name)!;
    const sizes = Array.from({ length: contexts }, () => Array.from({ length: perContext }, () => tensorBytes));
    const got = p.tensors.map((list) => list.map((x) => x.byteLength));
    if (JSON.stringify(sizes) !== JSON.stringify(got))
      throw invalidArgument(
        `${t.who}: states of '${p.name}' hold tensors of ${JSON.stringify(got)} bytes, this optimizer keeps ${JSON.stringify(sizes)}`,
      );
  }
  return saved;
}

/**
 * A checked snapshot cut into each shard's own (what that shard's saveStates would give: its
 * parameters and parts, in the trainer's order, with their own shapes and contexts), by shard.
 * Every shard gets one, with the step and learning rate, even one holding none of the states.
 */
export function cutStates(t: LoadTarget, saved: SavedStates): Map<number, SavedStates> {
  const out = new Map<number, SavedParamStates[]>(t.shards.map((s) => [s, []]));
  const order = new Map(t.params.map((n, i) => [n, i]));
  const params = [...saved.params].sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  for (const p of params) {
    const target = t.targets.get(p.name)!;
    const placement = target.resolved.placement;
    // dtype and shape as the shard writes them (one server reads neither field: the layout says both).
    if (placement.kind === 'whole') {
      const d = target.parts.get(placement.home)!;
      out.get(placement.home)!.push({ ...p, dtype: d.dtype, shape: [...(d.shape ?? [])] });
      continue;
    }
    const full = target.resolved.fullShape!;
    const rowBytes = (p.tensors[0]?.[0]?.byteLength ?? 0) / full[0]!;
    for (const part of placement.parts) {
      const d = target.parts.get(part.shard)!;
      const shape = [part.rows, ...full.slice(1)];
      out.get(part.shard)!.push({
        name: p.name,
        layout: statesLayoutOf(d.ctx, d.dtype, shape),
        count: p.count,
        dtype: d.dtype,
        shape,
        tensors: p.tensors.map((list) => list.map((x) => cutRowBytes(x, rowBytes, part))),
      });
    }
  }
  return new Map(
    [...out].map(([s, list]) => [
      s,
      { trainer: t.name, optimizer: saved.optimizer, step: saved.step, learningRate: saved.learningRate, params: list },
    ]),
  );
}

/**
 * What loadStates sends each shard (by shard index) for `bytes`: the trainer's optimizer and
 * every shard's parameter descriptions asked first (one List per shard), then the whole
 * snapshot checked, then cut.
 */
export async function statesForShards(
  shards: Shards,
  t: Omit<LoadTarget, 'optimizer' | 'targets'> & { plans: ReadonlyMap<string, Resolved> },
  describeTrainer: () => Promise<TrainerDescriptor>,
  bytes: Uint8Array,
): Promise<Map<number, Uint8Array>> {
  const [trainer, lists] = await Promise.all([
    describeTrainer(),
    shards.all(t.shards, (_, ch) => ch.unary<ListResponse__Output>((md, o, cb) => ch.parameters.list({}, md, o, cb))),
  ]);
  const held = new Map(
    t.shards.map((s, i) => [s, new Map(lists[i]!.parameters.map((info) => [info.spec?.name ?? '', info]))]),
  );
  const targets = new Map<string, ParamTarget>();
  for (const name of t.params) {
    const resolved = t.plans.get(name)!;
    const p = resolved.placement;
    const parts = new Map<number, ParameterDescriptor>();
    for (const shard of p.kind === 'whole' ? [p.home] : p.parts.map((x) => x.shard)) {
      const info = held.get(shard)?.get(name);
      if (info === undefined)
        throw new GluonPsError(
          Status.FAILED_PRECONDITION,
          `${t.who}: parameter '${name}' is not declared on shard ${shard}, which should hold ${p.kind === 'whole' ? 'it' : 'a part of it'} (docs/cluster.md)`,
        );
      parts.set(shard, describeFromProto(info));
    }
    targets.set(name, { name, resolved, parts });
  }
  const target: LoadTarget = { ...t, optimizer: trainer.optimizer, targets };
  const saved = checkStates(target, bytes);
  return new Map([...cutStates(target, saved)].map(([s, states]) => [s, writeStates(states)]));
}

// --- Old cluster snapshots ----------------------------------------------------------------------

// "GPSCLUS1", a uint32 LE byte length, that many bytes of JSON { trainer, shards: [{ index,
// bytes }] }, then each shard's own snapshot in that order: what saveStates returned before
// cluster snapshots were one server's. Read only.
const CLUSTER_MAGIC = Buffer.from('GPSCLUS1', 'latin1');

/** Is it an old cluster snapshot? */
export function isClusterBundle(bytes: Uint8Array): boolean {
  return bytes.byteLength >= CLUSTER_MAGIC.length && CLUSTER_MAGIC.equals(bytes.subarray(0, CLUSTER_MAGIC.length));
}

/** An old cluster snapshot's per-shard snapshots; only for a trainer on the very shards it was saved on. */
export function readClusterBundle(who: string, states: Uint8Array, shards: readonly number[]): Map<number, Uint8Array> {
  const buf = Buffer.from(states.buffer, states.byteOffset, states.byteLength);
  const bad = (why: string): never => {
    throw invalidArgument(`${who}: not a saved optimizer-state snapshot: ${why}`);
  };
  if (buf.byteLength < 12) bad('an old cluster (GPSCLUS1) snapshot cut short');
  const length = buf.readUInt32LE(8);
  if (12 + length > buf.byteLength) bad('the header of an old cluster (GPSCLUS1) snapshot is cut short');
  let header: { shards?: Array<{ index: number; bytes: number }> };
  try {
    header = JSON.parse(buf.subarray(12, 12 + length).toString('utf8')) as typeof header;
  } catch {
    return bad('the header of an old cluster (GPSCLUS1) snapshot is not JSON');
  }
  const list = Array.isArray(header?.shards)
    ? header.shards
    : bad('an old cluster (GPSCLUS1) snapshot lists no shards');
  const indices = list.map((s) => s?.index);
  if (!indices.every((i) => Number.isSafeInteger(i)))
    bad('an old cluster (GPSCLUS1) snapshot names a shard that is not a number');
  if (indices.length !== shards.length || indices.some((i, k) => i !== shards[k]))
    throw invalidArgument(
      `${who}: an old cluster (GPSCLUS1) snapshot saved on shards [${indices.join(', ')}] loads only into a trainer on the same shards, and this one lives on shards [${shards.join(', ')}]; load it where it was saved and save it again (saveStates() now writes one server's format, which loads into one server or a cluster of any size)`,
    );
  const out = new Map<number, Uint8Array>();
  let offset = 12 + length;
  for (const s of list) {
    if (!Number.isSafeInteger(s.bytes) || s.bytes < 0 || offset + s.bytes > buf.byteLength)
      bad('an old cluster (GPSCLUS1) snapshot is cut short');
    out.set(s.index, buf.subarray(offset, offset + s.bytes));
    offset += s.bytes;
  }
  if (offset !== buf.byteLength) bad(`${buf.byteLength - offset} bytes follow the last shard's snapshot`);
  return out;
}
