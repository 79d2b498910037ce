// Reads of a split parameter join parts of one version (client/cluster/parameter.ts #agreed):
// against scripted shards whose parts answer given versions, a read taken while one part is a
// step behind is read again until it caught up; a difference that stays is learnt as the
// parts' offsets (then read at once), and reads under constant movement end after the bound.
import { describe, expect, it } from 'vitest';
import { ClusterParameter } from '../../client/cluster/parameter';
import type { Shards } from '../../client/cluster/shards';
import type { ReadTensor } from '../../client/parameter';

/** Three one-row slices of a [3, 1] parameter; part k's version at its i-th read is versions(k, i). */
function scripted(versions: (part: number, read: number) => number): { shards: Shards; reads: number[] } {
  const reads = [0, 0, 0];
  const parts = [0, 1, 2].map((k) => ({ shard: k, rowStart: k, rowStep: 1, rows: 1 }));
  const resolved = { placement: { kind: 'slices', home: 0, rows: 3, parts }, fullShape: [3, 1], isConstant: false };
  const handle = (k: number) => ({
    data: async (): Promise<ReadTensor> => {
      const version = versions(k, reads[k]!++);
      const t = { shape: [1, 1], dtype: 'float32', data: Float32Array.of(version) };
      Object.defineProperties(t, { version: { value: version }, ctx: { value: 'cpu(0)' } });
      return t as unknown as ReadTensor;
    },
  });
  const shards = {
    channels: [{}, {}, {}],
    home: () => 0,
    resolve: async () => resolved,
    on: <T>(_: number, fn: () => Promise<T>) => fn(),
    handle,
    versionOffsets: new Map<string, string>(),
  } as unknown as Shards;
  return { shards, reads };
}

const rows = async (p: ClusterParameter): Promise<number[]> => Array.from((await p.data()).data as Float32Array);

describe('a split parameter read joins parts of one version', () => {
  it('reads again while a part is a step behind, and joins once it caught up', async () => {
    // Part 2 answers version 4 for its first three reads, then 5 (its step applied).
    const { shards, reads } = scripted((k, i) => (k === 2 && i < 3 ? 4 : 5));
    expect(await rows(new ClusterParameter(shards, 'w'))).toEqual([5, 5, 5]);
    expect(reads).toEqual([4, 4, 4]);
  });

  it('learns a difference that stays (a write failed on a shard) and then reads at once', async () => {
    const { shards, reads } = scripted((k) => (k === 2 ? 9 : 10));
    expect(await rows(new ClusterParameter(shards, 'w'))).toEqual([10, 10, 9]);
    expect(reads[0]).toBeGreaterThan(3);
    expect(shards.versionOffsets.get('w')).toBe('0,0,-1');
    const before = reads[0]!;
    expect(await rows(new ClusterParameter(shards, 'w'))).toEqual([10, 10, 9]);
    expect(reads[0]).toBe(before + 1);
  });

  it('once offsets are learnt, level parts are a step caught half way, not agreement', async () => {
    // Steady [10, 10, 9] (learnt), then a step reaches part 2 first: [10, 10, 10] is level but
    // half a step, so the read waits for [11, 11, 10].
    const { shards, reads } = scripted((k, i) => {
      if (i < 40) return k === 2 ? 9 : 10;
      if (i < 43) return 10;
      return k === 2 ? 10 : 11;
    });
    const p = new ClusterParameter(shards, 'w');
    expect(await rows(p)).toEqual([10, 10, 9]);
    expect(shards.versionOffsets.get('w')).toBe('0,0,-1');
    while (reads[0]! < 40) await rows(p);
    expect(await rows(p)).toEqual([11, 11, 10]);
  });

  it('joins what it read when the versions keep moving, and learns nothing', async () => {
    const { shards } = scripted((k, i) => i * (k + 1));
    expect((await rows(new ClusterParameter(shards, 'w'))).length).toBe(3);
    expect(shards.versionOffsets.has('w')).toBe(false);
  });
});
