// Unit tests of the trainer client's pure logic (client/trainer.ts, client/retry.ts): optimizer
// specs and trainer options to gluonps.v1 messages, descriptors back, gradients to uploads, the
// retry rule and backoff, and the handle's keys, step counter and learning rate over a fake
// TrainerService stub. No network, no server.
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { GluonPsError } from '../../client/errors';
import { backoffMs, DEFAULT_RETRY, isRetryable, retrySettings, withRetry } from '../../client/retry';
import { Channel } from '../../client/channel';
import { STEP_DEADLINE_MARGIN_MS, Trainer } from '../../client/trainer';
import {
  checkTrainerOptions,
  describeTrainerInfo,
  gradToUpload,
  optimizerFromProto,
  optimizerToProto,
  randomIncarnation,
} from '../../client/trainer-wire';
import type { IdempotencyKey } from '../../protos/generated/gluonps/v1/IdempotencyKey';
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import type { TrainerServiceClient } from '../../protos/generated/gluonps/v1/TrainerService';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import { buildOptimizer } from '../../common/optimizer/optimizer-spec';
import { codeOf } from '../fixtures/thrown';

const BARRIER_TIMEOUT = "trainer 't': step 0 timed out after 300 ms waiting for worker 1; the step was not applied";

describe('retry rule', () => {
  it("retries UNAVAILABLE, and DEADLINE_EXCEEDED only as gRPC's own deadline of an attempt that had one", () => {
    expect(isRetryable(new GluonPsError(status.UNAVAILABLE, 'Connection dropped'), false)).toBe(true);
    expect(
      isRetryable(new GluonPsError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 40.002s,LB pick: 0s'), true),
    ).toBe(true);
    expect(isRetryable(new GluonPsError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), true)).toBe(true);
    // No deadline was set: the status can only be the server's answer.
    expect(isRetryable(new GluonPsError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), false)).toBe(false);
    // The trainer's sync-barrier timeout is a final answer, deadline or not.
    expect(isRetryable(new GluonPsError(status.DEADLINE_EXCEEDED, BARRIER_TIMEOUT), true)).toBe(false);
    expect(isRetryable(new GluonPsError(status.DEADLINE_EXCEEDED, BARRIER_TIMEOUT), false)).toBe(false);
    for (const code of [
      status.CANCELLED,
      status.FAILED_PRECONDITION,
      status.INVALID_ARGUMENT,
      status.ABORTED,
      status.INTERNAL,
      status.NOT_FOUND,
    ]) {
      expect(isRetryable(new GluonPsError(code, 'x'), true)).toBe(false);
    }
  });

  it('backs off exponentially from 50 ms to a 2 s cap, with jitter in the upper half', () => {
    const s = DEFAULT_RETRY;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, s, () => 1))).toEqual([
      50, 100, 200, 400, 800, 1600, 2000, 2000,
    ]);
    expect(backoffMs(1, s, () => 0)).toBe(25);
    expect(backoffMs(10, s, () => 0)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const v = backoffMs(3, s);
      expect(v).toBeGreaterThanOrEqual(100);
      expect(v).toBeLessThanOrEqual(200);
    }
  });

  it('checks retry options', () => {
    expect(retrySettings('t', undefined)).toEqual({ maxAttempts: 8, initialBackoffMs: 50, maxBackoffMs: 2000 });
    expect(retrySettings('t', { maxAttempts: 1 })).toEqual({
      maxAttempts: 1,
      initialBackoffMs: 50,
      maxBackoffMs: 2000,
    });
    expect(codeOf(() => retrySettings('t', { attempts: 3 } as never))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringMatching(/'attempts'/),
    });
    expect(codeOf(() => retrySettings('t', { maxAttempts: 0 })).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => retrySettings('t', { maxBackoffMs: 1.5 })).code).toBe(status.INVALID_ARGUMENT);
  });

  it('withRetry repeats the same attempt on retryable failures, sleeping the backoff', async () => {
    const sleeps: number[] = [];
    let n = 0;
    const result = await withRetry(
      DEFAULT_RETRY,
      (attempt) => {
        n = attempt;
        return {
          deadlineSet: true,
          result: attempt < 3 ? Promise.reject(new GluonPsError(status.UNAVAILABLE, 'down')) : Promise.resolve('done'),
        };
      },
      { sleep: async (ms) => void sleeps.push(ms), random: () => 1 },
    );
    expect(result).toBe('done');
    expect(n).toBe(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('withRetry stops at a final answer and after maxAttempts, saying how many', async () => {
    let calls = 0;
    const final = withRetry(
      DEFAULT_RETRY,
      () => {
        calls++;
        return {
          deadlineSet: true,
          result: Promise.reject(new GluonPsError(status.DEADLINE_EXCEEDED, BARRIER_TIMEOUT)),
        };
      },
      { sleep: async () => undefined },
    );
    await expect(final).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED, message: BARRIER_TIMEOUT });
    expect(calls).toBe(1);

    calls = 0;
    const exhausted = withRetry(
      { ...DEFAULT_RETRY, maxAttempts: 4 },
      () => {
        calls++;
        return {
          deadlineSet: false,
          result: Promise.reject(new GluonPsError(status.UNAVAILABLE, 'No connection established')),
        };
      },
      { sleep: async () => undefined },
    );
    await expect(exhausted).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      message: expect.stringMatching(/No connection established \(gave up after 4 attempts/),
    });
    expect(calls).toBe(4);

    // An attempt that throws synchronously is a final answer too.
    await expect(
      withRetry(DEFAULT_RETRY, () => {
        throw new GluonPsError(status.INVALID_ARGUMENT, 'bad');
      }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe('optimizer specs', () => {
  it('translate MXNet camelCase settings, dropping null ("none") and undefined', () => {
    expect(
      optimizerToProto('t', 'sgd', {
        learningRate: 0.1,
        momentum: 0.9,
        wd: 0,
        clipGradient: null,
        lazyUpdate: false,
        rescaleGrad: undefined,
      }),
    ).toEqual({ kind: 'OPTIMIZER_KIND_SGD', learningRate: 0.1, momentum: 0.9, wd: 0, lazyUpdate: false });
    expect(optimizerToProto('t', 'adamw')).toEqual({ kind: 'OPTIMIZER_KIND_ADAMW' });
    expect(optimizerToProto('t', 'lamb', { lowerBound: 1e-3, upperBound: 10, biasCorrection: false })).toEqual({
      kind: 'OPTIMIZER_KIND_LAMB',
      lowerBound: 1e-3,
      upperBound: 10,
      biasCorrection: false,
    });
    expect(
      optimizerToProto('t', 'rmsprop', { gamma1: 0.9, gamma2: 0.8, centered: true, clipWeights: 5, epsilon: 1e-7 }),
    ).toEqual({
      kind: 'OPTIMIZER_KIND_RMSPROP',
      gamma1: 0.9,
      gamma2: 0.8,
      centered: true,
      clipWeights: 5,
      epsilon: 1e-7,
    });
    expect(optimizerToProto('t', 'ftrl', { lamda1: 0.01, beta: 1 })).toEqual({
      kind: 'OPTIMIZER_KIND_FTRL',
      lamda1: 0.01,
      beta: 1,
    });
  });

  it('translate lr schedulers', () => {
    const spec = optimizerToProto('t', 'sgd', {
      learningRate: 1,
      lrScheduler: {
        kind: 'multifactor',
        steps: [10, 20],
        factor: 0.5,
        warmupSteps: 5,
        warmupBeginLr: 0.1,
        warmupMode: 'constant',
      },
    });
    expect(spec.lrScheduler).toEqual({
      kind: 'multifactor',
      steps: [10, 20],
      factor: 0.5,
      warmupSteps: 5,
      warmupBeginLr: 0.1,
      warmupMode: 'constant',
    });
    expect(optimizerToProto('t', 'sgd', { lrScheduler: null })).toEqual({ kind: 'OPTIMIZER_KIND_SGD' });
    expect(codeOf(() => optimizerToProto('t', 'sgd', { lrScheduler: { kind: 'step' as never } })).message).toMatch(
      /lrScheduler.kind/,
    );
    expect(
      codeOf(() => optimizerToProto('t', 'sgd', { lrScheduler: { kind: 'factor', max_update: 3 } as never })).message,
    ).toMatch(/'max_update'/);
    expect(
      codeOf(() => optimizerToProto('t', 'sgd', { lrScheduler: { kind: 'factor', warmupMode: 'cubic' as never } }))
        .message,
    ).toMatch(/warmupMode/);
    expect(
      codeOf(() => optimizerToProto('t', 'sgd', { lrScheduler: { kind: 'multifactor', steps: [1.5] } })).message,
    ).toMatch(/steps\[0\]/);
  });

  it('reject an unknown setting name with INVALID_ARGUMENT naming it, and wrong types', () => {
    const e = codeOf(() => optimizerToProto("trainer 'm'", 'sgd', { learning_rate: 0.1 } as never));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.message).toMatch(/^trainer 'm': unknown optimizer setting 'learning_rate'; expected learningRate, /);
    expect(codeOf(() => optimizerToProto('t', 'sgd', { momentum: 0.9, nesterov: true } as never)).message).toMatch(
      /'nesterov'/,
    );
    expect(codeOf(() => optimizerToProto('t', 'sgd', { momentum: '0.9' } as never)).message).toMatch(
      /momentum must be a finite number, got "0.9"/,
    );
    expect(codeOf(() => optimizerToProto('t', 'sgd', { learningRate: Number.NaN })).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => optimizerToProto('t', 'adam', { biasCorrection: 1 } as never)).message).toMatch(
      /biasCorrection must be a boolean/,
    );
    expect(codeOf(() => optimizerToProto('t', 'sgdm')).message).toMatch(
      /unknown optimizer "sgdm", expected one of sgd, nag/,
    );
    expect(codeOf(() => optimizerToProto('t', 'sgd', 0.1 as never)).code).toBe(status.INVALID_ARGUMENT);
  });

  it('come back from TrainerInfo as { name, params }', () => {
    expect(
      optimizerFromProto({ kind: 'OPTIMIZER_KIND_NAG', learningRate: 0.1, momentum: 0.9, lrScheduler: null }),
    ).toEqual({ name: 'nag', params: { learningRate: 0.1, momentum: 0.9 } });
    expect(
      optimizerFromProto({
        kind: 'OPTIMIZER_KIND_ADAM',
        lrScheduler: { kind: 'cosine', steps: [], maxUpdate: 100, finalLr: 0, warmupMode: '' },
      }),
    ).toEqual({ name: 'adam', params: { lrScheduler: { kind: 'cosine', maxUpdate: 100, finalLr: 0 } } });
    expect(() => optimizerFromProto({ kind: 'OPTIMIZER_KIND_UNSPECIFIED', lrScheduler: null })).toThrow(
      /unknown optimizer kind/,
    );
  });
});

function info(over: Partial<TrainerInfo__Output> = {}): TrainerInfo__Output {
  return {
    name: 't',
    params: ['w', 'b'],
    allParams: ['w', 'b'],
    optimizer: { kind: 'OPTIMIZER_KIND_SGD', learningRate: 0.1, momentum: 0.9, lrScheduler: null },
    mode: 'TRAINER_MODE_SYNC',
    numWorkers: 2,
    step: 0,
    learningRate: 0.1,
    workersSeen: [0],
    workersLeft: [],
    waitingFor: [],
    stepTimeoutMs: 30000,
    timeoutPolicy: 'TIMEOUT_POLICY_FAIL',
    quorum: 0,
    ...over,
  };
}

describe('trainer descriptors and options', () => {
  it('describe a TrainerInfo', () => {
    expect(
      describeTrainerInfo(
        info({
          step: 7,
          workersLeft: [1],
          waitingFor: [0],
          mode: 'TRAINER_MODE_ASYNC',
          timeoutPolicy: 'TIMEOUT_POLICY_QUORUM',
          quorum: 1,
        }),
      ),
    ).toEqual({
      name: 't',
      params: ['w', 'b'],
      mode: 'async',
      numWorkers: 2,
      step: 7,
      learningRate: 0.1,
      workersSeen: [0],
      workersLeft: [1],
      waitingFor: [0],
      stepTimeoutMs: 30000,
      timeoutPolicy: 'quorum',
      quorum: 1,
      optimizer: { name: 'sgd', params: { learningRate: 0.1, momentum: 0.9 } },
    });
  });

  it('fill defaults and check options', () => {
    const o = checkTrainerOptions('t', {}, () => 42);
    expect(o).toEqual({
      mode: 'sync',
      numWorkers: 1,
      workerId: 0,
      stepTimeoutMs: undefined,
      timeoutPolicy: 'fail',
      quorum: 0,
      incarnation: 42,
      retry: DEFAULT_RETRY,
    });
    expect(
      checkTrainerOptions('t', {
        mode: 'async',
        numWorkers: 3,
        workerId: 2,
        stepTimeoutMs: 500,
        timeoutPolicy: 'quorum',
        quorum: 2,
        incarnation: 9,
      }),
    ).toMatchObject({
      mode: 'async',
      numWorkers: 3,
      workerId: 2,
      stepTimeoutMs: 500,
      timeoutPolicy: 'quorum',
      quorum: 2,
      incarnation: 9,
    });
    expect(codeOf(() => checkTrainerOptions('t', { numWorkers: 2, workerId: 2 })).message).toMatch(
      /workerId must be an integer in \[0, 1\], got 2/,
    );
    expect(codeOf(() => checkTrainerOptions('t', { num_workers: 2 } as never)).message).toMatch(
      /unknown option 'num_workers'/,
    );
    expect(codeOf(() => checkTrainerOptions('t', { mode: 'dist_sync' as never })).message).toMatch(
      /mode must be 'sync' or 'async'/,
    );
    expect(codeOf(() => checkTrainerOptions('t', { stepTimeoutMs: 0 })).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => checkTrainerOptions('t', { incarnation: 2 ** 53 })).code).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => checkTrainerOptions('t', { timeoutPolicy: 'wait' as never })).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('draw random 53-bit incarnations', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const v = randomIncarnation();
      expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(200);
  });
});

describe('gradients', () => {
  it('send a dense Tensor in place with its dtype', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const { header, bytes } = gradToUpload('g', { shape: [2, 3], dtype: 'float32', data });
    expect(header).toEqual({ shape: [2, 3], dtype: 'DTYPE_FLOAT32', byteLength: 24 });
    expect(bytes.buffer).toBe(data.buffer);
  });

  it('send nested numbers as float64', () => {
    const { header, bytes } = gradToUpload('g', [
      [1, 2],
      [3, 4],
    ]);
    expect(header).toEqual({ shape: [2, 2], dtype: 'DTYPE_FLOAT64', byteLength: 32 });
    expect(Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, 4))).toEqual([1, 2, 3, 4]);
  });

  it('send row_sparse rows with header.rowIds', () => {
    const { header } = gradToUpload('g', {
      indices: BigInt64Array.from([5n, 1n]),
      values: { shape: [2, 3], dtype: 'float32', data: new Float32Array(6) },
    });
    expect(header).toEqual({ shape: [2, 3], dtype: 'DTYPE_FLOAT32', byteLength: 24, rowIds: [5, 1] });
    expect(gradToUpload('g', { indices: [0], values: [[1, 2]] }).header).toEqual({
      shape: [1, 2],
      dtype: 'DTYPE_FLOAT64',
      byteLength: 16,
      rowIds: [0],
    });
    expect(codeOf(() => gradToUpload('g', { indices: [0, 1], values: [[1, 2]] })).message).toMatch(
      /one row of values per index: 2 indices, values of shape \[1,2\]/,
    );
    expect(codeOf(() => gradToUpload('g', { indices: [0.5], values: [[1, 2]] })).message).toMatch(
      /row id at position 0/,
    );
    expect(codeOf(() => gradToUpload('g', { indices: [0], values: 3 })).code).toBe(status.INVALID_ARGUMENT);
  });
});

// --- The handle over a fake TrainerService stub -----------------------------------------------------

interface StepCall {
  key: IdempotencyKey;
  step: number;
  batchSize: number;
  deadline: unknown;
}

type Reply = { err: Partial<GluonPsError> & { code: number; details: string } } | { ok: unknown };

function fakeTrainer(
  stepReplies: Reply[],
  opts: { describeStep?: number; optimizerParams?: Record<string, unknown>; stepTimeoutMs?: number } = {},
) {
  const steps: StepCall[] = [];
  let describes = 0;
  const stub = {
    step(
      req: Omit<StepCall, 'deadline'>,
      _md: Metadata,
      o: { deadline?: number },
      cb: (err: unknown, reply?: unknown) => void,
    ) {
      steps.push({ ...req, deadline: o.deadline });
      const r = stepReplies.shift() ?? { err: { code: status.INTERNAL, details: 'no more replies' } };
      setImmediate(() => ('err' in r ? cb(r.err) : cb(null, r.ok)));
    },
    describeTrainer(_req: unknown, _md: Metadata, _o: unknown, cb: (err: unknown, reply?: unknown) => void) {
      describes++;
      setImmediate(() => cb(null, info({ step: opts.describeStep ?? 0 })));
    },
  };
  const channel = new Channel({} as ParameterServiceClient, 'fake:1', new Metadata(), undefined, {
    trainers: stub as unknown as TrainerServiceClient,
  });
  const checked = {
    ...checkTrainerOptions('t', {
      numWorkers: 2,
      workerId: 1,
      incarnation: 77,
      retry: { initialBackoffMs: 1, maxBackoffMs: 2 },
    }),
  };
  const config = opts.optimizerParams ? buildOptimizer('t', 'sgd', opts.optimizerParams) : null;
  const tr = new Trainer(channel, info({ step: 3, stepTimeoutMs: opts.stepTimeoutMs ?? 30000 }), checked, config);
  return { tr, steps, describes: () => describes };
}

const stepOk = (step: number, versions = [11, 12]): Reply => ({ ok: { step, versions, workers: [0, 1] } });

describe('Trainer handle', () => {
  it("starts at the trainer's step, sends keyed steps and advances to the returned step", async () => {
    const { tr, steps } = fakeTrainer([stepOk(4), stepOk(5, [13, 14])]);
    expect(tr.currentStep).toBe(3);
    expect(tr.workerId).toBe(1);
    expect(tr.incarnation).toBe(77);
    const before = Date.now();
    expect(await tr.step(8)).toEqual({ step: 4, version: 11, versions: [11, 12], workers: [0, 1] });
    expect(tr.currentStep).toBe(4);
    expect(await tr.step(8)).toMatchObject({ step: 5, version: 13 });
    expect(steps.map((s) => [s.key, s.step, s.batchSize])).toEqual([
      [{ workerId: 1, incarnation: 77, sequence: 1 }, 3, 8],
      [{ workerId: 1, incarnation: 77, sequence: 2 }, 4, 8],
    ]);
    // The step's deadline outlasts the trainer's step timeout.
    const deadline = steps[0]!.deadline as number;
    expect(deadline - before).toBeGreaterThanOrEqual(30000 + STEP_DEADLINE_MARGIN_MS - 50);
  });

  it('retries a step that failed in transport with the SAME key', async () => {
    const { tr, steps, describes } = fakeTrainer([
      { err: { code: status.UNAVAILABLE, details: 'Connection dropped' } },
      { err: { code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 40.001s' } },
      stepOk(4),
    ]);
    expect((await tr.step(2)).step).toBe(4);
    expect(steps).toHaveLength(3);
    expect(new Set(steps.map((s) => JSON.stringify([s.key, s.step, s.batchSize]))).size).toBe(1);
    expect(describes()).toBe(0);
    expect(tr.currentStep).toBe(4);
  });

  it('does not retry the barrier timeout; refreshes the step counter from describe', async () => {
    const { tr, steps, describes } = fakeTrainer(
      [{ err: { code: status.DEADLINE_EXCEEDED, details: BARRIER_TIMEOUT } }],
      { describeStep: 3 },
    );
    await expect(tr.step(2)).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED, message: BARRIER_TIMEOUT });
    expect(steps).toHaveLength(1);
    expect(describes()).toBe(1);
    expect(tr.currentStep).toBe(3);
  });

  it('takes the step counter from describe after a failed step (e.g. the trainer moved on)', async () => {
    const { tr } = fakeTrainer(
      [
        {
          err: {
            code: status.FAILED_PRECONDITION,
            details: "trainer 't': step 3 is closed (4 steps applied); push for step 4",
          },
        },
      ],
      { describeStep: 4 },
    );
    await expect(tr.step(1)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(tr.currentStep).toBe(4);
  });

  it('refuses a bad batch size before sending', async () => {
    const { tr, steps } = fakeTrainer([]);
    await expect(tr.step(0)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringMatching(/batchSize/),
    });
    await expect(tr.step(1.5)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(steps).toHaveLength(0);
  });

  it("computes the scheduled learning rate after each step with the server's schedule", async () => {
    const { tr } = fakeTrainer([stepOk(4), stepOk(5)], {
      optimizerParams: { learningRate: 1, lrScheduler: { kind: 'factor', step: 1, factor: 0.5 } },
    });
    expect(tr.learningRate).toBe(0.1); // from the TrainerInfo it was created with
    await tr.step(1);
    expect(tr.learningRate).toBe(0.5 ** 4); // lr of update 5
    await tr.step(1);
    expect(tr.learningRate).toBe(0.5 ** 5);
  });

  it('rejects calls after the client closed with CANCELLED, without retrying', async () => {
    const { tr, steps } = fakeTrainer([stepOk(4)]);
    const channel = new Channel(
      { close() {} } as unknown as ParameterServiceClient,
      'fake:1',
      new Metadata(),
      undefined,
      { trainers: {} as TrainerServiceClient },
    );
    channel.close();
    const closed = new Trainer(channel, info(), checkTrainerOptions('t'), null);
    await expect(closed.step(1)).rejects.toMatchObject({
      code: status.CANCELLED,
      message: expect.stringMatching(/closed/),
    });
    expect(steps).toHaveLength(0);
    expect(tr.currentStep).toBe(3);
  });
});
