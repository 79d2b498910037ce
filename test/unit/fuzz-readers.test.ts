// A fixed-seed share of tools/fuzz-readers.ts: the LoadStates snapshot reader, the upload stream
// assembler (messages, and stream events in any order), write-ahead log replay and the
// checkpoint manifest reader, each given valid inputs (round trips) and damaged ones. A broken
// contract is a finding, reported with fast-check's seed and path to replay it. `npm run fuzz`
// runs more with other seeds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzReaders } from '../../tools/fuzz-readers';

const RUNS = { states: 1000, assembler: 1000, events: 300, wal: 300, manifest: 500 };
const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-fuzz-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reader fuzz (fixed seed)', () => {
  it(`${Object.values(RUNS).reduce((a, b) => a + b)} cases: every reader keeps its contract`, async () => {
    const report = await fuzzReaders({ seed: 1, runs: RUNS, dir });
    console.log(JSON.stringify(report));
    expect(report.findings).toEqual([]);
    expect(report.cases).toEqual(RUNS);
    // The damage reaches past the first checks: each reader both accepts and refuses.
    expect(Object.keys(report.outcomes.states!).sort()).toEqual(['INVALID_ARGUMENT', 'ok']);
    expect(report.outcomes.assembler).toMatchObject({
      INVALID_ARGUMENT: expect.any(Number),
      RESOURCE_EXHAUSTED: expect.any(Number),
    });
    expect(report.outcomes.events).toMatchObject({ ok: expect.any(Number), CANCELLED: expect.any(Number) });
    expect(report.outcomes.wal).toMatchObject({ corrupt: expect.any(Number), truncated: expect.any(Number) });
    expect(report.outcomes.manifest).toMatchObject({ ok: expect.any(Number), invalid: expect.any(Number) });
  }, 120_000);
});
