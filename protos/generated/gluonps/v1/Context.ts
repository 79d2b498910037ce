// Original file: protos/gluonps/v1/tensor.proto

import type { DeviceType as _gluonps_v1_DeviceType, DeviceType__Output as _gluonps_v1_DeviceType__Output } from '../../gluonps/v1/DeviceType';

/**
 * A device context, Gluon's `mx.cpu(i)` / `mx.gpu(i)`.
 */
export interface Context {
  /**
   * Which kind of device.
   */
  'deviceType'?: (_gluonps_v1_DeviceType);
  /**
   * Index of the device within its kind.
   */
  'deviceId'?: (number);
}

/**
 * A device context, Gluon's `mx.cpu(i)` / `mx.gpu(i)`.
 */
export interface Context__Output {
  /**
   * Which kind of device.
   */
  'deviceType': (_gluonps_v1_DeviceType__Output);
  /**
   * Index of the device within its kind.
   */
  'deviceId': (number);
}
