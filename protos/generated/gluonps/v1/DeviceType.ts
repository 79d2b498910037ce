// Original file: protos/gluonps/v1/tensor.proto

/**
 * Kind of device a parameter copy lives on.
 */
export const DeviceType = {
  /**
   * Not set: treated as CPU.
   */
  DEVICE_TYPE_UNSPECIFIED: 'DEVICE_TYPE_UNSPECIFIED',
  /**
   * Host memory, served by the CPU kernels.
   */
  DEVICE_TYPE_CPU: 'DEVICE_TYPE_CPU',
  /**
   * A CUDA device; only on a CUDA build with that GPU present.
   */
  DEVICE_TYPE_GPU: 'DEVICE_TYPE_GPU',
} as const;

/**
 * Kind of device a parameter copy lives on.
 */
export type DeviceType =
  /**
   * Not set: treated as CPU.
   */
  | 'DEVICE_TYPE_UNSPECIFIED'
  | 0
  /**
   * Host memory, served by the CPU kernels.
   */
  | 'DEVICE_TYPE_CPU'
  | 1
  /**
   * A CUDA device; only on a CUDA build with that GPU present.
   */
  | 'DEVICE_TYPE_GPU'
  | 2

/**
 * Kind of device a parameter copy lives on.
 */
export type DeviceType__Output = typeof DeviceType[keyof typeof DeviceType]
