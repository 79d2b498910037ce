// cluster-net.ts: builds and removes bench:cluster's simulated network (the plan of
// bench/cluster-plan.ts) with `ip` and `tc`. Teardown is synchronous, so the benchmark can run it
// from its exit hook as well as on a normal end, an error, the watchdog or SIGINT/SIGTERM: no
// namespace, veth or qdisc outlives a run. A run killed with SIGKILL leaves its namespaces; the
// next run removes them (their names carry the dead run's pid).
import { execFileSync } from 'node:child_process';
import { staleNamespaces, tcDrops, type NetPlan } from './cluster-plan';

/** Runs one `ip`/`tc` command; a failure names the command and what it printed. */
function run(argv: readonly string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`bench:cluster: '${argv.join(' ')}' failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Whether `program` runs (found on PATH). */
function hasProgram(program: string, versionArgs: string[]): boolean {
  try {
    execFileSync(program, versionArgs, { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Why this process cannot build the network, naming what is missing, or null: it must be root
 * (namespaces, veth, qdiscs) and have `ip` and `tc` (Debian's iproute2, which `npm run
 * bench:cluster` installs as root when it is missing).
 */
export function netPreflight(): string | null {
  const missing: string[] = [];
  if (process.getuid?.() !== 0)
    missing.push(`root (it creates network namespaces; running as uid ${String(process.getuid?.())})`);
  if (!hasProgram('ip', ['-V'])) missing.push("'ip' (Debian package iproute2)");
  if (!hasProgram('tc', ['-V'])) missing.push("'tc' (Debian package iproute2)");
  if (missing.length === 0) return null;
  return `bench:cluster needs ${missing.join(', ')} for its network namespaces; --skip-netns measures only the loopback part`;
}

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the namespaces of earlier runs that were killed before their teardown; returns their names. */
export function removeStaleNamespaces(): string[] {
  const stale = staleNamespaces(run(['ip', 'netns', 'list']), alive);
  for (const ns of stale) {
    killInNamespace(ns);
    tryRun(['ip', 'netns', 'del', ns]);
  }
  return stale;
}

/** Builds the network of `plan`; on a failure, removes what was built and throws naming the command. */
export function buildNetwork(plan: NetPlan): void {
  try {
    for (const argv of plan.setup) run(argv);
  } catch (err) {
    teardownNetwork(plan);
    throw err;
  }
}

/** SIGKILLs what still runs in namespace `ns` (only this benchmark's processes run there). */
function killInNamespace(ns: string): void {
  let pids: number[] = [];
  try {
    pids = run(['ip', 'netns', 'pids', ns])
      .split(/\s+/)
      .filter((x) => /^\d+$/.test(x))
      .map(Number);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function tryRun(argv: readonly string[]): string | null {
  try {
    run(argv);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Removes the network of `plan`: kills anything left running in its namespaces, then deletes
 * them (their veth ends and qdiscs go with them). Namespaces that do not exist are skipped;
 * other failures are reported on stderr. Synchronous, and safe to call more than once.
 */
export function teardownNetwork(plan: NetPlan): void {
  const existing = new Set(
    tryListNamespaces()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? ''),
  );
  for (const argv of plan.teardown) {
    const ns = argv[argv.length - 1]!;
    if (!existing.has(ns)) continue;
    killInNamespace(ns);
    const failed = tryRun(argv);
    if (failed !== null) process.stderr.write(`${failed}\n`);
  }
}

function tryListNamespaces(): string {
  try {
    return run(['ip', 'netns', 'list']);
  } catch {
    return '';
  }
}

/** The command prefix running a program inside host namespace `ns`. */
export function inNamespace(ns: string): string[] {
  return ['ip', 'netns', 'exec', ns];
}

/** Packets every host's two tbfs have dropped so far (both directions of every link). */
export function linkDrops(plan: NetPlan): number {
  let n = 0;
  for (const h of [...plan.workers, ...plan.shards]) {
    n += tcDrops(tryOutput(['tc', '-s', '-n', h.ns, 'qdisc', 'show', 'dev', 'eth0']));
    n += tcDrops(tryOutput(['tc', '-s', '-n', plan.bridgeNs, 'qdisc', 'show', 'dev', h.port]));
  }
  return n;
}

function tryOutput(argv: readonly string[]): string {
  try {
    return run(argv);
  } catch {
    return '';
  }
}
