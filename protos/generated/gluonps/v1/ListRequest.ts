// Original file: protos/gluonps/v1/parameter.proto


/**
 * Request of List.
 */
export interface ListRequest {
}

/**
 * Request of List.
 */
export interface ListRequest__Output {
}
