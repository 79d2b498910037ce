// limits.ts: the configurable bounds every reader checks BEFORE it allocates or loops. A
// count, length, rank or size read from a file is compared with what remains of the input
// and with these limits first, so a hostile file gets a FormatError, never a huge
// allocation or a long loop. Writers check rank and name length against the same limits.
import { constants as bufferConstants } from 'node:buffer';
import type { Fail } from './types';

export interface FormatLimits {
  /** Most tensors (records, header entries, zip members) in one file. */
  maxTensors: number;
  /** Most bytes of one tensor's data (row_sparse: its stored rows). */
  maxTensorBytes: number;
  /** Most bytes of tensor data in one file, all tensors together. */
  maxTotalBytes: number;
  /** Highest rank (number of dimensions). */
  maxRank: number;
  /** Longest tensor name, in UTF-8 bytes. */
  maxNameBytes: number;
  /** safetensors JSON header (the reference reader's limit is 100,000,000). */
  maxHeaderBytes: number;
  /** `.npy` header dict (numpy's own `max_header_size` default is 10,000). */
  maxNpyHeaderBytes: number;
  /** Most bytes a whole file may have when it is read into memory (params, npy, npz). */
  maxFileBytes: number;
}

/** The largest Buffer this Node can allocate (4 GiB on 64-bit Node 20). */
export const MAX_BUFFER_BYTES = bufferConstants.MAX_LENGTH;

/** The reference safetensors implementation's MAX_HEADER_SIZE. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

export const DEFAULT_LIMITS: Readonly<FormatLimits> = Object.freeze({
  maxTensors: 100_000,
  maxTensorBytes: MAX_BUFFER_BYTES,
  maxTotalBytes: 256 * 2 ** 30,
  maxRank: 8,
  maxNameBytes: 4096,
  maxHeaderBytes: SAFETENSORS_MAX_HEADER_BYTES,
  maxNpyHeaderBytes: 10_000,
  maxFileBytes: MAX_BUFFER_BYTES,
});

/** Fills in defaults; a given limit must be a non-negative safe integer. */
export function resolveLimits(limits?: Partial<FormatLimits>): FormatLimits {
  const out: FormatLimits = { ...DEFAULT_LIMITS };
  if (limits) {
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof FormatLimits)[]) {
      const v = limits[key];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`format limit ${key} must be a non-negative safe integer, got ${String(v)}`);
      }
      out[key] = v;
    }
  }
  // A tensor can never be bigger than one Buffer, nor a file read into memory.
  out.maxTensorBytes = Math.min(out.maxTensorBytes, MAX_BUFFER_BYTES);
  out.maxFileBytes = Math.min(out.maxFileBytes, MAX_BUFFER_BYTES);
  out.maxHeaderBytes = Math.min(out.maxHeaderBytes, SAFETENSORS_MAX_HEADER_BYTES);
  return out;
}

/**
 * Counts tensors and bytes as a reader accepts them and fails as soon as a limit would be
 * passed: call `tensor()` before reading a tensor's fields and `bytes()` before taking its data.
 */
export class LimitTracker {
  private count = 0;
  private total = 0;
  constructor(
    readonly limits: FormatLimits,
    private readonly fail: Fail,
  ) {}

  /** Declared count of tensors, checked before any per-tensor work. */
  declaredCount(n: number | bigint, what: string): number {
    if (BigInt(n) > BigInt(this.limits.maxTensors)) {
      this.fail('LimitExceeded', `${what}: declares ${n} tensors, more than the limit of ${this.limits.maxTensors}`);
    }
    return Number(n);
  }

  tensor(where: string): void {
    this.count += 1;
    if (this.count > this.limits.maxTensors) {
      this.fail('LimitExceeded', `${where}: more than the limit of ${this.limits.maxTensors} tensors`);
    }
  }

  rank(rank: number | bigint, where: string): number {
    if (BigInt(rank) > BigInt(this.limits.maxRank)) {
      this.fail('LimitExceeded', `${where}: rank ${rank} is over the limit of ${this.limits.maxRank}`);
    }
    return Number(rank);
  }

  nameBytes(n: number | bigint, where: string): number {
    if (BigInt(n) > BigInt(this.limits.maxNameBytes)) {
      this.fail('LimitExceeded', `${where}: name of ${n} bytes is over the limit of ${this.limits.maxNameBytes}`);
    }
    return Number(n);
  }

  bytes(n: number, where: string): void {
    if (n > this.limits.maxTensorBytes) {
      this.fail(
        'LimitExceeded',
        `${where}: ${n} data bytes are over the per-tensor limit of ${this.limits.maxTensorBytes}`,
      );
    }
    this.total += n;
    if (this.total > this.limits.maxTotalBytes) {
      this.fail(
        'LimitExceeded',
        `${where}: total data bytes ${this.total} are over the limit of ${this.limits.maxTotalBytes}`,
      );
    }
  }

  get tensors(): number {
    return this.count;
  }
  get totalBytes(): number {
    return this.total;
  }
}
