// trainer-calls.ts: what the Trainer handle (trainer.ts) knows of its pushes and steps beside
// the handle itself: the server's answers it acts on (a restart that lost the staged gradients,
// a gradient already held), the shape of a kept push and of a step request, a push's fingerprint
// (to know the same gradient pushed again), and which failures leave a call's outcome unknown.
import { createHash } from 'node:crypto';
import type { GradUpload } from '../protos/generated/gluonps/v1/GradUpload';
import type { IdempotencyKey } from '../protos/generated/gluonps/v1/IdempotencyKey';
import type { StepDecision } from '../protos/generated/gluonps/v1/StepDecision';
import { GluonPsError, Status } from './errors';

/** The server restarted and lost the gradients staged for the open step (protos: TrainerService). */
export const RESTARTED = /\bstep \d+ restarted: push again\b/;
/** A gradient the server already holds for this step (a push repeated after a restart). */
export const ALREADY_PUSHED = /\balready pushed a gradient for\b/;
/** Rounds of pushing again after restarts before a call gives up (each needs another restart). */
export const MAX_RESTART_ROUNDS = 3;

/** A pushed gradient as it travels (and is kept until its step is answered). */
export interface Kept {
  header: GradUpload['header'];
  bytes: Uint8Array;
  /** A row_sparse gradient of no rows (GradUpload.row_sparse). */
  rowSparse?: boolean;
}

/** A Step request as this handle sends it (and sends again, unchanged, when retrying). */
export interface StepCall {
  trainer: string;
  key: IdempotencyKey;
  step: number;
  batchSize: number;
  decision?: StepDecision;
}

/**
 * What a push sent, to know the same gradient pushed again: its header and a SHA-256 of its
 * bytes (the caller may reuse its buffer once a call settled, so the bytes themselves are not
 * kept for comparing). Computed only after a failure, never on the way of a push.
 */
export function fingerprintOf(u: Kept): string {
  const hash = createHash('sha256').update(u.bytes).digest('hex');
  return `${JSON.stringify(u.header)}|${u.rowSparse === true}|${hash}`;
}

/** A failure that says nothing of whether the server applied the call (transport, a lost reply). */
export function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof GluonPsError)) return true;
  switch (err.code) {
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
    case Status.CANCELLED:
    case Status.UNKNOWN:
    case Status.INTERNAL:
      return true;
    default:
      return false;
  }
}

export const isRestarted = (err: unknown): boolean =>
  err instanceof GluonPsError && err.code === Status.FAILED_PRECONDITION && RESTARTED.test(err.message);
