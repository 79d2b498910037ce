// accounting.ts: what the store counts against its limits (docs/configuration.md, "Limits"):
// parameters and constants (--max-parameters, --max-constants), the declared bytes of every
// parameter and constant (--max-declared-bytes: one copy each, counted once its shape is fully
// known), and each constant's heap copy of its value against the memory budget. Refusals are
// RESOURCE_EXHAUSTED and change nothing; `enforce` false (recovery) counts without refusing.
import * as nk from '../../native/index';
import type { DType } from '../../native/index';
import { exhausted, fmtShape, invalid } from '../errors';
import { DEFAULT_MAX_CONSTANTS, DEFAULT_MAX_PARAMETERS, overLimit } from '../limits';
import { holdBytes } from '../memory';
import { shapeIsKnown } from './spec';

export interface AccountingLimits {
  maxParameters?: number;
  maxConstants?: number;
  /** Declared bytes of every parameter and constant together; null = no limit. */
  maxDeclaredBytes?: number | null;
}

/**
 * One copy of a tensor of this dtype and shape, in bytes; 0 while the shape is not fully known;
 * Infinity when the count is past 2^53 (no tensor of that shape can ever exist).
 */
export function declaredBytes(dtype: DType, shape: readonly number[] | null): number {
  if (shape === null || !shapeIsKnown([...shape])) return 0;
  let n = nk.dtypeSize(dtype);
  for (const d of shape) n *= d;
  return Number.isSafeInteger(n) ? n : Infinity;
}

export class StoreAccounting {
  readonly maxParameters: number;
  readonly maxConstants: number;
  readonly maxDeclaredBytes: number | null;
  private parameters = 0;
  private constants = 0;
  /** Sum of `sizes`. */
  private declared = 0;
  /** Per entry: its declared bytes as counted. */
  private readonly sizes = new Map<string, number>();
  /** Per constant: what stops counting its value against the memory budget. */
  private readonly holds = new Map<string, () => void>();

  constructor(limits: AccountingLimits = {}) {
    this.maxParameters = limits.maxParameters ?? DEFAULT_MAX_PARAMETERS;
    this.maxConstants = limits.maxConstants ?? DEFAULT_MAX_CONSTANTS;
    this.maxDeclaredBytes = limits.maxDeclaredBytes ?? null;
  }

  /** The declared bytes of every parameter and constant, as counted. */
  get declaredBytes(): number {
    return this.declared;
  }

  /**
   * Counts a new entry `name` of `bytes` declared bytes (and for a constant, its value's heap
   * copy of `valueBytes`), or throws RESOURCE_EXHAUSTED naming the limit it would exceed.
   */
  add(
    who: string,
    name: string,
    entry: { isConstant: boolean; dtype: DType; shape: readonly number[] | null; valueBytes?: number },
    enforce: boolean,
  ): void {
    if (enforce) {
      if (entry.isConstant && this.constants >= this.maxConstants)
        throw overLimit(`${who}: the store's constant count`, this.constants + 1, this.maxConstants, '--max-constants');
      if (!entry.isConstant && this.parameters >= this.maxParameters)
        throw overLimit(
          `${who}: the store's parameter count`,
          this.parameters + 1,
          this.maxParameters,
          '--max-parameters',
        );
    }
    const bytes = declaredBytes(entry.dtype, entry.shape);
    this.checkDeclared(who, entry.dtype, entry.shape, bytes, 0, enforce);
    // The constant's copy of its value is checked last: nothing is counted if it is refused.
    if (entry.isConstant) this.holds.set(name, holdBytes(`${who}: keeping its value`, entry.valueBytes ?? 0, !enforce));
    if (entry.isConstant) this.constants++;
    else this.parameters++;
    const counted = Number.isFinite(bytes) ? bytes : 0;
    this.sizes.set(name, counted);
    this.declared += counted;
  }

  /**
   * Counts entry `name` at a new dtype or shape (a shape becoming fully known, a cast), or throws
   * RESOURCE_EXHAUSTED when the declared total would go over its limit; call it before the
   * change, and again with the old values to undo it if the change then fails.
   */
  resize(who: string, name: string, dtype: DType, shape: readonly number[] | null, enforce: boolean): void {
    const bytes = declaredBytes(dtype, shape);
    const old = this.sizes.get(name) ?? 0;
    if (bytes === old) return;
    this.checkDeclared(who, dtype, shape, bytes, old, enforce && bytes > old);
    const counted = Number.isFinite(bytes) ? bytes : 0;
    this.sizes.set(name, counted);
    this.declared += counted - old;
  }

  /** Stops counting entry `name` (replaced by a restored one, or dropped). */
  remove(name: string, isConstant: boolean): void {
    if (!this.sizes.has(name)) return;
    if (isConstant) this.constants--;
    else this.parameters--;
    this.declared -= this.sizes.get(name)!;
    this.sizes.delete(name);
    this.holds.get(name)?.();
    this.holds.delete(name);
  }

  /** Counts nothing any more (every entry dropped). */
  clear(): void {
    for (const release of this.holds.values()) release();
    this.holds.clear();
    this.sizes.clear();
    this.parameters = 0;
    this.constants = 0;
    this.declared = 0;
  }

  private checkDeclared(
    who: string,
    dtype: DType,
    shape: readonly number[] | null,
    bytes: number,
    replaces: number,
    enforce: boolean,
  ): void {
    if (bytes === Infinity) {
      if (!enforce) return; // recovered: it was accepted once, and counts nothing (it can never be initialized)
      throw invalid(
        `${who}: ${dtype} ${fmtShape([...(shape ?? [])])} has too many elements: no tensor of that shape can exist`,
      );
    }
    const max = this.maxDeclaredBytes;
    const total = this.declared - replaces + bytes;
    if (!enforce || max === null || total <= max) return;
    throw exhausted(
      `${who}: declaring ${dtype} ${fmtShape([...(shape ?? [])])} (${bytes} bytes) would bring the declared bytes of every parameter and constant to ${total}, over the limit of ${max} (--max-declared-bytes raises it)`,
    );
  }
}
