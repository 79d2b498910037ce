// config.ts: server options from command-line flags and GLUONPS_* environment variables
// (flags win), with units for sizes and a clear error for anything invalid.
import { parseArgs } from 'node:util';
import type { Device } from '../native/index';
import { LOG_LEVELS } from './log';
import type { LogLevel } from './log';
import { DEFAULT_MAX_CPU_CONTEXTS, DEFAULT_MAX_TENSOR_BYTES } from './store/defaults';

export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 50051); 0 picks a free one. */
  port?: number;
  /** Device kinds parameters may live on: 'cpu', 'gpu' (every GPU present) or 'gpu(i)' (default: cpu and every GPU present). */
  devices?: string[];
  /** Largest tensor in bytes (default 1 GiB). */
  maxTensorBytes?: number;
  /** Per-device memory budget in bytes for parameter data (default: none). */
  memoryBudget?: number | null;
  /** cpu(i) contexts allowed are 0 <= i < maxCpuContexts (default 8). */
  maxCpuContexts?: number;
  /** pino level, or 'silent' (default 'info'). */
  logLevel?: LogLevel;
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
  --memory-budget <size>     bytes of parameter data per device  GLUONPS_MEMORY_BUDGET    (default none)
  --max-cpu-contexts <n>     cpu(i) allowed for i < n            GLUONPS_MAX_CPU_CONTEXTS (default 8)
  --log-level <level>        fatal|error|warn|info|debug|trace|silent  GLUONPS_LOG_LEVEL (default info)
  --data-dir <dir>           where state persists; 'none' = memory only  GLUONPS_DATA_DIR (default ./data)
  --durability <mode>        checkpoint | wal-batch | wal-always  GLUONPS_DURABILITY (default wal-batch)
  --checkpoint-every-steps <n>    checkpoint after n trainer steps      GLUONPS_CHECKPOINT_EVERY_STEPS (default none)
  --checkpoint-every-seconds <n>  checkpoint every n s if changed       GLUONPS_CHECKPOINT_EVERY_SECONDS (default 300)
  --keep-checkpoints <n>     valid checkpoints kept                  GLUONPS_KEEP_CHECKPOINTS (default 3)
  --wal-batch-ms <n>         wal-batch: max ms between write and fsync  GLUONPS_WAL_BATCH_MS (default 10)
  --wal-truncate-corrupt     drop a corrupt log record and what follows instead of refusing to start
  -h, --help                 print this help

Sizes take a unit: 1048576, 512KiB, 64MiB, 1GiB (also KB/MB/GB = powers of 1000).
`;

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

export function parseSize(what: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${what}: expected a size like 1048576, 64MiB or 1GiB, got '${text}'`);
  const v = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${what}: size must be a positive number of bytes, got '${text}'`);
  return v;
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
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(`--devices: expected a list such as 'cpu' or 'cpu,gpu(0)', got '${text}'`);
  for (const item of items) {
    if (!/^(cpu|gpu|gpu\(\d+\))$/.test(item)) throw new ConfigError(`--devices: '${item}' is not one of cpu, gpu, gpu(i)`);
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

/** Reads flags, then GLUONPS_* variables for anything not given as a flag. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        devices: { type: 'string' },
        'max-tensor-bytes': { type: 'string' },
        'memory-budget': { type: 'string' },
        'max-cpu-contexts': { type: 'string' },
        'log-level': { type: 'string' },
        'data-dir': { type: 'string' },
        durability: { type: 'string' },
        'checkpoint-every-steps': { type: 'string' },
        'checkpoint-every-seconds': { type: 'string' },
        'keep-checkpoints': { type: 'string' },
        'wal-batch-ms': { type: 'string' },
        'wal-truncate-corrupt': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; see --help`);
  }
  const v = parsed.values;
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (env[name] === '' ? undefined : env[name]);
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
  if (budget !== undefined) options.memoryBudget = parseSize('--memory-budget', budget);
  const cpus = pick(v['max-cpu-contexts'], 'GLUONPS_MAX_CPU_CONTEXTS');
  if (cpus !== undefined) options.maxCpuContexts = parseIntIn('--max-cpu-contexts', cpus, 1, 1024);
  const level = pick(v['log-level'], 'GLUONPS_LOG_LEVEL');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
    options.logLevel = level as LogLevel;
  }
  const dataDir = pick(v['data-dir'], 'GLUONPS_DATA_DIR') ?? './data';
  options.dataDir = dataDir === 'none' ? null : dataDir;
  const durability = pick(v.durability, 'GLUONPS_DURABILITY');
  if (durability !== undefined) {
    if (!['checkpoint', 'wal-batch', 'wal-always'].includes(durability)) throw new ConfigError(`--durability: expected checkpoint, wal-batch or wal-always, got '${durability}'`);
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
  return { help: v.help === true, options };
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 50051,
  maxTensorBytes: DEFAULT_MAX_TENSOR_BYTES,
  maxCpuContexts: DEFAULT_MAX_CPU_CONTEXTS,
  logLevel: 'info' as LogLevel,
};
