// Original file: protos/gluonps/v1/trainer.proto

/**
 * What a sync step does when its deadline passes before every worker stepped.
 */
export const TimeoutPolicy = {
  /**
   * Not set: fail.
   */
  TIMEOUT_POLICY_UNSPECIFIED: 'TIMEOUT_POLICY_UNSPECIFIED',
  /**
   * The step fails for every waiting worker, naming the missing ones; nothing is applied.
   */
  TIMEOUT_POLICY_FAIL: 'TIMEOUT_POLICY_FAIL',
  /**
   * The step is applied with the workers that stepped, if there are at least `quorum`.
   */
  TIMEOUT_POLICY_QUORUM: 'TIMEOUT_POLICY_QUORUM',
} as const;

/**
 * What a sync step does when its deadline passes before every worker stepped.
 */
export type TimeoutPolicy =
  /**
   * Not set: fail.
   */
  | 'TIMEOUT_POLICY_UNSPECIFIED'
  | 0
  /**
   * The step fails for every waiting worker, naming the missing ones; nothing is applied.
   */
  | 'TIMEOUT_POLICY_FAIL'
  | 1
  /**
   * The step is applied with the workers that stepped, if there are at least `quorum`.
   */
  | 'TIMEOUT_POLICY_QUORUM'
  | 2

/**
 * What a sync step does when its deadline passes before every worker stepped.
 */
export type TimeoutPolicy__Output = typeof TimeoutPolicy[keyof typeof TimeoutPolicy]
