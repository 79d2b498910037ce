// log.ts: the server's pino logger. JSON lines on stdout; one line per lifecycle event and per
// failed call (method, parameter, status). Tensor bytes are never logged. Every warning and
// error also goes to `warnings` (the recent-warnings ring GetStatus shows), through pino's
// logMethod hook, which child loggers inherit.
import pino from 'pino';
import type { Logger } from 'pino';
import type { WarningRing } from './observability/warnings';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info', warnings: WarningRing | null = null): Logger {
  if (warnings === null) return pino({ level, base: { service: 'gluon-ps' } });
  return pino({
    level,
    base: { service: 'gluon-ps' },
    hooks: {
      logMethod(args, method, levelNumber) {
        if (levelNumber >= 40) warnings.record(levelNumber, args);
        return method.apply(this, args);
      },
    },
  });
}
