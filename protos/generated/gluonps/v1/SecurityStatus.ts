// Original file: protos/gluonps/v1/admin.proto


/**
 * How the server is protected. Never carries a secret.
 */
export interface SecurityStatus {
  /**
   * "off", "tls" or "mutual" (TLS with client certificates).
   */
  'tls'?: (string);
  /**
   * Whether calls need a bearer token.
   */
  'auth'?: (boolean);
  /**
   * Full-access tokens configured.
   */
  'fullAccessTokens'?: (number);
  /**
   * Read-only tokens configured.
   */
  'readOnlyTokens'?: (number);
}

/**
 * How the server is protected. Never carries a secret.
 */
export interface SecurityStatus__Output {
  /**
   * "off", "tls" or "mutual" (TLS with client certificates).
   */
  'tls': (string);
  /**
   * Whether calls need a bearer token.
   */
  'auth': (boolean);
  /**
   * Full-access tokens configured.
   */
  'fullAccessTokens': (number);
  /**
   * Read-only tokens configured.
   */
  'readOnlyTokens': (number);
}
