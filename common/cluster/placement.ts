// placement.ts: where each parameter of a cluster lives: a pure function of (name, declared
// shape, dtype, stype, whether it must stay whole, shard count, layout), computed the same way
// by every client, so no shard and no coordinator has to be asked (docs/cluster.md, "Placement").
//
// Layout version 1:
// - small dense tensors (at most `sliceBytes`) whole on the name's home shard, a stable hash;
// - dense tensors over `sliceBytes` cut along axis 0 into S = min(N, ceil(bytes / sliceBytes),
//   rows) contiguous slices of as equal row counts as can be, slice k on shard (home + k) mod N,
//   so one shard holds at most one slice of a parameter and big tensors spread over all shards;
// - row_sparse parameters by row id: row r on shard r mod N (hot ids spread), when there are at
//   least N rows;
// - whole on the home shard, whatever the size: a parameter whose declared shape is not fully
//   known (deferred initialization: placement is decided at declaration and never moves), one
//   whose optimizer needs whole-tensor norms (LAMB: `whole`), a scalar, a single-row tensor,
//   a row_sparse one with fewer rows than shards, and everything when N = 1.
// Every part of a split parameter is "rows rowStart + j * rowStep of the full tensor" (slices:
// rowStep 1; row_sparse: rowStart = shard, rowStep = N), which is all a shard needs to know.
import { dtypeSize, type DType } from '../dtype';
import { fmtShape } from '../shape';
import { StatusError } from '../status-error';
import { status } from '@grpc/grpc-js';

/** The placement rules above; a client and a server that disagree on it refuse each other's calls. */
export const LAYOUT_VERSION = 1;
/** Dense tensors over this many bytes are sliced (BytePS partitions at ~4 MB). */
export const DEFAULT_SLICE_BYTES = 4 * 2 ** 20;
/** Most shards a cluster may have. */
export const MAX_SHARDS = 4096;
/** Optimizers whose update reads norms of the whole tensor: their parameters are never split. */
export const WHOLE_TENSOR_OPTIMIZERS: ReadonlySet<string> = new Set(['lamb']);

export interface Layout {
  version: number;
  /** Shards in the cluster, N. */
  shards: number;
  /** Dense tensors over this many bytes are sliced. */
  sliceBytes: number;
}

export interface PlacementInput {
  name: string;
  /** The declared shape; null, or a dim of 0, is not fully known. */
  shape: readonly number[] | null;
  dtype: DType;
  stype: 'default' | 'row_sparse';
  /** Keep it whole: its optimizer needs whole-tensor norms (LAMB). */
  whole?: boolean;
}

/** Rows rowStart + j * rowStep (0 <= j < rows) of the full tensor, held by `shard`. */
export interface Part {
  shard: number;
  rowStart: number;
  rowStep: number;
  rows: number;
}

export type Placement =
  | { kind: 'whole'; home: number }
  /** Contiguous axis-0 slices, in row order (parts[k].rowStart ascending). */
  | { kind: 'slices'; home: number; rows: number; parts: Part[] }
  /** Row r on shard r mod N; parts[i] is shard i's. */
  | { kind: 'rows'; home: number; rows: number; parts: Part[] };

const precondition = (message: string): StatusError => new StatusError(status.FAILED_PRECONDITION, message);

/** Throws unless `layout` is one this code places by. */
export function checkLayout(who: string, layout: Layout): Layout {
  if (layout.version !== LAYOUT_VERSION)
    throw precondition(
      `${who}: layout version ${layout.version} is not known here (this code places by version ${LAYOUT_VERSION})`,
    );
  if (!Number.isInteger(layout.shards) || layout.shards < 1 || layout.shards > MAX_SHARDS)
    throw precondition(`${who}: a cluster has 1 to ${MAX_SHARDS} shards, got ${layout.shards}`);
  if (!Number.isSafeInteger(layout.sliceBytes) || layout.sliceBytes < 1)
    throw precondition(`${who}: the slice size must be a positive number of bytes, got ${layout.sliceBytes}`);
  return layout;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const utf8 = new TextEncoder();

/** FNV-1a, 64 bits, of the name's UTF-8 bytes. */
export function fnv1a64(name: string): bigint {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(name)) h = ((h ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  return h;
}

/**
 * The name's home shard: FNV-1a, then splitmix64's finalizer (FNV-1a's low bits follow the last
 * bytes closely, so "layer1_w", "layer2_w", ... would land in a pattern mod N), mod N.
 */
export function homeShard(name: string, shards: number): number {
  let z = fnv1a64(name);
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  z ^= z >> 31n;
  return Number(z % BigInt(shards));
}

function known(shape: readonly number[] | null): shape is readonly number[] {
  return shape !== null && shape.every((d) => d > 0);
}

/** Bytes of a tensor of a known shape. */
export function tensorBytesOf(shape: readonly number[], dtype: DType): number {
  return shape.reduce((a, b) => a * b, 1) * dtypeSize(dtype);
}

/** Where the parameter lives. Pure: every client computes the same answer. */
export function place(input: PlacementInput, layout: Layout): Placement {
  const { shards: n, sliceBytes } = checkLayout(`parameter '${input.name}'`, layout);
  const home = homeShard(input.name, n);
  const shape = input.shape;
  if (n === 1 || input.whole === true || !known(shape) || shape.length === 0) return { kind: 'whole', home };
  const rows = shape[0]!;
  if (input.stype === 'row_sparse') return rows < n ? { kind: 'whole', home } : byRowId(home, rows, n);
  const count = Math.min(n, rows, Math.ceil(tensorBytesOf(shape, input.dtype) / sliceBytes));
  return count <= 1 ? { kind: 'whole', home } : sliced(home, rows, count, n);
}

/** `rows` rows, row r on shard r mod n. */
function byRowId(home: number, rows: number, n: number): Placement {
  const parts = Array.from({ length: n }, (_, i) => ({
    shard: i,
    rowStart: i,
    rowStep: n,
    rows: Math.ceil((rows - i) / n),
  }));
  return { kind: 'rows', home, rows, parts };
}

/** `rows` rows in `count` contiguous slices of as equal sizes as can be, slice k on shard (home + k) mod n. */
function sliced(home: number, rows: number, count: number, n: number): Placement {
  const parts: Part[] = [];
  const base = Math.floor(rows / count);
  const extra = rows % count;
  let start = 0;
  for (let k = 0; k < count; k++) {
    const r = base + (k < extra ? 1 : 0);
    parts.push({ shard: (home + k) % n, rowStart: start, rowStep: 1, rows: r });
    start += r;
  }
  return { kind: 'slices', home, rows, parts };
}

/** What a shard reports of its part of a split parameter (ParameterPart). */
export interface ReportedPart {
  fullShape: readonly number[];
  rowStart: number;
  rowStep: number;
  /** How many parts the whole is split into. */
  parts: number;
}

/**
 * The placement of a parameter another client declared, from what its home shard holds (null:
 * the whole parameter). Placement depends on the declared dtype, which a cast may have changed
 * since, so it is rebuilt from the part rather than computed again. Throws FAILED_PRECONDITION
 * when the part fits no placement of this layout.
 */
export function placementFromPart(name: string, layout: Layout, part: ReportedPart | null): Placement {
  const { shards: n } = checkLayout(`parameter '${name}'`, layout);
  const home = homeShard(name, n);
  if (part === null) return { kind: 'whole', home };
  const rows = part.fullShape[0] ?? 0;
  const p =
    part.rowStep === 1
      ? part.parts >= 2 && part.parts <= Math.min(n, rows)
        ? sliced(home, rows, part.parts, n)
        : null
      : part.rowStep === n && part.parts === n && rows >= n
        ? byRowId(home, rows, n)
        : null;
  const mine = p === null ? null : partOn(p, home);
  if (p === null || mine === null || mine.rowStart !== part.rowStart || mine.rowStep !== part.rowStep)
    throw precondition(
      `parameter '${name}': shard ${home} holds rows ${part.rowStart}+${part.rowStep}j of ${fmtShape(part.fullShape)} in ${part.parts} parts, which no placement of ${n} shards gives (layout ${layout.version}); it was declared by a client of another layout`,
    );
  return p;
}

/** The shards holding some of the parameter, ascending. */
export function shardsOf(p: Placement): number[] {
  if (p.kind === 'whole') return [p.home];
  return p.parts.map((part) => part.shard).sort((a, b) => a - b);
}

/** The part held by `shard`, or null (whole placements have none: the home shard holds it all). */
export function partOn(p: Placement, shard: number): Part | null {
  if (p.kind === 'whole') return null;
  return p.parts.find((part) => part.shard === shard) ?? null;
}

/** A part's own shape: its rows, then the full shape's other dims. */
export function partShape(fullShape: readonly number[], part: Part): number[] {
  return [part.rows, ...fullShape.slice(1)];
}

/** Which part holds global row `row` (in range), and the row's index within it. */
export function locateRow(p: Exclude<Placement, { kind: 'whole' }>, row: number): { part: Part; local: number } {
  if (p.kind === 'rows') {
    const part = p.parts[row % p.parts.length]!;
    return { part, local: Math.floor(row / part.rowStep) };
  }
  // Slices are few (at most N) and ascending: a binary search.
  let lo = 0;
  let hi = p.parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (p.parts[mid]!.rowStart <= row) lo = mid;
    else hi = mid - 1;
  }
  const part = p.parts[lo]!;
  return { part, local: row - part.rowStart };
}

/** Bytes each shard holds of the parameter (for balance reports and tests); unknown shapes count 0. */
export function bytesPerShard(input: PlacementInput, layout: Layout): number[] {
  const out = new Array<number>(layout.shards).fill(0);
  const p = place(input, layout);
  if (!known(input.shape)) return out;
  if (p.kind === 'whole') {
    out[p.home] = tensorBytesOf(input.shape, input.dtype);
    return out;
  }
  const rowBytes = tensorBytesOf(input.shape.slice(1), input.dtype);
  for (const part of p.parts) out[part.shard]! += part.rows * rowBytes;
  return out;
}
