// ps.status() on a cluster (client/cluster/status.ts) against a reference over generated
// clusters (fast-check): a model of parameters placed in parts over the shards and of trainers
// living on some shards gives each shard's status and List, and what one server holding the same
// would count; mergeStatuses and extraParts must give that: each parameter once with its parts'
// bytes summed, memory summed per device name, one trainer per name (the lowest holding shard's
// step and settings, every shard's workers), warnings by time, health naming the shards down.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emptyByKind,
  MEMORY_KINDS,
  type DeviceMemory,
  type LogEvent,
  type ServerStatus,
  type TrainerStatus,
} from '../../common/status';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import { extraParts, mergeStatuses, type ShardAnswer } from '../../client/cluster/status';

interface ModelParam {
  constant: boolean;
  state: 'initialized' | 'deferred' | 'declared';
  /** Shards holding a part (the first holds the part from row 0) and each part's bytes. */
  parts: Array<{ shard: number; bytes: number }>;
}

interface ModelTrainer {
  name: string;
  /** Each holding shard's copy, by shard. */
  copies: Map<number, TrainerStatus>;
}

const DEVICES = ['cpu(0)', 'cpu(1)', 'gpu(0)'];
const byKindArb = fc.record(
  Object.fromEntries(MEMORY_KINDS.map((k) => [k, fc.nat(1_000_000)])) as Record<
    (typeof MEMORY_KINDS)[number],
    fc.Arbitrary<number>
  >,
);

function paramArb(shards: number): fc.Arbitrary<ModelParam> {
  return fc.record({
    constant: fc.boolean(),
    state: fc.constantFrom('initialized' as const, 'deferred' as const, 'declared' as const),
    parts: fc
      .shuffledSubarray(
        Array.from({ length: shards }, (_, i) => i),
        { minLength: 1 },
      )
      .chain((list) => fc.tuple(...list.map((shard) => fc.record({ shard: fc.constant(shard), bytes: fc.nat(4096) })))),
  });
}

function trainerCopyArb(name: string): fc.Arbitrary<TrainerStatus> {
  const ids = fc.uniqueArray(fc.nat(16), { maxLength: 4 }).map((a) => a.sort((x, y) => x - y));
  return fc.record({
    name: fc.constant(name),
    mode: fc.constantFrom('sync' as const, 'async' as const),
    optimizer: fc.constantFrom('sgd', 'adam'),
    params: fc.integer({ min: 1, max: 8 }),
    numWorkers: fc.integer({ min: 1, max: 17 }),
    workersSeen: fc.nat(17),
    workersLeft: ids,
    step: fc.nat(100),
    learningRate: fc.double({ min: 0, max: 1, noNaN: true }),
    stepTimeoutMs: fc.integer({ min: 1, max: 60_000 }),
    timeoutPolicy: fc.constantFrom('fail' as const, 'quorum' as const),
    quorum: fc.nat(4),
    openStep: fc.option(
      fc.record({
        step: fc.nat(100),
        stepped: fc.nat(17),
        waitingFor: ids,
        waitingCount: fc.nat(17),
        sinceUnixMs: fc.nat(1e9),
        waitedMs: fc.nat(1e6),
        applying: fc.boolean(),
      }),
    ),
    recentSteps: fc.nat(100),
    rateWindowMs: fc.constant(60_000),
    stepsPerSecond: fc.double({ min: 0, max: 100, noNaN: true }),
    lastStepUnixMs: fc.option(fc.nat(1e9)),
  });
}

/** What each shard's status has besides the parameters and trainers (drawn freely). */
function shardExtrasArb() {
  return fc.record({
    healthy: fc.boolean(),
    uptimeMs: fc.nat(1e7),
    startedUnixMs: fc.nat(1e9),
    devices: fc.subarray(DEVICES, { minLength: 1 }).chain((names) =>
      fc.tuple(
        ...names.map((device) =>
          fc.record({
            device: fc.constant(device),
            allocatedBytes: fc.nat(1e6),
            peakBytes: fc.nat(1e6),
            byKind: byKindArb,
          }),
        ),
      ),
    ),
    byKind: byKindArb,
    budgetBytes: fc.option(fc.nat(1e9)),
    heldBytes: fc.nat(1e6),
    warnings: fc.array(
      fc.record({
        timeUnixMs: fc.nat(50),
        level: fc.constantFrom('warn' as const, 'error' as const),
        message: fc.string({ maxLength: 8 }),
        fields: fc.constant({} as Record<string, string>),
      }),
      { maxLength: 4 },
    ),
    warningsTotal: fc.nat(100),
  });
}

const clusterArb = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.record({
    shards: fc.constant(n),
    params: fc.array(paramArb(n), { maxLength: 8 }),
    trainers: fc.uniqueArray(fc.constantFrom('t0', 't1', 't2', 't3'), { maxLength: 3 }).chain((names) =>
      fc.tuple(
        ...names.map((name) =>
          fc
            .shuffledSubarray(
              Array.from({ length: n }, (_, i) => i),
              { minLength: 1 },
            )
            .chain((holders) => fc.tuple(...holders.map((s) => trainerCopyArb(name).map((t) => [s, t] as const))))
            .map((copies): ModelTrainer => ({ name, copies: new Map(copies) })),
        ),
      ),
    ),
    extras: fc.array(shardExtrasArb(), { minLength: n, maxLength: n }),
  }),
);

type Model = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

/** Shard i's List as the server answers it (what extraParts reads). */
function shardList(params: readonly ModelParam[], shard: number): ParameterInfo__Output[] {
  return params.flatMap((p, k) =>
    p.parts
      .map((part, j) => ({ part, j }))
      .filter(({ part }) => part.shard === shard)
      .map(
        ({ j }) =>
          ({
            spec: {
              name: `p${k}`,
              part:
                p.parts.length === 1
                  ? null
                  : { fullShape: [p.parts.length], rowStart: j, rowStep: 1, parts: p.parts.length },
            },
            initialized: p.state === 'initialized',
            deferred: p.state === 'deferred',
            isConstant: p.constant,
          }) as unknown as ParameterInfo__Output,
      ),
  );
}

/** Each shard's answer, built from the model. */
function answers(m: Model): ShardAnswer[] {
  return m.extras.map((x, i): ShardAnswer => {
    const held = m.params.flatMap((p) => p.parts.filter((part) => part.shard === i).map((part) => ({ p, part })));
    const status: ServerStatus = {
      version: '1.0.0',
      timeUnixMs: 1e9 + i,
      startedUnixMs: x.startedUnixMs,
      uptimeMs: x.uptimeMs,
      health: x.healthy ? { status: 'SERVING', reason: '' } : { status: 'NOT_SERVING', reason: `recovering ${i}` },
      address: `h${i}:1`,
      security: { tls: 'off', auth: false, fullAccessTokens: 0, readOnlyTokens: 0 },
      devices: ['cpu'],
      memory: {
        devices: x.devices as DeviceMemory[],
        byKind: x.byKind,
        readStagingBytes: 0,
        allocatedBytes: x.devices.reduce((t, d) => t + d.allocatedBytes, 0),
        budgetBytes: x.budgetBytes,
        heldBytes: x.heldBytes,
        hostHeapBytes: 0,
      },
      durability: null,
      parameters: {
        parameters: held.filter(({ p }) => !p.constant).length,
        constants: held.filter(({ p }) => p.constant).length,
        initialized: held.filter(({ p }) => p.state === 'initialized').length,
        deferred: held.filter(({ p }) => p.state === 'deferred').length,
        bytes: held.reduce((t, { part }) => t + part.bytes, 0),
      },
      trainers: m.trainers.flatMap((t) => (t.copies.has(i) ? [t.copies.get(i)!] : [])),
      warnings: x.warnings,
      warningsTotal: x.warningsTotal,
    };
    return { index: i, address: `h${i}:1`, status, extraParts: extraParts(shardList(m.params, i)) };
  });
}

describe('mergeStatuses', () => {
  it('equals the reference over generated clusters', () => {
    fc.assert(
      fc.property(clusterArb, (m) => {
        // Shards answer in any order; the merge is by index.
        const got = mergeStatuses(answers(m).reverse());
        const n = m.shards;
        // One server holding the model's parameters counts each once, its bytes in full.
        expect(got.parameters).toEqual({
          parameters: m.params.filter((p) => !p.constant).length,
          constants: m.params.filter((p) => p.constant).length,
          initialized: m.params.filter((p) => p.state === 'initialized').length,
          deferred: m.params.filter((p) => p.state === 'deferred').length,
          bytes: m.params.reduce((t, p) => t + p.parts.reduce((u, part) => u + part.bytes, 0), 0),
        });
        // Memory: per device name over the shards holding one.
        for (const name of DEVICES) {
          const on = m.extras.flatMap((x) => x.devices.filter((d) => d.device === name));
          const d = got.memory.devices.find((x) => x.device === name);
          if (on.length === 0) {
            expect(d).toBeUndefined();
            continue;
          }
          expect(d!.allocatedBytes).toBe(on.reduce((t, x) => t + x.allocatedBytes, 0));
          expect(d!.peakBytes).toBe(on.reduce((t, x) => t + x.peakBytes, 0));
          for (const k of MEMORY_KINDS) expect(d!.byKind[k]).toBe(on.reduce((t, x) => t + x.byKind[k], 0));
        }
        const kinds = emptyByKind();
        for (const x of m.extras) for (const k of MEMORY_KINDS) kinds[k] += x.byKind[k];
        expect(got.memory.byKind).toEqual(kinds);
        expect(got.memory.budgetBytes).toBe(
          m.extras.some((x) => x.budgetBytes === null) ? null : m.extras.reduce((t, x) => t + x.budgetBytes!, 0),
        );
        expect(got.memory.heldBytes).toBe(m.extras.reduce((t, x) => t + x.heldBytes, 0));
        // Trainers: one per name, by name; the lowest holding shard's, with every shard's workers.
        expect(got.trainers.map((t) => t.name)).toEqual(m.trainers.map((t) => t.name).sort());
        for (const t of m.trainers) {
          const holders = [...t.copies.keys()].sort((a, b) => a - b);
          const copies = holders.map((s) => t.copies.get(s)!);
          const decider = copies[0]!;
          const merged = got.trainers.find((x) => x.name === t.name)!;
          expect(merged.step).toBe(decider.step);
          expect(merged.learningRate).toBe(decider.learningRate);
          expect(merged.mode).toBe(decider.mode);
          expect(merged.params).toBe(Math.max(...copies.map((c) => c.params)));
          expect(merged.workersSeen).toBe(Math.max(...copies.map((c) => c.workersSeen)));
          const left = new Set(copies.flatMap((c) => c.workersLeft));
          expect(merged.workersLeft).toEqual([...left].sort((a, b) => a - b));
          const open = copies.flatMap((c) => (c.openStep === null ? [] : [c.openStep]));
          if (open.length === 0) expect(merged.openStep).toBeNull();
          else {
            const waiting = [...new Set(open.flatMap((o) => o.waitingFor))].sort((a, b) => a - b);
            expect(merged.openStep).toEqual({
              step: open[0]!.step,
              stepped: Math.max(...open.map((o) => o.stepped)),
              waitingFor: waiting,
              waitingCount: Math.max(waiting.length, ...open.map((o) => o.waitingCount)),
              sinceUnixMs: Math.min(...open.map((o) => o.sinceUnixMs)),
              waitedMs: Math.max(...open.map((o) => o.waitedMs)),
              applying: open.every((o) => o.applying),
            });
          }
        }
        // Warnings: every shard's, by time (a tie in shard order), each naming its shard.
        const all: LogEvent[] = [];
        for (let i = 0; i < n; i++)
          for (const w of m.extras[i]!.warnings) all.push({ ...w, fields: { ...w.fields, shard: String(i) } });
        all.sort((a, b) => a.timeUnixMs - b.timeUnixMs || Number(a.fields.shard) - Number(b.fields.shard));
        expect(got.warnings).toEqual(all);
        expect(got.warningsTotal).toBe(m.extras.reduce((t, x) => t + x.warningsTotal, 0));
        // Health: NOT_SERVING naming each shard that is not serving.
        const down = m.extras.flatMap((x, i) => (x.healthy ? [] : [i]));
        expect(got.health.status).toBe(down.length === 0 ? 'SERVING' : 'NOT_SERVING');
        if (down.length > 0)
          expect(got.health.reason).toBe(down.map((i) => `shard ${i} (h${i}:1): recovering ${i}`).join('; '));
        expect(got.address).toBe(Array.from({ length: n }, (_, i) => `h${i}:1`).join(','));
        expect(got.uptimeMs).toBe(Math.max(...m.extras.map((x) => x.uptimeMs)));
        expect(got.shards!.map((s) => s.index)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 200 },
    );
  });
});
