// Original file: protos/gluonps/v1/admin.proto


/**
 * Request of ListTrainers.
 */
export interface ListTrainersRequest {
}

/**
 * Request of ListTrainers.
 */
export interface ListTrainersRequest__Output {
}
