// Original file: protos/gluonps/v1/trainer.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateTrainerRequest as _gluonps_v1_CreateTrainerRequest, CreateTrainerRequest__Output as _gluonps_v1_CreateTrainerRequest__Output } from '../../gluonps/v1/CreateTrainerRequest';
import type { GradUpload as _gluonps_v1_GradUpload, GradUpload__Output as _gluonps_v1_GradUpload__Output } from '../../gluonps/v1/GradUpload';
import type { LeaveRequest as _gluonps_v1_LeaveRequest, LeaveRequest__Output as _gluonps_v1_LeaveRequest__Output } from '../../gluonps/v1/LeaveRequest';
import type { PushGradResponse as _gluonps_v1_PushGradResponse, PushGradResponse__Output as _gluonps_v1_PushGradResponse__Output } from '../../gluonps/v1/PushGradResponse';
import type { SetLearningRateRequest as _gluonps_v1_SetLearningRateRequest, SetLearningRateRequest__Output as _gluonps_v1_SetLearningRateRequest__Output } from '../../gluonps/v1/SetLearningRateRequest';
import type { StatesChunk as _gluonps_v1_StatesChunk, StatesChunk__Output as _gluonps_v1_StatesChunk__Output } from '../../gluonps/v1/StatesChunk';
import type { StepRequest as _gluonps_v1_StepRequest, StepRequest__Output as _gluonps_v1_StepRequest__Output } from '../../gluonps/v1/StepRequest';
import type { StepResponse as _gluonps_v1_StepResponse, StepResponse__Output as _gluonps_v1_StepResponse__Output } from '../../gluonps/v1/StepResponse';
import type { TrainerInfo as _gluonps_v1_TrainerInfo, TrainerInfo__Output as _gluonps_v1_TrainerInfo__Output } from '../../gluonps/v1/TrainerInfo';
import type { TrainerRef as _gluonps_v1_TrainerRef, TrainerRef__Output as _gluonps_v1_TrainerRef__Output } from '../../gluonps/v1/TrainerRef';

/**
 * Trains parameters of the ParameterService with gradients that workers push.
 */
export interface TrainerServiceClient extends grpc.Client {
  /**
   * Creates a trainer, or returns the existing one of that name if its spec is identical
   * (ALREADY_EXISTS otherwise).
   */
  CreateTrainer(argument: _gluonps_v1_CreateTrainerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  CreateTrainer(argument: _gluonps_v1_CreateTrainerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  CreateTrainer(argument: _gluonps_v1_CreateTrainerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  CreateTrainer(argument: _gluonps_v1_CreateTrainerRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Creates a trainer, or returns the existing one of that name if its spec is identical
   * (ALREADY_EXISTS otherwise).
   */
  createTrainer(argument: _gluonps_v1_CreateTrainerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  createTrainer(argument: _gluonps_v1_CreateTrainerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  createTrainer(argument: _gluonps_v1_CreateTrainerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  createTrainer(argument: _gluonps_v1_CreateTrainerRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Describes the trainer: step, mode, workers seen, whom an open step waits for.
   */
  DescribeTrainer(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  DescribeTrainer(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  DescribeTrainer(argument: _gluonps_v1_TrainerRef, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  DescribeTrainer(argument: _gluonps_v1_TrainerRef, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Describes the trainer: step, mode, workers seen, whom an open step waits for.
   */
  describeTrainer(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  describeTrainer(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  describeTrainer(argument: _gluonps_v1_TrainerRef, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  describeTrainer(argument: _gluonps_v1_TrainerRef, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Removes a worker from the sync barrier for the rest of training.
   */
  Leave(argument: _gluonps_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  Leave(argument: _gluonps_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  Leave(argument: _gluonps_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  Leave(argument: _gluonps_v1_LeaveRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Removes a worker from the sync barrier for the rest of training.
   */
  leave(argument: _gluonps_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  leave(argument: _gluonps_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  leave(argument: _gluonps_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  leave(argument: _gluonps_v1_LeaveRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Restores a snapshot from SaveStates.
   */
  LoadStates(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  LoadStates(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  LoadStates(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  LoadStates(callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  /**
   * Restores a snapshot from SaveStates.
   */
  loadStates(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  loadStates(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  loadStates(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  loadStates(callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientWritableStream<_gluonps_v1_StatesChunk>;
  
  /**
   * Records a worker's gradient for one parameter of its current step (dense or row_sparse).
   * The gradient is staged in memory, not logged: it is answered once the server holds it. A
   * worker keeps every gradient it pushed for the open step until that step's Step is answered.
   * Restart rule: a server that restarted lost the staged pushes of the open step (k); it
   * answers each worker's next PushGrad or Step for step k once with FAILED_PRECONDITION and a
   * message containing `step k restarted: push again`. The worker then pushes every kept
   * gradient of step k again (new keys; an answer "already pushed a gradient for" means the
   * server holds it) and sends the call again (Step with its same key). Async trainers: the
   * same, for the worker's next call whatever its step.
   */
  PushGrad(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  PushGrad(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  PushGrad(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  PushGrad(callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  /**
   * Records a worker's gradient for one parameter of its current step (dense or row_sparse).
   * The gradient is staged in memory, not logged: it is answered once the server holds it. A
   * worker keeps every gradient it pushed for the open step until that step's Step is answered.
   * Restart rule: a server that restarted lost the staged pushes of the open step (k); it
   * answers each worker's next PushGrad or Step for step k once with FAILED_PRECONDITION and a
   * message containing `step k restarted: push again`. The worker then pushes every kept
   * gradient of step k again (new keys; an answer "already pushed a gradient for" means the
   * server holds it) and sends the call again (Step with its same key). Async trainers: the
   * same, for the worker's next call whatever its step.
   */
  pushGrad(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  pushGrad(metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  pushGrad(options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  pushGrad(callback: grpc.requestCallback<_gluonps_v1_PushGradResponse__Output>): grpc.ClientWritableStream<_gluonps_v1_GradUpload>;
  
  /**
   * Streams an opaque snapshot of every optimizer state (per parameter and context) and counts.
   */
  SaveStates(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_StatesChunk__Output>;
  SaveStates(argument: _gluonps_v1_TrainerRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_StatesChunk__Output>;
  /**
   * Streams an opaque snapshot of every optimizer state (per parameter and context) and counts.
   */
  saveStates(argument: _gluonps_v1_TrainerRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_StatesChunk__Output>;
  saveStates(argument: _gluonps_v1_TrainerRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_gluonps_v1_StatesChunk__Output>;
  
  /**
   * Sets the base learning rate for the next steps.
   */
  SetLearningRate(argument: _gluonps_v1_SetLearningRateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  SetLearningRate(argument: _gluonps_v1_SetLearningRateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  SetLearningRate(argument: _gluonps_v1_SetLearningRateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  SetLearningRate(argument: _gluonps_v1_SetLearningRateRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  /**
   * Sets the base learning rate for the next steps.
   */
  setLearningRate(argument: _gluonps_v1_SetLearningRateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  setLearningRate(argument: _gluonps_v1_SetLearningRateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  setLearningRate(argument: _gluonps_v1_SetLearningRateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  setLearningRate(argument: _gluonps_v1_SetLearningRateRequest, callback: grpc.requestCallback<_gluonps_v1_TrainerInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * Completes a worker's step: sync waits for every worker, then applies the summed update once;
   * async applies this worker's gradients at once. The step is the commit: with a write-ahead
   * log it is answered once the update is applied and its one log record (the summed gradient)
   * is as durable as the mode promises. See PushGrad for the restart rule.
   */
  Step(argument: _gluonps_v1_StepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _gluonps_v1_StepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _gluonps_v1_StepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _gluonps_v1_StepRequest, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Completes a worker's step: sync waits for every worker, then applies the summed update once;
   * async applies this worker's gradients at once. The step is the commit: with a write-ahead
   * log it is answered once the update is applied and its one log record (the summed gradient)
   * is as durable as the mode promises. See PushGrad for the restart rule.
   */
  step(argument: _gluonps_v1_StepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _gluonps_v1_StepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _gluonps_v1_StepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _gluonps_v1_StepRequest, callback: grpc.requestCallback<_gluonps_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Trains parameters of the ParameterService with gradients that workers push.
 */
export interface TrainerServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Creates a trainer, or returns the existing one of that name if its spec is identical
   * (ALREADY_EXISTS otherwise).
   */
  CreateTrainer: grpc.handleUnaryCall<_gluonps_v1_CreateTrainerRequest__Output, _gluonps_v1_TrainerInfo>;
  
  /**
   * Describes the trainer: step, mode, workers seen, whom an open step waits for.
   */
  DescribeTrainer: grpc.handleUnaryCall<_gluonps_v1_TrainerRef__Output, _gluonps_v1_TrainerInfo>;
  
  /**
   * Removes a worker from the sync barrier for the rest of training.
   */
  Leave: grpc.handleUnaryCall<_gluonps_v1_LeaveRequest__Output, _gluonps_v1_TrainerInfo>;
  
  /**
   * Restores a snapshot from SaveStates.
   */
  LoadStates: grpc.handleClientStreamingCall<_gluonps_v1_StatesChunk__Output, _gluonps_v1_TrainerInfo>;
  
  /**
   * Records a worker's gradient for one parameter of its current step (dense or row_sparse).
   * The gradient is staged in memory, not logged: it is answered once the server holds it. A
   * worker keeps every gradient it pushed for the open step until that step's Step is answered.
   * Restart rule: a server that restarted lost the staged pushes of the open step (k); it
   * answers each worker's next PushGrad or Step for step k once with FAILED_PRECONDITION and a
   * message containing `step k restarted: push again`. The worker then pushes every kept
   * gradient of step k again (new keys; an answer "already pushed a gradient for" means the
   * server holds it) and sends the call again (Step with its same key). Async trainers: the
   * same, for the worker's next call whatever its step.
   */
  PushGrad: grpc.handleClientStreamingCall<_gluonps_v1_GradUpload__Output, _gluonps_v1_PushGradResponse>;
  
  /**
   * Streams an opaque snapshot of every optimizer state (per parameter and context) and counts.
   */
  SaveStates: grpc.handleServerStreamingCall<_gluonps_v1_TrainerRef__Output, _gluonps_v1_StatesChunk>;
  
  /**
   * Sets the base learning rate for the next steps.
   */
  SetLearningRate: grpc.handleUnaryCall<_gluonps_v1_SetLearningRateRequest__Output, _gluonps_v1_TrainerInfo>;
  
  /**
   * Completes a worker's step: sync waits for every worker, then applies the summed update once;
   * async applies this worker's gradients at once. The step is the commit: with a write-ahead
   * log it is answered once the update is applied and its one log record (the summed gradient)
   * is as durable as the mode promises. See PushGrad for the restart rule.
   */
  Step: grpc.handleUnaryCall<_gluonps_v1_StepRequest__Output, _gluonps_v1_StepResponse>;
  
}

export interface TrainerServiceDefinition extends grpc.ServiceDefinition {
  CreateTrainer: MethodDefinition<_gluonps_v1_CreateTrainerRequest, _gluonps_v1_TrainerInfo, _gluonps_v1_CreateTrainerRequest__Output, _gluonps_v1_TrainerInfo__Output>
  DescribeTrainer: MethodDefinition<_gluonps_v1_TrainerRef, _gluonps_v1_TrainerInfo, _gluonps_v1_TrainerRef__Output, _gluonps_v1_TrainerInfo__Output>
  Leave: MethodDefinition<_gluonps_v1_LeaveRequest, _gluonps_v1_TrainerInfo, _gluonps_v1_LeaveRequest__Output, _gluonps_v1_TrainerInfo__Output>
  LoadStates: MethodDefinition<_gluonps_v1_StatesChunk, _gluonps_v1_TrainerInfo, _gluonps_v1_StatesChunk__Output, _gluonps_v1_TrainerInfo__Output>
  PushGrad: MethodDefinition<_gluonps_v1_GradUpload, _gluonps_v1_PushGradResponse, _gluonps_v1_GradUpload__Output, _gluonps_v1_PushGradResponse__Output>
  SaveStates: MethodDefinition<_gluonps_v1_TrainerRef, _gluonps_v1_StatesChunk, _gluonps_v1_TrainerRef__Output, _gluonps_v1_StatesChunk__Output>
  SetLearningRate: MethodDefinition<_gluonps_v1_SetLearningRateRequest, _gluonps_v1_TrainerInfo, _gluonps_v1_SetLearningRateRequest__Output, _gluonps_v1_TrainerInfo__Output>
  Step: MethodDefinition<_gluonps_v1_StepRequest, _gluonps_v1_StepResponse, _gluonps_v1_StepRequest__Output, _gluonps_v1_StepResponse__Output>
}
