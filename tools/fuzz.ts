// fuzz.ts: `npm run fuzz -- --minutes N [--seed S]` starts a server in this process, fuzzes every
// RPC method for N minutes (tools/fuzz-rpc.ts) and prints one JSON line: cases, counts by status
// and by method, and the findings (UNKNOWN or INTERNAL statuses, calls past their deadline).
import { parseArgs } from 'node:util';
import { connect } from '../client/index';
import { startServer } from '../server/index';
import { fuzzRpc, fuzzTarget } from './fuzz-rpc';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' } } });
const minutes = Number(values.minutes ?? 1);
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
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
const report = await fuzzRpc({
  address: server.address,
  seed,
  numRuns: Number.MAX_SAFE_INTEGER,
  until: Date.now() + minutes * 60_000,
  deadlineMs: 2000,
});
console.log(JSON.stringify({ seed, minutes, ...report }));
await ps.close();
await server.close(1000);
process.exitCode = report.findings.length === 0 ? 0 : 1;
