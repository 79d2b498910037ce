// cli.ts: `gluonps <command>` (the client package's bin; `npm run gluonps -- <command>` in this
// repository), the operator's CLI for a running gluon-ps server. It is a client like any other:
// every command connects through connect() (client/channel.ts), so tokens, TLS and mutual TLS
// work the same for all of them. The commands live in cli/: args.ts parses the command line,
// inspect.ts looks (status, --watch, list, describe, trainers, trainer), transfer.ts moves state
// (export, import, checkpoint), render.ts and format.ts write text for people; --json writes one
// JSON document (the error too) for scripts. Exit status: 0 done, 1 the operation failed
// (server unreachable or refused, file), 2 bad command line.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, GluonPsError, Status } from './index';
import type { ConnectOptions, ParameterServerClient } from './index';
import { parseCommand, UsageError } from './cli/args';
import { isEtcdServer } from './cli/etcd-args';
import type { Command } from './cli/args';
import type { Output } from './cli/format';
import { HELP } from './cli/help';
import { runDescribe, runList, runStatus, runTrainer, runTrainers, watchStatus } from './cli/inspect';
import { runCheckpoint, runExport, runImport } from './cli/transfer';

export { DEFAULT_SERVER, DEFAULT_WATCH_INTERVAL_MS, parseCommand, parseContexts, UsageError } from './cli/args';
export type { Command } from './cli/args';
export { HELP } from './cli/help';
export { progressReporter } from './cli/transfer';
export { renderDescribe, renderList, renderStatus, renderTrainer } from './cli/render';

/** Commands that only read: each answer is awaited at most --connect-timeout-ms. */
const INSPECT: ReadonlySet<Command['command']> = new Set(['status', 'list', 'describe', 'trainers', 'trainer']);

/** connect() options for a command: timeout, token, TLS. */
export function connectOptions(cmd: Command): ConnectOptions {
  return {
    connectTimeoutMs: cmd.connectTimeoutMs,
    ...(INSPECT.has(cmd.command) ? { deadlineMs: cmd.connectTimeoutMs } : {}),
    ...(cmd.token === undefined ? {} : { token: cmd.token }),
    ...(cmd.tls === false ? {} : { tls: cmd.tls }),
    ...(cmd.tlsServerName === undefined
      ? {}
      : { channelOptions: { 'grpc.ssl_target_name_override': cmd.tlsServerName } }),
  };
}

/** An AbortSignal that SIGINT or SIGTERM aborts, and the function that stops listening. */
function interrupts(): { signal: AbortSignal; release(): void } {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: ac.signal,
    release: () => {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

async function run(ps: ParameterServerClient, cmd: Command, out: Output, stop: AbortSignal | undefined): Promise<void> {
  switch (cmd.command) {
    case 'status':
      if (!cmd.watch) return runStatus(ps, cmd, out);
      if (stop !== undefined) return watchStatus(ps, cmd, out, stop);
      {
        const sig = interrupts();
        try {
          return await watchStatus(ps, cmd, out, sig.signal);
        } finally {
          sig.release();
        }
      }
    case 'list':
      return runList(ps, cmd, out);
    case 'describe':
      return runDescribe(ps, cmd, out);
    case 'trainers':
      return runTrainers(ps, cmd, out);
    case 'trainer':
      return runTrainer(ps, cmd, out);
    case 'checkpoint':
      return runCheckpoint(ps, cmd, out);
    case 'export':
      return runExport(ps, cmd, out);
    case 'import':
      return runImport(ps, cmd, out);
    case 'help':
      return;
  }
}

/**
 * Runs one command line; resolves with the exit status. `stop` ends `status --watch` (by
 * default SIGINT or SIGTERM does, and the watch then exits 0).
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: Output = process,
  stop?: AbortSignal,
): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.stderr.write(`gluonps: ${err.message}\nRun "gluonps help" for the commands and options.\n`);
    return 2;
  }
  if (cmd.command === 'help') {
    out.stdout.write(HELP);
    return 0;
  }
  let ps: ParameterServerClient | null = null;
  try {
    // Several addresses (or --cluster): a cluster's shards, in shard-index order (docs/cluster.md).
    ps = isEtcdServer(cmd.server)
      ? await connect(cmd.server as `etcd://${string}`, {
          ...connectOptions(cmd),
          ...(cmd.etcd === undefined ? {} : { etcd: cmd.etcd }),
          ...(cmd.cluster === undefined ? {} : { cluster: cmd.cluster }),
        })
      : cmd.servers.length > 1 || cmd.cluster !== undefined
        ? await connect(cmd.servers, {
            ...connectOptions(cmd),
            ...(cmd.cluster === undefined ? {} : { cluster: cmd.cluster }),
          })
        : await connect(cmd.server, connectOptions(cmd));
    await run(ps, cmd, out, stop);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof GluonPsError ? (Status[err.code] ?? String(err.code)) : null;
    out.stderr.write(`gluonps ${cmd.command}: ${message}${code === null ? '' : ` (${code})`}\n`);
    if (cmd.json)
      out.stdout.write(`${JSON.stringify({ command: cmd.command, error: { code, message, server: cmd.server } })}\n`);
    return 1;
  } finally {
    await ps?.close();
  }
}

// Run when executed (the bundle, the package's bin through its symlink, or tsx), not when
// imported by a test.
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(realpathSync(path.resolve(process.argv[1]))).href
) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
