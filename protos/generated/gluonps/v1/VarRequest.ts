// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of Var.
 */
export interface VarRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of Var.
 */
export interface VarRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
