// measure.ts: the small measuring helpers every benchmark shares: medians, a bounded wait,
// CPU time of a process, a deterministic gradient, tensor shapes and directory sizes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Longest a single benchmark operation may take before the run is declared stuck. */
export const OP_TIMEOUT_MS = 60_000;

/** `p`, or a rejection naming `what` once it has taken over `ms`. */
export function withTimeout<T>(p: Promise<T>, what: string, ms = OP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

let ticksPerSecond: number | null = null;

/** user + system CPU ms a process has used so far (Linux /proc), or NaN when it cannot be read. */
export function cpuMs(pid: number): number {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** A deterministic pseudo-random gradient in [-1e-3, 1e-3) (xorshift32 from `seed`). */
export function gradient(elements: number, seed: number): Float32Array {
  const g = new Float32Array(elements);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < elements; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    g[i] = (s / 4294967296 - 0.5) * 2e-3;
  }
  return g;
}

/** Worker `workerId`'s gradients of float32 tensors of `shapes` (the same every round and run). */
export function workerGradients(
  shapes: readonly number[][],
  workerId: number,
): Array<{ shape: number[]; dtype: 'float32'; data: Float32Array }> {
  return shapes.map((shape, i) => ({
    shape,
    dtype: 'float32' as const,
    data: gradient(
      shape.reduce((a, b) => a * b, 1),
      7919 * (workerId + 1) + i,
    ),
  }));
}

/** A 2-D shape of `elements` as square as powers of two allow. */
export function shapeOf(elements: number): number[] {
  let rows = 2 ** Math.floor(Math.log2(Math.sqrt(elements)));
  while (elements % rows !== 0) rows >>= 1;
  return [rows, elements / rows];
}

/** Bytes under `dir` (du -sb), 0 when it cannot be read. */
export function dirBytes(dir: string): number {
  try {
    return Number(
      execFileSync('du', ['-sb', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(/\s/)[0],
    );
  } catch {
    return 0;
  }
}
