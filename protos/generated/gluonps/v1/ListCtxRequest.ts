// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of ListCtx.
 */
export interface ListCtxRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of ListCtx.
 */
export interface ListCtxRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
