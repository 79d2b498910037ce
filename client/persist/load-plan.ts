// load-plan.ts: the first half of loadParameters, which changes nothing: the file's entries
// (read lazily for safetensors), Gluon's name matching (arg:/aux: prefixes, allowMissing,
// ignoreExtra, declare) and Parameter._load_init's shape, dtype and context checks for every
// parameter, so a bad file is refused before the first value is written.
import { detectFormat, openSafetensors, readTensorFile, splitParamPrefix } from '../../common/formats/index';
import type { NamedTensor, TensorFormat } from '../../common/formats/index';
import { fmtShape } from '../../common/shape';
import { type Context, type ParameterDescriptor } from '../convert';
import { GluonPsError, invalidArgument, Status } from '../errors';
import { dtypeSize, shapeSize, type DType } from '../tensor';
import { LIST_LIMIT, ctxSetKey, fmtCtx, nameList, plural, quote, type LoadFormat } from './options';

/** One entry of the file, read lazily (safetensors) or already in memory (the others). */
export interface FileEntry {
  /** The name with any `arg:`/`aux:` prefix stripped. */
  name: string;
  /** The name as written in the file. */
  fileName: string;
  dtype: DType;
  shape: number[];
  stype: 'default' | 'row_sparse';
  load(): Promise<NamedTensor>;
}

export interface OpenedFile {
  format: LoadFormat;
  entries: FileEntry[];
  close(): Promise<void>;
}

export async function openTensorFile(file: string, format: LoadFormat | undefined): Promise<OpenedFile> {
  const fmt: TensorFormat = format ?? (await detectFormat(file));
  if (fmt === 'safetensors') {
    const st = await openSafetensors(file);
    return {
      format: fmt,
      entries: st.tensors.map((t) => ({
        name: t.name,
        fileName: t.name,
        dtype: t.dtype,
        shape: t.shape,
        stype: 'default' as const,
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
      name: t.name,
      fileName: t.name,
      dtype: t.dtype,
      shape: t.shape,
      stype: t.stype,
      load: async () => t,
    })),
    close: async () => undefined,
  };
}

/** A row_sparse record as the dense bytes setData takes: the stored rows, zeros elsewhere. */
export function densify(t: NamedTensor): Uint8Array {
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
export interface LoadPlan {
  entry: FileEntry;
  /** Absent when the parameter is declared from the file. */
  desc: ParameterDescriptor | undefined;
  mode: 'set' | 'init';
  /** castDtype with dtypeSource 'saved': cast the parameter to the file's dtype first. */
  castTo: DType | null;
  /** The parameter's shape has unknown dims that the file fills in before initialization. */
  fillShape: boolean;
}

export interface PlanOptions {
  names: string[] | null;
  declare: boolean;
  allowMissing: boolean;
  ignoreExtra: boolean;
  castDtype: boolean;
  dtypeSource: 'current' | 'saved';
  ctxList: Context[] | null;
}

/** Matches `opened` against the server's parameters; throws (changing nothing) on any mismatch. */
export function planLoad(
  who: string,
  file: string,
  opened: OpenedFile,
  server: ParameterDescriptor[],
  options: PlanOptions,
): { plans: LoadPlan[]; missing: string[]; extra: string[] } {
  const { names, declare, allowMissing, ignoreExtra, castDtype, dtypeSource, ctxList } = options;
  // Gluon strips the Module API's arg:/aux: prefixes; two entries may not become one name.
  const fileByName = new Map<string, FileEntry>();
  for (const e of opened.entries) {
    e.name = splitParamPrefix(e.fileName).name;
    const other = fileByName.get(e.name);
    if (other !== undefined) {
      throw invalidArgument(
        `${who}: ${file}: the entries ${quote(other.fileName)} and ${quote(e.fileName)} are both parameter ${quote(e.name)} once the arg:/aux: prefix is stripped`,
      );
    }
    fileByName.set(e.name, e);
  }

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
      throw new GluonPsError(
        Status.NOT_FOUND,
        `${who}: ${plural(unknown.length, 'parameter')} ${nameList(unknown)} ${plural(unknown.length, 'does', 'do')} not exist` +
          (declare ? '' : ' (declare: true declares the ones the file holds)'),
      );
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
    throw invalidArgument(
      `${who}: ${plural(missing.length, 'parameter')} ${nameList(missing)} ${plural(missing.length, 'is', 'are')} missing in file ${quote(file)}, ` +
        `which contains ${fileNames.length === 0 ? 'no parameters' : `parameters: ${nameList(fileNames)}`}. ` +
        'Set allowMissing to true to ignore missing parameters.',
    );
  }
  const extra = fileNames.filter((n) => !targetSet.has(n));
  if (extra.length > 0 && !ignoreExtra) {
    const where = names === null ? 'on the server' : 'in names';
    throw invalidArgument(
      `${who}: ${plural(extra.length, 'parameter')} ${nameList(extra)} loaded from file ${quote(file)} ${plural(extra.length, 'is', 'are')} not present ${where}` +
        (targets.length > 0 ? ` (choices are: ${nameList(targets)})` : '') +
        '. Set ignoreExtra to true to ignore them' +
        (names === null && !declare ? ', or declare to true to declare them.' : '.'),
    );
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
      const fits =
        desc.shape.length === entry.shape.length && desc.shape.every((dim, i) => dim === 0 || dim === entry.shape[i]);
      if (!fits)
        problems.push(
          `${p}: shape incompatible: expected ${fmtShape(desc.shape)} vs saved ${fmtShape(entry.shape)} in ${saved}`,
        );
    }
    let castTo: DType | null = null;
    if (desc.dtype !== entry.dtype) {
      if (!castDtype) {
        problems.push(
          `${p}: dtype incompatible: expected ${desc.dtype} vs saved ${entry.dtype} in ${saved}; set castDtype to true to convert`,
        );
      } else if (dtypeSource === 'saved') {
        castTo = entry.dtype;
      }
    }
    if (ctxList !== null && (desc.initialized || desc.deferred) && ctxSetKey(ctxList) !== ctxSetKey(desc.ctx)) {
      problems.push(
        `${p}: cannot load on ${fmtCtx(ctxList)} because it was ${desc.initialized ? 'initialized' : 'deferred'} on ${fmtCtx(desc.ctx)}`,
      );
    }
    const mode = desc.initialized || desc.deferred ? 'set' : 'init';
    const fillShape = mode === 'init' && (desc.shape === null || desc.shape.some((dim) => dim === 0));
    plans.push({ entry, desc, mode, castTo, fillShape });
  }
  if (problems.length > 0) {
    const shown =
      problems.slice(0, LIST_LIMIT).join('; ') +
      (problems.length > LIST_LIMIT ? `; and ${problems.length - LIST_LIMIT} more` : '');
    throw invalidArgument(`${who}: nothing was loaded: ${shown}`);
  }

  return { plans, missing, extra };
}
