// cli.ts: `gluonps <command>` (the client package's bin; `npm run gluonps -- <command>` in
// this repository), the operator's CLI for a running gluon-ps server. It is a client like any
// other: every command connects through connect() (client/channel.ts), so tokens, TLS and
// mutual TLS work the same for all of them. export / import move parameters between the
// server and a tensor file through saveParameters / loadParameters (MXNet .params by default,
// safetensors, npz), with a progress bar when stderr is a terminal and plain progress lines
// otherwise; checkpoint asks the server for a checkpoint now. Exit status: 0 done, 1 the
// operation failed (server, file), 2 bad command line.
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, cpu, gpu, GluonPsError, LOAD_FORMATS, SAVE_FORMATS, Status } from './index';
import type {
  ConnectOptions,
  Context,
  LoadFormat,
  ParameterServerClient,
  PersistProgress,
  SaveFormat,
  TlsOptions,
} from './index';

export const DEFAULT_SERVER = '127.0.0.1:50051';

export const HELP = `Usage: gluonps <command> [options]   (in the repository: npm run gluonps -- <command> [options])

Commands:
  export      write the server's parameters to a file
  import      load parameters from a file into the server
  checkpoint  ask the server to write a checkpoint of its data directory now
  help        show this text

Options of every command:
  --server <host:port>      the server          GLUONPS_SERVER (default ${DEFAULT_SERVER})
  --token <token>           bearer token sent with every call   GLUONPS_TOKEN
  --token-file <path>       read the token from a file (first line)   GLUONPS_TOKEN_FILE
  --tls                     TLS with the system's root CAs
  --tls-ca <path>           TLS, trusting this CA (PEM)   GLUONPS_TLS_CA
  --tls-cert <path>         client certificate for mutual TLS (PEM; needs --tls-key)   GLUONPS_CLIENT_CERT
  --tls-key <path>          its private key (PEM)   GLUONPS_CLIENT_KEY
  --tls-server-name <name>  the name the server's certificate must carry, when it is not the host
  --connect-timeout-ms <n>  how long to wait for the server (default 10000)
  --json                    print the result as one JSON line
  --quiet, -q               no progress output
  --help, -h                show this text

export:
  --file, -f <path>         the file to write (required); written under a temporary name, then renamed
  --format <f>              params (MXNet .params, default) | safetensors | npz
  --names <a,b,...>         only these parameters, in this order (repeatable; default all)
  --numpy-shape             params: V3 records (MXNet numpy-shape mode; allows scalars)

import:
  --file, -f <path>         the file to read (required)
  --format <f>              params | safetensors | npz | npy (default: detected from the content)
  --names <a,b,...>         the parameters to load (repeatable; default every parameter on the server)
  --allow-missing           parameters the file lacks are left as they are
  --ignore-extra            entries of the file that are not among the parameters are skipped
  --declare                 declare the file's entries the server lacks (shape, dtype from the file)
  --ctx <list>              contexts for parameters not initialized yet, e.g. cpu(0),gpu(1) (default cpu(0))
  --cast-dtype              convert values whose dtype differs from the parameter's
  --dtype-source <s>        with --cast-dtype: current (convert the values, default) | saved (cast the parameter)

checkpoint:
  --reason <text>           recorded in the server log (default "on demand")

Exit status: 0 done, 1 the operation failed, 2 bad command line.
`;

/** A command-line problem: exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const COMMON = [
  'server',
  'token',
  'token-file',
  'tls',
  'tls-ca',
  'tls-cert',
  'tls-key',
  'tls-server-name',
  'connect-timeout-ms',
  'json',
  'quiet',
  'help',
];
const ALLOWED: Record<string, readonly string[]> = {
  export: [...COMMON, 'file', 'format', 'names', 'numpy-shape'],
  import: [
    ...COMMON,
    'file',
    'format',
    'names',
    'allow-missing',
    'ignore-extra',
    'declare',
    'ctx',
    'cast-dtype',
    'dtype-source',
  ],
  checkpoint: [...COMMON, 'reason'],
  help: [...COMMON],
};

const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
  'connect-timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string', short: 'f' },
  format: { type: 'string' },
  names: { type: 'string', multiple: true },
  'numpy-shape': { type: 'boolean' },
  'allow-missing': { type: 'boolean' },
  'ignore-extra': { type: 'boolean' },
  declare: { type: 'boolean' },
  ctx: { type: 'string' },
  'cast-dtype': { type: 'boolean' },
  'dtype-source': { type: 'string' },
  reason: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface Command {
  command: 'export' | 'import' | 'checkpoint' | 'help';
  server: string;
  token: string | undefined;
  /** TLS settings (false: plaintext). */
  tls: TlsOptions | boolean;
  /** The name the server's certificate must carry (grpc.ssl_target_name_override). */
  tlsServerName: string | undefined;
  connectTimeoutMs: number;
  json: boolean;
  quiet: boolean;
  file: string;
  format: string | undefined;
  names: string[] | null;
  numpyShape: boolean;
  allowMissing: boolean;
  ignoreExtra: boolean;
  declare: boolean;
  ctx: Context[] | null;
  castDtype: boolean;
  dtypeSource: 'current' | 'saved' | undefined;
  reason: string;
}

/** `cpu(0)`, `cpu:0`, `cpu0`, `cpu` (= 0), the same for gpu; comma-separated. */
export function parseContexts(text: string): Context[] {
  const out: Context[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(cpu|gpu)(?:\((\d+)\)|:(\d+)|(\d+))?$/i.exec(part);
    if (m === null)
      throw new UsageError(
        `--ctx: ${JSON.stringify(part)} is not a context; write cpu(0), gpu(1), ... separated by commas`,
      );
    const id = Number(m[2] ?? m[3] ?? m[4] ?? 0);
    out.push(m[1]!.toLowerCase() === 'gpu' ? gpu(id) : cpu(id));
  }
  return out;
}

function checkServer(address: string, from: string): string {
  if (
    !/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):\d{1,5}$/.test(address) ||
    Number(address.slice(address.lastIndexOf(':') + 1)) > 65535
  ) {
    throw new UsageError(`${from}: ${JSON.stringify(address)} is not host:port (e.g. ${DEFAULT_SERVER})`);
  }
  return address;
}

function readOption(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`);
  }
}

/** --token, else --token-file, else GLUONPS_TOKEN, else GLUONPS_TOKEN_FILE (its first line). */
function tokenFrom(values: Values, env: NodeJS.ProcessEnv): string | undefined {
  if (values.token !== undefined && values['token-file'] !== undefined)
    throw new UsageError('give --token or --token-file, not both');
  if (values.token !== undefined) return values.token;
  const [source, file] =
    values['token-file'] !== undefined
      ? ['--token-file', values['token-file']]
      : env.GLUONPS_TOKEN
        ? [null, null]
        : ['GLUONPS_TOKEN_FILE', env.GLUONPS_TOKEN_FILE || null];
  if (source === null || file === null) return env.GLUONPS_TOKEN || undefined;
  const token = readOption(source, file).toString('utf8').split(/\r?\n/)[0]!.trim();
  if (token === '') throw new UsageError(`${source}: the token file ${JSON.stringify(file)} is empty`);
  return token;
}

/** TLS from --tls / --tls-ca / --tls-cert / --tls-key (or GLUONPS_TLS_CA, GLUONPS_CLIENT_CERT, GLUONPS_CLIENT_KEY). */
function tlsFrom(values: Values, env: NodeJS.ProcessEnv): TlsOptions | boolean {
  const pick = (flag: 'tls-ca' | 'tls-cert' | 'tls-key', variable: string): [string, string] | undefined => {
    const v = values[flag] ?? (env[variable] || undefined);
    return v === undefined ? undefined : [values[flag] !== undefined ? `--${flag}` : variable, v];
  };
  const ca = pick('tls-ca', 'GLUONPS_TLS_CA');
  const cert = pick('tls-cert', 'GLUONPS_CLIENT_CERT');
  const key = pick('tls-key', 'GLUONPS_CLIENT_KEY');
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError('--tls-cert and --tls-key go together (mutual TLS needs both)');
  if (ca === undefined && cert === undefined) return values.tls ?? false;
  const tls: TlsOptions = {};
  if (ca !== undefined) tls.ca = readOption(ca[0], ca[1]);
  if (cert !== undefined && key !== undefined) {
    tls.cert = readOption(cert[0], cert[1]);
    tls.key = readOption(key[0], key[1]);
  }
  return tls;
}

/** Parses the command line (and the GLUONPS_* variables it names); throws UsageError. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  const word = positionals[0] ?? (values.help ? 'help' : undefined);
  if (word === undefined) throw new UsageError('a command is required: export, import, checkpoint or help');
  if (!(word in ALLOWED))
    throw new UsageError(`unknown command ${JSON.stringify(word)}; expected export, import, checkpoint or help`);
  const command = (values.help ? 'help' : word) as Command['command'];
  if (positionals.length > 1)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])} (options start with --)`);
  const allowed = ALLOWED[word]!;
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key)) throw new UsageError(`--${key} does not apply to ${word}`);
  }

  const server =
    values.server !== undefined
      ? checkServer(values.server, '--server')
      : env.GLUONPS_SERVER !== undefined && env.GLUONPS_SERVER !== ''
        ? checkServer(env.GLUONPS_SERVER, 'GLUONPS_SERVER')
        : DEFAULT_SERVER;
  let connectTimeoutMs = 10_000;
  if (values['connect-timeout-ms'] !== undefined) {
    connectTimeoutMs = Number(values['connect-timeout-ms']);
    if (!/^\d+$/.test(values['connect-timeout-ms']) || connectTimeoutMs <= 0) {
      throw new UsageError(
        `--connect-timeout-ms must be a positive integer, got ${JSON.stringify(values['connect-timeout-ms'])}`,
      );
    }
  }
  const token = tokenFrom(values, env);
  const tls = tlsFrom(values, env);
  const tlsServerName = values['tls-server-name'];
  if (tlsServerName !== undefined && tls === false)
    throw new UsageError('--tls-server-name needs TLS (--tls or --tls-ca)');

  const cmd: Command = {
    command,
    server,
    token,
    tls,
    tlsServerName,
    connectTimeoutMs,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    file: values.file ?? '',
    format: values.format,
    names: null,
    numpyShape: values['numpy-shape'] ?? false,
    allowMissing: values['allow-missing'] ?? false,
    ignoreExtra: values['ignore-extra'] ?? false,
    declare: values.declare ?? false,
    ctx: values.ctx === undefined ? null : parseContexts(values.ctx),
    castDtype: values['cast-dtype'] ?? false,
    dtypeSource: undefined,
    reason: values.reason ?? '',
  };
  if (command === 'help') return cmd;

  if (command === 'export' || command === 'import') {
    if (cmd.file === '') throw new UsageError(`${command}: --file <path> is required`);
    const formats: readonly string[] = command === 'export' ? SAVE_FORMATS : LOAD_FORMATS;
    if (cmd.format !== undefined && !formats.includes(cmd.format)) {
      throw new UsageError(
        `${command}: --format must be one of ${formats.join(', ')}, got ${JSON.stringify(cmd.format)}`,
      );
    }
    if (values.names !== undefined) {
      const names = values.names.flatMap((s) => s.split(',')).map((s) => s.trim());
      if (names.some((n) => n === '')) throw new UsageError('--names: empty name (write --names a,b,c)');
      cmd.names = names;
    }
    if (cmd.numpyShape && cmd.format !== undefined && cmd.format !== 'params') {
      throw new UsageError('--numpy-shape applies to --format params only');
    }
  }
  if (values['dtype-source'] !== undefined) {
    const s = values['dtype-source'];
    if (s !== 'current' && s !== 'saved')
      throw new UsageError(`--dtype-source must be current or saved, got ${JSON.stringify(s)}`);
    if (!cmd.castDtype) throw new UsageError('--dtype-source needs --cast-dtype');
    cmd.dtypeSource = s;
  }
  return cmd;
}

// --- Output ------------------------------------------------------------------------------------

interface Output {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

function mib(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal; otherwise plain lines, one per
 * parameter for small jobs and at most one a second (plus the last) for big ones.
 */
export function progressReporter(out: Output, verb: string): { report(p: PersistProgress): void; end(): void } {
  const tty = out.stderr.isTTY === true;
  let drawn = false;
  let lastLine = 0;
  return {
    report(p) {
      const pct = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.total > 0 ? p.done / p.total : 1;
      if (tty) {
        const columns = out.stderr.columns || 80; // 0 when the terminal does not say
        const width = Math.max(10, Math.min(30, columns - 60));
        const full = Math.round(pct * width);
        const head =
          `${verb} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(pct * 100).toFixed(0).padStart(3)}% ` +
          `${p.done}/${p.total} ${mib(p.bytes)}/${mib(p.totalBytes)} `;
        const room = Math.max(0, columns - head.length - 1);
        const name = p.name.length <= room ? p.name : room >= 8 ? `${p.name.slice(0, room - 3)}...` : '';
        out.stderr.write(`\r\x1b[K${head}${name}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (p.total <= 50 || p.done === p.total || now - lastLine >= 1000) {
        lastLine = now;
        out.stderr.write(
          `${verb}: ${p.done}/${p.total} parameters, ${mib(p.bytes)} of ${mib(p.totalBytes)} (${p.name})\n`,
        );
      }
    },
    end() {
      if (drawn) out.stderr.write('\n');
      drawn = false;
    },
  };
}

// --- Commands ----------------------------------------------------------------------------------

async function runExport(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const progress = cmd.quiet ? null : progressReporter(out, 'export');
  try {
    const r = await ps.saveParameters(cmd.file, {
      format: (cmd.format ?? 'params') as SaveFormat,
      names: cmd.names,
      numpyShape: cmd.numpyShape,
      onProgress: progress === null ? null : (p) => progress.report(p),
    });
    progress?.end();
    const seconds = (performance.now() - started) / 1000;
    if (cmd.json) {
      out.stdout.write(
        `${JSON.stringify({ command: 'export', file: r.file, format: r.format, parameters: r.names.length, bytes: r.bytes, seconds: Number(seconds.toFixed(3)) })}\n`,
      );
    } else {
      out.stdout.write(
        `exported ${r.names.length} parameter${r.names.length === 1 ? '' : 's'} to ${r.file} (${r.format}, ${mib(r.bytes)}) in ${seconds.toFixed(2)} s\n`,
      );
    }
  } finally {
    progress?.end();
  }
}

async function runImport(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const progress = cmd.quiet ? null : progressReporter(out, 'import');
  try {
    const r = await ps.loadParameters(cmd.file, {
      format: cmd.format as LoadFormat | undefined,
      names: cmd.names,
      allowMissing: cmd.allowMissing,
      ignoreExtra: cmd.ignoreExtra,
      declare: cmd.declare,
      ctx: cmd.ctx,
      castDtype: cmd.castDtype,
      ...(cmd.dtypeSource === undefined ? {} : { dtypeSource: cmd.dtypeSource }),
      onProgress: progress === null ? null : (p) => progress.report(p),
    });
    progress?.end();
    const seconds = (performance.now() - started) / 1000;
    if (cmd.json) {
      out.stdout.write(
        `${JSON.stringify({ command: 'import', file: cmd.file, format: r.format, loaded: r.loaded, declared: r.declared, missing: r.missing, extra: r.extra, seconds: Number(seconds.toFixed(3)) })}\n`,
      );
    } else {
      const notes = [
        r.declared.length > 0 ? `${r.declared.length} declared` : '',
        r.missing.length > 0 ? `${r.missing.length} missing from the file left as they were` : '',
        r.extra.length > 0 ? `${r.extra.length} extra entries skipped` : '',
      ].filter(Boolean);
      out.stdout.write(
        `imported ${r.loaded.length} parameter${r.loaded.length === 1 ? '' : 's'} from ${cmd.file} (${r.format}) in ${seconds.toFixed(2)} s` +
          `${notes.length > 0 ? `; ${notes.join(', ')}` : ''}\n`,
      );
    }
  } finally {
    progress?.end();
  }
}

async function runCheckpoint(ps: ParameterServerClient, cmd: Command, out: Output): Promise<void> {
  const started = performance.now();
  const reply = await ps.checkpoint({ reason: cmd.reason });
  const seconds = (performance.now() - started) / 1000;
  if (cmd.json) {
    out.stdout.write(
      `${JSON.stringify({ command: 'checkpoint', id: reply.id, dataDir: reply.dataDir, seconds: Number(seconds.toFixed(3)) })}\n`,
    );
  } else {
    out.stdout.write(`checkpoint ${reply.id} written in ${reply.dataDir} (${seconds.toFixed(2)} s)\n`);
  }
}

/** connect() options for a command: timeout, token, TLS. */
export function connectOptions(cmd: Command): ConnectOptions {
  return {
    connectTimeoutMs: cmd.connectTimeoutMs,
    ...(cmd.token === undefined ? {} : { token: cmd.token }),
    ...(cmd.tls === false ? {} : { tls: cmd.tls }),
    ...(cmd.tlsServerName === undefined
      ? {}
      : { channelOptions: { 'grpc.ssl_target_name_override': cmd.tlsServerName } }),
  };
}

/** Runs one command line; resolves with the exit status. */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: Output = process,
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
    ps = await connect(cmd.server, connectOptions(cmd));
    if (cmd.command === 'checkpoint') await runCheckpoint(ps, cmd, out);
    else if (cmd.command === 'export') await runExport(ps, cmd, out);
    else await runImport(ps, cmd, out);
    return 0;
  } catch (err) {
    const status = err instanceof GluonPsError ? ` (${Status[err.code] ?? err.code})` : '';
    out.stderr.write(`gluonps ${cmd.command}: ${err instanceof Error ? err.message : String(err)}${status}\n`);
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
