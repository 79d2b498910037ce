// Seeded synthetic data for the demo: a small PRNG, the MLP's classification set (Gaussian
// blobs, two per class so a linear model cannot separate them) and matrix factorisation's
// low-rank ratings. Everything is a pure function of its seed, so every worker process builds
// the same global set and keeps only its shard (no data is sent around).

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG; uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform source (Box-Muller). */
export function gaussian(next: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** A Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, next: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Rows of features with an integer class each. */
export interface Classification {
  /** Row-major [n, dim]. */
  x: Float32Array;
  y: Int32Array;
  n: number;
  dim: number;
  classes: number;
}

export interface BlobsOptions {
  n: number;
  dim: number;
  classes: number;
  /** Blob centres per class (2 makes the problem non-linear). */
  blobsPerClass: number;
  /** Standard deviation of the centres; the points around them have 1. */
  spread: number;
  seed: number;
}

/** Gaussian blobs: each class is a mixture of `blobsPerClass` unit-variance blobs. */
export function makeBlobs(o: BlobsOptions): Classification {
  const g = gaussian(rng(o.seed));
  const centres = new Float32Array(o.classes * o.blobsPerClass * o.dim);
  for (let i = 0; i < centres.length; i++) centres[i] = o.spread * g();
  const x = new Float32Array(o.n * o.dim);
  const y = new Int32Array(o.n);
  const pick = rng(o.seed ^ 0x5bd1e995);
  for (let i = 0; i < o.n; i++) {
    const cls = i % o.classes;
    const blob = cls * o.blobsPerClass + Math.floor(pick() * o.blobsPerClass);
    y[i] = cls;
    for (let d = 0; d < o.dim; d++) x[i * o.dim + d] = centres[blob * o.dim + d]! + g();
  }
  return { x, y, n: o.n, dim: o.dim, classes: o.classes };
}

/** Observed (user, item, rating) triples. */
export interface Ratings {
  users: Int32Array;
  items: Int32Array;
  ratings: Float32Array;
  n: number;
  numUsers: number;
  numItems: number;
}

export interface RatingsOptions {
  numUsers: number;
  numItems: number;
  /** Rank of the true factors. */
  rank: number;
  /** Observed entries (distinct pairs, drawn without replacement). */
  n: number;
  /** Standard deviation of the rating noise. */
  noise: number;
  seed: number;
}

/** Ratings r = <p_u, q_i> + noise, with p, q ~ N(0, 1/sqrt(rank)) so r has unit variance. */
export function makeRatings(o: RatingsOptions): Ratings {
  if (o.n > o.numUsers * o.numItems) throw new Error(`makeRatings: ${o.n} entries > ${o.numUsers}x${o.numItems}`);
  const next = rng(o.seed);
  const g = gaussian(next);
  const s = 1 / Math.sqrt(Math.sqrt(o.rank));
  const p = Float32Array.from({ length: o.numUsers * o.rank }, () => s * g());
  const q = Float32Array.from({ length: o.numItems * o.rank }, () => s * g());
  const cells = permutation(o.numUsers * o.numItems, next);
  const users = new Int32Array(o.n);
  const items = new Int32Array(o.n);
  const ratings = new Float32Array(o.n);
  for (let k = 0; k < o.n; k++) {
    const cell = cells[k]!;
    const u = Math.floor(cell / o.numItems);
    const i = cell % o.numItems;
    let r = 0;
    for (let d = 0; d < o.rank; d++) r += p[u * o.rank + d]! * q[i * o.rank + d]!;
    users[k] = u;
    items[k] = i;
    ratings[k] = r + o.noise * g();
  }
  return { users, items, ratings, n: o.n, numUsers: o.numUsers, numItems: o.numItems };
}

/**
 * The rows of worker `workerId` of `workers`: every workers-th row starting at its id, so the
 * shards are disjoint, cover the set, and differ in size by at most one.
 */
export function shardIndices(n: number, workers: number, workerId: number): Uint32Array {
  if (!(workerId >= 0 && workerId < workers)) throw new Error(`shard: worker ${workerId} not in [0, ${workers})`);
  const out = new Uint32Array(Math.floor((n - workerId + workers - 1) / workers));
  for (let k = 0; k < out.length; k++) out[k] = workerId + k * workers;
  return out;
}

/** Batches per epoch that every worker can run: all shards give the same count (sync barrier). */
export function stepsPerEpoch(n: number, workers: number, batchSize: number): number {
  return Math.floor(Math.floor(n / workers) / batchSize);
}

/**
 * The rows worker `workerId` visits in `epoch`: its shard in an order shuffled per epoch and
 * worker (seeded), cut into batches by the caller.
 */
export function epochOrder(n: number, workers: number, workerId: number, epoch: number, seed: number): Uint32Array {
  const shard = shardIndices(n, workers, workerId);
  const perm = permutation(shard.length, rng(seed + 1000003 * (epoch + 1) + 7919 * workerId));
  return perm.map((k) => shard[k]!);
}
