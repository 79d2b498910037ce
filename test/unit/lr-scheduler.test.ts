// common/optimizer/lr-scheduler.ts against an independent reference written from MXNet's
// python/mxnet/lr_scheduler.py (1.6+: FactorScheduler, MultiFactorScheduler, PolyScheduler,
// CosineScheduler with linear/constant warm-up). MXNet's schedulers are stateful objects called
// with a non-decreasing num_update (1 for the first update); the reference below keeps that state
// exactly as the Python does (repeated `base_lr *= factor`, the `count` walk, the last computed
// value kept after max_update), while the server computes the same values as pure functions of
// num_update. The two must agree for every update count.
//
// Precision: the server raises factor to a power where MXNet multiplies repeatedly, and V8's
// Math.pow / Math.cos may differ from C's by an ulp, so values are compared with a relative
// tolerance of 1e-12 AND must round to the same float32: the learning rate reaches the kernels as
// a float32, so that is the value that matters.
//
// One documented difference from MXNet: there, Optimizer.__init__ overwrites the scheduler's
// base_lr with the optimizer's learning_rate; gluon-ps takes base_lr from the scheduler spec when
// given and defaults it to the optimizer's learning rate (trainer.proto, LrScheduler.base_lr). The
// reference is therefore built with base_lr = spec.baseLr ?? optimizer lr.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../common/status-error';
import { checkScheduler, scheduledLr } from '../../common/optimizer/lr-scheduler';
import type { LrSchedulerSpec } from '../../common/optimizer/lr-scheduler';

// --- The reference: MXNet's classes, state and all ------------------------------------------

abstract class RefScheduler {
  baseLr: number;
  readonly warmupFinalLr: number;

  constructor(
    baseLr: number,
    readonly warmupSteps: number,
    readonly warmupBeginLr: number,
    readonly warmupMode: 'linear' | 'constant',
  ) {
    this.baseLr = baseLr;
    this.warmupFinalLr = baseLr;
  }

  protected warmupLr(numUpdate: number): number {
    if (this.warmupMode === 'linear') {
      const increase = ((this.warmupFinalLr - this.warmupBeginLr) * numUpdate) / this.warmupSteps;
      return this.warmupBeginLr + increase;
    }
    return this.warmupBeginLr;
  }

  abstract call(numUpdate: number): number;
}

class RefFactor extends RefScheduler {
  private count = 0;
  constructor(
    private readonly step: number,
    private readonly factor: number,
    private readonly stopFactorLr: number,
    base: number,
    ws: number,
    wb: number,
    wm: 'linear' | 'constant',
  ) {
    super(base, ws, wb, wm);
  }
  call(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    while (numUpdate > this.count + this.step) {
      this.count += this.step;
      this.baseLr *= this.factor;
      if (this.baseLr < this.stopFactorLr) this.baseLr = this.stopFactorLr;
    }
    return this.baseLr;
  }
}

class RefMultiFactor extends RefScheduler {
  private curStepInd = 0;
  constructor(
    private readonly steps: number[],
    private readonly factor: number,
    base: number,
    ws: number,
    wb: number,
    wm: 'linear' | 'constant',
  ) {
    super(base, ws, wb, wm);
  }
  call(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    while (this.curStepInd <= this.steps.length - 1) {
      if (numUpdate > this.steps[this.curStepInd]!) {
        this.curStepInd += 1;
        this.baseLr *= this.factor;
      } else {
        return this.baseLr;
      }
    }
    return this.baseLr;
  }
}

class RefPoly extends RefScheduler {
  private readonly baseLrOrig: number;
  private readonly maxSteps: number;
  constructor(
    private readonly maxUpdate: number,
    private readonly pwr: number,
    private readonly finalLr: number,
    base: number,
    ws: number,
    wb: number,
    wm: 'linear' | 'constant',
  ) {
    super(base, ws, wb, wm);
    this.baseLrOrig = this.baseLr;
    this.maxSteps = maxUpdate - ws;
  }
  call(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    if (numUpdate <= this.maxUpdate) {
      this.baseLr =
        this.finalLr +
        (this.baseLrOrig - this.finalLr) * Math.pow(1 - (numUpdate - this.warmupSteps) / this.maxSteps, this.pwr);
    }
    return this.baseLr;
  }
}

class RefCosine extends RefScheduler {
  private readonly baseLrOrig: number;
  private readonly maxSteps: number;
  constructor(
    private readonly maxUpdate: number,
    private readonly finalLr: number,
    base: number,
    ws: number,
    wb: number,
    wm: 'linear' | 'constant',
  ) {
    super(base, ws, wb, wm);
    this.baseLrOrig = base;
    this.maxSteps = maxUpdate - ws;
  }
  call(numUpdate: number): number {
    if (numUpdate < this.warmupSteps) return this.warmupLr(numUpdate);
    if (numUpdate <= this.maxUpdate) {
      this.baseLr =
        this.finalLr +
        ((this.baseLrOrig - this.finalLr) *
          (1 + Math.cos((Math.PI * (numUpdate - this.warmupSteps)) / this.maxSteps))) /
          2;
    }
    return this.baseLr;
  }
}

/** The MXNet scheduler for a gluon-ps spec, with MXNet's defaults for absent fields. */
function reference(s: LrSchedulerSpec, optimizerLr: number): RefScheduler {
  const base = s.baseLr ?? optimizerLr;
  const ws = s.warmupSteps ?? 0;
  const wb = s.warmupBeginLr ?? 0;
  const wm = s.warmupMode ?? 'linear';
  switch (s.kind) {
    case 'factor':
      return new RefFactor(s.step!, s.factor ?? 1, s.stopFactorLr ?? 1e-8, base, ws, wb, wm);
    case 'multifactor':
      return new RefMultiFactor(s.steps!, s.factor ?? 1, base, ws, wb, wm);
    case 'poly':
      return new RefPoly(s.maxUpdate!, s.pwr ?? 2, s.finalLr ?? 0, base, ws, wb, wm);
    case 'cosine':
      return new RefCosine(s.maxUpdate!, s.finalLr ?? 0, base, ws, wb, wm);
  }
}

function expectClose(got: number, want: number, label: string): void {
  expect(Number.isFinite(got), label).toBe(true);
  const tol = 1e-12 * Math.max(Math.abs(want), 1e-30);
  if (Math.abs(got - want) > tol) expect(got, label).toBe(want);
  // What the kernels see.
  expect(Math.fround(got), `${label} (as float32)`).toBe(Math.fround(want));
}

const CASES: Array<[string, LrSchedulerSpec, number, number]> = [
  // [label, spec, optimizer learning rate, updates to check]
  ['factor, step 3, factor 0.5', { kind: 'factor', step: 3, factor: 0.5 }, 0.1, 40],
  ['factor 0.9 (inexact powers), step 1', { kind: 'factor', step: 1, factor: 0.9 }, 0.1, 120],
  ['factor hits stop_factor_lr', { kind: 'factor', step: 2, factor: 0.1, stopFactorLr: 1e-4 }, 0.5, 30],
  [
    'factor with linear warm-up',
    { kind: 'factor', step: 4, factor: 0.7, warmupSteps: 5, warmupBeginLr: 0.001 },
    0.05,
    40,
  ],
  [
    'factor with constant warm-up and explicit base_lr',
    { kind: 'factor', step: 10, factor: 0.3, baseLr: 0.2, warmupSteps: 7, warmupBeginLr: 0.01, warmupMode: 'constant' },
    0.05,
    60,
  ],
  ['factor default (factor 1: never decays)', { kind: 'factor', step: 2 }, 0.03, 20],
  ['multifactor', { kind: 'multifactor', steps: [3, 7, 20], factor: 0.5 }, 0.1, 40],
  [
    'multifactor 0.3 with warm-up',
    { kind: 'multifactor', steps: [10, 15], factor: 0.3, warmupSteps: 4, warmupBeginLr: 0.002 },
    0.1,
    30,
  ],
  ['multifactor step 1', { kind: 'multifactor', steps: [1, 2, 3], factor: 0.9 }, 0.4, 10],
  ['poly, default power 2', { kind: 'poly', maxUpdate: 25 }, 0.1, 40],
  [
    'poly power 3 with final_lr and warm-up',
    { kind: 'poly', maxUpdate: 30, pwr: 3, finalLr: 0.001, warmupSteps: 6, warmupBeginLr: 0.0005 },
    0.2,
    45,
  ],
  [
    'poly power 0.5, constant warm-up',
    { kind: 'poly', maxUpdate: 17, pwr: 0.5, warmupSteps: 3, warmupMode: 'constant', warmupBeginLr: 0.01 },
    0.3,
    25,
  ],
  ['cosine', { kind: 'cosine', maxUpdate: 20 }, 0.1, 30],
  [
    'cosine with final_lr, base_lr and linear warm-up',
    { kind: 'cosine', maxUpdate: 50, finalLr: 0.002, baseLr: 0.5, warmupSteps: 10, warmupBeginLr: 0.05 },
    0.01,
    70,
  ],
];

describe('scheduledLr against MXNet lr_scheduler.py', () => {
  for (const [label, spec, lr, updates] of CASES) {
    it(label, () => {
      const s = checkScheduler('test', spec, lr);
      const ref = reference(spec, lr);
      for (let n = 1; n <= updates; n++) expectClose(scheduledLr(s, n), ref.call(n), `${label}: num_update ${n}`);
    });
  }

  it('is a pure function of num_update: any order of calls gives the same values', () => {
    for (const [label, spec, lr, updates] of CASES) {
      const s = checkScheduler('test', spec, lr);
      const ref = reference(spec, lr);
      const forward = Array.from({ length: updates }, (_, i) => ref.call(i + 1));
      for (let n = updates; n >= 1; n--) expectClose(scheduledLr(s, n), forward[n - 1]!, `${label}: backwards at ${n}`);
    }
  });

  it('spot values written out by hand', () => {
    const f = checkScheduler('t', { kind: 'factor', step: 2, factor: 0.5 }, 1);
    // MXNet: lr changes once num_update > count + step, i.e. at updates 3, 5, 7, ...
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => scheduledLr(f, n))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]);
    const m = checkScheduler('t', { kind: 'multifactor', steps: [2, 4], factor: 0.5 }, 1);
    expect([1, 2, 3, 4, 5, 6].map((n) => scheduledLr(m, n))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
    const w = checkScheduler('t', { kind: 'factor', step: 100, warmupSteps: 4, warmupBeginLr: 0 }, 0.4);
    // Linear warm-up: begin + (base - begin) * n / warmup_steps for n < warmup_steps, then base.
    expect([1, 2, 3, 4, 5].map((n) => scheduledLr(w, n))).toEqual([0.1, 0.2, (0.4 * 3) / 4, 0.4, 0.4]);
    const c = checkScheduler('t', { kind: 'cosine', maxUpdate: 4, finalLr: 0 }, 2);
    expect(scheduledLr(c, 4)).toBeCloseTo(0, 15);
    expect(scheduledLr(c, 2)).toBeCloseTo(1, 15);
    expect(scheduledLr(c, 10)).toBe(0);
    const p = checkScheduler('t', { kind: 'poly', maxUpdate: 10, pwr: 1, finalLr: 0.1 }, 1.1);
    expect(scheduledLr(p, 5)).toBeCloseTo(0.6, 15);
    expect(scheduledLr(p, 11)).toBeCloseTo(0.1, 15);
  });
});

describe('checkScheduler', () => {
  it('fills MXNet defaults; base_lr defaults to the optimizer learning rate', () => {
    const s = checkScheduler('t', { kind: 'cosine', maxUpdate: 10 }, 0.25);
    expect(s).toMatchObject({
      kind: 'cosine',
      maxUpdate: 10,
      baseLr: 0.25,
      finalLr: 0,
      warmupSteps: 0,
      warmupBeginLr: 0,
      warmupMode: 'linear',
      pwr: 2,
      factor: 1,
      stopFactorLr: 1e-8,
    });
    expect(checkScheduler('t', { kind: 'factor', step: 1, baseLr: 0.7 }, 0.25).baseLr).toBe(0.7);
  });

  const bad: Array<[string, LrSchedulerSpec, RegExp]> = [
    [
      'unknown kind',
      { kind: 'exponential' as LrSchedulerSpec['kind'] },
      /must be one of factor, multifactor, cosine, poly, got "exponential"/,
    ],
    ['factor without step', { kind: 'factor' }, /factor scheduler needs step >= 1/],
    ['factor step 0', { kind: 'factor', step: 0 }, /factor scheduler needs step >= 1/],
    ['factor step 1.5', { kind: 'factor', step: 1.5 }, /factor scheduler needs step >= 1/],
    ['factor > 1', { kind: 'factor', step: 2, factor: 1.5 }, /factor must be <= 1/],
    [
      'multifactor with no steps',
      { kind: 'multifactor', steps: [] },
      /multifactor scheduler needs increasing integer steps/,
    ],
    [
      'multifactor not increasing',
      { kind: 'multifactor', steps: [3, 3] },
      /increasing integer steps >= 1, got \[3,3\]/,
    ],
    ['multifactor step 0', { kind: 'multifactor', steps: [0, 2] }, /increasing integer steps >= 1/],
    ['multifactor factor > 1', { kind: 'multifactor', steps: [2], factor: 2 }, /factor must be <= 1/],
    ['cosine without max_update', { kind: 'cosine' }, /cosine scheduler needs max_update > warmup_steps/],
    [
      'poly max_update <= warmup_steps',
      { kind: 'poly', maxUpdate: 5, warmupSteps: 5 },
      /poly scheduler needs max_update > warmup_steps \(5\), got 5/,
    ],
    [
      'negative warmup_steps',
      { kind: 'cosine', maxUpdate: 5, warmupSteps: -1 },
      /warmup_steps must be an integer >= 0/,
    ],
    [
      'unknown warmup mode',
      { kind: 'cosine', maxUpdate: 5, warmupMode: 'exp' as 'linear' },
      /warmup_mode must be linear or constant/,
    ],
  ];
  for (const [label, spec, message] of bad) {
    it(`rejects ${label} with INVALID_ARGUMENT`, () => {
      let err: unknown;
      try {
        checkScheduler("trainer 'x'", spec, 0.1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(status.INVALID_ARGUMENT);
      expect((err as StatusError).message).toMatch(/^trainer 'x': /);
      expect((err as StatusError).message).toMatch(message);
    });
  }
});
