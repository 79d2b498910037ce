// save.ts: saveParameters (Gluon's save_parameters) — reads every value of the named parameters
// and writes one tensor file under a temporary name, renamed over the target when complete.
import { rename, rm, stat } from 'node:fs/promises';
import { FormatError, safetensorsLayout, writeSafetensorsFile, writeTensorFile } from '../../common/formats/index';
import type { NamedTensor } from '../../common/formats/index';
import { fmtShape } from '../../common/shape';
import { type ParameterDescriptor } from '../convert';
import { GluonPsError, invalidArgument, show, Status } from '../errors';
import type { Parameter } from '../parameter';
import { dtypeSize, shapeSize, tensorBytes, type DType } from '../tensor';
import {
  CONCURRENCY,
  LIST_LIMIT,
  SAVE_FORMATS,
  SAVE_KEYS,
  checkBool,
  checkCall,
  checkNames,
  checkProgress,
  denseBytes,
  fileError,
  nameList,
  plural,
  prefetcher,
  quote,
  runLimited,
  tempPath,
  type PersistHost,
  type SaveParametersOptions,
  type SaveParametersResult,
} from './options';

/**
 * Gluon's save_parameters: writes each parameter's value under its name. The value is the
 * copy on the parameter's first context (the server keeps every copy equal: set_data,
 * initialization and the trainer write all of them, so this is MXNet's `_reduce` mean).
 * row_sparse parameters are read whole (every row) and written as row_sparse records in
 * .params, dense in safetensors and npz.
 */
export async function saveParameters(
  host: PersistHost,
  file: string,
  options: SaveParametersOptions = {},
): Promise<SaveParametersResult> {
  const who = 'saveParameters()';
  checkCall(who, file, options, SAVE_KEYS);
  const format = options.format ?? 'params';
  if (!(SAVE_FORMATS as readonly string[]).includes(format)) {
    throw invalidArgument(
      `${who}: format must be one of ${SAVE_FORMATS.join(', ')}, got ${show(format)}` +
        ((format as string) === 'npy' ? ' (a .npy file holds one array; use npz)' : ''),
    );
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
      throw new GluonPsError(
        Status.NOT_FOUND,
        `${who}: ${plural(unknown.length, 'parameter')} ${nameList(unknown)} ${plural(unknown.length, 'does', 'do')} not exist`,
      );
    }
    chosen = names.map((n) => byName.get(n)!);
  }
  const notReady = chosen.filter((d) => !d.initialized);
  if (notReady.length > 0) {
    const list = notReady.map(
      (d) => `${quote(d.name)}${d.deferred ? ' (initialization deferred until its shape is known)' : ''}`,
    );
    const shown =
      list.slice(0, LIST_LIMIT).join(', ') + (list.length > LIST_LIMIT ? ` and ${list.length - LIST_LIMIT} more` : '');
    throw new GluonPsError(
      Status.FAILED_PRECONDITION,
      `${who}: cannot save ${notReady.length} ${plural(notReady.length, 'parameter')} that ${plural(notReady.length, 'is', 'are')} not initialized: ${shown}; ` +
        'initialize them first, or leave them out with names',
    );
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
      const get = prefetcher(
        order.map((d) => () => fetch(d)),
        CONCURRENCY - 1,
      );
      const position = new Map(order.map((d, i) => [d.name, i]));
      await writeSafetensorsFile(
        tmp,
        specs.map((s) => ({
          ...s,
          data: async () => {
            const t = await get(position.get(s.name)!);
            if (t.dtype !== s.dtype || t.shape.join(',') !== s.shape.join(',')) {
              throw new GluonPsError(
                Status.ABORTED,
                `${who}: parameter ${quote(s.name)} changed while being saved ` +
                  `(${s.dtype} ${fmtShape(s.shape)} became ${t.dtype} ${fmtShape(t.shape)}); save again`,
              );
            }
            return t.data;
          },
        })),
        { source: file },
      );
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
      const r = await p.rowSparseData(
        Array.from({ length: end - start }, (_, i) => start + i),
        ctx,
      );
      if (version !== null && r.version !== version) {
        throw new GluonPsError(
          Status.ABORTED,
          `saveParameters(): parameter ${quote(d.name)} changed while its rows were being read; save again`,
        );
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
