// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of Get.
 */
export interface GetRequest {
  /**
   * Name of an existing parameter; NOT_FOUND otherwise.
   */
  'name'?: (string);
}

/**
 * Request of Get.
 */
export interface GetRequest__Output {
  /**
   * Name of an existing parameter; NOT_FOUND otherwise.
   */
  'name': (string);
}
