// follower.ts: a sync step on a shard that follows its trainer's decider (docs/cluster.md,
// "Deadlines, quorum and leave across shards"). A trainer spanning several shards decides each
// step in one place, its lowest shard: that shard runs the barrier with the deadline and the
// timeout policy as a lone server does, and logs what it decided (the step's commit record names
// its workers; an abort record says it failed). A cluster client then carries the decider's
// answer to the other shards in StepRequest.decision:
// - applied with workers W: this shard applies the step with exactly W, once each of them (less
//   any that left) has stepped here, with no deadline of its own (W were all alive and done
//   pushing when the decider closed its barrier, and they come straight on);
// - refused (the decider's deadline passed, or the step closed without the worker): the worker's
//   gradients staged here for the step are dropped, as the decider dropped them, and the call
//   waits until this shard has applied as many steps as the decider, so the worker's next pushes
//   find both at the same step.
// So a step is never applied on some shards and refused on others: only the decider refuses.
// A decided worker that never steps here (it died right after the decider answered it) would
// hold the step up for good: after the step timeout the shard applies it with every decided
// worker and the decider's batch size, which is what the decider applied (every decided worker
// had pushed to every shard before it stepped on the decider), unless this shard restarted
// during the step (their pushes may be lost: it then waits for them to push again).
import * as grpc from '@grpc/grpc-js';
import { invalid, precondition, ServerError } from '../errors';
import { MAX_TIMER_MS } from '../limits';
import type { Trainer } from './trainer';
import type { OpenStep, StepResult } from './types';

/** StepRequest.decision as the trainer takes it. */
export interface StepDecision {
  applied: boolean;
  workers: number[];
  /** The decider's step count after its answer. */
  step: number;
  /** Applied: the decider's batch size (0 or absent: unknown). */
  batch?: number;
}

/** The last step this shard applied at its deadline, for decided workers whose Step comes after. */
const appliedAtDeadline = new WeakMap<Trainer, { index: number; workers: string; result: StepResult }>();

const fmt = (ws: readonly number[]): string => `[${ws.join(', ')}]`;

/** Refuses (INVALID_ARGUMENT) a decision no decider could have sent for this worker's call. */
export function checkDecision(who: string, d: StepDecision, workerId: number, numWorkers: number): void {
  if (!Number.isSafeInteger(d.step) || d.step < 0)
    throw invalid(`${who}: decision.step must be the decider's step count (an integer >= 0), got ${d.step}`);
  if (!d.applied) return;
  if (d.workers.length === 0)
    throw invalid(`${who}: an applied decision must list the workers the step combined, got none`);
  const bad = d.workers.find((w) => !Number.isInteger(w) || w < 0 || w >= numWorkers);
  if (bad !== undefined) throw invalid(`${who}: decision worker id ${bad} is out of range [0, ${numWorkers})`);
  if (new Set(d.workers).size !== d.workers.length)
    throw invalid(`${who}: decision workers ${fmt(d.workers)} list a worker twice`);
  if (!d.workers.includes(workerId))
    throw invalid(
      `${who}: worker ${workerId} carries a decision to apply the step with workers ${fmt(d.workers)}, which does not include it`,
    );
}

/** Throws FAILED_PRECONDITION unless a Step with `decision` (or none) may join the open step. */
export function checkJoin(who: string, open: OpenStep | null, decision: StepDecision | null): void {
  if (open === null) return;
  if (decision === null && open.decided !== null)
    throw precondition(
      `${who}: step ${open.index} follows its decider's decision to apply it with workers ${fmt(open.decided)}; a Step without a decision cannot join it (step through a cluster client)`,
    );
  if (decision === null) return;
  if (open.decided === null && open.stepped.size > 0)
    throw precondition(
      `${who}: step ${open.index} runs a barrier of its own (workers ${fmt([...open.stepped.keys()].sort((a, b) => a - b))} stepped without a decision); a Step carrying a decider's decision cannot join it`,
    );
  const mine = [...decision.workers].sort((a, b) => a - b);
  if (open.decided !== null && mine.join(',') !== open.decided.join(','))
    throw precondition(
      `${who}: step ${open.index} follows the decision to apply it with workers ${fmt(open.decided)}, but this call carries workers ${fmt(mine)}`,
    );
}

/** The decided workers, sorted (what an open step that follows a decision keeps). */
export function decidedOf(decision: StepDecision | null): number[] | null {
  return decision === null ? null : [...decision.workers].sort((a, b) => a - b);
}

/**
 * The decided workers, once every one of them stepped here or left (a decided worker that left
 * kept its gradients here, and the decider's batch size counts it); else null.
 */
export function decidedReady(open: OpenStep, left: ReadonlySet<number>): number[] | null {
  const decided = open.decided!;
  if (!decided.every((w) => open.stepped.has(w) || left.has(w)) || open.stepped.size === 0) return null;
  return open.decidedBatch > 0 ? decided : decided.filter((w) => open.stepped.has(w));
}

/**
 * The decider refused the step for this worker: drop what it staged here for `step`, then wait
 * until this shard has applied `target` steps (the decider's count), bounded by the step timeout.
 */
export async function followRefusal(t: Trainer, workerId: number, step: number, target: number): Promise<StepResult> {
  await t.store.gate.shared(() => {
    if (t.stepCount === step && !(t.open?.stepped.has(workerId) ?? false)) t.discardPendingOf(workerId);
  });
  if (t.stepCount < target) await untilStep(t, target);
  return { step: t.stepCount, versions: t.spec.params.map((p) => t.store.entry(p).version), workers: [] };
}

function untilStep(t: Trainer, target: number): Promise<void> {
  const ms = Math.min(t.spec.stepTimeoutMs, MAX_TIMER_MS);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      t.onApplied.delete(check);
    };
    const check = (): void => {
      if (t.stepCount < target) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new ServerError(
          grpc.status.DEADLINE_EXCEEDED,
          `${t.who}: this shard has applied ${t.stepCount} steps, its decider ${target}, and it did not catch up within the step timeout (${t.spec.stepTimeoutMs} ms)`,
        ),
      );
    }, ms);
    t.onApplied.add(check);
    check();
  });
}

/** A decided Step for a step this shard already applied at its deadline with those workers: that result. */
export function appliedBefore(t: Trainer, step: number, d: StepDecision): StepResult | null {
  const last = appliedAtDeadline.get(t);
  const workers = [...d.workers].sort((a, b) => a - b).join(',');
  return last !== undefined && last.index === step && last.workers === workers ? last.result : null;
}

/** The step timeout of a decided step (set only when the decider's batch size is known). */
export function followerTimeout(t: Trainer, open: OpenStep, restarted: boolean): void {
  if (restarted || open.decidedBatch <= 0) return;
  const decided = open.decided!;
  const workers = decided.filter((w) => open.stepped.has(w) || !t.left.has(w));
  const index = open.index;
  open.waiters.push({
    resolve: (result) => appliedAtDeadline.set(t, { index, workers: decided.join(','), result }),
    reject: () => undefined,
  });
  void t.applyOpen(open, workers);
}
