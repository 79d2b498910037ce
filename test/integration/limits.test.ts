// The server's limits on what one caller may make it hold (issue 10; docs/configuration.md,
// "Limits"), against the real server in this process: each refusal is the documented status,
// names the limit, its value and the flag that raises it, and changes nothing.
import { describe, expect, it } from 'vitest';
import { init, Status } from '../../client/index';
import { rejectsWith, startHarness } from './helpers';
import { RawTrainerService, RawWorker, sleep, trainerRequest } from './trainer-helpers';

const SGD = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 0.1 };

describe('workers per trainer', () => {
  it('refuses a trainer for more workers than --max-workers-per-trainer, and creates nothing', async () => {
    const h = await startHarness();
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await rejectsWith(raw.create(trainerRequest('big', ['w'], SGD, { numWorkers: 0xffff_ffff })), Status.RESOURCE_EXHAUSTED, /num_workers 4294967295 is over the limit of 4096 \(--max-workers-per-trainer raises it\)/);
      expect(h.server.trainers.all()).toEqual([]);
      await rejectsWith(raw.describe('big'), Status.NOT_FOUND, /does not exist/);
      // The limit itself is allowed.
      expect((await raw.create(trainerRequest('ok', ['w'], SGD, { numWorkers: 4096 }))).numWorkers).toBe(4096);
    } finally {
      raw.close();
      await h.close();
    }
  });

  it('serves a sync trainer for 2^32 - 1 workers (limit raised) without lists as long as num_workers', async () => {
    const h = await startHarness({ maxWorkersPerTrainer: 0xffff_ffff });
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await raw.create(trainerRequest('huge', ['w'], SGD, { numWorkers: 0xffff_ffff, stepTimeoutMs: 200 }));
      const worker = new RawWorker(raw, 'huge', 7);
      await worker.push('w', { shape: [2], dtype: 'float32', data: Float32Array.of(1, 2) });
      const step = worker.step(1).then(() => null, (e: unknown) => e as Error & { code: number });
      await sleep(20);
      const info = await raw.describe('huge');
      expect(info.waitingFor.length).toBe(1024);
      expect(info.waitingFor.slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
      expect(info.workersSeen).toEqual([0, 7]);
      // The deadline names a few of the missing workers and counts the rest.
      const err = await step;
      expect(err?.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(err?.message).toMatch(/waiting for workers 0, 1, .*, 16 and 4294967278 more; the step was not applied/);
      expect((await raw.describe('huge')).waitingFor).toEqual([]);
    } finally {
      raw.close();
      await h.close();
    }
  });
});
