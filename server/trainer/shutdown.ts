// shutdown.ts: what a trainer does when its server stops. With a data dir it suspends (the
// waiting steps are answered UNAVAILABLE so they retry against the restarted server, and the open
// step is kept for the final checkpoint); then it closes (every waiting step fails, gradients
// and optimizer states are freed). Kept apart from trainer.ts, which holds the step logic.
import * as grpc from '@grpc/grpc-js';
import { ServerError } from '../errors';
import { slotOf } from './keyed-results';
import type { Trainer } from './trainer';
import type { StepResult } from './types';

/**
 * Shutdown with a data dir: answers the calls waiting at the barrier with UNAVAILABLE (so they
 * retry against the restarted server) but keeps the open step, its keys and gradients for the
 * final checkpoint; a retried step with the same key then finds its place after the restart.
 */
export function suspendTrainer(t: Trainer): void {
  const open = t.open;
  if (open === null || open.applying) return;
  if (open.timer) clearTimeout(open.timer);
  open.timer = null;
  const waiters = open.waiters.splice(0);
  for (const [, key] of open.keys) {
    const table = t.keyed.results.get(slotOf(key));
    const retry = new Promise<StepResult>((resolve, reject) => open.waiters.push({ resolve, reject }));
    retry.catch(() => undefined); // close() fails it when no retry came: not an unhandled rejection
    table?.set(key.sequence, retry);
  }
  for (const w of waiters)
    w.reject(new ServerError(grpc.status.UNAVAILABLE, `${t.who}: the server is shutting down; retry the step`));
}

/** Fails every waiting step (server shutdown) and frees gradients and states. */
export function closeTrainer(t: Trainer): void {
  if (t.open) {
    if (t.open.timer) clearTimeout(t.open.timer);
    for (const w of t.open.waiters)
      w.reject(new ServerError(grpc.status.UNAVAILABLE, `${t.who}: the server is shutting down`));
    t.open = null;
  }
  t.discardPending();
  for (const st of t.states.values()) for (const list of st.tensors) for (const x of list) x.dispose();
  t.states.clear();
}
