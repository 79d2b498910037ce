// The bounded parts of the server status: the recent-warnings ring (size, field and message
// bounds, pino's argument forms) and a trainer's step rate over its window.
import { describe, expect, it } from 'vitest';
import { WarningRing } from '../../server/observability/warnings';
import { StepRate, STEP_RATE_WINDOW_MS } from '../../server/trainer/step-rate';

describe('WarningRing', () => {
  it('keeps the newest `size` warnings and errors, counts them all, ignores other levels', () => {
    const ring = new WarningRing(3);
    ring.record(30, [{ a: 1 }, 'info line']);
    for (let i = 0; i < 5; i++) ring.record(40, [{ i }, `warn ${i}`]);
    ring.record(50, ['plain error']);
    expect(ring.total).toBe(6);
    expect(ring.list().map((e) => [e.level, e.message])).toEqual([
      ['warn', 'warn 3'],
      ['warn', 'warn 4'],
      ['error', 'plain error'],
    ]);
    expect(ring.list()[0]!.fields).toEqual({ i: '3' });
  });

  it('takes an Error first or as err, clips long text, and bounds the field count', () => {
    const ring = new WarningRing();
    ring.record(60, [new Error('disk full'), 'log failed']);
    ring.record(50, [{ err: new Error('x'.repeat(1000)), n: 10n, o: { p: 'q' } }, 'y'.repeat(2000)]);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    ring.record(40, [many, 'many']);
    const [fatal, error, warn] = ring.list();
    expect(fatal).toMatchObject({ level: 'fatal', message: 'log failed', fields: { err: 'disk full' } });
    expect(error!.message.length).toBe(500);
    expect(error!.fields.err!.length).toBe(200);
    expect(error!.fields).toMatchObject({ n: '10', o: '{"p":"q"}' });
    expect(Object.keys(warn!.fields)).toHaveLength(12);
  });
});

describe('StepRate', () => {
  it('counts the steps in the window and their rate up to now', () => {
    const r = new StepRate();
    expect(r.lastAt).toBeNull();
    expect(r.recent(1000)).toEqual({ steps: 0, perSecond: 0 });
    const t0 = 1_000_000;
    for (let i = 0; i < 11; i++) r.record(t0 + i * 100); // 11 steps over 1 s
    expect(r.lastAt).toBe(t0 + 1000);
    expect(r.recent(t0 + 1000)).toEqual({ steps: 11, perSecond: 10 });
    // Stalled: the rate falls as time passes without steps.
    expect(r.recent(t0 + 2000).perSecond).toBe(5);
    // Out of the window: none.
    expect(r.recent(t0 + 1001 + STEP_RATE_WINDOW_MS)).toEqual({ steps: 0, perSecond: 0 });
  });

  it('keeps a fixed number of timestamps', () => {
    const r = new StepRate();
    for (let i = 0; i < 5000; i++) r.record(i);
    expect(r.recent(5000).steps).toBe(1024);
    expect(r.lastAt).toBe(4999);
  });
});
