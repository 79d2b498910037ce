// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of ZeroGrad.
 */
export interface ZeroGradRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of ZeroGrad.
 */
export interface ZeroGradRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
