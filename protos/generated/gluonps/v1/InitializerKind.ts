// Original file: protos/gluonps/v1/parameter.proto

/**
 * Which MXNet initializer fills a parameter.
 */
export const InitializerKind = {
  /**
   * Not set: no initializer given (the next one in Gluon's resolution order applies).
   */
  INITIALIZER_KIND_UNSPECIFIED: 'INITIALIZER_KIND_UNSPECIFIED',
  /**
   * i.i.d. U(-scale, scale); scale defaults to 0.07.
   */
  INITIALIZER_KIND_UNIFORM: 'INITIALIZER_KIND_UNIFORM',
  /**
   * i.i.d. N(0, sigma^2); sigma defaults to 0.01.
   */
  INITIALIZER_KIND_NORMAL: 'INITIALIZER_KIND_NORMAL',
  /**
   * Xavier/Glorot from fan-in/fan-out (uniform, avg, magnitude 3 by default); needs rank >= 2.
   */
  INITIALIZER_KIND_XAVIER: 'INITIALIZER_KIND_XAVIER',
  /**
   * Xavier with gaussian draws and magnitude 2/(1+slope^2) (avg, slope 0.25 by default).
   */
  INITIALIZER_KIND_MSRAPRELU: 'INITIALIZER_KIND_MSRAPRELU',
  /**
   * Every element set to `value`.
   */
  INITIALIZER_KIND_CONSTANT: 'INITIALIZER_KIND_CONSTANT',
  /**
   * Every element 0.
   */
  INITIALIZER_KIND_ZERO: 'INITIALIZER_KIND_ZERO',
  /**
   * Every element 1.
   */
  INITIALIZER_KIND_ONE: 'INITIALIZER_KIND_ONE',
  /**
   * A random orthogonal matrix times scale (1.414 and uniform draws by default).
   */
  INITIALIZER_KIND_ORTHOGONAL: 'INITIALIZER_KIND_ORTHOGONAL',
} as const;

/**
 * Which MXNet initializer fills a parameter.
 */
export type InitializerKind =
  /**
   * Not set: no initializer given (the next one in Gluon's resolution order applies).
   */
  | 'INITIALIZER_KIND_UNSPECIFIED'
  | 0
  /**
   * i.i.d. U(-scale, scale); scale defaults to 0.07.
   */
  | 'INITIALIZER_KIND_UNIFORM'
  | 1
  /**
   * i.i.d. N(0, sigma^2); sigma defaults to 0.01.
   */
  | 'INITIALIZER_KIND_NORMAL'
  | 2
  /**
   * Xavier/Glorot from fan-in/fan-out (uniform, avg, magnitude 3 by default); needs rank >= 2.
   */
  | 'INITIALIZER_KIND_XAVIER'
  | 3
  /**
   * Xavier with gaussian draws and magnitude 2/(1+slope^2) (avg, slope 0.25 by default).
   */
  | 'INITIALIZER_KIND_MSRAPRELU'
  | 4
  /**
   * Every element set to `value`.
   */
  | 'INITIALIZER_KIND_CONSTANT'
  | 5
  /**
   * Every element 0.
   */
  | 'INITIALIZER_KIND_ZERO'
  | 6
  /**
   * Every element 1.
   */
  | 'INITIALIZER_KIND_ONE'
  | 7
  /**
   * A random orthogonal matrix times scale (1.414 and uniform draws by default).
   */
  | 'INITIALIZER_KIND_ORTHOGONAL'
  | 8

/**
 * Which MXNet initializer fills a parameter.
 */
export type InitializerKind__Output = typeof InitializerKind[keyof typeof InitializerKind]
