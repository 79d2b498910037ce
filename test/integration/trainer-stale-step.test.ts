// The typed reason of a stale step: a push or step for a step that is closed, or not open yet,
// ends FAILED_PRECONDITION with the trailing metadata `gluonps-reason: stale-step`,
// `gluonps-step` (the step the call named) and `gluonps-trainer-step` (the steps the trainer
// applied), which the client reads as GluonPsError.reason (docs/api.md, "Errors"). Driven through
// the generated TrainerService stub, as a raw gRPC client would see it; the client's own use of
// the reason (catching up its step counter) is in trainer-sync.test.ts's quorum test and
// cluster-restart.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, GluonPsError, init, Status } from '../../client/index';
import type { Harness } from './helpers';
import { startHarness } from './helpers';
import { f32t, RawTrainerService, trainerRequest } from './trainer-helpers';

let h: Harness;
const conns: RawTrainerService[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const c of conns) c.close();
  await h?.close();
});

/** The refusal a call ends with (it must end with one). */
async function refusal(p: Promise<unknown>): Promise<GluonPsError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GluonPsError);
  return err as GluonPsError;
}

/** The reason's trailing metadata entries of a refusal. */
function trailers(err: GluonPsError): Record<string, unknown> {
  const md = err.metadata?.getMap() ?? {};
  return Object.fromEntries(Object.entries(md).filter(([k]) => k.startsWith('gluonps-')));
}

describe('a stale step has the typed reason stale-step', () => {
  it('a push or step for a closed step, and a push for a step not open yet, name the reason and both steps', async () => {
    const p = await h.ps.parameter('stale_w', { shape: [2], init: init.zero() });
    await p.initialize({ ctx: [cpu(0)] });
    const t = h.rawTarget('stale_w');
    const svc = new RawTrainerService(t.address, t.options);
    conns.push(svc);
    await svc.create(
      trainerRequest('stale_t', ['stale_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: 1 }, { numWorkers: 1 }),
    );
    let sequence = 0;
    const key = (): { workerId: number; incarnation: number; sequence: number } => ({
      workerId: 0,
      incarnation: 1,
      sequence: ++sequence,
    });
    const g = f32t([2], [1, 1]);
    await svc.push({ trainer: 'stale_t', param: 'stale_w', key: key(), step: 0, tensor: g });
    expect((await svc.step({ trainer: 'stale_t', key: key(), step: 0, batchSize: 1 })).step).toBe(1);

    const closedPush = await refusal(
      svc.push({ trainer: 'stale_t', param: 'stale_w', key: key(), step: 0, tensor: g }),
    );
    expect(closedPush.code).toBe(Status.FAILED_PRECONDITION);
    // The message is unchanged: people read it.
    expect(closedPush.message).toMatch(/trainer 'stale_t': step 0 is closed \(1 steps applied\); push for step 1/);
    expect(closedPush.reason).toBe('stale-step');
    expect(trailers(closedPush)).toEqual({
      'gluonps-reason': 'stale-step',
      'gluonps-step': '0',
      'gluonps-trainer-step': '1',
    });

    const closedStep = await refusal(svc.step({ trainer: 'stale_t', key: key(), step: 0, batchSize: 1 }));
    expect(closedStep.code).toBe(Status.FAILED_PRECONDITION);
    expect(closedStep.reason).toBe('stale-step');
    expect(trailers(closedStep)).toMatchObject({ 'gluonps-step': '0', 'gluonps-trainer-step': '1' });

    const ahead = await refusal(svc.push({ trainer: 'stale_t', param: 'stale_w', key: key(), step: 3, tensor: g }));
    expect(ahead.code).toBe(Status.FAILED_PRECONDITION);
    expect(ahead.message).toMatch(/step 3 is not open yet; the trainer is at step 1/);
    expect(ahead.reason).toBe('stale-step');
    expect(trailers(ahead)).toEqual({
      'gluonps-reason': 'stale-step',
      'gluonps-step': '3',
      'gluonps-trainer-step': '1',
    });

    // Another FAILED_PRECONDITION of the same call has no reason: a client acting on the reason
    // does not mistake it for a stale step.
    await svc.push({ trainer: 'stale_t', param: 'stale_w', key: key(), step: 1, tensor: g });
    const twice = await refusal(svc.push({ trainer: 'stale_t', param: 'stale_w', key: key(), step: 1, tensor: g }));
    expect(twice.code).toBe(Status.FAILED_PRECONDITION);
    expect(twice.message).toMatch(/already pushed a gradient for 'stale_w' in step 1/);
    expect(twice.reason).toBeUndefined();
    expect(trailers(twice)).toEqual({});
  });
});
