// load.ts: loadParameters (Gluon's load_parameters) — checks the options, opens the file, has
// load-plan.ts decide everything before anything changes, then declares and writes the values.
import { contextsToProto, type Context } from '../convert';
import { invalidArgument, show } from '../errors';
import { tensorFromBytes } from '../tensor';
import {
  CONCURRENCY,
  LOAD_FORMATS,
  LOAD_KEYS,
  checkBool,
  checkCall,
  checkNames,
  checkProgress,
  denseBytes,
  fileError,
  runLimited,
  type LoadParametersOptions,
  type LoadParametersResult,
  type PersistHost,
} from './options';
import { openTensorFile, planLoad, densify, type OpenedFile } from './load-plan';

/**
 * Gluon's load_parameters: every parameter of `names` (default: all) that the file holds gets
 * the file's value, following Parameter._load_init. See LoadParametersOptions.
 */
export async function loadParameters(
  host: PersistHost,
  file: string,
  options: LoadParametersOptions = {},
): Promise<LoadParametersResult> {
  const who = 'loadParameters()';
  checkCall(who, file, options, LOAD_KEYS);
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
  const ctxList: Context[] | null =
    ctxGiven === null ? null : Array.isArray(ctxGiven) ? [...(ctxGiven as Context[])] : [ctxGiven as Context];
  if (ctxList !== null && ctxList.length === 0) throw invalidArgument(`${who}: ctx must name at least one context`);
  const onProgress = checkProgress(who, options.onProgress);

  let opened: OpenedFile;
  try {
    opened = await openTensorFile(file, options.format);
  } catch (err) {
    throw fileError(who, file, err);
  }
  try {
    const { plans, missing, extra } = planLoad(who, file, opened, await host.list(), {
      names,
      declare,
      allowMissing,
      ignoreExtra,
      castDtype,
      dtypeSource,
      ctxList,
    });

    // Apply: declare what is new, then each value.
    const declared: string[] = [];
    for (const plan of plans) {
      if (plan.desc !== undefined) continue;
      const e = plan.entry;
      await host.declare(e.name, {
        shape: e.shape,
        dtype: e.dtype,
        ...(e.stype === 'row_sparse' ? { stype: 'row_sparse' as const } : {}),
      });
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
