// saveParameters / loadParameters: a server's parameters to and from tensor files (MXNet
// .params by default, safetensors, .npz; .npy too for loading), with Gluon's names and
// semantics (Block.save_parameters / load_parameters and Parameter._load_init, restated in
// MXNet gluon/block.py and gluon/parameter.py; docs/api.md). The bytes of every format come from
// common/formats, which is pure (no native addon, no server state), so the client may use it.
//
// Loading checks everything it can before it changes anything: the file is parsed and
// validated, names are matched (allowMissing / ignoreExtra), and every shape, dtype and context
// is checked against the server's descriptions; only then are values written, one parameter
// at a time. Saving reads every value first (safetensors streams them instead) and writes the
// file under a temporary name in the same directory, renamed over `file` only when complete.
//
// This file: the public option and result types, and the checks and small helpers both
// directions share; save.ts writes files, load-plan.ts matches a file against the server, and
// load.ts applies the plan.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FormatError } from '../../common/formats/index';
import { checkKeys, type Context, type ParameterDescriptor, type ParameterSpec } from '../convert';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import type { Parameter } from '../parameter';
import { dtypeSize, shapeSize, type DType } from '../tensor';

/** The formats saveParameters writes. */
export const SAVE_FORMATS = ['params', 'safetensors', 'npz'] as const;
export type SaveFormat = (typeof SAVE_FORMATS)[number];
/** The formats loadParameters reads (detected from the content when not given). */
export const LOAD_FORMATS = ['params', 'safetensors', 'npz', 'npy'] as const;
export type LoadFormat = (typeof LOAD_FORMATS)[number];

/** Reported after each parameter is read from the server (save) or written to it (load). */
export interface PersistProgress {
  op: 'save' | 'load';
  /** The parameter just transferred. */
  name: string;
  /** Parameters transferred so far, of `total`. */
  done: number;
  total: number;
  /** Tensor bytes transferred so far, of `totalBytes` (dense bytes; file headers not counted). */
  bytes: number;
  totalBytes: number;
}

export interface SaveParametersOptions {
  /** Parameters (and constants) to save, in this order; default every one, in declaration order. */
  names?: readonly string[] | null;
  /** File format (default 'params', MXNet's `nd.save` format with V2 records). */
  format?: SaveFormat;
  /** .params only: write V3 records (MXNet numpy-shape mode), which can hold scalars; dense only. */
  numpyShape?: boolean;
  /** Called after each parameter's value has been read. */
  onProgress?: ((progress: PersistProgress) => void) | null;
}

export interface SaveParametersResult {
  file: string;
  format: SaveFormat;
  /** The names written, in file order for params/npz (safetensors orders entries itself). */
  names: string[];
  /** Size of the file written. */
  bytes: number;
}

export interface LoadParametersOptions {
  /**
   * The parameters to load, Gluon's "the block's parameters" (default every parameter and
   * constant on the server). Missing and extra are judged against this set.
   */
  names?: readonly string[] | null;
  /** Parameters in `names` that the file lacks are left as they are instead of failing. */
  allowMissing?: boolean;
  /** Entries of the file that are not in `names` are skipped instead of failing. */
  ignoreExtra?: boolean;
  /**
   * Contexts of parameters that are not initialized yet (default [cpu(0)]). For an initialized
   * or deferred parameter it must be the same set as its contexts (or be left out).
   */
  ctx?: Context | readonly Context[] | null;
  /** Convert values whose dtype differs from the parameter's instead of failing. */
  castDtype?: boolean;
  /** With castDtype: 'current' (default) converts the file's values to the parameter's dtype; 'saved' casts the parameter to the file's dtype. */
  dtypeSource?: 'current' | 'saved';
  /**
   * Declare the file's entries that the server does not have (shape and dtype from the file;
   * stype row_sparse for row_sparse records), and initialize them from the file. An extension
   * of Gluon's semantics for restoring a fresh server; without it they are extra entries.
   */
  declare?: boolean;
  /** The file's format; default detected from its content (never from its extension). */
  format?: LoadFormat;
  /** Called after each parameter has been written. */
  onProgress?: ((progress: PersistProgress) => void) | null;
}

export interface LoadParametersResult {
  format: LoadFormat;
  /** Parameters whose value now comes from the file, in file order. */
  loaded: string[];
  /** Of those, the ones declared because the server lacked them (`declare`). */
  declared: string[];
  /** Parameters of `names` the file lacks (only with allowMissing). */
  missing: string[];
  /** File entries (prefix stripped) that were skipped (only with ignoreExtra). */
  extra: string[];
}

/** @internal What persist needs from the connection (ParameterServerClient provides it). */
export interface PersistHost {
  list(): Promise<ParameterDescriptor[]>;
  /** A handle without a round trip. */
  handle(name: string): Parameter;
  declare(name: string, spec: ParameterSpec): Promise<Parameter>;
}

export const SAVE_KEYS = ['names', 'format', 'numpyShape', 'onProgress'];
export const LOAD_KEYS = [
  'names',
  'allowMissing',
  'ignoreExtra',
  'ctx',
  'castDtype',
  'dtypeSource',
  'declare',
  'format',
  'onProgress',
];
/** Values read ahead of the file writer (save) or in flight to the server (load). */
export const CONCURRENCY = 4;
/** How many names an error message lists before "and N more". */
export const LIST_LIMIT = 20;

export const quote = (name: string): string => `'${name}'`;

export function nameList(names: readonly string[], limit = LIST_LIMIT): string {
  const shown = names.slice(0, limit).map(quote).join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

export const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);
export const ctxKey = (c: Context): string => `${c.deviceType}(${c.deviceId})`;
export const ctxSetKey = (list: readonly Context[]): string => [...new Set(list.map(ctxKey))].sort().join(',');
export const fmtCtx = (list: readonly Context[]): string => `[${list.map(ctxKey).join(', ')}]`;

/** The checks both directions start with: a file path, and an options object with only `keys`. */
export function checkCall(who: string, file: unknown, options: unknown, keys: readonly string[]): void {
  if (typeof file !== 'string' || file === '')
    throw invalidArgument(`${who}: the file must be a non-empty path string, got ${show(file)}`);
  if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
  checkKeys(who, options, keys);
}

export function checkBool(who: string, field: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalidArgument(`${who}: ${field} must be a boolean, got ${show(value)}`);
  return value;
}

export function checkNames(who: string, names: unknown): string[] | null {
  if (names === undefined || names === null) return null;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
    throw invalidArgument(`${who}: names must be an array of non-empty parameter names, got ${show(names)}`);
  }
  const seen = new Set<string>();
  const twice = (names as string[]).filter((n) => (seen.has(n) ? true : (seen.add(n), false)));
  if (twice.length > 0) throw invalidArgument(`${who}: names lists ${nameList([...new Set(twice)])} more than once`);
  return [...(names as string[])];
}

export function checkProgress(who: string, fn: unknown): ((p: PersistProgress) => void) | null {
  if (fn === undefined || fn === null) return null;
  if (typeof fn !== 'function') throw invalidArgument(`${who}: onProgress must be a function, got ${show(fn)}`);
  return fn as (p: PersistProgress) => void;
}

/** A file-system or format failure as a GluonPsError (the original kept as `cause`). */
export function fileError(who: string, file: string, err: unknown): GluonPsError {
  if (err instanceof GluonPsError) return err;
  if (err instanceof FormatError)
    return new GluonPsError(Status.INVALID_ARGUMENT, `${who}: ${err.message}`, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const status =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? Status.NOT_FOUND
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? Status.PERMISSION_DENIED
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? Status.RESOURCE_EXHAUSTED
          : code === 'EISDIR'
            ? Status.INVALID_ARGUMENT
            : Status.UNKNOWN;
  return new GluonPsError(status, `${who}: ${file}: ${message}`, { cause: err });
}

/** Runs `tasks` at most `limit` at a time, in order of start; rejects with the first failure. */
export async function runLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * Starts tasks in order, up to `ahead` beyond the one asked for, so reading the next values
 * overlaps writing this one; at most ahead + 1 results are held at once.
 */
export function prefetcher<T>(tasks: ReadonlyArray<() => Promise<T>>, ahead: number): (i: number) => Promise<T> {
  const started = new Map<number, Promise<T>>();
  let highest = -1;
  return (i) => {
    for (let k = Math.max(i, highest + 1); k <= i + ahead && k < tasks.length; k++) {
      const p = tasks[k]!();
      p.catch(() => undefined); // awaited when its turn comes; never an unhandled rejection
      started.set(k, p);
      highest = k;
    }
    const p = started.get(i);
    if (p === undefined) throw new Error(`persist: task ${i} requested out of order`);
    started.delete(i);
    return p;
  };
}

export function tempPath(file: string): string {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function denseBytes(dtype: DType, shape: readonly number[] | null): number {
  return shape === null ? 0 : shapeSize(shape) * dtypeSize(dtype);
}
