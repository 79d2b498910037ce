// The declaration order's clock (server/store/order.ts) and the store's use of it: each new
// entry's order is above every earlier one and above the caller's `after`; a replayed one keeps
// its recorded order; a restored entry without one gets the next; a redeclaration keeps the
// first; the rpc's `after` is range-checked.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { checkAfter, DeclarationClock, MAX_ORDER } from '../../server/store/order';
import { ParameterStore } from '../../server/store/parameter-store';

describe('the declaration clock', () => {
  it('gives strictly increasing orders, above after, at least the time in microseconds', () => {
    const c = new DeclarationClock();
    const t0 = Date.now() * 1000;
    const a = c.next();
    expect(a).toBeGreaterThanOrEqual(t0 - 1000);
    const b = c.next();
    expect(b).toBeGreaterThan(a);
    const far = b + 10 ** 9;
    const d = c.next({ after: far });
    expect(d).toBe(far + 1);
    expect(c.next()).toBeGreaterThan(d);
    expect(c.last).toBeGreaterThan(d);
  });

  it('takes recorded orders as they are, and gives restored entries without one the next', () => {
    const c = new DeclarationClock();
    expect(c.next({ exact: 5 })).toBe(5);
    expect(c.adopt(9)).toBe(9);
    expect(c.adopt(0)).toBe(10);
    expect(c.adopt(3)).toBe(3);
    expect(c.last).toBe(10);
    c.reset();
    expect(c.last).toBe(0);
    expect(c.next({ after: MAX_ORDER })).toBe(MAX_ORDER);
  });

  it('refuses an after out of range, naming who', () => {
    expect(checkAfter('w', undefined)).toBe(0);
    expect(checkAfter('w', MAX_ORDER)).toBe(MAX_ORDER);
    for (const bad of [MAX_ORDER + 1, 2 ** 64, -1, 1.5]) {
      let err: unknown;
      try {
        checkAfter("declare: parameter 'w'", bad);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({
        code: status.INVALID_ARGUMENT,
        message: expect.stringMatching(/^declare: parameter 'w': after must be a declaration order from 0 to /),
      });
    }
  });
});

describe('the store', () => {
  it('orders declarations, keeps the first order on a redeclaration, and reports its clock', async () => {
    const store = new ParameterStore();
    const a = await store.declare({ name: 'a', shape: [2] });
    const big = a.order + 10 ** 6;
    const b = await store.declare({ name: 'b', shape: [2] }, { after: big });
    expect(b.order).toBe(big + 1);
    const c = await store.declareConstant('c', { dtype: 'float32', shape: [1], bytes: new Uint8Array(4) });
    expect(c.order).toBeGreaterThan(b.order);
    expect((await store.declare({ name: 'a', shape: [2] }, { after: big * 2 })).order).toBe(a.order);
    expect(store.list().map((d) => [d.name, d.order])).toEqual([
      ['a', a.order],
      ['b', b.order],
      ['c', c.order],
    ]);
    expect(store.declareClock).toBe(c.order);
    const replayed = new ParameterStore();
    expect((await replayed.declare({ name: 'a', shape: [2] }, { exact: 42 })).order).toBe(42);
  });
});
