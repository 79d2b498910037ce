// Original file: protos/gluonps/v1/admin.proto


/**
 * Whether the server accepts calls.
 */
export interface HealthStatus {
  /**
   * "SERVING" or "NOT_SERVING" (as grpc.health.v1 reports it).
   */
  'status'?: (string);
  /**
   * Why it is not serving (recovering its data dir, the write-ahead log failed, shutting
   * down); empty while serving.
   */
  'reason'?: (string);
}

/**
 * Whether the server accepts calls.
 */
export interface HealthStatus__Output {
  /**
   * "SERVING" or "NOT_SERVING" (as grpc.health.v1 reports it).
   */
  'status': (string);
  /**
   * Why it is not serving (recovering its data dir, the write-ahead log failed, shutting
   * down); empty while serving.
   */
  'reason': (string);
}
