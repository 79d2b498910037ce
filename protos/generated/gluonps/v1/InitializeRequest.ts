// Original file: protos/gluonps/v1/parameter.proto

import type { Initializer as _gluonps_v1_Initializer, Initializer__Output as _gluonps_v1_Initializer__Output } from '../../gluonps/v1/Initializer';
import type { Context as _gluonps_v1_Context, Context__Output as _gluonps_v1_Context__Output } from '../../gluonps/v1/Context';
import type { Long } from '@grpc/proto-loader';

/**
 * Request of Initialize, Gluon's `initialize(init, ctx, default_init, force_reinit)`.
 */
export interface InitializeRequest {
  /**
   * Name of the parameter.
   */
  'name'?: (string);
  /**
   * Initializer for this call; absent uses the spec's init, then `default_init`.
   */
  'init'?: (_gluonps_v1_Initializer | null);
  /**
   * Contexts to create copies on, in order; empty means [cpu(0)].
   */
  'ctx'?: (_gluonps_v1_Context)[];
  /**
   * Fallback initializer; absent means uniform(0.07).
   */
  'defaultInit'?: (_gluonps_v1_Initializer | null);
  /**
   * Re-initialize an already initialized parameter instead of ignoring the call.
   */
  'forceReinit'?: (boolean);
  /**
   * Structural name (e.g. "0.weight") passed to the initializer as metadata.
   */
  'structuralName'?: (string);
  /**
   * Seed of the random initializers; absent draws a fresh one. Exact below 2^53 (JS numbers).
   */
  'seed'?: (number | string | Long);
  '_seed'?: "seed";
}

/**
 * Request of Initialize, Gluon's `initialize(init, ctx, default_init, force_reinit)`.
 */
export interface InitializeRequest__Output {
  /**
   * Name of the parameter.
   */
  'name': (string);
  /**
   * Initializer for this call; absent uses the spec's init, then `default_init`.
   */
  'init': (_gluonps_v1_Initializer__Output | null);
  /**
   * Contexts to create copies on, in order; empty means [cpu(0)].
   */
  'ctx': (_gluonps_v1_Context__Output)[];
  /**
   * Fallback initializer; absent means uniform(0.07).
   */
  'defaultInit': (_gluonps_v1_Initializer__Output | null);
  /**
   * Re-initialize an already initialized parameter instead of ignoring the call.
   */
  'forceReinit': (boolean);
  /**
   * Structural name (e.g. "0.weight") passed to the initializer as metadata.
   */
  'structuralName': (string);
  /**
   * Seed of the random initializers; absent draws a fresh one. Exact below 2^53 (JS numbers).
   */
  'seed'?: (number);
  '_seed'?: "seed";
}
