// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of ListGrad.
 */
export interface ListGradRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of ListGrad.
 */
export interface ListGradRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
