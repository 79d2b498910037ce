// Original file: protos/gluonps/v1/tensor.proto

/**
 * Element type of a tensor; every value is stored little-endian.
 */
export const DType = {
  /**
   * Not set: the server default (float32) where a default exists, else INVALID_ARGUMENT.
   */
  DTYPE_UNSPECIFIED: 'DTYPE_UNSPECIFIED',
  /**
   * IEEE 754 binary32, 4 bytes.
   */
  DTYPE_FLOAT32: 'DTYPE_FLOAT32',
  /**
   * IEEE 754 binary64, 8 bytes.
   */
  DTYPE_FLOAT64: 'DTYPE_FLOAT64',
  /**
   * IEEE 754 binary16, 2 bytes (clients see the raw bits as uint16).
   */
  DTYPE_FLOAT16: 'DTYPE_FLOAT16',
  /**
   * bfloat16 (the top half of a float32), 2 bytes (clients see the raw bits as uint16).
   */
  DTYPE_BFLOAT16: 'DTYPE_BFLOAT16',
  /**
   * Signed 8-bit integer, 1 byte.
   */
  DTYPE_INT8: 'DTYPE_INT8',
  /**
   * Unsigned 8-bit integer, 1 byte.
   */
  DTYPE_UINT8: 'DTYPE_UINT8',
  /**
   * Signed 32-bit integer, 4 bytes.
   */
  DTYPE_INT32: 'DTYPE_INT32',
  /**
   * Signed 64-bit integer, 8 bytes.
   */
  DTYPE_INT64: 'DTYPE_INT64',
} as const;

/**
 * Element type of a tensor; every value is stored little-endian.
 */
export type DType =
  /**
   * Not set: the server default (float32) where a default exists, else INVALID_ARGUMENT.
   */
  | 'DTYPE_UNSPECIFIED'
  | 0
  /**
   * IEEE 754 binary32, 4 bytes.
   */
  | 'DTYPE_FLOAT32'
  | 1
  /**
   * IEEE 754 binary64, 8 bytes.
   */
  | 'DTYPE_FLOAT64'
  | 2
  /**
   * IEEE 754 binary16, 2 bytes (clients see the raw bits as uint16).
   */
  | 'DTYPE_FLOAT16'
  | 3
  /**
   * bfloat16 (the top half of a float32), 2 bytes (clients see the raw bits as uint16).
   */
  | 'DTYPE_BFLOAT16'
  | 4
  /**
   * Signed 8-bit integer, 1 byte.
   */
  | 'DTYPE_INT8'
  | 5
  /**
   * Unsigned 8-bit integer, 1 byte.
   */
  | 'DTYPE_UINT8'
  | 6
  /**
   * Signed 32-bit integer, 4 bytes.
   */
  | 'DTYPE_INT32'
  | 7
  /**
   * Signed 64-bit integer, 8 bytes.
   */
  | 'DTYPE_INT64'
  | 8

/**
 * Element type of a tensor; every value is stored little-endian.
 */
export type DType__Output = typeof DType[keyof typeof DType]
