// The gluonps CLI's inspection commands (status, status --watch, list, describe, trainers,
// trainer) as a separate process (bundled with scripts/bundle.mjs, as `npm run gluonps` runs
// it) against a real TLS + token server with a data dir, a checkpoint and a sync trainer whose
// open step waits for a missing worker: every command in text and in --json, checked against
// what the test did; unknown names, missing or read-only tokens and an unreachable address exit
// 1 with a clear message; --watch prints snapshot after snapshot and exits 0 on SIGINT. The
// in-place terminal screen is checked in-process through main() with a terminal-like stdout.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init } from '../../client/index';
import type { ParameterServerClient, ServerStatus, Trainer } from '../../client/index';
import { main } from '../../client/cli';
import { startServer } from '../../server/index';
import type { RunningServer } from '../../server/index';
import { hasOpenssl, selfSigned } from '../fixtures/certs';
import { f32, startHarness } from './helpers';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUNDLE_NAME = `gluonps-cli-inspect-itest-${process.pid}`;
const BUNDLE = path.join(ROOT, '.build', `${BUNDLE_NAME}.mjs`);
const TOKEN = 'inspect-full-token';
const READER = 'inspect-reader-token';

let dir: string;
let dataDir: string;
let server: RunningServer | undefined;
/** host:port by name (the certificate names localhost). */
let address = '';
let secure: string[] = [];
let checkpointId = 0;
const clients: ParameterServerClient[] = [];
let stepping: Promise<unknown> | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gluonps-cli-inspect-'));
  dataDir = path.join(dir, 'data');
  await execFileP(process.execPath, ['scripts/bundle.mjs', 'client/cli.ts', BUNDLE_NAME], {
    cwd: ROOT,
    timeout: 30_000,
  });
  if (!hasOpenssl) return;
  const pair = selfSigned(dir, 'inspect-server', 'localhost');
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  server = await startServer({
    port: 0,
    logLevel: 'silent',
    dataDir,
    auth: { tokens: [TOKEN], readOnlyTokens: [READER] },
    tls: { cert: pair.cert, key: pair.key },
  });
  address = `localhost:${server.port}`;
  secure = ['--server', address, '--tls-ca', pair.certFile, '--token-file', tokenFile];
  const open = async (): Promise<ParameterServerClient> => {
    const ps = await connect(address, { tls: { ca: pair.cert }, token: TOKEN });
    clients.push(ps);
    return ps;
  };
  const [ps0, ps1] = [await open(), await open()];
  // 12 float32 on two contexts (48 bytes each, a gradient beside each), 3 float64, a constant.
  const w = await ps0.parameter('fc.weight', { shape: [3, 4], init: init.one() });
  await w.initialize({ ctx: [cpu(0), cpu(1)] });
  const b = await ps0.parameter('fc.bias', { shape: [3], dtype: 'float64', gradReq: 'null' });
  await b.initialize();
  await (await ps0.constant('scale', f32([2], [0.5, 2]))).initialize();
  checkpointId = (await ps0.checkpoint({ reason: 'cli inspect test' })).id;
  // Worker 0 steps; worker 1 never does: the step waits for worker 1.
  const opts = { numWorkers: 2, stepTimeoutMs: 600_000 };
  const t0: Trainer = await ps0.trainer('mlp', ['fc.weight'], 'sgd', { learningRate: 0.125 }, { ...opts, workerId: 0 });
  await ps1.trainer('mlp', ['fc.weight'], 'sgd', { learningRate: 0.125 }, { ...opts, workerId: 1 });
  await t0.pushGrad('fc.weight', f32([3, 4], new Float32Array(12).fill(1)));
  stepping = t0.step(1).catch(() => undefined); // failed by the shutdown at the end
  for (;;) {
    const t = (await ps0.status({ trainer: 'mlp' })).trainers[0]!;
    if (t.openStep !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await server?.close(2000);
  await stepping;
  rmSync(BUNDLE, { force: true });
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bundled CLI (no GLUONPS_* variables unless given). `until`: called with the output
 * so far; when it returns true the process gets SIGINT.
 */
function cli(args: string[], options: { env?: NodeJS.ProcessEnv; until?: (stdout: string) => boolean } = {}) {
  return new Promise<Result>((resolve, reject) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLUONPS_')));
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      cwd: ROOT,
      env: { ...base, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (!interrupted && options.until?.(stdout) === true) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; returns its stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout;
}

describe.skipIf(!hasOpenssl)('against a TLS server with tokens', () => {
  it('status: one screen of health, version, memory, durability, trainers', async () => {
    const text = await ok(['status', ...secure]);
    expect(text).toMatch(new RegExp(`^gluon-ps \\d+\\.\\d+\\.\\d+ at 127\\.0\\.0\\.1:${server!.port}: SERVING\\n`));
    expect(text).toMatch(/^security +TLS, 1 full-access token and 1 read-only token$/m);
    expect(text).toMatch(/^parameters +2 parameters, 1 constant \(3 initialized, 0 deferred\), 128 B of values$/m);
    // cpu(0): fc.weight and fc.bias values (48 + 24), fc.weight's gradient (48), worker 0's staged gradient (48).
    expect(text).toMatch(/^memory +DEVICE +ALLOCATED +PEAK +PARAMS +GRADS +STATES +STAGED +CONSTS +OTHER$/m);
    expect(text).toMatch(/^ +cpu\(0\) +\S+ \S+ +\S+ \S+ +72 B +48 B +0 B +48 B +8 B +\S+ \S+$/m);
    expect(text).toMatch(
      /^ +held for callers: \S+ \S+ of the \S+ \S+ memory budget \(\S+%\); host memory \S+ \S+, host copies being sent \S+ \S+$/m,
    );
    expect(text).toMatch(new RegExp(`^durability +wal-batch in ${dataDir.replace(/[.]/g, '\\.')}$`, 'm'));
    expect(text).toMatch(new RegExp(`^ +last checkpoint ${checkpointId} at .*: cli inspect test, `, 'm'));
    expect(text).toMatch(/^ +write-ahead log: \d+ segments?, /m);
    expect(text).toMatch(/^trainers +NAME +MODE +OPTIMIZER +STEP +STEPS\/S +LR +WORKERS +WAITING FOR$/m);
    expect(text).toMatch(/^ +mlp +sync +sgd +0 +0\.00 +0\.125 +2 +worker 1 for \S+ \S+$/m);

    const s = JSON.parse(await ok(['status', ...secure, '--json'])) as ServerStatus & { command: string };
    expect(s).toMatchObject({
      command: 'status',
      health: { status: 'SERVING' },
      security: { tls: 'tls', auth: true, fullAccessTokens: 1, readOnlyTokens: 1 },
      parameters: { parameters: 2, constants: 1, initialized: 3, bytes: 128 },
      durability: { mode: 'wal-batch', dataDir, lastCheckpoint: { id: checkpointId, reason: 'cli inspect test' } },
    });
    const cpu0 = s.memory.devices.find((d) => d.device === 'cpu(0)')!;
    expect(cpu0.byKind).toMatchObject({ parameters: 72, gradients: 48, stagedGradients: 48, constants: 8 });
    expect(s.trainers).toHaveLength(1);
    expect(s.trainers[0]).toMatchObject({ name: 'mlp', step: 0, openStep: { waitingFor: [1], stepped: 1 } });
    expect(JSON.stringify(s)).not.toContain(TOKEN);
  });

  it('list and describe NAME', async () => {
    const text = await ok(['list', ...secure]);
    expect(text.split('\n')).toEqual([
      expect.stringMatching(/^NAME +KIND +SHAPE +DTYPE +STYPE +CONTEXTS +VERSION +STATE$/),
      expect.stringMatching(/^fc\.weight +parameter +\[3,4\] +float32 +default +cpu\(0\),cpu\(1\) +1 +initialized$/),
      expect.stringMatching(/^fc\.bias +parameter +\[3\] +float64 +default +cpu\(0\) +1 +initialized$/),
      expect.stringMatching(/^scale +constant +\[2\] +float32 +default +cpu\(0\) +1 +initialized$/),
      '',
    ]);
    const list = JSON.parse(await ok(['list', ...secure, '--json'])) as { command: string; parameters: unknown[] };
    expect(list.command).toBe('list');
    expect(list.parameters).toEqual([
      expect.objectContaining({ name: 'fc.weight', shape: [3, 4], dtype: 'float32', initialized: true, version: 1 }),
      expect.objectContaining({ name: 'fc.bias', shape: [3], dtype: 'float64', gradReq: 'null' }),
      expect.objectContaining({ name: 'scale', isConstant: true }),
    ]);

    const one = await ok(['describe', 'fc.weight', ...secure]);
    expect(one).toMatch(/^parameter 'fc\.weight'\n/);
    expect(one).toMatch(/^shape +\[3,4\]$/m);
    expect(one).toMatch(/^contexts +cpu\(0\),cpu\(1\)$/m);
    expect(one).toMatch(/^grad req +write$/m);
    expect(one).toMatch(/^init +\{"kind":"one"\}$/m);
    const described = JSON.parse(await ok(['describe', 'scale', '--json', ...secure])) as Record<string, unknown>;
    expect(described).toMatchObject({
      command: 'describe',
      parameter: { name: 'scale', isConstant: true, shape: [2] },
    });
  });

  it('trainers and trainer NAME: step, mode, lr, whom the open step waits for and how long', async () => {
    expect(await ok(['trainers', ...secure])).toMatch(
      /^NAME +DESCRIPTION\nmlp +sync sgd, 1 param, 2 workers, step 0, waiting for 1 worker\n$/,
    );
    expect(JSON.parse(await ok(['trainers', '--json', ...secure]))).toEqual({
      command: 'trainers',
      trainers: [{ name: 'mlp', description: 'sync sgd, 1 param, 2 workers, step 0, waiting for 1 worker' }],
    });
    const text = await ok(['trainer', 'mlp', ...secure]);
    expect(text).toMatch(/^trainer 'mlp': sync, sgd, step 0\n/);
    expect(text).toMatch(/^parameters +1: fc\.weight$/m);
    expect(text).toMatch(/^lr +0\.125$/m);
    expect(text).toMatch(/^workers +2, 2 seen$/m);
    expect(text).toMatch(/^open step +step 0: 1 of 2 workers stepped; waiting for worker 1 for \S+ \S+ \(since .*\)$/m);
    const t = JSON.parse(await ok(['trainer', 'mlp', '--json', ...secure])) as Record<string, unknown>;
    expect(t).toMatchObject({
      command: 'trainer',
      trainer: { name: 'mlp', mode: 'sync', learningRate: 0.125, openStep: { waitingFor: [1], waitingCount: 1 } },
      params: ['fc.weight'],
      optimizer: { name: 'sgd', params: { learningRate: 0.125 } },
    });
  });

  it('an unknown trainer or parameter, a missing or read-only token: a clear error, status 1', async () => {
    for (const [args, message] of [
      [['trainer', 'nope'], /^gluonps trainer: trainer 'nope' does not exist \(NOT_FOUND\)\n$/],
      [['describe', 'nope'], /^gluonps describe: parameter 'nope' does not exist \(NOT_FOUND\)\n$/],
    ] as const) {
      const r = await cli([...args, ...secure]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      const j = await cli([...args, ...secure, '--json']);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout)).toMatchObject({ command: args[0], error: { code: 'NOT_FOUND', server: address } });
    }
    const tls = secure.slice(0, 4);
    const anon = await cli(['status', ...tls]);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/^gluonps status: missing bearer token.*\(UNAUTHENTICATED\)\n$/);
    // A read-only token reads parameters, but the status is for full-access tokens.
    expect((await cli(['list', ...tls, '--token', READER])).code).toBe(0);
    const ro = await cli(['trainers', ...tls, '--token', READER]);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/read-only token may not call AdminService\/ListTrainers \(PERMISSION_DENIED\)/);
  });

  it('status --watch prints snapshot after snapshot and exits 0 on SIGINT', async () => {
    const header = /^gluon-ps \S+ at /gm;
    const text = await cli(['status', '--watch', '--interval-ms', '100', ...secure], {
      until: (out) => (out.match(header) ?? []).length >= 3,
    });
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const frames = text.stdout.split(/\n(?=gluon-ps \S+ at )/);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) expect(f).toMatch(/^trainers +NAME/m);
    // No terminal escapes when stdout is not a terminal.
    expect(text.stdout).not.toContain('\x1b');

    const json = await cli(['status', '-w', '--interval-ms', '100', '--json', ...secure], {
      until: (out) => out.split('\n').length > 3,
    });
    expect(json.code).toBe(0);
    const lines = json.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const snapshots = lines.map((l) => JSON.parse(l) as ServerStatus);
    for (const s of snapshots) expect(s.trainers[0]!.openStep!.waitingFor).toEqual([1]);
    // Successive snapshots: the step has waited longer in each.
    expect(snapshots[2]!.trainers[0]!.openStep!.waitedMs).toBeGreaterThan(
      snapshots[0]!.trainers[0]!.openStep!.waitedMs,
    );
  });
});

describe('status --watch on a terminal (in-process)', () => {
  it('redraws in place, keeps the last snapshot when the server goes away, and stops on abort', async () => {
    const h = await startHarness();
    let closed = false;
    try {
      const frames: string[] = [];
      const stop = new AbortController();
      let sawProblem: () => void = () => undefined;
      const problem = new Promise<void>((resolve) => (sawProblem = resolve));
      const stdout = {
        isTTY: true,
        columns: 90,
        write: (s: string) => {
          frames.push(s);
          if (s.includes('no answer from')) sawProblem();
          return true;
        },
      };
      const stderr = { write: () => true };
      const watching = main(
        ['status', '--watch', '--interval-ms', '100', '--server', h.server.address, '--connect-timeout-ms', '2000'],
        {},
        { stdout, stderr },
        stop.signal,
      );
      // Once a snapshot is on screen, the server goes away: the watch goes on and says so.
      for (;;) {
        if (frames.some((f) => f.includes('SERVING'))) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await h.close();
      closed = true;
      await problem;
      stop.abort();
      expect(await watching).toBe(0);

      expect(frames[0]).toBe('\x1b[?25l\x1b[2J'); // cursor hidden, screen cleared
      expect(frames[frames.length - 1]).toBe('\x1b[?25h\n'); // the cursor back
      const screens = frames.slice(1, -1);
      for (const f of screens) {
        expect(f.startsWith('\x1b[H')).toBe(true); // from the top left, in place
        expect(f.endsWith('\x1b[K\x1b[J')).toBe(true); // the rest of the screen cleared
        // eslint-disable-next-line no-control-regex
        for (const line of f.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n'))
          expect(line.length).toBeLessThanOrEqual(90);
      }
      const last = screens[screens.length - 1]!;
      expect(last).toMatch(/SERVING/); // the last snapshot stays
      expect(last).toMatch(
        new RegExp(
          `no answer from ${h.server.address.replace(/\./g, '\\.')} \\(UNAVAILABLE\\), retrying every 100 ms: `,
        ),
      );
    } finally {
      if (!closed) await h.close();
    }
  });
});

describe('no server', () => {
  it('every command fails within the connect timeout, naming the address; status 1', async () => {
    const commands = [['status'], ['status', '--watch'], ['list'], ['describe', 'w'], ['trainers'], ['trainer', 't']];
    const results = await Promise.all(
      commands.map((c) => cli([...c, '--server', '127.0.0.1:1', '--connect-timeout-ms', '300', '--json'])),
    );
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(1);
      expect(r.stderr).toMatch(
        /^gluonps \S+: cannot connect to the gluon-ps server at 127\.0\.0\.1:1: not ready after 300 ms .*\(UNAVAILABLE\)\n$/,
      );
      expect(JSON.parse(r.stdout)).toMatchObject({
        command: commands[i]![0],
        error: { code: 'UNAVAILABLE', server: '127.0.0.1:1' },
      });
    });
  });

  it('bad command lines exit with status 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['describe'], /describe: name a parameter or constant \(describe NAME\)/],
      [['trainer'], /trainer: name a trainer \(trainer NAME\)/],
      [['trainer', 'a', 'b'], /unexpected argument "b"/],
      [['list', 'x'], /unexpected argument "x"/],
      [['list', '--watch'], /--watch does not apply to list/],
      [['status', '--interval-ms', '500'], /--interval-ms needs --watch/],
      [['status', '-w', '--interval-ms', '5'], /--interval-ms must be an integer from 100 to 3600000, got "5"/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.stderr, args.join(' ')).toMatch(message);
    });
  });
});
