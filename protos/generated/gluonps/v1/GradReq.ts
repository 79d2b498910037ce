// Original file: protos/gluonps/v1/parameter.proto

/**
 * How backward writes a parameter's gradient, Gluon's `grad_req`.
 */
export const GradReq = {
  /**
   * Not set: `write`.
   */
  GRAD_REQ_UNSPECIFIED: 'GRAD_REQ_UNSPECIFIED',
  /**
   * Each backward overwrites the gradient.
   */
  GRAD_REQ_WRITE: 'GRAD_REQ_WRITE',
  /**
   * Each backward adds into the gradient; the user zeroes it.
   */
  GRAD_REQ_ADD: 'GRAD_REQ_ADD',
  /**
   * No gradient buffer exists; grad() is FAILED_PRECONDITION.
   */
  GRAD_REQ_NULL: 'GRAD_REQ_NULL',
} as const;

/**
 * How backward writes a parameter's gradient, Gluon's `grad_req`.
 */
export type GradReq =
  /**
   * Not set: `write`.
   */
  | 'GRAD_REQ_UNSPECIFIED'
  | 0
  /**
   * Each backward overwrites the gradient.
   */
  | 'GRAD_REQ_WRITE'
  | 1
  /**
   * Each backward adds into the gradient; the user zeroes it.
   */
  | 'GRAD_REQ_ADD'
  | 2
  /**
   * No gradient buffer exists; grad() is FAILED_PRECONDITION.
   */
  | 'GRAD_REQ_NULL'
  | 3

/**
 * How backward writes a parameter's gradient, Gluon's `grad_req`.
 */
export type GradReq__Output = typeof GradReq[keyof typeof GradReq]
