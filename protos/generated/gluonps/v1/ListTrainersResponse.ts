// Original file: protos/gluonps/v1/admin.proto

import type { TrainerSummary as _gluonps_v1_TrainerSummary, TrainerSummary__Output as _gluonps_v1_TrainerSummary__Output } from '../../gluonps/v1/TrainerSummary';

/**
 * Reply of ListTrainers.
 */
export interface ListTrainersResponse {
  /**
   * Every trainer, by name.
   */
  'trainers'?: (_gluonps_v1_TrainerSummary)[];
}

/**
 * Reply of ListTrainers.
 */
export interface ListTrainersResponse__Output {
  /**
   * Every trainer, by name.
   */
  'trainers': (_gluonps_v1_TrainerSummary__Output)[];
}
