// config-defaults.ts: the values startServer uses for options left out (flags, variables or
// startServer's options), in one object so the server and the tests agree on them. Apart from
// config.ts (flag parsing) so that file stays about one concept; config.ts re-exports DEFAULTS.
import type { LogLevel } from './log';
import {
  DEFAULT_CHECKPOINT_MIN_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_CALLS,
  DEFAULT_MAX_CONSTANTS,
  DEFAULT_MAX_HEALTH_WATCHERS,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_MAX_PARAMETERS,
  DEFAULT_MAX_REASON_BYTES,
  DEFAULT_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_MAX_TRAINERS,
  DEFAULT_MAX_WORKERS_PER_TRAINER,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
} from './limits';
import { DEFAULT_MAX_CPU_CONTEXTS, DEFAULT_MAX_TENSOR_BYTES } from './store/defaults';

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 50051,
  maxTensorBytes: DEFAULT_MAX_TENSOR_BYTES,
  maxCpuContexts: DEFAULT_MAX_CPU_CONTEXTS,
  maxWorkersPerTrainer: DEFAULT_MAX_WORKERS_PER_TRAINER,
  maxReasonBytes: DEFAULT_MAX_REASON_BYTES,
  checkpointMinIntervalMs: DEFAULT_CHECKPOINT_MIN_INTERVAL_MS,
  maxParameters: DEFAULT_MAX_PARAMETERS,
  maxConstants: DEFAULT_MAX_CONSTANTS,
  maxTrainers: DEFAULT_MAX_TRAINERS,
  maxStreamsPerConnection: DEFAULT_MAX_STREAMS_PER_CONNECTION,
  maxConcurrentCalls: DEFAULT_MAX_CONCURRENT_CALLS,
  maxMetadataBytes: DEFAULT_MAX_METADATA_BYTES,
  maxHealthWatchers: DEFAULT_MAX_HEALTH_WATCHERS,
  streamIdleTimeoutMs: DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  keepaliveTimeMs: DEFAULT_KEEPALIVE_TIME_MS,
  keepaliveTimeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS,
  logLevel: 'info' as LogLevel,
  slowCallMs: 1000,
  metricsHost: '127.0.0.1',
};
