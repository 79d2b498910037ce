// config.ts: server options from command-line flags and GLUONPS_* environment variables
// (flags win), with units for sizes and a clear error for anything invalid. Token files and
// TLS PEM files are read here, so an unreadable one fails before the server starts.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Device } from '../native/index';
import { LOG_LEVELS } from './log';
import type { LogLevel } from './log';
import { MAX_TIMER_MS, hostMemoryBytes } from './limits';
import { DEFAULT_SLICE_BYTES, LAYOUT_VERSION, MAX_SHARDS } from '../common/cluster/placement';
import { CLUSTER_NAME_RE, DEFAULT_CLUSTER, type Route } from '../common/cluster/route';
import { ETCD_ARGS, ETCD_USAGE, parseEtcdFlags, type EtcdOptions } from './cluster/etcd-options';

// The defaults live apart (config-defaults.ts); startServer and the tests read them from here.
export { DEFAULTS } from './config-defaults';

export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 50051); 0 picks a free one. */
  port?: number;
  /** Device kinds parameters may live on: 'cpu', 'gpu' (every GPU present) or 'gpu(i)' (default: cpu and every GPU present). */
  devices?: string[];
  /** Largest tensor in bytes (default 1 GiB). */
  maxTensorBytes?: number;
  /**
   * One budget, in bytes, for everything the server holds for callers (tensors on every device,
   * uploads, constants' copies, read copies, state snapshots); null = none. Default: 80% of the
   * host's memory (limits.ts defaultMemoryBudget).
   */
  memoryBudget?: number | null;
  /** cpu(i) contexts allowed are 0 <= i < maxCpuContexts (default 8). */
  maxCpuContexts?: number;
  /** Largest num_workers of a new trainer (default 4096). */
  maxWorkersPerTrainer?: number;
  /** Largest reason string of a Checkpoint call, in UTF-8 bytes (default 1024). */
  maxReasonBytes?: number;
  /** Least time between the starts of two on-demand checkpoints, in ms (default 1000). */
  checkpointMinIntervalMs?: number;
  /** Parameters the store may hold, constants apart (default 100000). */
  maxParameters?: number;
  /** Constants the store may hold (default 10000). */
  maxConstants?: number;
  /**
   * Declared bytes (one copy each) of every parameter and constant together; null = no limit.
   * Default: the host's memory (limits.ts defaultMaxDeclaredBytes).
   */
  maxDeclaredBytes?: number | null;
  /** Trainers the server may hold (default 1024). */
  maxTrainers?: number;
  /** Concurrent streams one connection may open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, default 256). */
  maxStreamsPerConnection?: number;
  /** Calls in flight on the whole server (default 4096). */
  maxConcurrentCalls?: number;
  /** Bytes of one call's request metadata (default 16384). */
  maxMetadataBytes?: number;
  /** Health Watch streams open at once (default 1024). */
  maxHealthWatchers?: number;
  /** An upload stream with no message for this long fails RESOURCE_EXHAUSTED, in ms (default 30000). */
  streamIdleTimeoutMs?: number;
  /** A streamed read running longer than this fails RESOURCE_EXHAUSTED, in ms (default 120000). */
  readTimeoutMs?: number;
  /** The server pings a connection after this long without traffic, in ms (default 60000). */
  keepaliveTimeMs?: number;
  /** A ping unanswered for this long closes the connection and its calls, in ms (default 20000). */
  keepaliveTimeoutMs?: number;
  /** pino level, or 'silent' (default 'info'). */
  logLevel?: LogLevel;
  /** A call taking at least this long is logged even when it succeeds, in ms; 0 logs every call (default 1000). */
  slowCallMs?: number;
  /** Port of the metrics and status page HTTP server; 0 picks a free one; absent or null: no such server (default). */
  metricsPort?: number | null;
  /** Interface of the metrics port (default 127.0.0.1). */
  metricsHost?: string;
  /** Serve gRPC server reflection (grpc.reflection.v1 and v1alpha), behind the tokens when set (default false). */
  reflection?: boolean;
  /** Where parameters, trainer state and the write-ahead log persist; none = in memory only. */
  dataDir?: string | null;
  /** How acknowledged changes persist (default wal-batch when dataDir is set). */
  durability?: 'checkpoint' | 'wal-batch' | 'wal-always';
  /** Checkpoint every N applied trainer steps (default: none). */
  checkpointEverySteps?: number;
  /** Checkpoint every T seconds when something changed (default 300). */
  checkpointEverySeconds?: number;
  /** Checkpoints kept (default 3). */
  keepCheckpoints?: number;
  /** wal-batch: longest time between a write and its fsync (default 10 ms). */
  walBatchMs?: number;
  /** Start even if the write-ahead log has a corrupt record in the middle, dropping it and what follows. */
  walTruncateCorrupt?: boolean;
  /** Bearer tokens every call but health checks must carry; none = no authentication (default). */
  auth?: AuthOptions;
  /** Serve TLS instead of plaintext (default: plaintext). */
  tls?: ServerTlsOptions | null;
  /**
   * Serve a non-loopback host without authentication (no token, no mutual TLS); without it such
   * a start is refused (default false).
   */
  insecure?: boolean;
  /** Which shard of which cluster this server is (docs/cluster.md); absent: shard 0 of 1 of cluster 'default'. */
  shard?: ShardOptions;
  /** Register as this shard in etcd, under a lease (docs/cluster.md); absent: static membership, no etcd. */
  etcd?: EtcdOptions;
}

/** A server's place in a cluster (static membership: every client lists every shard's address). */
export interface ShardOptions {
  /** This server's shard index, 0 <= index < count. */
  index: number;
  /** Shards in the cluster. */
  count: number;
  /** The cluster's name (default 'default'); clients of another cluster are refused. */
  cluster?: string;
  /** Dense tensors over this many bytes are sliced over the shards (default 4 MiB); every shard must agree. */
  sliceBytes?: number;
}

/** The shard options filled and checked: what the routing check and DescribeShard use. */
export function shardRoute(shard: ShardOptions | undefined): Route {
  const s = shard ?? { index: 0, count: 1 };
  if (typeof s !== 'object' || s === null)
    throw new ConfigError('shard: expected { index, count, cluster?, sliceBytes? }');
  const count = s.count;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS)
    throw new ConfigError(`--num-shards: expected an integer from 1 to ${MAX_SHARDS}, got ${String(count)}`);
  if (!Number.isInteger(s.index) || s.index < 0 || s.index >= count)
    throw new ConfigError(
      `--shard-index: expected an integer from 0 to ${count - 1} (--num-shards ${count}), got ${String(s.index)}`,
    );
  const cluster = s.cluster ?? DEFAULT_CLUSTER;
  if (typeof cluster !== 'string' || !CLUSTER_NAME_RE.test(cluster))
    throw new ConfigError(`--cluster: expected 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(cluster)}`);
  const sliceBytes = s.sliceBytes ?? DEFAULT_SLICE_BYTES;
  if (!Number.isSafeInteger(sliceBytes) || sliceBytes < 1)
    throw new ConfigError(`--slice-bytes: expected a positive number of bytes, got ${String(sliceBytes)}`);
  return { cluster, index: s.index, count, layoutVersion: LAYOUT_VERSION, sliceBytes };
}

/** Bearer tokens (docs/configuration.md, "Security"). No token at all turns authentication off. */
export interface AuthOptions {
  /** Full-access tokens: may call every method. */
  tokens?: string[];
  /** Read-only tokens: may call only the methods that change nothing (server/auth.ts, READ_METHODS). */
  readOnlyTokens?: string[];
}

/** TLS material: PEM contents, not file paths. */
export interface ServerTlsOptions {
  /** The server's certificate chain. */
  cert: Buffer | string;
  /** The private key of `cert` (unencrypted). */
  key: Buffer | string;
  /** CA certificate(s) clients' certificates must chain to; set = mutual TLS, other clients are refused. */
  clientCa?: Buffer | string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const HELP = `gluon-ps: a gRPC parameter server with MXNet Gluon Parameter/Constant semantics.

Usage: npm start -- [options]

Options (each also read from the environment variable shown; flags win):
  --host <addr>              interface to bind                   GLUONPS_HOST     (default 127.0.0.1)
  --port <n>                 TCP port, 0 = pick a free one        GLUONPS_PORT     (default 50051)
  --devices <list>           where parameters may live: cpu, gpu, gpu(i), comma-separated
                                                                 GLUONPS_DEVICES  (default cpu,gpu: every GPU present)
  --max-tensor-bytes <size>  largest tensor accepted             GLUONPS_MAX_TENSOR_BYTES (default 1GiB)
  --memory-budget <size>     bytes held for callers, all devices together; a size, N% of
                             the host's memory, or none           GLUONPS_MEMORY_BUDGET    (default 80%)
  --max-cpu-contexts <n>     cpu(i) allowed for i < n            GLUONPS_MAX_CPU_CONTEXTS (default 8)
  --max-workers-per-trainer <n>   largest num_workers of a trainer  GLUONPS_MAX_WORKERS_PER_TRAINER (default 4096)
  --max-reason-bytes <n>     longest Checkpoint reason, UTF-8 bytes  GLUONPS_MAX_REASON_BYTES (default 1024)
  --max-parameters <n>       parameters held, constants apart     GLUONPS_MAX_PARAMETERS (default 100000)
  --max-constants <n>        constants held                       GLUONPS_MAX_CONSTANTS (default 10000)
  --max-declared-bytes <size>  bytes of every parameter and constant declared (one copy each):
                             a size, N% of the host's memory, or none  GLUONPS_MAX_DECLARED_BYTES (default 100%)
  --max-trainers <n>         trainers held                        GLUONPS_MAX_TRAINERS (default 1024)
  --max-streams-per-connection <n>  concurrent calls of one connection  GLUONPS_MAX_STREAMS_PER_CONNECTION (default 256)
  --max-concurrent-calls <n> calls in flight, all connections     GLUONPS_MAX_CONCURRENT_CALLS (default 4096)
  --max-metadata-bytes <n>   request metadata of one call, bytes  GLUONPS_MAX_METADATA_BYTES (default 16384)
  --max-health-watchers <n>  health Watch streams open at once    GLUONPS_MAX_HEALTH_WATCHERS (default 1024)
  --stream-idle-timeout-ms <n>  an upload with no message for n ms fails  GLUONPS_STREAM_IDLE_TIMEOUT_MS (default 30000)
  --read-timeout-ms <n>      longest streamed read (it pins a version)  GLUONPS_READ_TIMEOUT_MS (default 120000)
  --keepalive-time-ms <n>    ping a connection quiet for n ms       GLUONPS_KEEPALIVE_TIME_MS (default 60000)
  --keepalive-timeout-ms <n> close a connection whose ping is unanswered for n ms  GLUONPS_KEEPALIVE_TIMEOUT_MS (default 20000)
  --log-level <level>        fatal|error|warn|info|debug|trace|silent  GLUONPS_LOG_LEVEL (default info)
  --slow-call-ms <n>         log a call taking n ms or more even if it succeeds; 0 = every call  GLUONPS_SLOW_CALL_MS (default 1000)
  --metrics-port <n>         serve /metrics (Prometheus) and the status page on this port, 0 = a free one
                                                                 GLUONPS_METRICS_PORT (default: off)
  --metrics-host <addr>      interface of the metrics port        GLUONPS_METRICS_HOST (default 127.0.0.1)
  --reflection               serve gRPC server reflection (grpcurl and other tools)  GLUONPS_REFLECTION=1
  --data-dir <dir>           where state persists; 'none' = memory only  GLUONPS_DATA_DIR (default ./data)
  --durability <mode>        checkpoint | wal-batch | wal-always  GLUONPS_DURABILITY (default wal-batch)
  --checkpoint-every-steps <n>    checkpoint after each step numbered a multiple of n  GLUONPS_CHECKPOINT_EVERY_STEPS (default none)
  --checkpoint-every-seconds <n>  checkpoint every n s if changed       GLUONPS_CHECKPOINT_EVERY_SECONDS (default 300)
  --keep-checkpoints <n>     valid checkpoints kept                  GLUONPS_KEEP_CHECKPOINTS (default 3)
  --checkpoint-min-interval-ms <n>  least ms between on-demand checkpoints  GLUONPS_CHECKPOINT_MIN_INTERVAL_MS (default 1000)
  --wal-batch-ms <n>         wal-batch: max ms between write and fsync  GLUONPS_WAL_BATCH_MS (default 10)
  --wal-truncate-corrupt     drop a corrupt log record and what follows instead of refusing to start
  --auth-token <list>        full-access bearer tokens, comma-separated; repeatable  GLUONPS_AUTH_TOKEN
  --auth-token-file <file>   full-access tokens, one per line      GLUONPS_AUTH_TOKEN_FILE
  --read-only-token <list>   tokens that may only read, comma-separated; repeatable  GLUONPS_READ_ONLY_TOKEN
  --read-only-token-file <file>   read-only tokens, one per line   GLUONPS_READ_ONLY_TOKEN_FILE
  --tls-cert <file>          PEM certificate chain: serve TLS       GLUONPS_TLS_CERT
  --tls-key <file>           PEM private key of --tls-cert          GLUONPS_TLS_KEY
  --tls-client-ca <file>     PEM CA(s): require client certificates (mutual TLS)  GLUONPS_TLS_CLIENT_CA
  --insecure                 allow a non-loopback --host without a token or mutual TLS  GLUONPS_INSECURE=1
  --shard-index <i>          this server's shard of a cluster, 0 <= i < --num-shards  GLUONPS_SHARD_INDEX
  --num-shards <n>           shards in the cluster (docs/cluster.md)  GLUONPS_NUM_SHARDS (default 1)
  --cluster <name>           the cluster's name; clients of another are refused  GLUONPS_CLUSTER (default default)
  --slice-bytes <size>       dense tensors over this are sliced over the shards  GLUONPS_SLICE_BYTES (default 4MiB)
${ETCD_USAGE}
  -h, --help                 print this help

Sizes take a unit: 1048576, 512KiB, 64MiB, 1GiB (also KB/MB/GB = powers of 1000).
Without any token every caller may do everything, so a --host other than loopback needs a
token (or mutual TLS), or --insecure; with tokens, every call but health checks
needs 'authorization: Bearer <token>'. Token files: blank lines and lines starting with # are
ignored. Prefer the files (or the environment) to the flags: a flag's value shows in ps.
`;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

export function parseSize(what: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new ConfigError(`${what}: expected a size like 1048576, 64MiB or 1GiB, got '${text}'`);
  const v = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new ConfigError(`${what}: size must be a positive number of bytes, got '${text}'`);
  return v;
}

/**
 * A byte limit tied to the machine (--memory-budget, --max-declared-bytes): a size, a percentage
 * of the host's memory (`50%`, up to `1000%` for what GPUs add), or `none` / `0` for no limit.
 */
export function parseHostBytes(flag: string, text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === '0') return null;
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) {
    const p = Number(pct[1]);
    if (!(p > 0 && p <= 1000))
      throw new ConfigError(`${flag}: a percentage of the host's memory must be in (0, 1000], got '${text}'`);
    return Math.floor((hostMemoryBytes() * p) / 100);
  }
  return parseSize(flag, text);
}

/** --memory-budget: see parseHostBytes. */
export function parseMemoryBudget(text: string): number | null {
  return parseHostBytes('--memory-budget', text);
}

function parseIntIn(what: string, text: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ConfigError(`${what}: expected an integer from ${min} to ${max}, got '${text}'`);
  }
  return v;
}

/** Parses a --devices entry list into predicates' input, validating the syntax. */
export function parseDevices(text: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0)
    throw new ConfigError(`--devices: expected a list such as 'cpu' or 'cpu,gpu(0)', got '${text}'`);
  for (const item of items) {
    if (!/^(cpu|gpu|gpu\(\d+\))$/.test(item))
      throw new ConfigError(`--devices: '${item}' is not one of cpu, gpu, gpu(i)`);
  }
  return items;
}

/** Why `device` is not allowed by the --devices list, or null. */
export function deviceRefusal(devices: readonly string[], device: Device): string | null {
  if (device.type === 'cpu') return devices.includes('cpu') ? null : 'this server was started without cpu in --devices';
  if (devices.includes('gpu') || devices.includes(`gpu(${device.id})`)) return null;
  return `this server was started with --devices ${devices.join(',')}`;
}

export interface ParsedCommandLine {
  help: boolean;
  options: ServerOptions;
}

/** Every command-line flag (node:util parseArgs options); --help and docs/configuration.md describe each. */
export const CLI_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  devices: { type: 'string' },
  'max-tensor-bytes': { type: 'string' },
  'memory-budget': { type: 'string' },
  'max-cpu-contexts': { type: 'string' },
  'max-workers-per-trainer': { type: 'string' },
  'max-reason-bytes': { type: 'string' },
  'checkpoint-min-interval-ms': { type: 'string' },
  'max-parameters': { type: 'string' },
  'max-constants': { type: 'string' },
  'max-declared-bytes': { type: 'string' },
  'max-trainers': { type: 'string' },
  'max-streams-per-connection': { type: 'string' },
  'max-concurrent-calls': { type: 'string' },
  'max-metadata-bytes': { type: 'string' },
  'max-health-watchers': { type: 'string' },
  'stream-idle-timeout-ms': { type: 'string' },
  'read-timeout-ms': { type: 'string' },
  'keepalive-time-ms': { type: 'string' },
  'keepalive-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  'slow-call-ms': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  reflection: { type: 'boolean' },
  'data-dir': { type: 'string' },
  durability: { type: 'string' },
  'checkpoint-every-steps': { type: 'string' },
  'checkpoint-every-seconds': { type: 'string' },
  'keep-checkpoints': { type: 'string' },
  'wal-batch-ms': { type: 'string' },
  'wal-truncate-corrupt': { type: 'boolean' },
  'auth-token': { type: 'string', multiple: true },
  'auth-token-file': { type: 'string' },
  'read-only-token': { type: 'string', multiple: true },
  'read-only-token-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  insecure: { type: 'boolean' },
  'shard-index': { type: 'string' },
  'num-shards': { type: 'string' },
  cluster: { type: 'string' },
  'slice-bytes': { type: 'string' },
  ...ETCD_ARGS,
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Reads flags, then GLUONPS_* variables for anything not given as a flag. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: CLI_FLAGS,
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see --help`);
  }
  const v = parsed.values;
  const pick = (flag: string | undefined, name: string): string | undefined =>
    flag ?? (env[name] === '' ? undefined : env[name]);
  const options: ServerOptions = {};
  const host = pick(v.host, 'GLUONPS_HOST');
  if (host !== undefined) options.host = host;
  const port = pick(v.port, 'GLUONPS_PORT');
  if (port !== undefined) options.port = parseIntIn('--port', port, 0, 65535);
  const devices = pick(v.devices, 'GLUONPS_DEVICES');
  if (devices !== undefined) options.devices = parseDevices(devices);
  const maxBytes = pick(v['max-tensor-bytes'], 'GLUONPS_MAX_TENSOR_BYTES');
  if (maxBytes !== undefined) options.maxTensorBytes = parseSize('--max-tensor-bytes', maxBytes);
  const budget = pick(v['memory-budget'], 'GLUONPS_MEMORY_BUDGET');
  if (budget !== undefined) options.memoryBudget = parseMemoryBudget(budget);
  const declared = pick(v['max-declared-bytes'], 'GLUONPS_MAX_DECLARED_BYTES');
  if (declared !== undefined) options.maxDeclaredBytes = parseHostBytes('--max-declared-bytes', declared);
  const cpus = pick(v['max-cpu-contexts'], 'GLUONPS_MAX_CPU_CONTEXTS');
  if (cpus !== undefined) options.maxCpuContexts = parseIntIn('--max-cpu-contexts', cpus, 1, 1024);
  const workers = pick(v['max-workers-per-trainer'], 'GLUONPS_MAX_WORKERS_PER_TRAINER');
  if (workers !== undefined)
    options.maxWorkersPerTrainer = parseIntIn('--max-workers-per-trainer', workers, 1, 0xffff_ffff);
  const reasonBytes = pick(v['max-reason-bytes'], 'GLUONPS_MAX_REASON_BYTES');
  if (reasonBytes !== undefined) options.maxReasonBytes = parseIntIn('--max-reason-bytes', reasonBytes, 1, 1 << 20);
  const minInterval = pick(v['checkpoint-min-interval-ms'], 'GLUONPS_CHECKPOINT_MIN_INTERVAL_MS');
  if (minInterval !== undefined)
    options.checkpointMinIntervalMs = parseIntIn('--checkpoint-min-interval-ms', minInterval, 0, 86_400_000);
  // Timers: at most the longest delay setTimeout honours (a longer one fires at once).
  const ms = (flag: string, name: string, min: number): number | undefined => {
    const text = pick((v as Record<string, string | undefined>)[flag], name);
    return text === undefined ? undefined : parseIntIn(`--${flag}`, text, min, MAX_TIMER_MS);
  };
  const count = (flag: string, name: string, max: number): number | undefined => {
    const text = pick((v as Record<string, string | undefined>)[flag], name);
    return text === undefined ? undefined : parseIntIn(`--${flag}`, text, 1, max);
  };
  const counts = [
    ['max-parameters', 'GLUONPS_MAX_PARAMETERS', 'maxParameters', 1e9],
    ['max-constants', 'GLUONPS_MAX_CONSTANTS', 'maxConstants', 1e9],
    ['max-trainers', 'GLUONPS_MAX_TRAINERS', 'maxTrainers', 1e9],
    // HTTP/2 carries the stream limit in a 32-bit setting.
    ['max-streams-per-connection', 'GLUONPS_MAX_STREAMS_PER_CONNECTION', 'maxStreamsPerConnection', 0xffff_ffff],
    ['max-concurrent-calls', 'GLUONPS_MAX_CONCURRENT_CALLS', 'maxConcurrentCalls', 1e9],
    // Node's HTTP/2 layer refuses a header list over 64 KiB before any handler runs.
    ['max-metadata-bytes', 'GLUONPS_MAX_METADATA_BYTES', 'maxMetadataBytes', 65535],
    ['max-health-watchers', 'GLUONPS_MAX_HEALTH_WATCHERS', 'maxHealthWatchers', 1e9],
  ] as const;
  for (const [flag, name, key, max] of counts) {
    const n = count(flag, name, max);
    if (n !== undefined) options[key] = n;
  }
  const idle = ms('stream-idle-timeout-ms', 'GLUONPS_STREAM_IDLE_TIMEOUT_MS', 1);
  if (idle !== undefined) options.streamIdleTimeoutMs = idle;
  const read = ms('read-timeout-ms', 'GLUONPS_READ_TIMEOUT_MS', 1);
  if (read !== undefined) options.readTimeoutMs = read;
  const kaTime = ms('keepalive-time-ms', 'GLUONPS_KEEPALIVE_TIME_MS', 1000);
  if (kaTime !== undefined) options.keepaliveTimeMs = kaTime;
  const kaTimeout = ms('keepalive-timeout-ms', 'GLUONPS_KEEPALIVE_TIMEOUT_MS', 1);
  if (kaTimeout !== undefined) options.keepaliveTimeoutMs = kaTimeout;
  const level = pick(v['log-level'], 'GLUONPS_LOG_LEVEL');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level))
      throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
    options.logLevel = level as LogLevel;
  }
  const slow = pick(v['slow-call-ms'], 'GLUONPS_SLOW_CALL_MS');
  if (slow !== undefined) options.slowCallMs = parseIntIn('--slow-call-ms', slow, 0, MAX_TIMER_MS);
  const metricsPort = pick(v['metrics-port'], 'GLUONPS_METRICS_PORT');
  if (metricsPort !== undefined) options.metricsPort = parseIntIn('--metrics-port', metricsPort, 0, 65535);
  const metricsHost = pick(v['metrics-host'], 'GLUONPS_METRICS_HOST');
  if (metricsHost !== undefined) {
    if (options.metricsPort === undefined)
      throw new ConfigError('--metrics-host needs --metrics-port: the metrics server is off without a port');
    options.metricsHost = metricsHost;
  }
  const reflection = v.reflection === true ? 'true' : pick(undefined, 'GLUONPS_REFLECTION');
  if (reflection !== undefined) options.reflection = parseSwitch('GLUONPS_REFLECTION', reflection);
  const dataDir = pick(v['data-dir'], 'GLUONPS_DATA_DIR') ?? './data';
  options.dataDir = dataDir === 'none' ? null : dataDir;
  const durability = pick(v.durability, 'GLUONPS_DURABILITY');
  if (durability !== undefined) {
    if (!['checkpoint', 'wal-batch', 'wal-always'].includes(durability))
      throw new ConfigError(`--durability: expected checkpoint, wal-batch or wal-always, got '${durability}'`);
    options.durability = durability as ServerOptions['durability'];
  }
  const steps = pick(v['checkpoint-every-steps'], 'GLUONPS_CHECKPOINT_EVERY_STEPS');
  if (steps !== undefined) options.checkpointEverySteps = parseIntIn('--checkpoint-every-steps', steps, 1, 1e12);
  const secs = pick(v['checkpoint-every-seconds'], 'GLUONPS_CHECKPOINT_EVERY_SECONDS');
  if (secs !== undefined) options.checkpointEverySeconds = parseIntIn('--checkpoint-every-seconds', secs, 1, 1e9);
  const keep = pick(v['keep-checkpoints'], 'GLUONPS_KEEP_CHECKPOINTS');
  if (keep !== undefined) options.keepCheckpoints = parseIntIn('--keep-checkpoints', keep, 1, 1000);
  const batchMs = pick(v['wal-batch-ms'], 'GLUONPS_WAL_BATCH_MS');
  if (batchMs !== undefined) options.walBatchMs = parseIntIn('--wal-batch-ms', batchMs, 1, 60_000);
  if (v['wal-truncate-corrupt'] === true) options.walTruncateCorrupt = true;
  // A repeated flag adds to the list; the variable, read only without the flag, is one list.
  const list = (flag: string[] | undefined, name: string): string | undefined => pick(flag?.join(','), name);
  const tokens = [
    ...parseTokenList('--auth-token', list(v['auth-token'], 'GLUONPS_AUTH_TOKEN')),
    ...readTokenFile('--auth-token-file', pick(v['auth-token-file'], 'GLUONPS_AUTH_TOKEN_FILE')),
  ];
  const readOnlyTokens = [
    ...parseTokenList('--read-only-token', list(v['read-only-token'], 'GLUONPS_READ_ONLY_TOKEN')),
    ...readTokenFile('--read-only-token-file', pick(v['read-only-token-file'], 'GLUONPS_READ_ONLY_TOKEN_FILE')),
  ];
  if (tokens.length > 0 || readOnlyTokens.length > 0) options.auth = { tokens, readOnlyTokens };
  const cert = pick(v['tls-cert'], 'GLUONPS_TLS_CERT');
  const key = pick(v['tls-key'], 'GLUONPS_TLS_KEY');
  const clientCa = pick(v['tls-client-ca'], 'GLUONPS_TLS_CLIENT_CA');
  if (cert === undefined && key !== undefined)
    throw new ConfigError('--tls-key needs --tls-cert too: TLS needs the certificate and its private key');
  if (cert !== undefined && key === undefined)
    throw new ConfigError('--tls-cert needs --tls-key too: TLS needs the certificate and its private key');
  if (cert === undefined && clientCa !== undefined)
    throw new ConfigError(
      '--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked only over TLS',
    );
  if (cert !== undefined && key !== undefined) {
    options.tls = { cert: readConfigFile('--tls-cert', cert), key: readConfigFile('--tls-key', key) };
    if (clientCa !== undefined) options.tls.clientCa = readConfigFile('--tls-client-ca', clientCa);
  }
  const insecure = v.insecure === true ? 'true' : pick(undefined, 'GLUONPS_INSECURE');
  if (insecure !== undefined && parseSwitch('GLUONPS_INSECURE', insecure)) options.insecure = true;
  const shardIndex = pick(v['shard-index'], 'GLUONPS_SHARD_INDEX');
  const numShards = pick(v['num-shards'], 'GLUONPS_NUM_SHARDS');
  const cluster = pick(v.cluster, 'GLUONPS_CLUSTER');
  const sliceBytes = pick(v['slice-bytes'], 'GLUONPS_SLICE_BYTES');
  if ((shardIndex === undefined) !== (numShards === undefined))
    throw new ConfigError('--shard-index and --num-shards go together: a shard needs its index and the shard count');
  if (shardIndex !== undefined || cluster !== undefined || sliceBytes !== undefined) {
    const count = numShards === undefined ? 1 : parseIntIn('--num-shards', numShards, 1, MAX_SHARDS);
    options.shard = {
      index: shardIndex === undefined ? 0 : parseIntIn('--shard-index', shardIndex, 0, count - 1),
      count,
    };
    if (cluster !== undefined) options.shard.cluster = cluster;
    if (sliceBytes !== undefined) options.shard.sliceBytes = parseSize('--slice-bytes', sliceBytes);
    shardRoute(options.shard); // the cluster name's check
  }
  const etcd = parseEtcdFlags((flag, variable) => pick(v[flag], variable), readConfigFile);
  if (typeof etcd === 'string') throw new ConfigError(etcd);
  if (etcd !== undefined) options.etcd = etcd;
  return { help: v.help === true, options };
}

/** An on/off environment variable: 1, true, yes or 0, false, no. */
function parseSwitch(name: string, text: string): boolean {
  const on = ['1', 'true', 'yes'].includes(text.toLowerCase());
  if (!on && !['0', 'false', 'no'].includes(text.toLowerCase()))
    throw new ConfigError(`${name}: expected 1, true, yes, 0, false or no, got '${text}'`);
  return on;
}

// What an HTTP/2 header value can carry without quoting: the client checks the same.
const TOKEN = /^[\x21-\x7e]+$/;

/** Throws unless every token is visible ASCII; the message counts, never shows, the token. */
export function checkTokens(what: string, tokens: readonly unknown[]): void {
  tokens.forEach((t, i) => {
    if (typeof t !== 'string' || !TOKEN.test(t)) {
      throw new ConfigError(`${what}: token ${i + 1} is not valid: expected visible ASCII characters without spaces`);
    }
  });
}

/** A comma-separated token list (empty entries skipped); none given = []. */
function parseTokenList(what: string, text: string | undefined): string[] {
  if (text === undefined) return [];
  const tokens = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (tokens.length === 0) throw new ConfigError(`${what}: expected one or more tokens, comma-separated`);
  checkTokens(what, tokens);
  return tokens;
}

/** Tokens of a token file: one per line; blank lines and lines starting with # are skipped. */
export function parseTokenFile(what: string, text: string): string[] {
  const tokens: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (!TOKEN.test(line))
      throw new ConfigError(
        `${what}: line ${i + 1} is not a valid token: expected visible ASCII characters without spaces`,
      );
    tokens.push(line);
  });
  // An empty file must not quietly turn authentication off.
  if (tokens.length === 0)
    throw new ConfigError(`${what}: no token in the file (one per line; blank lines and # comments are skipped)`);
  return tokens;
}

function readTokenFile(flag: string, file: string | undefined): string[] {
  return file === undefined ? [] : parseTokenFile(`${flag} ${file}`, readConfigFile(flag, file).toString('utf8'));
}

function readConfigFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${flag}: cannot read ${file} (${(err as Error).message})`);
  }
}
