// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of ListData.
 */
export interface ListDataRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of ListData.
 */
export interface ListDataRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
