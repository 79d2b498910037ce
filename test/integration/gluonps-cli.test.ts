// The `npm run gluonps` CLI as a separate process (bundled with scripts/bundle.mjs, as the npm
// script runs it) against in-process servers: export then import into a fresh server and
// export again, byte-equal, in each format; checkpoint against a server with a data dir (and
// the error without one); bad command lines exit with status 2. The progress bar and the
// argument parser are also checked in-process through the module's exports.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { startServer } from '../../server/index';
import type { RunningServer } from '../../server/index';
import { main, parseCommand, parseContexts, progressReporter } from '../../client/cli';
import type { Harness } from './helpers';
import { hasOpenssl, selfSigned } from '../fixtures/certs';
import { f32, iota, numbers, startHarness } from './helpers';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUNDLE_NAME = `gluonps-cli-itest-${process.pid}`;
const BUNDLE = path.join(ROOT, '.build', `${BUNDLE_NAME}.mjs`);
let dir: string;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gluonps-cli-'));
  await execFileP(process.execPath, ['scripts/bundle.mjs', 'client/cli.ts', BUNDLE_NAME], {
    cwd: ROOT,
    timeout: 30_000,
  });
}, 40_000);
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
afterAll(() => {
  rmSync(BUNDLE, { force: true });
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI (GLUONPS_SERVER unset unless given) and collects its output. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const { GLUONPS_SERVER: _s, GLUONPS_TOKEN: _t, GLUONPS_TOKEN_FILE: _f, GLUONPS_TLS_CA: _c, ...base } = process.env;
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function harness(): Promise<Harness> {
  const h = await startHarness();
  open.push(h);
  return h;
}

async function populate(ps: ParameterServerClient): Promise<void> {
  const w = await ps.parameter('fc.weight', { shape: [3, 4] });
  await w.initialize({ init: init.normal(), seed: 7 });
  const b = await ps.parameter('fc.bias', { shape: [3], dtype: 'float64' });
  await b.initialize({ init: init.constant(0.25) });
  const steps = await ps.parameter('steps', { shape: [2], dtype: 'int64', gradReq: 'null' });
  await steps.initialize({ init: init.zero() });
  await steps.setData({ shape: [2], dtype: 'int64', data: new BigInt64Array([2n ** 60n, -3n]) });
  const h = await ps.parameter('half', { shape: [2, 2], dtype: 'float16' });
  await h.initialize({ init: init.one(), ctx: [cpu(0), cpu(1)] });
  const emb = await ps.parameter('emb', { shape: [6, 2], stype: 'row_sparse', gradStype: 'row_sparse' });
  await emb.initialize({ init: init.zero() });
  await emb.setData(f32([6, 2], iota(12, 1, -6)));
  await ps.constant('scale', [0.5, 2]).then((c) => c.initialize());
}

describe('export and import', () => {
  for (const format of ['params', 'safetensors', 'npz'] as const) {
    it(`${format}: export, import into a fresh server (--declare), export again: byte-equal`, async () => {
      const a = await harness();
      await populate(a.ps);
      const first = path.join(dir, `first.${format}`);
      const exp = await cli(['export', '--server', a.server.address, '--format', format, '--file', first]);
      expect(exp.stderr).not.toMatch(/gluonps export:/);
      expect(exp.code).toBe(0);
      expect(exp.stdout).toMatch(
        new RegExp(`^exported 6 parameters to .*first\\.${format} \\(${format}, [\\d.]+ KiB\\) in [\\d.]+ s\\n$`),
      );
      // Not a terminal: plain progress lines, one per parameter.
      expect(exp.stderr.split('\n').filter((l) => l.startsWith('export: '))).toHaveLength(6);
      expect(exp.stderr).toMatch(/export: 6\/6 parameters, /);

      const b = await harness();
      const imp = await cli(['import', '--server', b.server.address, '--file', first, '--declare', '--quiet']);
      expect(imp.stderr).toBe('');
      expect(imp.code).toBe(0);
      expect(imp.stdout).toMatch(
        new RegExp(`^imported 6 parameters from .*first\\.${format} \\(${format}\\) in [\\d.]+ s; 6 declared\\n$`),
      );
      expect(numbers(await (await b.ps.get('steps')).data())).toEqual([2 ** 60, -3]);

      const second = path.join(dir, `second.${format}`);
      const again = await cli(['export', '--file', second, '--format', format, '-q'], {
        GLUONPS_SERVER: b.server.address,
      });
      expect(again.code).toBe(0);
      expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    });
  }

  it('--names, --json, and Gluon errors exiting with status 1', async () => {
    const a = await harness();
    await populate(a.ps);
    const f = path.join(dir, 'some.params');
    const exp = await cli([
      'export',
      '--server',
      a.server.address,
      '-f',
      f,
      '--names',
      'fc.bias,steps',
      '--names',
      'emb',
      '--json',
      '-q',
    ]);
    expect(exp.code).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ command: 'export', format: 'params', parameters: 3, file: f });

    const b = await harness();
    await b.ps.parameter('fc.bias', { shape: [3], dtype: 'float64' });
    await b.ps.parameter('other', { shape: [1] });
    const missing = await cli(['import', '--server', b.server.address, '-f', f, '-q']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /gluonps import: loadParameters\(\): parameter 'other' is missing in file .*allowMissing.* \(INVALID_ARGUMENT\)/,
    );
    const extra = await cli(['import', '--server', b.server.address, '-f', f, '--allow-missing', '-q']);
    expect(extra.code).toBe(1);
    expect(extra.stderr).toMatch(/parameters 'steps', 'emb' loaded from file .* are not present on the server/);
    const ok = await cli([
      'import',
      '--server',
      b.server.address,
      '-f',
      f,
      '--names',
      'fc.bias',
      '--ignore-extra',
      '--ctx',
      'cpu(1),cpu:2',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      command: 'import',
      format: 'params',
      loaded: ['fc.bias'],
      extra: ['steps', 'emb'],
    });
    expect(await (await b.ps.get('fc.bias')).describe()).toMatchObject({ initialized: true, ctx: [cpu(1), cpu(2)] });
    expect(numbers(await (await b.ps.get('fc.bias')).data(cpu(1)))).toEqual([0.25, 0.25, 0.25]);

    const absent = await cli(['import', '--server', b.server.address, '-f', path.join(dir, 'absent.params')]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/absent\.params.*ENOENT.*\(NOT_FOUND\)/);
  });
});

describe('checkpoint', () => {
  it('asks a server with a data dir for a checkpoint and prints its id', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gluonps-cli-data-'));
    let server: RunningServer | undefined;
    try {
      server = await startServer({ port: 0, logLevel: 'silent', dataDir });
      const r = await cli(['checkpoint', '--server', server.address, '--reason', 'cli test', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { id: number; dataDir: string };
      expect(out.dataDir).toBe(dataDir);
      expect(Number.isSafeInteger(out.id)).toBe(true);
      expect(existsSync(path.join(dataDir, 'checkpoints', `ckpt-${String(out.id).padStart(20, '0')}`))).toBe(true);
      const human = await cli(['checkpoint'], { GLUONPS_SERVER: server.address });
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(new RegExp(`^checkpoint ${out.id + 1} written in .* \\([\\d.]+ s\\)\\n$`));
    } finally {
      await server?.close(2000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails with status 1 on a server without a data dir, and when no server answers', async () => {
    const h = await harness();
    const r = await cli(['checkpoint', '--server', h.server.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gluonps checkpoint: .*without a data directory.*\(FAILED_PRECONDITION\)/);
    const down = await cli(['checkpoint', '--server', '127.0.0.1:1', '--connect-timeout-ms', '300']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot connect to the gluon-ps server at 127\.0\.0\.1:1.*\(UNAVAILABLE\)/);
  });
});

describe('command line', () => {
  it('bad arguments exit with status 2 and say what is wrong; help exits 0', async () => {
    const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
      [[], /a command is required/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['export'], /export: --file <path> is required/],
      [['export', '-f', 'x', '--format', 'npy'], /--format must be one of params, safetensors, npz/],
      [['import', '-f', 'x', '--format', 'hdf5'], /--format must be one of params, safetensors, npz, npy/],
      [['export', '-f', 'x', '--bogus'], /Unknown option '--bogus'/],
      [['export', '-f', 'x', '--allow-missing'], /--allow-missing does not apply to export/],
      [['import', '-f', 'x', '--ctx', 'tpu(0)'], /--ctx: "tpu\(0\)" is not a context/],
      [['import', '-f', 'x', '--dtype-source', 'saved'], /--dtype-source needs --cast-dtype/],
      [['export', '-f', 'x', '--server', 'nohost'], /--server: "nohost" is not host:port/],
      [['export', '-f', 'x'], /GLUONPS_SERVER: "bad address" is not host:port/, { GLUONPS_SERVER: 'bad address' }],
      [['checkpoint', 'extra'], /unexpected argument "extra"/],
      [['export', '-f', 'x', '--connect-timeout-ms', 'soon'], /--connect-timeout-ms must be a positive integer/],
    ];
    const results = await Promise.all(cases.map(([args, , env]) => cli(args, env)));
    cases.forEach(([args, message], i) => {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toMatch(/Run "gluonps help"/);
    });
    for (const r of await Promise.all([['help'], ['--help'], ['export', '-h']].map((args) => cli(args)))) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: gluonps <command> \[options\]/);
    }
  });

  it('parses contexts, names and the server address (in-process)', () => {
    expect(parseContexts('cpu(0), gpu:1,cpu2,gpu')).toEqual([
      cpu(0),
      { deviceType: 'gpu', deviceId: 1 },
      cpu(2),
      { deviceType: 'gpu', deviceId: 0 },
    ]);
    expect(
      parseCommand(
        ['import', '-f', 'm.params', '--names', 'a, b', '--names=c', '--cast-dtype', '--dtype-source', 'saved'],
        {},
      ),
    ).toMatchObject({
      command: 'import',
      server: '127.0.0.1:50051',
      file: 'm.params',
      names: ['a', 'b', 'c'],
      castDtype: true,
      dtypeSource: 'saved',
    });
    expect(parseCommand(['export', '-f', 'x', '--server', '[::1]:7000'], { GLUONPS_SERVER: 'h:1' }).server).toBe(
      '[::1]:7000',
    );
    expect(
      parseCommand(['export', '-f', 'x'], { GLUONPS_SERVER: 'ps.example:1234', GLUONPS_TOKEN: 'tok' }),
    ).toMatchObject({ server: 'ps.example:1234', token: 'tok' });
  });

  it('draws a progress bar in place on a terminal', async () => {
    const written: string[] = [];
    const stderr = { isTTY: true, columns: 100, write: (s: string) => written.push(s) };
    const bar = progressReporter({ stdout: { write: () => true }, stderr }, 'export');
    bar.report({ op: 'save', name: 'fc.weight', done: 1, total: 4, bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 });
    bar.report({ op: 'save', name: 'fc.bias', done: 4, total: 4, bytes: 4 * 1024 * 1024, totalBytes: 4 * 1024 * 1024 });
    bar.end();
    const CLEAR = '\r\x1b[K';
    expect(written[0]!.startsWith(CLEAR)).toBe(true);
    expect(written[0]!.slice(CLEAR.length)).toMatch(/^export \[#+\.+\] {2}25% 1\/4 1\.0 MiB\/4\.0 MiB fc\.weight$/);
    expect(written[1]!.slice(CLEAR.length)).toMatch(/^export \[#+\] 100% 4\/4 4\.0 MiB\/4\.0 MiB fc\.bias$/);
    expect(written[2]).toBe('\n');
    // main() in-process: help goes to the given stdout.
    const out: string[] = [];
    expect(await main(['help'], {}, { stdout: { write: (s: string) => out.push(s) }, stderr })).toBe(0);
    expect(out.join('')).toMatch(/^Usage:/);
  });
});

describe.skipIf(!hasOpenssl)('against a TLS server with tokens', () => {
  it('every command connects with --tls-ca and --token-file (or GLUONPS_TLS_CA / GLUONPS_TOKEN); without them it is refused', async () => {
    const pair = selfSigned(dir, 'cli-server', 'localhost');
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'cli-token\n');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gluonps-cli-tls-'));
    let server: RunningServer | undefined;
    try {
      server = await startServer({
        port: 0,
        logLevel: 'silent',
        dataDir,
        auth: { tokens: ['cli-token'] },
        tls: { cert: pair.cert, key: pair.key },
      });
      // By name: the certificate names localhost (an IP as TLS server name makes Node warn).
      const address = `localhost:${server.port}`;
      const secure = ['--server', address, '--tls-ca', pair.certFile, '--token-file', tokenFile];
      const ckpt = await cli(['checkpoint', ...secure, '--json']);
      expect(ckpt.stderr).toBe('');
      expect(ckpt.code).toBe(0);
      expect((JSON.parse(ckpt.stdout) as { dataDir: string }).dataDir).toBe(dataDir);
      const file = path.join(dir, 'tls-export.params');
      const ps = await connect(address, { tls: { ca: pair.cert }, token: 'cli-token' });
      try {
        await populate(ps);
      } finally {
        await ps.close();
      }
      const exported = await cli(['export', ...secure, '--file', file, '--quiet']);
      expect(exported.stderr).toBe('');
      expect(exported.code).toBe(0);
      const imported = await cli(['import', ...secure, '--file', file, '--quiet', '--json']);
      expect(imported.code).toBe(0);
      expect((JSON.parse(imported.stdout) as { loaded: string[] }).loaded.length).toBeGreaterThan(0);
      // The same through the environment.
      const byEnv = await cli(['checkpoint'], {
        GLUONPS_SERVER: address,
        GLUONPS_TLS_CA: pair.certFile,
        GLUONPS_TOKEN: 'cli-token',
      });
      expect(byEnv.code).toBe(0);
      const noToken = await cli(['checkpoint', '--server', address, '--tls-ca', pair.certFile]);
      expect(noToken.code).toBe(1);
      expect(noToken.stderr).toMatch(/\(UNAUTHENTICATED\)/);
      const plaintext = await cli([
        'checkpoint',
        '--server',
        server.address,
        '--token-file',
        tokenFile,
        '--connect-timeout-ms',
        '500',
      ]);
      expect(plaintext.code).toBe(1);
      expect(plaintext.stderr).toMatch(
        new RegExp(
          `cannot connect to the gluon-ps server at ${server.address.replace(/\./g, '\\.')}.*\\(UNAVAILABLE\\)`,
        ),
      );
      const missing = await cli(['checkpoint', '--server', address, '--tls-ca', path.join(dir, 'nope.pem')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--tls-ca: cannot read .*nope\.pem/);
    } finally {
      await server?.close(2000);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
