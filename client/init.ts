// Initializer descriptions and the `init.*` builders users pass to parameter() and
// initialize(). They are plain data with MXNet's names (common/init-spec.ts, the same
// shapes the server's store uses), so they can be logged, compared and written by hand; a field
// left out takes MXNet's default on the server (uniform 0.07, normal 0.01, xavier
// uniform/avg/3, msraprelu avg/0.25, orthogonal 1.414/uniform).
import { invalidArgument, show } from './errors';
import type { NestedNumbers } from './tensor';

import { INIT_KINDS } from '../common/init-spec';
import type { FactorType, InitKind, InitSpec, OrthogonalRandType, XavierRndType } from '../common/init-spec';

export { INIT_KINDS } from '../common/init-spec';
export type { FactorType, InitKind, InitSpec, OrthogonalRandType, XavierRndType } from '../common/init-spec';

/**
 * Names accepted where an initializer is expected, as Gluon accepts `init='zeros'`: every kind
 * that needs no argument, plus MXNet's registry aliases.
 */
export type InitName = Exclude<InitKind, 'constant'> | 'zeros' | 'ones';

/** Drops undefined fields so two equal initializers are equal objects. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Flattens nested numbers row-major (constant's array value); ragged nesting is fine here. */
function flatten(value: NestedNumbers, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else throw invalidArgument(`init.constant: value must be a number or nested arrays of numbers, got ${typeof value}`);
  return out;
}

/** The `init.*` builders, mirroring mxnet.init.* */
export const init = {
  /** U(-scale, scale); scale defaults to 0.07. */
  uniform: (options: { scale?: number } = {}): InitSpec => compact({ kind: 'uniform', scale: options.scale }),
  /** N(0, sigma^2); sigma defaults to 0.01. */
  normal: (options: { sigma?: number } = {}): InitSpec => compact({ kind: 'normal', sigma: options.sigma }),
  /** Xavier/Glorot: defaults rndType 'uniform', factorType 'avg', magnitude 3; needs rank >= 2. */
  xavier: (options: { rndType?: XavierRndType; factorType?: FactorType; magnitude?: number } = {}): InitSpec =>
    compact({ kind: 'xavier', rndType: options.rndType, factorType: options.factorType, magnitude: options.magnitude }),
  /** MSRA PReLU (He): defaults factorType 'avg', slope 0.25. */
  msraPrelu: (options: { factorType?: FactorType; slope?: number } = {}): InitSpec =>
    compact({ kind: 'msraprelu', factorType: options.factorType, slope: options.slope }),
  /** Every element `value`; an array gives one value per element (row-major) or a single one. */
  constant: (value: NestedNumbers | Float32Array | Float64Array | Int32Array): InitSpec => ({
    kind: 'constant',
    value: typeof value === 'number' ? value : ArrayBuffer.isView(value) ? Array.from(value) : flatten(value),
  }),
  /** Every element 0. */
  zero: (): InitSpec => ({ kind: 'zero' }),
  /** Every element 1. */
  one: (): InitSpec => ({ kind: 'one' }),
  /** A random orthogonal matrix times scale: defaults scale 1.414, randType 'uniform'. */
  orthogonal: (options: { scale?: number; randType?: OrthogonalRandType } = {}): InitSpec =>
    compact({ kind: 'orthogonal', scale: options.scale, randType: options.randType }),
} as const;

/** Normalizes an InitSpec or an init name; rejects what is obviously not an initializer. */
export function normalizeInit(who: string, value: InitSpec | InitName): InitSpec {
  if (typeof value === 'string') {
    const name: string = value; // the type says InitName; plain JS callers may pass anything
    if (name === 'zeros') return { kind: 'zero' };
    if (name === 'ones') return { kind: 'one' };
    if ((INIT_KINDS as readonly string[]).includes(name) && name !== 'constant') return { kind: name } as InitSpec;
    throw invalidArgument(
      `${who}: unknown initializer ${show(value)}, expected one of ` +
        `${INIT_KINDS.filter((k) => k !== 'constant').join(', ')}, zeros, ones, or an init.* object`,
    );
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    !INIT_KINDS.includes((value as { kind?: InitKind }).kind as InitKind)
  ) {
    throw invalidArgument(
      `${who}: unknown initializer ${show((value as { kind?: unknown } | null)?.kind ?? value)}, ` +
        `expected an init.* object with kind one of ${INIT_KINDS.join(', ')}`,
    );
  }
  return value;
}
