// A fixed-seed share of tools/fuzz-crash.ts: fuzzed RPCs against the real server CLI on a data
// dir, with kill -9 at random moments (hot rounds) and after every call ended (quiet rounds),
// and a restart after each. The server never exits by itself, every call ends with a status
// within its deadline and none is UNKNOWN or INTERNAL before a kill, the ledger keeps its last
// acknowledged value, the state after a quiet kill is the acknowledged one, and a graceful stop
// at the end exits 0. `npm run fuzz -- --minutes N` runs more.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, fuzzCrash } from '../../tools/fuzz-crash';

const ROUNDS = 4;
const CASES = Number(process.env.GLUONPS_FUZZ_CRASH_CASES ?? 30);
let bundle: { path: string; remove: () => void };
const dataDir = mkdtempSync(path.join(tmpdir(), 'gluonps-fuzz-crash-'));

beforeAll(async () => {
  bundle = await buildServer('crash');
}, 60_000);
afterAll(() => {
  bundle?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('RPC fuzz with kill -9 and restart', () => {
  it(`${ROUNDS} rounds of ${CASES} cases: no crash, no lost acknowledged change, no UNKNOWN or INTERNAL`, async () => {
    const report = await fuzzCrash({
      bundle: bundle.path,
      dataDir,
      seed: 20261207,
      rounds: ROUNDS,
      casesPerRound: CASES,
      deadlineMs: 800,
    });
    console.log(JSON.stringify(report));
    expect(report.findings).toEqual([]);
    expect(report.rounds).toBe(ROUNDS);
    expect(report.kills).toEqual({ hot: ROUNDS / 2, quiet: ROUNDS / 2 });
    // Both quiet kills were judged (the second by the final restart), unless a step deadline fired meanwhile.
    expect(report.stateChecks.matched + report.stateChecks.inconclusive).toBe(ROUNDS / 2);
    expect(report.ledgerWrites).toBeGreaterThan(0);
    expect(report.cases).toBeGreaterThan(ROUNDS * (CASES / 2));
  }, 180_000);
});
