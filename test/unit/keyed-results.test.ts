// The results of keyed trainer calls (server/trainer/keyed-results.ts): one result per key for
// retries, a refused check keeps nothing, failed calls are forgotten, and each worker keeps its
// latest incarnations only, found without looking at other workers' slots.
import { describe, expect, it } from 'vitest';
import { KEEP_INCARNATIONS, KeyedResults } from '../../server/trainer/keyed-results';

const ok = (): void => undefined;

describe('KeyedResults', () => {
  it('answers a retry with the first call, keeps nothing for a refused check or a failed call', async () => {
    const k = new KeyedResults();
    let calls = 0;
    const key = { workerId: 0, incarnation: 1, sequence: 1 };
    expect(await k.run(key, ok, async () => ++calls)).toBe(1);
    expect(await k.run(key, ok, async () => ++calls)).toBe(1);
    expect(() =>
      k.run(
        { workerId: 9, incarnation: 2, sequence: 1 },
        () => {
          throw new Error('bad worker');
        },
        async () => 0,
      ),
    ).toThrow('bad worker');
    await expect(
      k.run({ workerId: 1, incarnation: 3, sequence: 1 }, ok, () => Promise.reject(new Error('no'))),
    ).rejects.toThrow('no');
    await Promise.resolve();
    expect([...k.results.keys()]).toEqual(['0:1']);
  });

  it('keeps the latest incarnations of each worker, however many workers there are', async () => {
    const k = new KeyedResults();
    const workers = 20_000;
    for (let w = 0; w < workers; w++) await k.run({ workerId: w, incarnation: 1, sequence: 1 }, ok, async () => w);
    const started = performance.now();
    // New incarnations of one worker: each costs the same, not a pass over every slot.
    for (let inc = 2; inc < 2000; inc++)
      await k.run({ workerId: 7, incarnation: inc, sequence: 1 }, ok, async () => inc);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(k.results.size).toBe(workers - 1 + KEEP_INCARNATIONS);
    expect([...k.results.keys()].filter((s) => s.startsWith('7:'))).toEqual(['7:1996', '7:1997', '7:1998', '7:1999']);
    expect(k.settled.size).toBe(k.results.size);
  });
});
