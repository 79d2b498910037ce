// Original file: protos/gluonps/v1/parameter.proto

import type { InitializerKind as _gluonps_v1_InitializerKind, InitializerKind__Output as _gluonps_v1_InitializerKind__Output } from '../../gluonps/v1/InitializerKind';

/**
 * An initializer and its arguments; arguments that do not apply to `kind` are ignored, and an
 * absent one takes MXNet's default.
 */
export interface Initializer {
  /**
   * Which initializer.
   */
  'kind'?: (_gluonps_v1_InitializerKind);
  /**
   * uniform: half-width of the range; orthogonal: multiplier of the orthogonal matrix.
   */
  'scale'?: (number | string);
  /**
   * normal: standard deviation.
   */
  'sigma'?: (number | string);
  /**
   * xavier: "uniform" or "gaussian".
   */
  'rndType'?: (string);
  /**
   * xavier / msraprelu: "avg", "in" or "out".
   */
  'factorType'?: (string);
  /**
   * xavier: the magnitude in sqrt(magnitude / factor).
   */
  'magnitude'?: (number | string);
  /**
   * msraprelu: the PReLU negative slope.
   */
  'slope'?: (number | string);
  /**
   * constant: the value written to every element.
   */
  'value'?: (number | string);
  /**
   * orthogonal: "uniform" or "normal" draws before the SVD.
   */
  'randType'?: (string);
  /**
   * constant: an array value instead of `value` when non-empty: one value, or one per element
   * in row-major order.
   */
  'values'?: (number | string)[];
  '_scale'?: "scale";
  '_sigma'?: "sigma";
  '_magnitude'?: "magnitude";
  '_slope'?: "slope";
  '_value'?: "value";
}

/**
 * An initializer and its arguments; arguments that do not apply to `kind` are ignored, and an
 * absent one takes MXNet's default.
 */
export interface Initializer__Output {
  /**
   * Which initializer.
   */
  'kind': (_gluonps_v1_InitializerKind__Output);
  /**
   * uniform: half-width of the range; orthogonal: multiplier of the orthogonal matrix.
   */
  'scale'?: (number);
  /**
   * normal: standard deviation.
   */
  'sigma'?: (number);
  /**
   * xavier: "uniform" or "gaussian".
   */
  'rndType': (string);
  /**
   * xavier / msraprelu: "avg", "in" or "out".
   */
  'factorType': (string);
  /**
   * xavier: the magnitude in sqrt(magnitude / factor).
   */
  'magnitude'?: (number);
  /**
   * msraprelu: the PReLU negative slope.
   */
  'slope'?: (number);
  /**
   * constant: the value written to every element.
   */
  'value'?: (number);
  /**
   * orthogonal: "uniform" or "normal" draws before the SVD.
   */
  'randType': (string);
  /**
   * constant: an array value instead of `value` when non-empty: one value, or one per element
   * in row-major order.
   */
  'values': (number)[];
  '_scale'?: "scale";
  '_sigma'?: "sigma";
  '_magnitude'?: "magnitude";
  '_slope'?: "slope";
  '_value'?: "value";
}
