// fuzz-crash.ts: the RPC fuzzer (tools/fuzz-rpc.ts) against the real server CLI on a data dir,
// interleaved with kill -9 and restart. Each round starts the server on the same data dir and
// port, runs fuzz cases (several at once) beside a ledger writer (set_data of a counter to a
// parameter of its own), and ends with kill -9: in a "hot" round at a random moment while calls
// are in flight, in a "quiet" round once every call ended and the whole observable state was
// captured. Invariants, each a finding when broken:
// - the server never exits on its own (only the kills end it), and restarts on its data dir;
// - every call ends with a status within its deadline (plus a grace), and no call that ended
//   before a kill is UNKNOWN or INTERNAL;
// - the ledger reads back its last acknowledged value (or the one in flight at the kill);
// - after a quiet round, the restarted server's state (every parameter's description and
//   bytes, every trainer and its optimizer states) equals the captured one.
// The suite runs a fixed-seed share (test/integration/fuzz-crash.test.ts); `npm run fuzz` more.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { connect, init, type ParameterServerClient } from '../client/index';
import type { AdminServiceClient } from '../protos/generated/gluonps/v1/AdminService';
import type { TrainerServiceClient } from '../protos/generated/gluonps/v1/TrainerService';
import { loadProtos } from '../protos/load';
import { FORBIDDEN, fuzzCase, fuzzMethods, fuzzTarget, runCase, type FuzzCase } from './fuzz-rpc';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LEDGER = 'fz_ledger';
/** Calls may end this long after their deadline (a loaded machine) before it is a finding. */
const GRACE_MS = 1500;

/** Bundles server/cli.ts (as `npm start` runs it); returns the bundle's path and its removal. */
export async function buildServer(tag: string): Promise<{ path: string; remove: () => void }> {
  const name = `gluonps-fuzz-${tag}-${process.pid}`;
  await promisify(execFile)(process.execPath, ['scripts/bundle.mjs', 'server/cli.ts', name], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const file = path.join(ROOT, '.build', `${name}.mjs`);
  return { path: file, remove: () => rmSync(file, { force: true }) };
}

/** One run of the server CLI: its log lines (the last ones kept), whether it exited, and when. */
class ServerRun {
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  exited: { code: number | null; signal: string | null } | null = null;
  killed = false;
  address = '';
  private readonly closed: Promise<void>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ raw: line });
        }
        if (this.lines.length > 2000) this.lines.splice(0, 1000);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr = (this.stderr + s).slice(-4000)));
    this.closed = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      }),
    );
  }

  /** Waits for the "listening" line (recovery done); throws if the process exits first. */
  async listening(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const l = this.lines.find((x) => x.msg === 'listening');
      if (l !== undefined) {
        this.address = String(l.address);
        return;
      }
      if (this.exited !== null || Date.now() > end)
        throw new Error(
          `the server did not start: ${this.exited ? `exited ${JSON.stringify(this.exited)}` : 'timed out'}; ${this.tail()}`,
        );
      await sleep(20);
    }
  }

  /** Resolves with the exit status once the process is gone. */
  async stopped(): Promise<{ code: number | null; signal: string | null }> {
    await this.closed;
    return this.exited!;
  }

  async kill(): Promise<void> {
    this.killed = true;
    if (this.exited === null) this.child.kill('SIGKILL');
    await this.closed;
  }

  tail(): string {
    const logs = this.lines.slice(-6).map((l) => JSON.stringify(l).slice(0, 300));
    return `stderr: ${this.stderr.slice(-1500)} logs: ${logs.join(' | ')}`;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function startRun(bundle: string, dataDir: string, port: number, extraArgs: readonly string[]): ServerRun {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GLUONPS_') && k !== 'GLUONPS_PROTO_DIR') delete env[k];
  const args = [
    ...['--port', String(port), '--log-level', 'info', '--data-dir', dataDir, '--durability', 'wal-always'],
    ...['--devices', 'cpu', '--max-tensor-bytes', '4MiB', '--stream-idle-timeout-ms', '300'],
    ...['--read-timeout-ms', '2000', '--max-workers-per-trainer', '64', '--checkpoint-every-steps', '7'],
    ...['--keep-checkpoints', '2', '--checkpoint-min-interval-ms', '0'],
    ...extraArgs,
  ];
  return new ServerRun(
    spawn(process.execPath, [bundle, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

type Ctor<C> = new (address: string, credentials: grpc.ChannelCredentials) => C;

/** Everything the restarted server must still hold, as one canonical text. */
async function captureState(ps: ParameterServerClient, address: string): Promise<string> {
  const parts: string[] = [];
  for (const d of await ps.list()) {
    parts.push(JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    if (!d.initialized) continue;
    const p = await ps.get(d.name);
    const tensors =
      d.stype === 'row_sparse'
        ? (await p.listRowSparseData(Array.from({ length: d.shape![0]! }, (_, i) => i))).map((r) => r.values)
        : await p.listData();
    for (const t of tensors) {
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      parts.push(`${t.dtype} ${t.shape.join('x')} ${createHash('sha256').update(bytes).digest('hex')}`);
    }
  }
  const trainers = new (loadProtos().gluonps.v1.TrainerService as unknown as Ctor<TrainerServiceClient>)(
    address,
    grpc.credentials.createInsecure(),
  );
  const admin = new (loadProtos().gluonps.v1.AdminService as unknown as Ctor<AdminServiceClient>)(
    address,
    grpc.credentials.createInsecure(),
  );
  try {
    // Every trainer, the fuzzer's random names too.
    const names = await new Promise<string[]>((resolve, reject) =>
      admin.listTrainers({}, { deadline: Date.now() + 5000 }, (err, r) =>
        err ? reject(err) : resolve((r?.trainers ?? []).map((t) => t.name).sort()),
      ),
    );
    for (const name of names) {
      const info = await new Promise<Record<string, unknown> | null>((resolve, reject) =>
        trainers.describeTrainer({ name }, { deadline: Date.now() + 5000 }, (err, r) =>
          err
            ? err.code === grpc.status.NOT_FOUND
              ? resolve(null)
              : reject(err)
            : resolve(r as unknown as Record<string, unknown>),
        ),
      );
      if (info === null) continue;
      // Who is waiting at an open barrier and who was seen are not durable (pushes are not logged).
      const { waitingFor: _w, workersSeen: _s, ...durable } = info;
      parts.push(`trainer ${name} ${JSON.stringify(durable)}`);
      const states = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const call = trainers.saveStates({ name }, { deadline: Date.now() + 5000 });
        call.on('data', (m: { chunk?: Buffer }) => chunks.push(m.chunk ?? Buffer.alloc(0)));
        call.on('error', reject);
        call.on('end', () => resolve(Buffer.concat(chunks)));
      });
      parts.push(`states ${name} ${createHash('sha256').update(states).digest('hex')}`);
    }
  } finally {
    trainers.close();
    admin.close();
  }
  return parts.join('\n');
}

export interface CrashFuzzReport {
  rounds: number;
  kills: { hot: number; quiet: number };
  cases: number;
  /** Calls that ended before a kill, by status. */
  byStatus: Record<string, number>;
  /** Calls cut by a kill (their status is not judged). */
  cutByKill: number;
  ledgerWrites: number;
  /** Quiet rounds whose state matched after the restart / could not be judged (a step deadline fired meanwhile). */
  stateChecks: { matched: number; inconclusive: number };
  findings: string[];
}

export interface CrashFuzzOptions {
  bundle: string;
  dataDir: string;
  seed: number;
  /** Rounds to run (each ends with a kill); or until `until` (ms since the epoch). */
  rounds: number;
  until?: number;
  casesPerRound: number;
  /** Cases in flight at once. */
  concurrency?: number;
  deadlineMs?: number;
  serverArgs?: readonly string[];
}

export async function fuzzCrash(o: CrashFuzzOptions): Promise<CrashFuzzReport> {
  const methods = fuzzMethods();
  const deadlineMs = o.deadlineMs ?? 1000;
  const report: CrashFuzzReport = {
    rounds: 0,
    kills: { hot: 0, quiet: 0 },
    cases: 0,
    byStatus: {},
    cutByKill: 0,
    ledgerWrites: 0,
    stateChecks: { matched: 0, inconclusive: 0 },
    findings: [],
  };
  const find = (what: string): void => {
    if (report.findings.length < 50) report.findings.push(what);
  };
  // When a hot round's kill comes (ms after its start); hot and quiet rounds alternate.
  const killAfter = fc.sample(fc.integer({ min: 20, max: 1500 }), { seed: o.seed, numRuns: 1000 });
  let port = 0;
  /** The state a quiet round captured before its kill. */
  let expected: string | null = null;
  let ledger = { acked: 0, pending: null as number | null };
  /** After a restart: the ledger holds its last acknowledged value, and a quiet round's state is whole. */
  const checkRestart = async (ps: ParameterServerClient, address: string, when: string): Promise<void> => {
    const got = (await (await ps.get(LEDGER)).data()).data as Float32Array;
    const ok = got.every((v) => v === got[0]) && (got[0] === ledger.acked || got[0] === ledger.pending);
    if (!ok)
      find(
        `${when}: the ledger reads ${Array.from(got).join(',')}, acknowledged ${ledger.acked}, in flight ${ledger.pending}`,
      );
    ledger = { acked: got[0]!, pending: null };
    if (expected !== null) {
      const now = await captureState(ps, address);
      if (now === expected) report.stateChecks.matched++;
      else
        find(
          `${when}: the state after kill -9 and restart differs from the acknowledged state:\n${diffLines(expected, now)}`,
        );
    }
    expected = null;
  };
  for (let round = 0; round < o.rounds && (o.until === undefined || Date.now() < o.until); round++) {
    report.rounds++;
    const run = startRun(o.bundle, o.dataDir, port, o.serverArgs ?? []);
    try {
      await run.listening(30_000);
    } catch (err) {
      find(`round ${round}: the data dir did not restart: ${(err as Error).message}`);
      await run.kill();
      break;
    }
    port = Number(run.address.slice(run.address.lastIndexOf(':') + 1));
    const ps = await connect(run.address, { connectTimeoutMs: 10_000 });
    const client = new grpc.Client(run.address, grpc.credentials.createInsecure());
    try {
      // What the previous round left must be here.
      if (round === 0) {
        await fuzzTarget(ps);
        await (await ps.parameter(LEDGER, { shape: [4], init: init.zero() })).initialize();
      } else {
        await checkRestart(ps, run.address, `round ${round}`);
      }
      const hot = round % 2 === 1;
      const cases = fc.sample(fuzzCase(methods), { seed: o.seed + round + 1, numRuns: o.casesPerRound });
      let killedAt = Infinity;
      // The ledger: one set_data at a time, each acknowledged value the new floor.
      let writing = true;
      const p = await ps.get(LEDGER);
      const writer = (async () => {
        while (writing) {
          const v = ledger.acked + 1;
          ledger.pending = v;
          try {
            await p.setData(Float32Array.of(v, v, v, v));
          } catch {
            return; // the kill (or a fuzzed call that changed the ledger's spec): stop writing
          }
          ledger = { acked: v, pending: null };
          report.ledgerWrites++;
          await sleep(5);
        }
      })();
      const killer = hot
        ? sleep(killAfter[round % killAfter.length]!).then(async () => {
            killedAt = Date.now();
            await run.kill();
          })
        : null;
      // The cases, `concurrency` at a time, until they are done or the server is killed.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < cases.length && killedAt === Infinity) {
          const c = cases[next++]!;
          const out = await runCase(client, methods, c, deadlineMs);
          report.cases++;
          if (Date.now() >= killedAt) {
            report.cutByKill++;
            continue;
          }
          const status = grpc.status[out.code] ?? String(out.code);
          report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
          if (FORBIDDEN.has(out.code))
            find(`round ${round}: ${methodName(methods, c)} ended ${status}: ${out.details} <- ${describe(c)}`);
          else if (out.ms > deadlineMs + GRACE_MS)
            find(
              `round ${round}: ${methodName(methods, c)} ended after ${out.ms} ms, past its ${deadlineMs} ms deadline <- ${describe(c)}`,
            );
          if (run.exited !== null && !run.killed) return;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
      if (run.exited !== null && !run.killed) {
        find(`round ${round}: the server exited by itself (${JSON.stringify(run.exited)}); ${run.tail()}`);
        break;
      }
      if (killer !== null) {
        await killer;
        writing = false;
        await writer;
        report.kills.hot++;
        continue;
      }
      // Quiet: the writer stops, calls drain, the state is captured, then kill -9.
      writing = false;
      await writer;
      await sleep(150);
      const since = Date.now();
      const state = await captureState(ps, run.address);
      const timerFired = (): boolean =>
        run.lines.some((l) => Number(l.time) >= since && /step deadline passed|step timed out/.test(String(l.msg)));
      await run.kill();
      report.kills.quiet++;
      if (timerFired()) report.stateChecks.inconclusive++;
      else expected = state;
    } catch (err) {
      if (run.exited !== null && !run.killed) {
        find(`round ${round}: the server exited by itself (${JSON.stringify(run.exited)}); ${run.tail()}`);
        break;
      }
      find(`round ${round}: the fuzzer's own calls failed: ${(err as Error).message}; ${run.tail()}`);
    } finally {
      client.close();
      await ps.close().catch(() => undefined);
      await run.kill();
    }
  }
  // The last round's kill is checked too, and a graceful stop ends the run (status 0 expected).
  if (report.findings.length === 0 && report.rounds > 0) {
    const run = startRun(o.bundle, o.dataDir, port, o.serverArgs ?? []);
    try {
      await run.listening(30_000);
      const ps = await connect(run.address, { connectTimeoutMs: 10_000 });
      try {
        await checkRestart(ps, run.address, 'the final restart');
      } finally {
        await ps.close();
      }
      run.child.kill('SIGTERM');
      const exit = await run.stopped();
      if (exit.code !== 0) find(`a graceful stop after the fuzzing exited ${JSON.stringify(exit)}; ${run.tail()}`);
    } catch (err) {
      find(`the final restart failed: ${(err as Error).message}`);
    } finally {
      await run.kill();
    }
  }
  return report;
}

function methodName(methods: ReturnType<typeof fuzzMethods>, c: FuzzCase): string {
  const m = methods[c.method]!;
  return `${m.service.split('.').pop()}/${m.name}`;
}

function describe(c: FuzzCase): string {
  const text = JSON.stringify(c, (_k, v: unknown) =>
    v instanceof Uint8Array ? `<${v.length} bytes>` : Array.isArray(v) && v.length > 8 ? `<${v.length} items>` : v,
  );
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

/** The first lines where two captured states differ. */
function diffLines(want: string, got: string): string {
  const a = want.split('\n');
  const b = got.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < 6; i++) {
    if (a[i] !== b[i]) out.push(`  line ${i}: want ${a[i]?.slice(0, 200)}\n           got  ${b[i]?.slice(0, 200)}`);
  }
  return out.join('\n');
}
