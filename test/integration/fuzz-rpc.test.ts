// Fuzzes every method of every service of a live server (tools/fuzz-rpc.ts) with a fixed seed and
// a bounded number of cases: the server never exits (it runs in this process, so a crash fails
// the run), every call ends with a status within its deadline, none is UNKNOWN or INTERNAL, and
// afterwards the server still serves. `npm run fuzz -- --minutes N` runs more.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fuzzMethods, fuzzRpc, fuzzTarget } from '../../tools/fuzz-rpc';
import { startHarness } from './helpers';

const CASES = Number(process.env.GLUONPS_FUZZ_CASES ?? 250);

describe('RPC fuzz', () => {
  it(`${CASES} cases over every method: no UNKNOWN or INTERNAL, no call past its deadline`, async () => {
    const h = await startHarness({
      maxTensorBytes: 4 << 20,
      streamIdleTimeoutMs: 300,
      readTimeoutMs: 2000,
      maxWorkersPerTrainer: 64,
    });
    try {
      await fuzzTarget(h.ps);
      const report = await fuzzRpc({ address: h.server.address, seed: 20261206, numRuns: CASES, deadlineMs: 2000 });
      console.log(JSON.stringify({ cases: report.cases, byStatus: report.byStatus }));
      expect(report.findings).toEqual([]);
      expect(report.cases).toBe(CASES);
      // Every method of the four services (those added later included) was called.
      expect(Object.keys(report.byMethod).sort()).toEqual(
        fuzzMethods()
          .map((m) => m.name)
          .sort(),
      );
      expect(fuzzMethods().length).toBeGreaterThanOrEqual(32);
      // Still serving: a declare and a read.
      const p = await h.ps.parameter('after_fuzz', { shape: [2] });
      await p.initialize();
      expect((await p.data()).shape).toEqual([2]);
      expect(grpc.status.OK).toBe(0);
    } finally {
      await h.close();
    }
  }, 120_000);
});
