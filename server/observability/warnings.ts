// warnings.ts: the last warnings and errors the server logged, for GetStatus and the status
// page. The logger's logMethod hook (server/log.ts) feeds every warn/error/fatal line here; the
// ring keeps the newest RING_SIZE, each field cut to a bounded length, so a flood of warnings
// (or a huge error message) costs a fixed amount of memory.
import type { LogEvent } from '../../common/status';

export const WARNING_RING_SIZE = 50;
const MAX_MESSAGE_CHARS = 500;
const MAX_FIELD_CHARS = 200;
const MAX_FIELDS = 12;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** A field's value as bounded text: an Error as its message, objects as JSON. */
function fieldText(value: unknown): string {
  if (value instanceof Error) return clip(value.message, MAX_FIELD_CHARS);
  if (typeof value === 'string') return clip(value, MAX_FIELD_CHARS);
  if (typeof value === 'bigint') return value.toString();
  try {
    return clip(JSON.stringify(value) ?? String(value), MAX_FIELD_CHARS);
  } catch {
    return clip(String(value), MAX_FIELD_CHARS);
  }
}

const LEVELS: Record<number, LogEvent['level']> = { 40: 'warn', 50: 'error', 60: 'fatal' };

export class WarningRing {
  private readonly events: LogEvent[] = [];
  /** Warnings and errors seen since start (the ring keeps only the last ones). */
  total = 0;

  constructor(readonly size = WARNING_RING_SIZE) {}

  /**
   * Records one log call at pino level number `level` (40 warn, 50 error, 60 fatal; others are
   * ignored) made with pino's arguments: (fields, message, ...), (message, ...) or (error, ...).
   */
  record(level: number, args: readonly unknown[]): void {
    const name = LEVELS[level];
    if (name === undefined) return;
    const [first, second] = args;
    let message = '';
    const fields: Record<string, string> = {};
    if (typeof first === 'string') message = first;
    else if (first instanceof Error) {
      message = typeof second === 'string' ? second : first.message;
      fields.err = fieldText(first);
    } else if (first !== null && typeof first === 'object') {
      if (typeof second === 'string') message = second;
      for (const [k, v] of Object.entries(first as Record<string, unknown>)) {
        if (Object.keys(fields).length >= MAX_FIELDS) break;
        if (v !== undefined) fields[clip(k, 64)] = fieldText(v);
      }
    }
    this.total++;
    this.events.push({ timeUnixMs: Date.now(), level: name, message: clip(message, MAX_MESSAGE_CHARS), fields });
    if (this.events.length > this.size) this.events.splice(0, this.events.length - this.size);
  }

  /** The kept events, oldest first (copies). */
  list(): LogEvent[] {
    return this.events.map((e) => ({ ...e, fields: { ...e.fields } }));
  }
}
