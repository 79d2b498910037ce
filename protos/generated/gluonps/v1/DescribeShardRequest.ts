// Original file: protos/gluonps/v1/admin.proto


/**
 * Request of DescribeShard.
 */
export interface DescribeShardRequest {
}

/**
 * Request of DescribeShard.
 */
export interface DescribeShardRequest__Output {
}
