// args.ts: the gluonps command line: the options every command takes (server, token, TLS,
// timeout, --json), each command's own, and the GLUONPS_* variables that stand in for them.
// Parsing only: a problem is a UsageError (exit status 2) naming the option and what it got.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CLUSTER_NAME_RE } from '../../common/cluster/route';
import { cpu, gpu, LOAD_FORMATS, SAVE_FORMATS } from '../index';
import type { Context, EtcdConnectOptions, TlsOptions } from '../index';
import { ETCD_CLI_FLAGS, ETCD_CLI_OPTIONS, etcdOptionsFrom, isEtcdServer } from './etcd-args';

export const DEFAULT_SERVER = '127.0.0.1:50051';

/** A command-line problem: exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const COMMON = [
  'server',
  'cluster',
  'token',
  'token-file',
  'tls',
  'tls-ca',
  'tls-cert',
  'tls-key',
  'tls-server-name',
  ...ETCD_CLI_FLAGS,
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
  status: [...COMMON, 'watch', 'interval-ms'],
  list: [...COMMON],
  describe: [...COMMON],
  trainers: [...COMMON],
  trainer: [...COMMON],
  help: [...COMMON],
};

/** The commands that name one thing: `describe NAME`, `trainer NAME`. */
const NAMED: Record<string, string> = { describe: 'a parameter or constant', trainer: 'a trainer' };

const COMMANDS = Object.keys(ALLOWED).join(', ');

const OPTIONS = {
  server: { type: 'string' },
  cluster: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
  ...ETCD_CLI_OPTIONS,
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
  watch: { type: 'boolean', short: 'w' },
  'interval-ms': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface Command {
  command: 'export' | 'import' | 'checkpoint' | 'status' | 'list' | 'describe' | 'trainers' | 'trainer' | 'help';
  /** describe / trainer: the parameter's or trainer's name; '' otherwise. */
  name: string;
  /** The server's host:port, or a cluster's shards' comma-separated (as given). */
  server: string;
  /** Every address of --server: one server, or a cluster's shards in shard-index order. */
  servers: string[];
  /** --cluster: connect as a cluster client and refuse shards of another cluster. */
  cluster: string | undefined;
  token: string | undefined;
  /** TLS settings (false: plaintext). */
  tls: TlsOptions | boolean;
  /** The name the server's certificate must carry (grpc.ssl_target_name_override). */
  tlsServerName: string | undefined;
  /** --server etcd://...: how to reach a secured etcd (--etcd-ca, ..., client/cli/etcd-args.ts). */
  etcd: EtcdConnectOptions | undefined;
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
  /** status: refresh until interrupted. */
  watch: boolean;
  /** status --watch: between refreshes. */
  intervalMs: number;
}

export const DEFAULT_WATCH_INTERVAL_MS = 2000;

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

/** One host:port, or a cluster's shards' host:port separated by commas (in shard-index order). */
function checkServers(text: string, from: string): string[] {
  if (isEtcdServer(text.trim())) return [text.trim()]; // connect() checks etcd://host:port/NAME
  const addresses = text.split(',').map((a) => a.trim());
  for (const a of addresses) checkServer(a, from);
  const twice = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (twice !== undefined)
    throw new UsageError(`${from}: ${JSON.stringify(twice)} is listed twice; give each shard's address once`);
  return addresses;
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
  if (word === undefined) throw new UsageError(`a command is required: ${COMMANDS}`);
  if (!(word in ALLOWED)) throw new UsageError(`unknown command ${JSON.stringify(word)}; expected one of ${COMMANDS}`);
  const command = (values.help ? 'help' : word) as Command['command'];
  const takes = NAMED[word] === undefined ? 1 : 2;
  if (positionals.length > takes)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[takes])} (options start with --)`);
  const name = positionals[1] ?? '';
  if (takes === 2 && name === '' && !values.help) throw new UsageError(`${word}: name ${NAMED[word]} (${word} NAME)`);
  const allowed = ALLOWED[word]!;
  for (const key of Object.keys(values)) {
    if (!allowed.includes(key)) throw new UsageError(`--${key} does not apply to ${word}`);
  }

  const servers =
    values.server !== undefined
      ? checkServers(values.server, '--server')
      : env.GLUONPS_SERVER !== undefined && env.GLUONPS_SERVER !== ''
        ? checkServers(env.GLUONPS_SERVER, 'GLUONPS_SERVER')
        : [DEFAULT_SERVER];
  const server = servers.join(',');
  const cluster = values.cluster;
  if (cluster !== undefined && !CLUSTER_NAME_RE.test(cluster))
    throw new UsageError(`--cluster must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(cluster)}`);
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
  const etcd = etcdOptionsFrom(values, env, server, (m) => {
    throw new UsageError(m);
  });
  if (tlsServerName !== undefined && tls === false)
    throw new UsageError('--tls-server-name needs TLS (--tls or --tls-ca)');

  const cmd: Command = {
    command,
    server,
    servers,
    cluster,
    token,
    tls,
    tlsServerName,
    etcd,
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
    name,
    watch: values.watch ?? false,
    intervalMs: DEFAULT_WATCH_INTERVAL_MS,
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
  if (values['interval-ms'] !== undefined) {
    const text = values['interval-ms'];
    cmd.intervalMs = Number(text);
    if (!/^\d+$/.test(text) || cmd.intervalMs < 100 || cmd.intervalMs > 3_600_000)
      throw new UsageError(`--interval-ms must be an integer from 100 to 3600000, got ${JSON.stringify(text)}`);
    if (!cmd.watch) throw new UsageError('--interval-ms needs --watch');
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
