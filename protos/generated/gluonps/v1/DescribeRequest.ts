// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of Describe.
 */
export interface DescribeRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
}

/**
 * Request of Describe.
 */
export interface DescribeRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
}
