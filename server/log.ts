// log.ts: the server's pino logger. JSON lines on stdout; one line per lifecycle event and per
// failed call (method, parameter, status). Tensor bytes are never logged.
import pino from 'pino';
import type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { service: 'gluon-ps' } });
}
