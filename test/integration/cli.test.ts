// The real CLI as a separate process, as `npm start` runs it: bundled with scripts/bundle.mjs,
// started with --port 0, found through its JSON "listening" log line, driven by the client, asked
// for its grpc.health.v1 status, stopped with SIGTERM (exit 0, "stopped" logged); --help; and
// invalid configuration (flags and GLUONPS_* variables) exiting with status 2 and a message.
import { describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import * as nk from '../../native/index';
import { healthCheck, spawnCli, useServerBundle, type ServerProcess } from './crash-harness';

const bundle = useServerBundle('cli');
const startCli = (args: string[], env: NodeJS.ProcessEnv = {}): ServerProcess => spawnCli(bundle, args, env);

/** Runs the CLI to completion (for --help and invalid configuration). */
async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = startCli(args, env);
  let stdout = '';
  r.child.stdout!.on('data', (s: string) => {
    stdout += s;
  });
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
  const { code } = await r.exited;
  clearTimeout(timer);
  return { code, stdout, stderr: r.stderr };
}

describe('gluonps-server CLI', () => {
  it('serves on a free port, answers health checks and calls, logs failures, and stops cleanly on SIGTERM', async () => {
    const srv = startCli(['--port', '0', '--log-level', 'info', '--data-dir', 'none']);
    const listening = await srv.waitForLog((l) => l.msg === 'listening');
    const address = listening.address as string;
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toBe('127.0.0.1:0');
    expect(listening).toMatchObject({ service: 'gluon-ps', devices: expect.arrayContaining(['cpu']) });

    expect((await healthCheck(address)).status).toBe('SERVING');
    expect((await healthCheck(address, 'gluonps.v1.ParameterService')).status).toBe('SERVING');

    const ps = await connect(address);
    try {
      const w = await ps.parameter('cli_w', { shape: [2, 3], init: init.one() });
      await w.initialize();
      await w.setData([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(await w.data()).toEqual({ shape: [2, 3], dtype: 'float32', data: new Float32Array([1, 2, 3, 4, 5, 6]) });
      // A failed call: one JSON log line with the method, the parameter and the status name.
      await expect(ps.get('cli_missing')).rejects.toMatchObject({ code: Status.NOT_FOUND });
      const failed = await srv.waitForLog((l) => l.msg === 'call failed' && l.param === 'cli_missing');
      expect(failed).toMatchObject({ method: 'Get', param: 'cli_missing', code: 'NOT_FOUND' });
      await expect(w.setData([1, 2])).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
      const failedSet = await srv.waitForLog((l) => l.msg === 'call failed' && l.method === 'SetData');
      expect(failedSet).toMatchObject({ param: 'cli_w', code: 'INVALID_ARGUMENT' });
    } finally {
      await ps.close();
    }
    // Logs never carry tensor bytes: every line is short.
    for (const l of srv.logs) expect(JSON.stringify(l).length).toBeLessThan(2000);

    srv.child.kill('SIGTERM');
    const { code, signal } = await srv.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(srv.logs.some((l) => l.msg === 'signal received' && l.signal === 'SIGTERM')).toBe(true);
    expect(srv.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('takes its configuration from GLUONPS_* variables', async () => {
    const srv = startCli([], {
      GLUONPS_PORT: '0',
      GLUONPS_LOG_LEVEL: 'info',
      GLUONPS_MAX_TENSOR_BYTES: '1KiB',
      GLUONPS_DATA_DIR: 'none',
    });
    const listening = await srv.waitForLog((l) => l.msg === 'listening');
    expect(listening.maxTensorBytes).toBe(1024);
    expect((await healthCheck(listening.address as string)).status).toBe('SERVING');
    srv.child.kill('SIGINT');
    expect((await srv.exited).code).toBe(0);
    expect(srv.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('a SIGTERM sent as soon as "listening" is logged still shuts down gracefully (exit 0)', async () => {
    // A supervisor may stop the server the moment it reports readiness; the signal handlers
    // must already be in place then, or the default action kills the process.
    const srv = startCli(['--port', '0', '--log-level', 'info', '--data-dir', 'none']);
    srv.child.stdout!.on('data', (s: string) => {
      if (s.includes('"msg":"listening"')) srv.child.kill('SIGTERM');
    });
    const { code, signal } = await srv.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(srv.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('--help prints usage with every flag and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--host',
      '--port',
      '--devices',
      '--max-tensor-bytes',
      '--memory-budget',
      '--max-cpu-contexts',
      '--log-level',
      '--help',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/GLUONPS_PORT/);
  });

  it('invalid configuration exits 2 with a clear message on stderr', async () => {
    const gpuFlag = nk.buildInfo().gpuCount === 0 ? 'gpu' : `gpu(${nk.buildInfo().gpuCount})`;
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['--port', '70000'], {}, /--port: expected an integer from 0 to 65535, got '70000'/],
      [
        ['--max-tensor-bytes', 'lots'],
        {},
        /--max-tensor-bytes: expected a size like 1048576, 64MiB or 1GiB, got 'lots'/,
      ],
      [['--devices', gpuFlag], {}, /--devices gpu.*not available/],
      [['--log-level', 'loud'], {}, /--log-level: expected one of .*got 'loud'/],
      [['--no-such-flag'], {}, /no-such-flag.*see --help/],
      [[], { GLUONPS_PORT: 'abc' }, /--port: expected an integer from 0 to 65535, got 'abc'/],
      [
        ['--memory-budget', '0%'],
        {},
        /--memory-budget: a percentage of the host's memory must be in \(0, 1000\], got '0%'/,
      ],
      [['--memory-budget', 'lots'], {}, /--memory-budget: expected a size/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
    results.forEach((r, i) => {
      const [args, env, message] = cases[i]!;
      const what = `${args.join(' ')} ${JSON.stringify(env)}`;
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).toMatch(/^gluon-ps: /);
      expect(r.stderr, what).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });
  });
});
