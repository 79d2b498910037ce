// `npm run bench:python`: the Python client's tensor transport beside the TypeScript client's,
// in one run against one server. The server is the real CLI bundle launched as `npm start`
// launches it (bench/child-process.ts startCliServer); each client runs in its own process (the
// Python driver bench/python-driver.py under Debian's python3, the TypeScript driver this file
// bundled and run with `--ts-driver` under plain node) and times one call at a time around the
// call only: `p.data()` (pull) and `p.set_data()` / `p.setData()` (push) of one 64 MiB float32
// parameter. Rounds interleave the two clients, the order alternating per round, so drift on a
// noisy machine hits both alike; each round runs one untimed transfer per direction and client,
// then `--runs` timed ones. Medians over all rounds, in GB/s (1e9 bytes/s). Target: Python at
// least 0.8x the TypeScript client's GB/s in both directions (`--check` exits 1 otherwise).
// Last line: {"bench":"python","pull_gbps":…,"push_gbps":…,"ts_pull_gbps":…,"ts_push_gbps":…}.
//
// Both drivers get the benchmark children's environment (MALLOC_TUNING_ENV, as npm start's
// server) and the TypeScript one BENCH_NODE_FLAGS, as bench:transport's drivers.
//
// Flags: --rounds N (default 5), --runs N (default 3), --mib N (default 64), --check,
// --deadline S (default 300). GLUONPS_PYTHON picks the interpreter (default /usr/bin/python3).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { connect, type Parameter, type Tensor } from '../client/index';
import {
  argReader,
  BENCH_NODE_FLAGS,
  bundleForNode,
  childEnv,
  childScope,
  REPO_ROOT,
  startCliServer,
} from './child-process';
import { median, withTimeout } from './measure';

const PYTHON = process.env.GLUONPS_PYTHON ?? '/usr/bin/python3';
const PARAM = 'bench_python_64mib';

/** A driver process answering "pull" / "push" lines with {"seconds"} lines. */
interface Driver {
  name: string;
  child: ChildProcess;
  run(op: 'pull' | 'push'): Promise<number>;
  stop(): Promise<void>;
}

function lineDriver(name: string, child: ChildProcess): Promise<Driver> {
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  const early: string[] = [];
  let exited: Error | null = null;
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line);
    else early.push(line);
  });
  child.once('exit', (code, signal) => {
    exited = new Error(`${name} driver exited (${String(code ?? signal)})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  const next = (): Promise<string> =>
    withTimeout(
      new Promise<string>((resolve, reject) => {
        const e = early.shift();
        if (e !== undefined) return resolve(e);
        if (exited !== null) return reject(exited);
        waiting.push({ resolve, reject });
      }),
      `${name} driver`,
    );
  const driver: Driver = {
    name,
    child,
    async run(op) {
      child.stdin!.write(`${op}\n`);
      const reply = JSON.parse(await next()) as { seconds?: number };
      if (typeof reply.seconds !== 'number')
        throw new Error(`${name} driver: unexpected reply ${JSON.stringify(reply)}`);
      return reply.seconds;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end('stop\n');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(t);
    },
  };
  return next().then((line) => {
    const ready = JSON.parse(line) as { ready?: boolean };
    if (ready.ready !== true) throw new Error(`${name} driver: expected a ready line, got ${line}`);
    return driver;
  });
}

/** The TypeScript driver: the same protocol as bench/python-driver.py, with the product client. */
async function tsDriver(address: string, name: string): Promise<void> {
  const ps = await connect(address);
  const p: Parameter = await ps.get(name);
  const { shape } = await p.describe();
  const n = shape!.reduce((a, b) => a * b, 1);
  const value: Tensor = { shape: shape!, dtype: 'float32', data: Float32Array.from({ length: n }, (_, i) => i % 977) };
  process.stdout.write(`${JSON.stringify({ ready: true, bytes: n * 4 })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    const op = line.trim();
    if (op === 'stop') break;
    const t0 = performance.now();
    if (op === 'pull') {
      const got = await p.data();
      if (got.data.byteLength !== n * 4) throw new Error('ts-driver: short pull');
    } else if (op === 'push') await p.setData(value);
    else throw new Error(`ts-driver: unknown command ${op}`);
    process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000 })}\n`);
  }
  await ps.close();
  process.exit(0);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--ts-driver') return tsDriver(argv[1]!, argv[2]!);
  const args = argReader(argv);
  const rounds = args.num('--rounds', 5, 1);
  const runs = args.num('--runs', 3, 1);
  const mib = args.num('--mib', 64, 1);
  const check = argv.includes('--check');
  const scope = childScope('bench:python', args.num('--deadline', 300, 10));

  const pyCheck = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf, numpy'], { encoding: 'utf8' });
  if (pyCheck.status !== 0) {
    throw new Error(
      `bench:python: ${PYTHON} cannot import grpc, protobuf and numpy; run \`npm run test:python\` once ` +
        `(it installs Debian's python3-grpcio, python3-protobuf, python3-numpy) or set GLUONPS_PYTHON\n${pyCheck.stderr}`,
    );
  }
  const server = await startCliServer({ args: ['--data-dir', 'none', '--devices', 'cpu'] });
  scope.add(() => server.stop());
  const setup = await connect(server.address);
  const elements = (mib << 20) / 4;
  const p = await setup.parameter(PARAM, { shape: [elements] });
  await p.initialize({ init: 'zero' });
  await setup.close();

  const self = await bundleForNode(path.join(REPO_ROOT, 'bench/python.ts'));
  const py = await lineDriver(
    'python',
    spawn(PYTHON, [path.join(REPO_ROOT, 'bench/python-driver.py'), server.address, PARAM], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...childEnv(), PYTHONDONTWRITEBYTECODE: '1' },
    }),
  );
  scope.add(() => py.stop());
  const ts = await lineDriver(
    'typescript',
    spawn(process.execPath, [...BENCH_NODE_FLAGS, self, '--ts-driver', server.address, PARAM], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: childEnv(),
    }),
  );
  scope.add(() => ts.stop());

  const seconds: Record<string, number[]> = { 'python pull': [], 'python push': [], 'ts pull': [], 'ts push': [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [py, ts] : [ts, py];
    for (const d of order) {
      const key = d === py ? 'python' : 'ts';
      for (const op of ['pull', 'push'] as const) {
        await d.run(op); // untimed warm-up
        for (let i = 0; i < runs; i++) seconds[`${key} ${op}`]!.push(await d.run(op));
      }
    }
  }
  await scope.close();

  const bytes = elements * 4;
  const gbps = (k: string): number => Number((bytes / median(seconds[k]!) / 1e9).toFixed(3));
  const result = {
    bench: 'python',
    pull_gbps: gbps('python pull'),
    push_gbps: gbps('python push'),
    ts_pull_gbps: gbps('ts pull'),
    ts_push_gbps: gbps('ts push'),
  };
  const pullRatio = result.pull_gbps / result.ts_pull_gbps;
  const pushRatio = result.push_gbps / result.ts_push_gbps;
  console.log(`${mib} MiB float32, ${rounds} rounds x ${runs} runs, medians (GB/s):`);
  console.log(`  client       pull     push`);
  console.log(`  python     ${result.pull_gbps.toFixed(3).padStart(6)}   ${result.push_gbps.toFixed(3).padStart(6)}`);
  console.log(
    `  typescript ${result.ts_pull_gbps.toFixed(3).padStart(6)}   ${result.ts_push_gbps.toFixed(3).padStart(6)}`,
  );
  const ok = pullRatio >= 0.8 && pushRatio >= 0.8;
  console.log(
    `  python / typescript: pull ${pullRatio.toFixed(2)}x, push ${pushRatio.toFixed(2)}x (target >= 0.8x): ${ok ? 'met' : 'NOT MET'}`,
  );
  console.log(JSON.stringify(result));
  if (check && !ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:python: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
