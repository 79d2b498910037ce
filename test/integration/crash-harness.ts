// The crash-test harness: the real server CLI (bundled once per test file with
// scripts/bundle.mjs, as `npm start` runs it) as a child process on a temporary --data-dir,
// killed with SIGKILL (by the test, or by a named failpoint through GLUONPS_FAILPOINTS) and
// restarted on the same data dir and the same port, so the clients' channels, and the trainer
// handles' retries with their idempotency keys, reach the new process. Also: an AdminService
// stub for on-demand checkpoints, a full capture of the server's observable state (every
// parameter's description and the bytes of every context copy, every trainer's description and
// saveStates() bytes) for exact comparisons with a reference server that never crashed, a
// seeded random generator, and readers of the data dir (checkpoints, log segments).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll } from 'vitest';
import { connect, Status } from '../../client/index';
import type { ParameterDescriptor, ParameterServerClient, Trainer } from '../../client/index';
import type { CheckpointResponse__Output } from '../../protos/generated/gluonps/v1/CheckpointResponse';
import type { AdminServiceClient } from '../../protos/generated/gluonps/v1/AdminService';
import type { HealthCheckResponse__Output } from '../../protos/generated/grpc/health/v1/HealthCheckResponse';
import { loadProtos } from '../../protos/load';
import { ROOT } from '../fixtures/bundled-module';
import { sleep } from './trainer-helpers';

const execFileP = promisify(execFile);
export { ROOT } from '../fixtures/bundled-module';

// --- The bundle ----------------------------------------------------------------------------------

export interface Bundle {
  path: string;
  remove(): void;
}

/** Bundles server/cli.ts under a name of this test file's own (concurrent files do not collide). */
export async function buildServerBundle(tag: string): Promise<Bundle> {
  const name = `gluonps-crash-${tag}-${process.pid}`;
  await execFileP(process.execPath, ['scripts/bundle.mjs', 'server/cli.ts', name], { cwd: ROOT, timeout: 60_000 });
  const file = path.join(ROOT, '.build', `${name}.mjs`);
  return { path: file, remove: () => rmSync(file, { force: true }) };
}

/**
 * A test file's server bundle, built in beforeAll (its `path` is set then) and removed in
 * afterAll, which also kills any server still running and deletes the temporary dirs.
 */
export function useServerBundle(tag: string): Bundle {
  const bundle: Bundle = { path: '', remove: () => undefined };
  beforeAll(async () => {
    Object.assign(bundle, await buildServerBundle(tag));
  }, 60_000);
  afterAll(() => {
    killAll();
    bundle.remove();
    cleanupTemp();
  });
  return bundle;
}

// --- Temporary data dirs -----------------------------------------------------------------------

const tempDirs: string[] = [];

/** A fresh temporary directory (removed by cleanupTemp()). */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `gluonps-crash-${tag}-`));
  tempDirs.push(dir);
  return dir;
}

export function cleanupTemp(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// --- Server processes ----------------------------------------------------------------------------

export type LogLine = Record<string, unknown>;

export interface StartOptions {
  /** The data dir, or 'none'. */
  dataDir: string;
  durability?: 'checkpoint' | 'wal-batch' | 'wal-always';
  /** Port to bind (a restart reuses the previous one); 0 picks a free one. */
  port?: number;
  /** More CLI flags. */
  args?: string[];
  /** GLUONPS_FAILPOINTS for this process. */
  failpoints?: string;
  /** info (default) or more verbose: startServer() waits for the info line "listening". */
  logLevel?: 'info' | 'debug' | 'trace';
}

const live = new Set<ChildProcess>();

/** SIGKILLs every server process still running (afterAll). */
export function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** One run of the server CLI. */
export class ServerProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrText = '';
  private readonly waiters: Array<() => void> = [];
  address = '';
  port = 0;

  constructor(
    readonly child: ChildProcess,
    readonly options: StartOptions,
  ) {
    live.add(child);
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ raw: line });
        }
      }
      this.wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderrText += s;
      this.wake();
    });
    // 'close', not 'exit': only then has all of the child's output been read.
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
        this.wake();
      });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first log line matching `pred` (waits for it; rejects if the process exits first). */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${timeoutMs} ms; ${this.describe()}`)),
        timeoutMs,
      );
      const check = (): void => {
        const hit = this.logs.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else if (!this.running) {
          clearTimeout(timer);
          reject(
            new Error(
              `the server exited (${this.child.exitCode ?? this.child.signalCode}) before the log line; ${this.describe()}`,
            ),
          );
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** Resolves when stderr matches `re` (e.g. a failpoint's line). */
  waitForStderr(re: RegExp, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`stderr never matched ${re} within ${timeoutMs} ms; ${this.describe()}`)),
        timeoutMs,
      );
      const check = (): void => {
        if (re.test(this.stderrText)) {
          clearTimeout(timer);
          resolve();
        } else if (!this.running) {
          clearTimeout(timer);
          reject(new Error(`the server exited without stderr matching ${re}; ${this.describe()}`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful stop (SIGTERM: final checkpoint) and its exit status. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }

  describe(): string {
    const tail = this.logs
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n  ');
    return `logs:\n  ${tail}\nstderr: ${this.stderrText.slice(-3000)}`;
  }

  /** Log lines with this message. */
  linesWith(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }
}

/**
 * Spawns the CLI with exactly these flags and GLUONPS_* variables (this process's own GLUONPS_*
 * settings are not passed on, GLUONPS_PROTO_DIR aside), without waiting for anything.
 * `options` are what restart() reuses.
 */
export function spawnCli(
  bundle: Bundle,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: StartOptions = { dataDir: 'none' },
): ServerProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('GLUONPS_') && k !== 'GLUONPS_PROTO_DIR') delete childEnv[k];
  const child = spawn(process.execPath, [bundle.path, ...args], {
    cwd: ROOT,
    env: { ...childEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServerProcess(child, options);
}

/** Spawns the CLI as `o` says without waiting for anything. */
export function spawnServer(bundle: Bundle, o: StartOptions): ServerProcess {
  const args = [
    '--port',
    String(o.port ?? 0),
    '--log-level',
    o.logLevel ?? 'info',
    '--data-dir',
    o.dataDir,
    '--devices',
    'cpu',
  ];
  if (o.durability !== undefined) args.push('--durability', o.durability);
  args.push(...(o.args ?? []));
  return spawnCli(bundle, args, o.failpoints === undefined ? {} : { GLUONPS_FAILPOINTS: o.failpoints }, o);
}

/** Starts the CLI and waits for its "listening" line (after recovery). Retries a busy port a few times. */
export async function startServer(bundle: Bundle, o: StartOptions): Promise<ServerProcess> {
  for (let attempt = 0; ; attempt++) {
    const srv = spawnServer(bundle, o);
    try {
      const l = await srv.waitForLog((x) => x.msg === 'listening');
      srv.address = l.address as string;
      srv.port = Number(srv.address.slice(srv.address.lastIndexOf(':') + 1));
      return srv;
    } catch (err) {
      await srv.exited;
      // A port just released by a killed server is normally free at once; be patient anyway.
      if (attempt < 20 && /cannot listen on/.test(srv.stderr)) {
        await sleep(100);
        continue;
      }
      throw err;
    }
  }
}

/** SIGKILLs `srv` (if it still runs) and starts the server again on its data dir and port. */
export async function restart(
  bundle: Bundle,
  srv: ServerProcess,
  changes: Partial<StartOptions> = {},
): Promise<ServerProcess> {
  await srv.kill();
  const { failpoints: _drop, ...rest } = srv.options;
  return startServer(bundle, { ...rest, port: srv.port, ...changes });
}

// --- Clients ------------------------------------------------------------------------------------

/** Short reconnect backoff, so a channel finds a restarted server quickly. */
export const FAST_RECONNECT: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 250,
};

/** Retries of keyed trainer calls generous enough to span a restart. */
export const RESTART_RETRY = { maxAttempts: 60, initialBackoffMs: 50, maxBackoffMs: 250 };

export function connectTo(address: string): Promise<ParameterServerClient> {
  return connect(address, { connectTimeoutMs: 10_000, channelOptions: FAST_RECONNECT });
}

/** Runs `fn` until it stops failing with UNAVAILABLE (a restarted server, a reconnecting channel). For reads only. */
export async function untilAvailable<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: number }).code !== Status.UNAVAILABLE || Date.now() > end) throw err;
      await sleep(25);
    }
  }
}

type AdminCtor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => AdminServiceClient;

/** AdminService.Checkpoint: an on-demand checkpoint; resolves with its id. */
export function checkpointNow(address: string, reason = 'crash test'): Promise<CheckpointResponse__Output> {
  const Ctor = loadProtos().gluonps.v1.AdminService as unknown as AdminCtor;
  const stub = new Ctor(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    stub.checkpoint({ reason }, { deadline: Date.now() + 20_000 }, (err, res) => {
      stub.close();
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

/** grpc.health.v1 Check of `service` (default: the whole server). */
export function healthCheck(address: string, service = '', timeoutMs = 2000): Promise<HealthCheckResponse__Output> {
  const client = new (loadProtos().grpc.health.v1.Health)(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

// --- State capture -------------------------------------------------------------------------------

export interface CopyState {
  ctx: string;
  dtype: string;
  shape: number[];
  version: number;
  /** The bytes, hex. */
  data: string;
}

export interface ServerState {
  params: Array<{ desc: ParameterDescriptor; copies: CopyState[] | null }>;
  trainers: Record<string, { desc: unknown; states: string }>;
}

/**
 * Everything a client can observe: every parameter and constant in declaration order (its
 * description, version included) with the bytes of every context copy, and for each trainer
 * handle given its description and its optimizer states (saveStates(): every state tensor,
 * update counts, step, learning rate).
 */
export async function captureState(
  ps: ParameterServerClient,
  trainers: Record<string, Trainer> = {},
): Promise<ServerState> {
  const list = await ps.list();
  const params: ServerState['params'] = [];
  for (const desc of list) {
    let copies: CopyState[] | null = null;
    if (desc.initialized && desc.stype === 'default') {
      const p = await ps.get(desc.name);
      copies = (await p.listData()).map((t) => ({
        ctx: `${t.ctx.deviceType}(${t.ctx.deviceId})`,
        dtype: t.dtype,
        shape: [...t.shape],
        version: t.version,
        data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex'),
      }));
    }
    params.push({ desc, copies });
  }
  const out: ServerState['trainers'] = {};
  for (const [name, t] of Object.entries(trainers)) {
    const desc = await t.describe();
    const states = (await t.saveStates()).toString('hex');
    out[name] = { desc, states };
  }
  return { params, trainers: out };
}

/** Leaf paths where `got` and `want` differ (at most `limit`), each with both values, shortened. */
export function stateDiff(got: unknown, want: unknown, limit = 12): string[] {
  const out: string[] = [];
  const short = (v: unknown): string => {
    const t = JSON.stringify(v) ?? String(v);
    return t.length > 120 ? `${t.slice(0, 117)}...` : t;
  };
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (out.length >= limit || isDeepStrictEqual(a, b)) return;
    if (
      a !== null &&
      b !== null &&
      typeof a === 'object' &&
      typeof b === 'object' &&
      Array.isArray(a) === Array.isArray(b)
    ) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      return;
    }
    out.push(`${at}: got ${short(a)}, want ${short(b)}`);
  };
  walk(got, want, '$');
  return out;
}

/**
 * Throws unless the two states are identical, naming the differing fields (vitest's own diff
 * of two large states with long hex strings takes minutes).
 */
export function expectSameState(got: ServerState, want: ServerState, message: string): void {
  if (isDeepStrictEqual(got, want)) return;
  const names = (s: ServerState) => s.params.map((p) => p.desc.name).join(',');
  throw new Error(
    `${message}\nstate differs from the reference:\n  ${stateDiff(got, want).join('\n  ')}\n(parameters: got [${names(got)}], want [${names(want)}])`,
  );
}

// --- The data dir ---------------------------------------------------------------------------------

export function checkpointEntries(dataDir: string): string[] {
  try {
    // Spare files (kept from pruned checkpoints for reuse) are not checkpoints.
    return readdirSync(path.join(dataDir, 'checkpoints'))
      .filter((e) => !e.startsWith('spare-'))
      .sort();
  } catch {
    return [];
  }
}

export function walSegments(dataDir: string): string[] {
  return readdirSync(path.join(dataDir, 'wal'))
    .filter((f) => /^wal-\d{20}\.log$/.test(f))
    .sort();
}

export interface WalRecordInfo {
  file: string;
  offset: number;
  length: number;
  lsn: bigint;
  meta: Record<string, unknown>;
}

/** The records of every log segment, parsed as docs/durability.md describes the format (no CRC check). */
export function readWalRecords(dataDir: string): WalRecordInfo[] {
  const out: WalRecordInfo[] = [];
  for (const file of walSegments(dataDir)) {
    const buf = readFileSync(path.join(dataDir, 'wal', file));
    let off = 0;
    while (off + 20 <= buf.length) {
      const length = buf.readUInt32LE(off);
      if (length < 20 || off + length > buf.length) break;
      const metaLen = buf.readUInt32LE(off + 16);
      const meta = JSON.parse(buf.toString('utf8', off + 20, off + 20 + metaLen)) as Record<string, unknown>;
      out.push({ file, offset: off, length, lsn: buf.readBigUInt64LE(off + 8), meta });
      off += length;
    }
  }
  return out;
}

// --- Small things ---------------------------------------------------------------------------------

export { settle, sleep } from './trainer-helpers';

/** mulberry32: a small seeded generator, so a failing sequence reproduces from its seed. */
export function rng(seed: number): {
  next: () => number;
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
  chance: (p: number) => boolean;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}
