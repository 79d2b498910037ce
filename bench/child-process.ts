// Process plumbing for transport benchmarks: run a TypeScript entry as a child process, by
// default bundled with esbuild into .bench-out/ and executed by plain `node`.
//
// Why not just `node --import tsx`: measured on this machine, a process running under tsx's
// ESM loader (tsx 4.23, Node 20) moves a 64 MiB gRPC stream 1.5-2x slower than the same code
// under plain node, on whichever end runs tsx (e.g. plain/plain 1.5-1.8 GB/s, tsx server
// 1.0-1.1, tsx client 0.75-1.0). --trace-gc shows ~50 full mark-compacts per 18 transfers
// under tsx versus 0-2 under plain node; a no-op module.register hook does not reproduce it,
// so it is something tsx's loader does, not the loader mechanism. Benchmarks therefore run
// every measuring process (clients and servers) from a bundle, so baselines and the product
// are compared under the same, realistic runtime. GLUONPS_BENCH_RUNTIME=tsx restores tsx.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';
import { npmStartCommand } from '../tools/npm-start';

export type ChildRuntime = 'node' | 'tsx';

/** Repository root and the git-ignored folder bundles are written to. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_OUT_DIR = path.join(REPO_ROOT, '.bench-out');

/**
 * glibc malloc settings for every benchmark child (GLUONPS_BENCH_MALLOC=default drops them).
 * Node allocates Buffers with malloc, and glibc serves a 64 MiB request with a fresh mmap
 * that it unmaps on free, so every received tensor is page-faulted in again: on this VM that
 * is ~40 ms per 64 MiB, more than the transfer itself (raw socket into fresh buffers 1.2 GB/s,
 * into a reused buffer 4.7 GB/s in the same run). Keeping large blocks in the heap lets freed
 * receive buffers be reused (raw socket into fresh buffers 0.9 -> 1.6 GB/s, raw grpc-js
 * 0.8 -> 1.2 GB/s). Applied to baselines and product alike; `npm start` sets the same
 * variables for the server.
 */
export const MALLOC_TUNING_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(2 ** 32),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 33),
};

/**
 * V8 flags for the transport benchmarks' children (bench/transport-baselines.ts and
 * bench/transport.ts pass them to startChild for baseline servers, baseline and product clients
 * alike; other benches opt in the same way); GLUONPS_BENCH_NODE_FLAGS overrides them ('' = none).
 *
 * Why: V8 starts incremental marking on its old-generation allocation limit only once the old
 * generation holds more than 8 MB, and a freshly started process's limit sits only ~12-16 MB
 * above its live size. A client that has loaded the gluonps protos (~10 MB of heap) crosses
 * that threshold; from then on the ArrayBuffer churn of a 64 MiB transfer (a fresh 64 MiB
 * destination plus 64 one-MiB gRPC messages, each reported to V8 as external memory) starts a
 * mark-compact every ~30 ms. Measured on this VM, 64 MiB pulls from the raw grpc-js server,
 * 16 runs: the raw client alone 17 mark-compacts and ~40 ms CPU per pull; the same client
 * after calling loadProtos() 56-74 mark-compacts and 75-94 ms; with --initial-old-space-size=64
 * 17 and 40-55 ms again (32 is not enough). The flag cannot be set at run time
 * (v8.setFlagsFromString has no effect once the heap exists) nor through NODE_OPTIONS, so it
 * goes on the command line. It does not change the raw baselines (their heaps stay under 8 MB).
 * A real client process (a trainer holding a model) has a larger heap and limit anyway; the
 * bench's driver processes are minimal, so without the flag they would measure this V8
 * heuristic rather than the transport. The product server does not get these flags: it runs
 * exactly as `npm start` launches it (bench/transport.ts reads package.json).
 */
export const BENCH_NODE_FLAGS: readonly string[] =
  process.env.GLUONPS_BENCH_NODE_FLAGS !== undefined
    ? process.env.GLUONPS_BENCH_NODE_FLAGS.split(/\s+/).filter((f) => f !== '')
    : ['--initial-old-space-size=64'];

/** The environment of every benchmark child: ours plus MALLOC_TUNING_ENV (unless opted out). */
export function childEnv(): NodeJS.ProcessEnv {
  return process.env.GLUONPS_BENCH_MALLOC === 'default' ? process.env : { ...process.env, ...MALLOC_TUNING_ENV };
}

/** The runtime for benchmark children: GLUONPS_BENCH_RUNTIME ('node' | 'tsx'), default 'node'. */
export function defaultRuntime(): ChildRuntime {
  return process.env.GLUONPS_BENCH_RUNTIME === 'tsx' ? 'tsx' : 'node';
}

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a TypeScript entry (our sources only; packages stay external and load from
 * node_modules) into .bench-out/<name>.mjs and returns its path. Cached per process.
 * Code that locates files through import.meta.url sees the bundle's location instead.
 */
export function bundleForNode(entry: string): Promise<string> {
  const absolute = path.resolve(entry);
  let pending = bundles.get(absolute);
  if (pending === undefined) {
    pending = (async () => {
      let esbuild: typeof Esbuild;
      try {
        esbuild = await import('esbuild');
      } catch {
        throw new Error(
          'bench: esbuild is not installed (it normally comes with tsx); ' +
            'install it or run with GLUONPS_BENCH_RUNTIME=tsx',
        );
      }
      mkdirSync(BENCH_OUT_DIR, { recursive: true });
      const outfile = path.join(BENCH_OUT_DIR, `${path.basename(absolute).replace(/\.[cm]?tsx?$/, '')}.mjs`);
      await esbuild.build({
        entryPoints: [absolute],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'warning',
      });
      return outfile;
    })();
    bundles.set(absolute, pending);
  }
  return pending;
}

/** A started child: the first IPC message it sent (its "ready" report) and a stopper. */
export interface StartedChild<T> {
  child: ChildProcess;
  ready: T;
  /** Sends 'stop', waits for exit, and kills it after 5 s if it has not exited. */
  stop(): Promise<void>;
}

/**
 * Forks `entry` (.ts: bundled for 'node' or run through tsx; .mjs/.js: run as is) with
 * `args`, waits for its first IPC message (or rejects if it exits first or takes longer than
 * timeoutMs), and returns it. Children are expected to exit on the 'stop' message and on
 * IPC disconnect, so none outlives the benchmark.
 */
export async function startChild<T>(
  entry: string,
  args: string[],
  runtime: ChildRuntime = defaultRuntime(),
  timeoutMs = 60_000,
  /** Extra node flags for the child (e.g. --cpu-prof while diagnosing). */
  extraExecArgv: readonly string[] = [],
  /** Extra environment variables for the child. */
  extraEnv: Readonly<Record<string, string>> = {},
  /** A command node runs under, e.g. `ip netns exec NS` (it must exec node, keeping the IPC fd). */
  prefix: readonly string[] = [],
): Promise<StartedChild<T>> {
  const isTs = /\.[cm]?ts$/.test(entry);
  const modulePath = isTs && runtime === 'node' ? await bundleForNode(entry) : entry;
  const nodeArgs = [...(isTs && runtime === 'tsx' ? ['--import', 'tsx'] : []), ...extraExecArgv];
  const child = fork(modulePath, args, {
    ...(prefix.length > 0 ? { execPath: prefix[0] } : {}),
    execArgv: prefix.length > 0 ? [...prefix.slice(1), process.execPath, ...nodeArgs] : nodeArgs,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...childEnv(), ...extraEnv },
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [ready] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`bench child ${path.basename(modulePath)} exited early (code ${String(code)})`);
      }),
    ])) as [T];
    return {
      child,
      ready,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        if (child.connected) child.send('stop');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(kill);
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * For a child's entry point: exit when the parent says 'stop' or goes away, after running
 * `cleanup` (which should close servers). Returns nothing; call once at start-up.
 */
export function exitWithParent(cleanup: () => Promise<void> | void = () => undefined): void {
  const quit = (): void => {
    Promise.resolve(cleanup()).finally(() => process.exit(0));
  };
  process.once('message', quit);
  process.once('disconnect', quit);
}

export { npmStartCommand, type StartCommand } from '../tools/npm-start';

/** Every server child started by startCliServer, killed if this process exits first. */
const liveServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveServers) c.kill('SIGKILL');
});

export interface CliServer {
  address: string;
  child: ChildProcess;
  /** SIGTERM (graceful: in-flight calls, a last checkpoint, a --cpu-prof), SIGKILL after `graceMs`. */
  stop(): Promise<void>;
}

export interface CliServerOptions {
  /** The server bundle (default: npm start's, bundled first). */
  bundle?: string;
  /** Node flags besides npm start's (diagnosis: --cpu-prof ...). */
  extraNodeFlags?: string[];
  /** CLI flags after --host HOST --port 0. */
  args?: string[];
  /** The interface to bind (default 127.0.0.1). */
  host?: string;
  /** A command the server runs under, e.g. `ip netns exec NS` (it must exec node). */
  prefix?: readonly string[];
  /** Prefix of the server's log lines echoed on stderr. */
  label?: string;
  /** Warnings whose message matches are not echoed (ones the benchmark asked for, e.g. --insecure's). */
  quietWarnings?: RegExp;
  /** Sees every JSON log line (e.g. to collect 'checkpoint written'). */
  onLog?: (entry: Record<string, unknown>) => void;
  graceMs?: number;
}

/**
 * Starts the real server CLI as `npm start` does (its environment and node flags; the malloc
 * settings dropped with GLUONPS_BENCH_MALLOC=default as for every bench child) on 127.0.0.1 (or
 * options.host) and a free port, and resolves at its "listening" log line. Warnings and errors are echoed.
 */
export async function startCliServer(options: CliServerOptions = {}): Promise<CliServer> {
  const start = npmStartCommand();
  let bundle = options.bundle;
  if (bundle === undefined) {
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bundle.mjs'), 'server/cli.ts', 'gluonps-server'], {
      stdio: 'inherit',
    });
    bundle = start.script;
  }
  const env = { ...start.env };
  if (process.env.GLUONPS_BENCH_MALLOC === 'default') for (const k of Object.keys(MALLOC_TUNING_ENV)) delete env[k];
  const label = options.label ?? 'server';
  const prefix = options.prefix ?? [];
  const child = spawn(
    prefix.length > 0 ? prefix[0]! : process.execPath,
    [
      ...(prefix.length > 0 ? [...prefix.slice(1), process.execPath] : []),
      ...start.nodeFlags,
      ...(options.extraNodeFlags ?? []),
      bundle,
      ...start.args,
      '--host',
      options.host ?? '127.0.0.1',
      '--port',
      '0',
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  liveServers.add(child);
  child.once('exit', () => liveServers.delete(child));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 20_000);
    await exited;
    clearTimeout(kill);
  };
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not report "listening" within 60 s`)), 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before listening (${String(code ?? signal)})`));
    });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(`[${label}] ${line}\n`);
        return;
      }
      options.onLog?.(entry);
      if (entry.msg === 'listening' && typeof entry.address === 'string') {
        clearTimeout(timer);
        resolve(entry.address);
      } else if (
        typeof entry.level === 'number' &&
        entry.level >= 40 &&
        !(options.quietWarnings?.test(String(entry.msg)) ?? false)
      ) {
        process.stderr.write(`[${label}] ${line}\n`); // warnings and errors only
      }
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { address, child, stop };
}

/** Node flags that write a CPU profile into `dir` at exit (none when dir is null), named `name` if given. */
export function cpuProfFlags(dir: string | null, name?: string): string[] {
  if (dir === null) return [];
  return ['--cpu-prof', '--cpu-prof-dir', path.resolve(dir), ...(name === undefined ? [] : ['--cpu-prof-name', name])];
}

/** What a benchmark started and must stop, whatever way it ends (see childScope). */
export interface ChildScope {
  /** Registers a stop; stops run in reverse order of registration (clients before servers). */
  add(stop: () => Promise<void> | void): void;
  /** Runs every stop once (bounded by each stop; errors ignored); later calls share the first. */
  stopAll(): Promise<void>;
  /** Cancels the watchdog and the signal handlers after stopAll (normal end). */
  close(): Promise<void>;
}

/**
 * The teardown every benchmark entry shares: registered stops run once on a normal end, on
 * SIGINT/SIGTERM (exit 130) and when the run is still going after `deadlineS` (exit 1), so no
 * child outlives the benchmark.
 */
export function childScope(name: string, deadlineS: number): ChildScope {
  const stops: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const stop of stops.reverse())
        await Promise.resolve()
          .then(stop)
          .catch(() => undefined);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`${name}: ${signal}, stopping children\n`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${deadlineS} s; stopping\n`);
    void stopAll().finally(() => process.exit(1));
  }, deadlineS * 1000);
  watchdog.unref();
  return {
    add: (stop) => {
      stops.push(stop);
    },
    stopAll,
    async close() {
      await stopAll();
      clearTimeout(watchdog);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

/** A child speaking the {id, ...} request / {id, result | error} reply protocol over IPC. */
export interface ChildRequests<R> {
  request(msg: object): Promise<R>;
}

/**
 * Requests to `started` matched to its replies by id; a reply with an error, or the child's
 * exit, rejects (naming `name`).
 */
export function childRequests<R>(started: StartedChild<unknown>, name: string): ChildRequests<R> {
  let nextId = 1;
  const pending = new Map<number, { resolve(v: R): void; reject(e: Error): void }>();
  started.child.on('message', (msg: { id?: number; result?: R; error?: string }) => {
    if (typeof msg !== 'object' || msg === null || msg.id === undefined) return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.error !== undefined || msg.result === undefined)
      p.reject(new Error(`${name}: ${msg.error ?? 'no result'}`));
    else p.resolve(msg.result);
  });
  started.child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${String(code ?? signal)})`));
    pending.clear();
  });
  return {
    request: (msg) =>
      new Promise<R>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        started.child.send({ ...msg, id });
      }),
  };
}

/** An error as the text a child sends back (its stack where it has one). */
export function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * The child side of childRequests for a child that serves one session: opens it (replying
 * {ready: true}, or {ready: false, error}), then answers each {id, ...} request with
 * {id, result} or {id, error}; 'stop' or a lost parent closes the session and exits.
 */
export async function serveRequests<S extends { close(): unknown }, C extends { id: number }>(
  name: string,
  open: () => Promise<S>,
  handle: (session: S, request: C) => Promise<unknown>,
): Promise<void> {
  const send = (m: object): void => {
    process.send?.(m);
  };
  let session: S | null = null;
  let quitting = false;
  const quit = (): void => {
    if (quitting) return;
    quitting = true;
    Promise.resolve(session?.close())
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('disconnect', quit);
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') return quit();
    const request = msg as C;
    if (session === null) return send({ id: request.id, error: `${name} not ready` });
    handle(session, request).then(
      (result) => send({ id: request.id, result }),
      (err: unknown) => send({ id: request.id, error: errorText(err) }),
    );
  });
  try {
    session = await open();
    send({ ready: true });
  } catch (err) {
    send({ ready: false, error: errorText(err) });
  }
}

/** `--flag value` readers over a benchmark's argv. */
export function argReader(argv: readonly string[]): {
  /** The word after `flag`, or null when the flag is absent. */
  value(flag: string): string | null;
  /** A number >= min (an integer unless `integer` is false), `dflt` when absent; throws on anything else. */
  num(flag: string, dflt: number, min: number, integer?: boolean): number;
} {
  const value = (flag: string): string | null => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? null) : null;
  };
  const num = (flag: string, dflt: number, min: number, integer = true): number => {
    const raw = value(flag);
    if (raw === null) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
      throw new Error(`${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${raw}`);
    return n;
  };
  return { value, num };
}
