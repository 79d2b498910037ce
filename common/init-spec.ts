// init-spec.ts: an initializer as plain data with MXNet's names (python/mxnet/initializer.py),
// the one description the client builds (init.*), the wire carries and the server runs. A field
// left out takes MXNet's default on the server (uniform 0.07, normal 0.01, xavier uniform/avg/3,
// msraprelu avg/0.25, orthogonal 1.414/uniform).

export type XavierRndType = 'uniform' | 'gaussian';
export type FactorType = 'avg' | 'in' | 'out';
export type OrthogonalRandType = 'uniform' | 'normal';

/** An initializer and its arguments. */
export type InitSpec =
  | { kind: 'uniform'; scale?: number }
  | { kind: 'normal'; sigma?: number }
  | { kind: 'xavier'; rndType?: XavierRndType; factorType?: FactorType; magnitude?: number }
  | { kind: 'msraprelu'; factorType?: FactorType; slope?: number }
  | { kind: 'constant'; value: number | number[] }
  | { kind: 'zero' }
  | { kind: 'one' }
  | { kind: 'orthogonal'; scale?: number; randType?: OrthogonalRandType };

export type InitKind = InitSpec['kind'];
export const INIT_KINDS: readonly InitKind[] = [
  'uniform',
  'normal',
  'xavier',
  'msraprelu',
  'constant',
  'zero',
  'one',
  'orthogonal',
];
