// saveParameters / loadParameters: a server's parameters to and from tensor files (MXNet
// .params by default, safetensors, .npz; .npy too for loading), with Gluon's names and
// semantics (Block.save_parameters / load_parameters and Parameter._load_init, restated in
// shared/reference/gluon-parameter-spec.md §2.16 and §7.4). The bytes of every format come from
// server/formats, which is pure (no native addon, no server state), so the client may use it.
//
// Loading checks everything it can before it changes anything: the file is parsed and
// validated, names are matched (allowMissing / ignoreExtra), and every shape, dtype and context
// is checked against the server's descriptions; only then are values written, one parameter
// at a time. Saving reads every value first (safetensors streams them instead) and writes the
// file under a temporary name in the same directory, renamed over `file` only when complete.
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  detectFormat,
  FormatError,
  openSafetensors,
  readTensorFile,
  safetensorsLayout,
  splitParamPrefix,
  writeSafetensorsFile,
  writeTensorFile,
} from '../server/formats/index';
import type { NamedTensor, TensorFormat } from '../server/formats/index';
import { checkKeys, contextsToProto, type Context, type ParameterDescriptor, type ParameterSpec } from './convert';
import { GluonPsError, invalidArgument, show, Status } from './errors';
import type { Parameter } from './parameter';
import { dtypeSize, shapeSize, tensorBytes, tensorFromBytes, type DType } from './tensor';

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

const SAVE_KEYS = ['names', 'format', 'numpyShape', 'onProgress'];
const LOAD_KEYS = ['names', 'allowMissing', 'ignoreExtra', 'ctx', 'castDtype', 'dtypeSource', 'declare', 'format', 'onProgress'];
/** Values read ahead of the file writer (save) or in flight to the server (load). */
const CONCURRENCY = 4;
/** How many names an error message lists before "and N more". */
const LIST_LIMIT = 20;

// --- Small helpers -----------------------------------------------------------------------------

const quote = (name: string): string => `'${name}'`;

function nameList(names: readonly string[], limit = LIST_LIMIT): string {
  const shown = names.slice(0, limit).map(quote).join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);
const fmtShape = (shape: readonly number[] | null): string => (shape === null ? 'unknown' : `[${shape.join(',')}]`);
const ctxKey = (c: Context): string => `${c.deviceType}(${c.deviceId})`;
const ctxSetKey = (list: readonly Context[]): string => [...new Set(list.map(ctxKey))].sort().join(',');
const fmtCtx = (list: readonly Context[]): string => `[${list.map(ctxKey).join(', ')}]`;

function checkFile(who: string, file: unknown): string {
  if (typeof file !== 'string' || file === '') throw invalidArgument(`${who}: the file must be a non-empty path string, got ${show(file)}`);
  return file;
}

function checkBool(who: string, field: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalidArgument(`${who}: ${field} must be a boolean, got ${show(value)}`);
  return value;
}

function checkNames(who: string, names: unknown): string[] | null {
  if (names === undefined || names === null) return null;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
    throw invalidArgument(`${who}: names must be an array of non-empty parameter names, got ${show(names)}`);
  }
  const seen = new Set<string>();
  const twice = (names as string[]).filter((n) => (seen.has(n) ? true : (seen.add(n), false)));
  if (twice.length > 0) throw invalidArgument(`${who}: names lists ${nameList([...new Set(twice)])} more than once`);
  return [...(names as string[])];
}

function checkProgress(who: string, fn: unknown): ((p: PersistProgress) => void) | null {
  if (fn === undefined || fn === null) return null;
  if (typeof fn !== 'function') throw invalidArgument(`${who}: onProgress must be a function, got ${show(fn)}`);
  return fn as (p: PersistProgress) => void;
}

/** A file-system or format failure as a GluonPsError (the original kept as `cause`). */
function fileError(who: string, file: string, err: unknown): GluonPsError {
  if (err instanceof GluonPsError) return err;
  if (err instanceof FormatError) return new GluonPsError(Status.INVALID_ARGUMENT, `${who}: ${err.message}`, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const status = code === 'ENOENT' || code === 'ENOTDIR' ? Status.NOT_FOUND
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? Status.PERMISSION_DENIED
      : code === 'ENOSPC' || code === 'EDQUOT' ? Status.RESOURCE_EXHAUSTED
        : code === 'EISDIR' ? Status.INVALID_ARGUMENT
          : Status.UNKNOWN;
  return new GluonPsError(status, `${who}: ${file}: ${message}`, { cause: err });
}

/** Runs `tasks` at most `limit` at a time, in order of start; rejects with the first failure. */
async function runLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
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
function prefetcher<T>(tasks: ReadonlyArray<() => Promise<T>>, ahead: number): (i: number) => Promise<T> {
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

function tempPath(file: string): string {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function denseBytes(dtype: DType, shape: readonly number[] | null): number {
  return shape === null ? 0 : shapeSize(shape) * dtypeSize(dtype);
}

// --- saveParameters ----------------------------------------------------------------------------

/**
 * Gluon's save_parameters: writes each parameter's value under its name. The value is the
 * copy on the parameter's first context (the server keeps every copy equal: set_data,
 * initialization and the trainer write all of them, so this is MXNet's `_reduce` mean).
 * row_sparse parameters are read whole (every row) and written as row_sparse records in
 * .params, dense in safetensors and npz.
 */
export async function saveParameters(host: PersistHost, file: string, options: SaveParametersOptions = {}): Promise<SaveParametersResult> {
  const who = 'saveParameters()';
  checkFile(who, file);
  if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
  checkKeys(who, options, SAVE_KEYS);
  const format = options.format ?? 'params';
  if (!(SAVE_FORMATS as readonly string[]).includes(format)) {
    throw invalidArgument(`${who}: format must be one of ${SAVE_FORMATS.join(', ')}, got ${show(format)}` +
      ((format as string) === 'npy' ? ' (a .npy file holds one array; use npz)' : ''));
  }
  const numpyShape = checkBool(who, 'numpyShape', options.numpyShape);
  if (numpyShape && format !== 'params') throw invalidArgument(`${who}: numpyShape applies to the params format only`);
  const names = checkNames(who, options.names);
  const onProgress = checkProgress(who, options.onProgress);

  const all = await host.list();
  const byName = new Map(all.map((d) => [d.name, d]));
  let chosen: ParameterDescriptor[];
  if (names === null) {
    chosen = all;
  } else {
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw new GluonPsError(Status.NOT_FOUND, `${who}: ${plural(unknown.length, 'parameter')} ${nameList(unknown)} ${plural(unknown.length, 'does', 'do')} not exist`);
    }
    chosen = names.map((n) => byName.get(n)!);
  }
  const notReady = chosen.filter((d) => !d.initialized);
  if (notReady.length > 0) {
    const list = notReady.map((d) => `${quote(d.name)}${d.deferred ? ' (initialization deferred until its shape is known)' : ''}`);
    const shown = list.slice(0, LIST_LIMIT).join(', ') + (list.length > LIST_LIMIT ? ` and ${list.length - LIST_LIMIT} more` : '');
    throw new GluonPsError(Status.FAILED_PRECONDITION,
      `${who}: cannot save ${notReady.length} ${plural(notReady.length, 'parameter')} that ${plural(notReady.length, 'is', 'are')} not initialized: ${shown}; ` +
      'initialize them first, or leave them out with names');
  }

  const totalBytes = chosen.reduce((s, d) => s + denseBytes(d.dtype, d.shape), 0);
  let done = 0;
  let bytesDone = 0;
  const fetch = async (d: ParameterDescriptor): Promise<NamedTensor> => {
    const t = await readValue(host.handle(d.name), d, format === 'params');
    done++;
    bytesDone += t.data.byteLength;
    onProgress?.({ op: 'save', name: d.name, done, total: chosen.length, bytes: bytesDone, totalBytes });
    return t;
  };

  const tmp = tempPath(file);
  try {
    let written: string[];
    if (format === 'safetensors') {
      // Streamed: the writer asks for each tensor in its file order; values are read a few ahead.
      const specs = chosen.map((d) => ({ name: d.name, dtype: d.dtype, shape: d.shape! }));
      let layout;
      try {
        layout = safetensorsLayout(specs, { source: file });
      } catch (err) {
        throw fileError(who, file, err);
      }
      const order = layout.tensors.map((t) => byName.get(t.name)!);
      const get = prefetcher(order.map((d) => () => fetch(d)), CONCURRENCY - 1);
      const position = new Map(order.map((d, i) => [d.name, i]));
      await writeSafetensorsFile(tmp, specs.map((s) => ({
        ...s,
        data: async () => {
          const t = await get(position.get(s.name)!);
          if (t.dtype !== s.dtype || t.shape.join(',') !== s.shape.join(',')) {
            throw new GluonPsError(Status.ABORTED, `${who}: parameter ${quote(s.name)} changed while being saved ` +
              `(${s.dtype} ${fmtShape(s.shape)} became ${t.dtype} ${fmtShape(t.shape)}); save again`);
          }
          return t.data;
        },
      })), { source: file });
      written = order.map((d) => d.name);
    } else {
      const tensors = new Array<NamedTensor>(chosen.length);
      await runLimited(chosen.length, CONCURRENCY, async (i) => {
        tensors[i] = await fetch(chosen[i]!);
      });
      await writeTensorFile(tmp, format, tensors, { numpyShape });
      written = chosen.map((d) => d.name);
    }
    await rename(tmp, file);
    const { size } = await stat(file);
    return { file, format, names: written, bytes: size };
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    // A FormatError from the writer names the temporary file; name the target instead.
    if (err instanceof FormatError) {
      throw new GluonPsError(Status.INVALID_ARGUMENT, `${who}: ${err.message.split(tmp).join(file)}`, { cause: err });
    }
    throw fileError(who, file, err);
  }
}

/**
 * Row ids per rowSparseData call when reading a row_sparse parameter whole. The server sorts and
 * checks the ids and sends them back, so smaller calls were measured faster than one big one
 * (2^20 rows: 3.6 s in one call, 2.3 s in calls of 2^16, on the 2-CPU development VM).
 */
const ROW_CHUNK = 1 << 16;

/** One parameter's value as a NamedTensor (row_sparse: every row, read in chunks of rows). */
async function readValue(p: Parameter, d: ParameterDescriptor, rowSparseRecords: boolean): Promise<NamedTensor> {
  const ctx = d.ctx[0];
  if (d.stype === 'row_sparse') {
    const rows = d.shape?.[0] ?? 0;
    let data: Uint8Array | null = null;
    let dtype: DType = d.dtype;
    let version: number | null = null;
    for (let start = 0; start < rows; start += ROW_CHUNK) {
      const end = Math.min(rows, start + ROW_CHUNK);
      const r = await p.rowSparseData(Array.from({ length: end - start }, (_, i) => start + i), ctx);
      if (version !== null && r.version !== version) {
        throw new GluonPsError(Status.ABORTED, `saveParameters(): parameter ${quote(d.name)} changed while its rows were being read; save again`);
      }
      version = r.version;
      dtype = r.values.dtype;
      const bytes = tensorBytes(r.values);
      if (end - start === rows) {
        data = bytes;
        break;
      }
      const rowBytes = shapeSize(r.values.shape.slice(1)) * dtypeSize(dtype);
      data ??= new Uint8Array(rows * rowBytes);
      data.set(bytes, start * rowBytes);
    }
    const shape = [rows, ...(d.shape ?? []).slice(1)];
    const tensor: NamedTensor = { name: d.name, dtype, shape, data: data ?? new Uint8Array(0), stype: 'default' };
    if (rowSparseRecords) {
      tensor.stype = 'row_sparse';
      tensor.indices = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
    }
    return tensor;
  }
  const t = await p.data(ctx);
  return { name: d.name, dtype: t.dtype, shape: [...t.shape], data: tensorBytes(t), stype: 'default' };
}

// --- loadParameters ----------------------------------------------------------------------------

/** One entry of the file, read lazily (safetensors) or already in memory (the others). */
interface FileEntry {
  /** The name with any `arg:`/`aux:` prefix stripped. */
  name: string;
  /** The name as written in the file. */
  fileName: string;
  dtype: DType;
  shape: number[];
  stype: 'default' | 'row_sparse';
  load(): Promise<NamedTensor>;
}

interface OpenedFile {
  format: LoadFormat;
  entries: FileEntry[];
  close(): Promise<void>;
}

async function openTensorFile(file: string, format: LoadFormat | undefined): Promise<OpenedFile> {
  const fmt: TensorFormat = format ?? (await detectFormat(file));
  if (fmt === 'safetensors') {
    const st = await openSafetensors(file);
    return {
      format: fmt,
      entries: st.tensors.map((t) => ({
        name: t.name, fileName: t.name, dtype: t.dtype, shape: t.shape, stype: 'default' as const,
        load: () => st.readTensor(t.name),
      })),
      close: () => st.close(),
    };
  }
  // Read whole (within the format layer's limits); the buffer is ours, so views suffice.
  const tensors = await readTensorFile(file, fmt, { copy: false });
  return {
    format: fmt,
    entries: tensors.map((t) => ({
      name: t.name, fileName: t.name, dtype: t.dtype, shape: t.shape, stype: t.stype,
      load: async () => t,
    })),
    close: async () => undefined,
  };
}

/** A row_sparse record as the dense bytes setData takes: the stored rows, zeros elsewhere. */
function densify(t: NamedTensor): Uint8Array {
  if (t.stype !== 'row_sparse') return t.data;
  const rowBytes = shapeSize(t.shape.slice(1)) * dtypeSize(t.dtype);
  const out = new Uint8Array(shapeSize(t.shape) * dtypeSize(t.dtype));
  const ids = t.indices ?? new BigInt64Array(0);
  for (let k = 0; k < ids.length; k++) {
    const row = Number(ids[k]!);
    out.set(t.data.subarray(k * rowBytes, (k + 1) * rowBytes), row * rowBytes);
  }
  return out;
}

/** What to do for one parameter, decided before anything is written. */
interface LoadPlan {
  entry: FileEntry;
  /** Absent when the parameter is declared from the file. */
  desc: ParameterDescriptor | undefined;
  mode: 'set' | 'init';
  /** castDtype with dtypeSource 'saved': cast the parameter to the file's dtype first. */
  castTo: DType | null;
  /** The parameter's shape has unknown dims that the file fills in before initialization. */
  fillShape: boolean;
}

/**
 * Gluon's load_parameters: every parameter of `names` (default: all) that the file holds gets
 * the file's value, following Parameter._load_init. See LoadParametersOptions.
 */
export async function loadParameters(host: PersistHost, file: string, options: LoadParametersOptions = {}): Promise<LoadParametersResult> {
  const who = 'loadParameters()';
  checkFile(who, file);
  if (typeof options !== 'object' || options === null) throw invalidArgument(`${who}: options must be an object`);
  checkKeys(who, options, LOAD_KEYS);
  const names = checkNames(who, options.names);
  const allowMissing = checkBool(who, 'allowMissing', options.allowMissing);
  const ignoreExtra = checkBool(who, 'ignoreExtra', options.ignoreExtra);
  const castDtype = checkBool(who, 'castDtype', options.castDtype);
  const declare = checkBool(who, 'declare', options.declare);
  const dtypeSource = options.dtypeSource ?? 'current';
  if (dtypeSource !== 'current' && dtypeSource !== 'saved') {
    throw invalidArgument(`${who}: dtypeSource must be 'current' or 'saved', got ${show(dtypeSource)}`);
  }
  if (options.format !== undefined && !(LOAD_FORMATS as readonly string[]).includes(options.format)) {
    throw invalidArgument(`${who}: format must be one of ${LOAD_FORMATS.join(', ')}, got ${show(options.format)}`);
  }
  const ctxGiven = options.ctx === undefined || options.ctx === null ? null : options.ctx;
  contextsToProto(who, ctxGiven); // validates
  const ctxList: Context[] | null = ctxGiven === null ? null : Array.isArray(ctxGiven) ? [...(ctxGiven as Context[])] : [ctxGiven as Context];
  if (ctxList !== null && ctxList.length === 0) throw invalidArgument(`${who}: ctx must name at least one context`);
  const onProgress = checkProgress(who, options.onProgress);

  let opened: OpenedFile;
  try {
    opened = await openTensorFile(file, options.format);
  } catch (err) {
    throw fileError(who, file, err);
  }
  try {
    // Gluon strips the Module API's arg:/aux: prefixes; two entries may not become one name.
    const fileByName = new Map<string, FileEntry>();
    for (const e of opened.entries) {
      e.name = splitParamPrefix(e.fileName).name;
      const other = fileByName.get(e.name);
      if (other !== undefined) {
        throw invalidArgument(`${who}: ${file}: the entries ${quote(other.fileName)} and ${quote(e.fileName)} are both parameter ${quote(e.name)} once the arg:/aux: prefix is stripped`);
      }
      fileByName.set(e.name, e);
    }

    const server = await host.list();
    const byName = new Map(server.map((d) => [d.name, d]));
    const toDeclare = new Set<string>();
    let targets: string[];
    if (names !== null) {
      const unknown: string[] = [];
      for (const n of names) {
        if (byName.has(n)) continue;
        if (declare && fileByName.has(n)) toDeclare.add(n);
        else unknown.push(n);
      }
      if (unknown.length > 0) {
        throw new GluonPsError(Status.NOT_FOUND, `${who}: ${plural(unknown.length, 'parameter')} ${nameList(unknown)} ${plural(unknown.length, 'does', 'do')} not exist` +
          (declare ? '' : ' (declare: true declares the ones the file holds)'));
      }
      targets = names;
    } else {
      targets = server.map((d) => d.name);
      if (declare) for (const e of opened.entries) if (!byName.has(e.name)) toDeclare.add(e.name);
      targets = [...targets, ...toDeclare];
    }
    const targetSet = new Set(targets);
    const fileNames = opened.entries.map((e) => e.name);

    // Gluon checks missing names first, then extra ones.
    const missing = targets.filter((n) => !fileByName.has(n));
    if (missing.length > 0 && !allowMissing) {
      throw invalidArgument(`${who}: ${plural(missing.length, 'parameter')} ${nameList(missing)} ${plural(missing.length, 'is', 'are')} missing in file ${quote(file)}, ` +
        `which contains ${fileNames.length === 0 ? 'no parameters' : `parameters: ${nameList(fileNames)}`}. ` +
        'Set allowMissing to true to ignore missing parameters.');
    }
    const extra = fileNames.filter((n) => !targetSet.has(n));
    if (extra.length > 0 && !ignoreExtra) {
      const where = names === null ? 'on the server' : 'in names';
      throw invalidArgument(`${who}: ${plural(extra.length, 'parameter')} ${nameList(extra)} loaded from file ${quote(file)} ${plural(extra.length, 'is', 'are')} not present ${where}` +
        (targets.length > 0 ? ` (choices are: ${nameList(targets)})` : '') + '. Set ignoreExtra to true to ignore them' +
        (names === null && !declare ? ', or declare to true to declare them.' : '.'));
    }

    // _load_init's checks for every parameter, before anything changes.
    const plans: LoadPlan[] = [];
    const problems: string[] = [];
    for (const entry of opened.entries) {
      if (!targetSet.has(entry.name)) continue;
      const desc = byName.get(entry.name);
      if (desc === undefined) {
        plans.push({ entry, desc, mode: 'init', castTo: null, fillShape: false });
        continue;
      }
      const p = `parameter ${quote(entry.name)}`;
      const saved = `${file}${entry.fileName === entry.name ? '' : ` (entry ${quote(entry.fileName)})`}`;
      if (desc.shape !== null) {
        const fits = desc.shape.length === entry.shape.length && desc.shape.every((dim, i) => dim === 0 || dim === entry.shape[i]);
        if (!fits) problems.push(`${p}: shape incompatible: expected ${fmtShape(desc.shape)} vs saved ${fmtShape(entry.shape)} in ${saved}`);
      }
      let castTo: DType | null = null;
      if (desc.dtype !== entry.dtype) {
        if (!castDtype) {
          problems.push(`${p}: dtype incompatible: expected ${desc.dtype} vs saved ${entry.dtype} in ${saved}; set castDtype to true to convert`);
        } else if (dtypeSource === 'saved') {
          castTo = entry.dtype;
        }
      }
      if (ctxList !== null && (desc.initialized || desc.deferred) && ctxSetKey(ctxList) !== ctxSetKey(desc.ctx)) {
        problems.push(`${p}: cannot load on ${fmtCtx(ctxList)} because it was ${desc.initialized ? 'initialized' : 'deferred'} on ${fmtCtx(desc.ctx)}`);
      }
      const mode = desc.initialized || desc.deferred ? 'set' : 'init';
      const fillShape = mode === 'init' && (desc.shape === null || desc.shape.some((dim) => dim === 0));
      plans.push({ entry, desc, mode, castTo, fillShape });
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, LIST_LIMIT).join('; ') + (problems.length > LIST_LIMIT ? `; and ${problems.length - LIST_LIMIT} more` : '');
      throw invalidArgument(`${who}: nothing was loaded: ${shown}`);
    }

    // Apply: declare what is new, then each value.
    const declared: string[] = [];
    for (const plan of plans) {
      if (plan.desc !== undefined) continue;
      const e = plan.entry;
      await host.declare(e.name, { shape: e.shape, dtype: e.dtype, ...(e.stype === 'row_sparse' ? { stype: 'row_sparse' as const } : {}) });
      declared.push(e.name);
    }
    const totalBytes = plans.reduce((s, pl) => s + denseBytes(pl.entry.dtype, pl.entry.shape), 0);
    let done = 0;
    let bytesDone = 0;
    await runLimited(plans.length, CONCURRENCY, async (i) => {
      const plan = plans[i]!;
      const e = plan.entry;
      const t = await e.load();
      const value = tensorFromBytes(t.shape, t.dtype, densify(t));
      const p = host.handle(e.name);
      if (plan.castTo !== null) await p.cast(plan.castTo);
      if (plan.mode === 'init') {
        // _init_impl(data, ctx): copies made from the file's value, bypassing the initializer.
        // The server creates copies through initialize(), so zeros are written, then replaced.
        if (plan.fillShape) await p.setShape(e.shape);
        await p.initialize({ init: 'zero', ...(ctxList === null ? {} : { ctx: ctxList }) });
      }
      await p.setData(value);
      done++;
      bytesDone += denseBytes(e.dtype, e.shape);
      onProgress?.({ op: 'load', name: e.name, done, total: plans.length, bytes: bytesDone, totalBytes });
    });
    return {
      format: opened.format,
      loaded: plans.map((pl) => pl.entry.name),
      declared,
      missing,
      extra,
    };
  } catch (err) {
    throw fileError(who, file, err);
  } finally {
    await opened.close().catch(() => undefined);
  }
}
