// Original file: protos/gluonps/v1/parameter.proto

import type { DType as _gluonps_v1_DType, DType__Output as _gluonps_v1_DType__Output } from '../../gluonps/v1/DType';
import type { GradReq as _gluonps_v1_GradReq, GradReq__Output as _gluonps_v1_GradReq__Output } from '../../gluonps/v1/GradReq';
import type { Initializer as _gluonps_v1_Initializer, Initializer__Output as _gluonps_v1_Initializer__Output } from '../../gluonps/v1/Initializer';
import type { StorageType as _gluonps_v1_StorageType, StorageType__Output as _gluonps_v1_StorageType__Output } from '../../gluonps/v1/StorageType';
import type { ParameterPart as _gluonps_v1_ParameterPart, ParameterPart__Output as _gluonps_v1_ParameterPart__Output } from '../../gluonps/v1/ParameterPart';
import type { Long } from '@grpc/proto-loader';

/**
 * Every constructor argument of a Gluon Parameter.
 */
export interface ParameterSpec {
  /**
   * Globally unique parameter name, e.g. "dense0_weight".
   */
  'name'?: (string);
  /**
   * Dimensions; 0 or -1 marks a dim unknown until set_shape, set_data or initialize fills it.
   */
  'shape'?: (number | string | Long)[];
  /**
   * True when even the rank is unknown (Gluon `shape=None`); `shape` is then ignored.
   */
  'shapeUnknown'?: (boolean);
  /**
   * Element type; unset means float32.
   */
  'dtype'?: (_gluonps_v1_DType);
  /**
   * Gradient request; forced to null when `differentiable` is false.
   */
  'gradReq'?: (_gluonps_v1_GradReq);
  /**
   * Initializer of this parameter; used when initialize() gives no `init`, before its `default_init`.
   */
  'init'?: (_gluonps_v1_Initializer | null);
  /**
   * Whether initialize() with an unknown shape defers instead of failing.
   */
  'allowDeferredInit'?: (boolean);
  /**
   * Whether the parameter takes gradients; absent means true.
   */
  'differentiable'?: (boolean);
  /**
   * Storage of the data arrays.
   */
  'stype'?: (_gluonps_v1_StorageType);
  /**
   * Storage of the gradient arrays.
   */
  'gradStype'?: (_gluonps_v1_StorageType);
  /**
   * Learning-rate multiplier read by optimizers; absent means 1.
   */
  'lrMult'?: (number | string);
  /**
   * Weight-decay multiplier read by optimizers; absent means 1.
   */
  'wdMult'?: (number | string);
  /**
   * On a shard of a cluster: this parameter is that part of a split parameter, and `shape` is the
   * part's own shape (fully known). Initializers fill the part with exactly what its rows hold
   * when the whole parameter is initialized. Unset everywhere else.
   */
  'part'?: (_gluonps_v1_ParameterPart | null);
  '_differentiable'?: "differentiable";
  '_lrMult'?: "lrMult";
  '_wdMult'?: "wdMult";
}

/**
 * Every constructor argument of a Gluon Parameter.
 */
export interface ParameterSpec__Output {
  /**
   * Globally unique parameter name, e.g. "dense0_weight".
   */
  'name': (string);
  /**
   * Dimensions; 0 or -1 marks a dim unknown until set_shape, set_data or initialize fills it.
   */
  'shape': (number)[];
  /**
   * True when even the rank is unknown (Gluon `shape=None`); `shape` is then ignored.
   */
  'shapeUnknown': (boolean);
  /**
   * Element type; unset means float32.
   */
  'dtype': (_gluonps_v1_DType__Output);
  /**
   * Gradient request; forced to null when `differentiable` is false.
   */
  'gradReq': (_gluonps_v1_GradReq__Output);
  /**
   * Initializer of this parameter; used when initialize() gives no `init`, before its `default_init`.
   */
  'init': (_gluonps_v1_Initializer__Output | null);
  /**
   * Whether initialize() with an unknown shape defers instead of failing.
   */
  'allowDeferredInit': (boolean);
  /**
   * Whether the parameter takes gradients; absent means true.
   */
  'differentiable'?: (boolean);
  /**
   * Storage of the data arrays.
   */
  'stype': (_gluonps_v1_StorageType__Output);
  /**
   * Storage of the gradient arrays.
   */
  'gradStype': (_gluonps_v1_StorageType__Output);
  /**
   * Learning-rate multiplier read by optimizers; absent means 1.
   */
  'lrMult'?: (number);
  /**
   * Weight-decay multiplier read by optimizers; absent means 1.
   */
  'wdMult'?: (number);
  /**
   * On a shard of a cluster: this parameter is that part of a split parameter, and `shape` is the
   * part's own shape (fully known). Initializers fill the part with exactly what its rows hold
   * when the whole parameter is initialized. Unset everywhere else.
   */
  'part': (_gluonps_v1_ParameterPart__Output | null);
  '_differentiable'?: "differentiable";
  '_lrMult'?: "lrMult";
  '_wdMult'?: "wdMult";
}
