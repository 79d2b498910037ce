// format.ts: how the CLI writes numbers and tables for people: byte sizes, durations, times,
// contexts, and columns aligned to their widest cell. Also the Output it writes to (process,
// or a test's collector).
import type { Context } from '../index';

export interface Output {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

/** Sizes for the export/import lines: always KiB and up. */
export function mib(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** A byte count for people: `0 B`, `512 B`, `1.5 KiB`, `12.0 MiB`, `3.25 GiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n < 1024 ** 4) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  return `${(n / 1024 ** 4).toFixed(2)} TiB`;
}

/** A duration for people: `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 04h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const two = (n: number): string => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${two((s % 86400) / 3600)}h`;
}

/** A time as the local `YYYY-MM-DD HH:MM:SS`. */
export function clock(unixMs: number): string {
  const d = new Date(unixMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `12:00:01 (3m 05s ago)` relative to `now`. */
export function when(unixMs: number, now: number): string {
  return `${clock(unixMs)} (${duration(Math.max(0, now - unixMs))} ago)`;
}

export function contexts(ctx: readonly Context[]): string {
  return ctx.length === 0 ? '-' : ctx.map((c) => `${c.deviceType}(${c.deviceId})`).join(',');
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Worker ids, the first `max` of them, then how many more: `3, 7, 9 and 12 more`. */
export function workerList(ids: readonly number[], count: number, max = 16): string {
  const shown = ids.slice(0, max).join(', ');
  return count > Math.min(ids.length, max) ? `${shown} and ${count - Math.min(ids.length, max)} more` : shown;
}

/**
 * Rows as aligned columns (two spaces apart, the last column not padded); `right` names the
 * columns aligned right (numbers). The first row is the header.
 */
export function table(rows: ReadonlyArray<readonly string[]>, right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 && !right.has(i)
          ? cell
          : right.has(i)
            ? cell.padStart(widths[i]!)
            : cell.padEnd(widths[i]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** A learning rate without float noise: 0.001, 1e-05, 0.25. */
export function rate(lr: number): string {
  return String(Number(lr.toPrecision(6)));
}
