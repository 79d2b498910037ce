// fuzz.ts: `npm run fuzz -- --minutes N [--seed S]` fuzzes for N minutes (default 1) and prints
// one JSON line with the counts and every finding:
// - rpc: every method of every service of a server in this process (tools/fuzz-rpc.ts), 40% of
//   the time;
// - crash: the same against the server CLI on a data dir, with kill -9 and restart between
//   rounds (tools/fuzz-crash.ts), 40%;
// - readers: the LoadStates snapshot reader, the upload stream assembler, write-ahead log replay
//   and the checkpoint manifest reader (tools/fuzz-readers.ts), 20%.
// Exits 1 when anything was found. The suite runs fixed-seed shares of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../client/index';
import { startServer } from '../server/index';
import { buildServer, fuzzCrash } from './fuzz-crash';
import { fuzzReaders, READER_TARGETS } from './fuzz-readers';
import { fuzzRpc, fuzzTarget } from './fuzz-rpc';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes ?? 1);
if (!(minutes > 0)) throw new Error(`--minutes: expected a positive number, got ${values.minutes}`);
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const ms = minutes * 60_000;
const scratch = mkdtempSync(path.join(tmpdir(), 'gluonps-fuzz-'));

// In-process RPC fuzzing.
const server = await startServer({
  port: 0,
  logLevel: 'silent',
  maxTensorBytes: 4 << 20,
  streamIdleTimeoutMs: 300,
  readTimeoutMs: 2000,
  maxWorkersPerTrainer: 64,
});
const ps = await connect(server.address);
await fuzzTarget(ps);
const rpc = await fuzzRpc({
  address: server.address,
  seed,
  numRuns: Number.MAX_SAFE_INTEGER,
  until: Date.now() + ms * 0.4,
  deadlineMs: 2000,
});
await ps.close();
await server.close(1000);

// kill -9 and restart.
const bundle = await buildServer('tool');
const crash = await fuzzCrash({
  bundle: bundle.path,
  dataDir: path.join(scratch, 'data'),
  seed,
  rounds: Number.MAX_SAFE_INTEGER,
  until: Date.now() + ms * 0.4,
  casesPerRound: 60,
  deadlineMs: 1000,
});
bundle.remove();

// The readers, each an equal share of the rest.
const readers = await fuzzReaders({
  seed,
  dir: scratch,
  runs: Object.fromEntries(READER_TARGETS.map((t) => [t, Number.MAX_SAFE_INTEGER])),
  msPerTarget: (ms * 0.2) / READER_TARGETS.length,
});
rmSync(scratch, { recursive: true, force: true });

const findings = [
  ...rpc.findings.map((f) => `rpc: ${f}`),
  ...crash.findings.map((f) => `crash: ${f}`),
  ...readers.findings.map((f) => `readers: ${f}`),
];
const cases = rpc.cases + crash.cases + Object.values(readers.cases).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ seed, minutes, cases, rpc, crash, readers, findings }));
process.exitCode = findings.length === 0 ? 0 : 1;
