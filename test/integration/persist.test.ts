// ps.saveParameters / ps.loadParameters against in-process servers: round trips in each format
// (every dtype, constants, row_sparse), the bytes Gluon writes (.params V2 records, names list,
// row_sparse records with every row), and Gluon's load semantics from Parameter._load_init:
// allowMissing / ignoreExtra errors naming the parameters, arg:/aux: prefixes, shape and dtype
// checks (castDtype, dtypeSource), deferred and uninitialized parameters initialized from the
// file on `ctx`, and nothing changed when a check fails.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import type { ParameterServerClient, PersistProgress, Tensor } from '../../client/index';
import {
  decodeParams,
  decodeSafetensors,
  decodeNpz,
  encodeNpy,
  encodeParams,
  encodeSafetensors,
} from '../../common/formats/index';
import type { NamedTensor } from '../../common/formats/index';
import type { Harness } from './helpers';
import { bytesOf, f32, iota, numbers, rejectsWith, startHarness } from './helpers';

let dir: string;
const open: Harness[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gluonps-persist-'));
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function server(): Promise<ParameterServerClient> {
  const h = await startHarness();
  open.push(h);
  return h.ps;
}

const file = (name: string): string => path.join(dir, name);

/** A float32 tensor file entry. */
const entry = (name: string, shape: number[], values: number[]): NamedTensor => ({
  name,
  dtype: 'float32',
  shape,
  data: new Uint8Array(Float32Array.from(values).buffer),
  stype: 'default',
});

/** One tensor of every dtype, with distinctive values. */
function everyDtype(): Record<string, Tensor> {
  return {
    p_f32: f32([2, 3], [1.5, -2, 3.25, 0, 1e-3, 7]),
    p_f64: { shape: [3], dtype: 'float64', data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    p_f16: { shape: [2], dtype: 'float16', data: new Uint16Array([0x3c00, 0xc000]) },
    p_bf16: { shape: [2, 1], dtype: 'bfloat16', data: new Uint16Array([0x3f80, 0x4049]) },
    p_i8: { shape: [3], dtype: 'int8', data: new Int8Array([-128, 0, 127]) },
    p_u8: { shape: [1, 3], dtype: 'uint8', data: new Uint8Array([0, 128, 255]) },
    p_i32: { shape: [2, 2], dtype: 'int32', data: new Int32Array([-(2 ** 31), 1, 2, 2 ** 31 - 1]) },
    p_i64: { shape: [2], dtype: 'int64', data: new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]) },
  };
}

async function populate(ps: ParameterServerClient): Promise<Record<string, Tensor>> {
  const values = everyDtype();
  for (const [name, t] of Object.entries(values)) {
    const p = await ps.parameter(name, { shape: t.shape, dtype: t.dtype });
    await p.initialize({ init: init.zero() });
    await p.setData(t);
  }
  const c = await ps.constant('c_const', [
    [1, 2],
    [3, 4],
  ]);
  await c.initialize();
  values.c_const = f32([2, 2], [1, 2, 3, 4]);
  // row_sparse: 5 rows of 2, every row saved.
  const emb = await ps.parameter('emb', { shape: [5, 2], stype: 'row_sparse', gradStype: 'row_sparse' });
  await emb.initialize({ init: init.zero() });
  await emb.setData(f32([5, 2], iota(10, 0.5, 1)));
  values.emb = f32([5, 2], iota(10, 0.5, 1));
  return values;
}

async function valueOf(ps: ParameterServerClient, name: string): Promise<Tensor> {
  const p = await ps.get(name);
  const d = await p.describe();
  if (d.stype === 'row_sparse') return (await p.rowSparseData(iota(d.shape![0]!))).values;
  const { shape, dtype, data } = await p.data();
  return { shape, dtype, data };
}

describe('round trips', () => {
  for (const format of ['params', 'safetensors', 'npz'] as const) {
    it(`${format}: every dtype, a constant and a row_sparse parameter into uninitialized parameters of a fresh server`, async () => {
      const a = await server();
      const values = await populate(a);
      const f = file(`rt.${format}`);
      const progress: PersistProgress[] = [];
      const saved = await a.saveParameters(f, { format, onProgress: (p) => progress.push(p) });
      expect(saved).toMatchObject({ file: f, format });
      expect([...saved.names].sort()).toEqual(Object.keys(values).sort());
      expect(saved.bytes).toBe(readFileSync(f).byteLength);
      expect(progress).toHaveLength(Object.keys(values).length);
      expect(progress.at(-1)).toMatchObject({ op: 'save', done: 10, total: 10 });
      expect(progress.at(-1)!.bytes).toBe(progress.at(-1)!.totalBytes);
      // No temporary file is left behind.
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);

      // Fresh server: the same declarations, not initialized (initializers that would show if used).
      const b = await server();
      for (const [name, t] of Object.entries(values)) {
        if (name === 'c_const')
          await b.constant(name, [
            [9, 9],
            [9, 9],
          ]);
        else if (name === 'emb') await b.parameter(name, { shape: [5, 2], stype: 'row_sparse', init: init.one() });
        else await b.parameter(name, { shape: t.shape, dtype: t.dtype, init: init.one() });
      }
      const loaded = await b.loadParameters(f);
      expect(loaded).toMatchObject({ format, missing: [], extra: [], declared: [] });
      expect([...loaded.loaded].sort()).toEqual(Object.keys(values).sort());
      for (const [name, t] of Object.entries(values)) {
        const got = await valueOf(b, name);
        expect(got.shape, name).toEqual(t.shape);
        expect(got.dtype, name).toBe(t.dtype);
        expect(bytesOf(got).equals(bytesOf(t)), name).toBe(true);
        expect((await (await b.get(name)).describe()).ctx, name).toEqual([cpu(0)]);
      }
      // Saving the loaded server again gives the same bytes.
      const again = file(`rt2.${format}`);
      await b.saveParameters(again, { format });
      expect(readFileSync(again).equals(readFileSync(f))).toBe(true);
    });
  }

  it('.params is what Gluon writes: V2 records, names list, cpu(0), row_sparse records holding every row', async () => {
    const ps = await server();
    const values = await populate(ps);
    const f = file('gluon.params');
    await ps.saveParameters(f); // params is the default
    const bytes = readFileSync(f);
    expect(bytes.readBigUInt64LE(0)).toBe(0x112n);
    expect(bytes.readUInt32LE(24)).toBe(0xf993fac9); // the first record is V2
    const tensors = decodeParams(bytes);
    expect(tensors.map((t) => t.name)).toEqual([
      'p_f32',
      'p_f64',
      'p_f16',
      'p_bf16',
      'p_i8',
      'p_u8',
      'p_i32',
      'p_i64',
      'c_const',
      'emb',
    ]);
    for (const t of tensors) {
      expect(t.context).toEqual({ devType: 'cpu', devId: 0 });
      expect(Buffer.from(t.data).equals(bytesOf(values[t.name]!)), t.name).toBe(true);
    }
    const emb = tensors.find((t) => t.name === 'emb')!;
    expect(emb).toMatchObject({ stype: 'row_sparse', shape: [5, 2], indices: new BigInt64Array([0n, 1n, 2n, 3n, 4n]) });
    // safetensors and npz store the row_sparse parameter dense.
    await ps.saveParameters(file('gluon.safetensors'), { format: 'safetensors', names: ['emb'] });
    expect(decodeSafetensors(readFileSync(file('gluon.safetensors'))).tensors).toMatchObject([
      { name: 'emb', stype: 'default', shape: [5, 2] },
    ]);
    await ps.saveParameters(file('gluon.npz'), { format: 'npz', names: ['emb', 'p_f32'] });
    expect(decodeNpz(readFileSync(file('gluon.npz'))).map((t) => [t.name, t.stype])).toEqual([
      ['emb', 'default'],
      ['p_f32', 'default'],
    ]);
  });

  it('a row_sparse parameter with more rows than one read fetches (2^16) is read in chunks', async () => {
    const ps = await server();
    const rows = (1 << 16) * 2 + 3;
    const big = await ps.parameter('big_emb', { shape: [rows, 1], stype: 'row_sparse' });
    const values = Float32Array.from({ length: rows }, (_, i) => i);
    await big.initialize({ init: init.zero() });
    await big.setData({ shape: [rows, 1], dtype: 'float32', data: values });
    await ps.saveParameters(file('big.params'));
    const [t] = decodeParams(readFileSync(file('big.params')));
    expect(t).toMatchObject({ name: 'big_emb', stype: 'row_sparse', shape: [rows, 1] });
    expect(t!.indices!.length).toBe(rows);
    expect(t!.indices![rows - 1]).toBe(BigInt(rows - 1));
    expect(Buffer.from(t!.data).equals(Buffer.from(values.buffer))).toBe(true);
  });

  it('names selects and orders what is saved; numpyShape writes V3 records (scalars)', async () => {
    const ps = await server();
    await populate(ps);
    const scalar = await ps.parameter('scalar', { shape: [] });
    await scalar.initialize({ init: init.constant(2.5) });
    await ps.saveParameters(file('some.params'), { names: ['p_i32', 'p_f32'] });
    expect(decodeParams(readFileSync(file('some.params'))).map((t) => t.name)).toEqual(['p_i32', 'p_f32']);
    // A scalar cannot be a V2 record (ndim 0 means "none" there).
    await rejectsWith(
      ps.saveParameters(file('scalar.params'), { names: ['scalar'] }),
      Status.INVALID_ARGUMENT,
      /scalar\.params: MXNet \.params: .*numpyShape/,
    );
    await ps.saveParameters(file('scalar.params'), { names: ['scalar', 'p_f32'], numpyShape: true });
    const v3 = readFileSync(file('scalar.params'));
    expect(v3.readUInt32LE(24)).toBe(0xf993faca);
    expect(decodeParams(v3)[0]).toMatchObject({ name: 'scalar', shape: [] });
    const fresh = await server();
    await fresh.parameter('scalar', { shape: [] });
    await fresh.loadParameters(file('scalar.params'), { names: ['scalar'], ignoreExtra: true });
    expect(numbers(await (await fresh.get('scalar')).data())).toEqual([2.5]);
  });

  it('loads a .npy (the file name is the parameter name) and detects formats from content, not extension', async () => {
    const ps = await server();
    await ps.parameter('w', { shape: [2, 2] });
    writeFileSync(file('w.npy'), encodeNpy(entry('w', [2, 2], [1, 2, 3, 4])));
    await ps.loadParameters(file('w.npy'));
    expect(numbers(await (await ps.get('w')).data())).toEqual([1, 2, 3, 4]);
    writeFileSync(file('misnamed.params'), encodeSafetensors([entry('w', [2, 2], [5, 6, 7, 8])]));
    expect(await ps.loadParameters(file('misnamed.params'))).toMatchObject({ format: 'safetensors', loaded: ['w'] });
    expect(numbers(await (await ps.get('w')).data())).toEqual([5, 6, 7, 8]);
  });
});

describe('Gluon load semantics', () => {
  it('missing parameters fail naming them, unless allowMissing; the others load and the missing stay as they were', async () => {
    const ps = await server();
    const a = await ps.parameter('a', { shape: [2] });
    const b = await ps.parameter('b', { shape: [2] });
    const c = await ps.parameter('c', { shape: [2] });
    for (const p of [a, b, c]) await p.initialize({ init: init.constant(7) });
    const f = file('only-a.params');
    writeFileSync(f, encodeParams([entry('a', [2], [1, 2])]));
    await rejectsWith(
      ps.loadParameters(f),
      Status.INVALID_ARGUMENT,
      /loadParameters\(\): parameters 'b', 'c' are missing in file '.*only-a\.params', which contains parameters: 'a'\. Set allowMissing to true/,
    );
    expect(numbers(await a.data())).toEqual([7, 7]); // nothing changed
    const r = await ps.loadParameters(f, { allowMissing: true });
    expect(r).toMatchObject({ loaded: ['a'], missing: ['b', 'c'], extra: [] });
    expect(numbers(await a.data())).toEqual([1, 2]);
    expect(numbers(await b.data())).toEqual([7, 7]);
  });

  it('extra entries fail naming them, unless ignoreExtra; names restricts the target set', async () => {
    const ps = await server();
    const a = await ps.parameter('a', { shape: [2] });
    await a.initialize();
    const f = file('extra.params');
    writeFileSync(f, encodeParams([entry('a', [2], [1, 2]), entry('x', [1], [3]), entry('y', [1], [4])]));
    await rejectsWith(
      ps.loadParameters(f),
      Status.INVALID_ARGUMENT,
      /parameters 'x', 'y' loaded from file '.*extra\.params' are not present on the server \(choices are: 'a'\)\. Set ignoreExtra to true/,
    );
    expect(await ps.loadParameters(f, { ignoreExtra: true })).toMatchObject({ loaded: ['a'], extra: ['x', 'y'] });
    expect(numbers(await a.data())).toEqual([1, 2]);
    // With names, the file's other entries are extra relative to names.
    const b = await ps.parameter('b', { shape: [1] });
    await b.initialize();
    await rejectsWith(
      ps.loadParameters(f, { names: ['a'] }),
      Status.INVALID_ARGUMENT,
      /'x', 'y' loaded from file .* not present in names/,
    );
    await rejectsWith(
      ps.loadParameters(f, { names: ['a', 'nope'] }),
      Status.NOT_FOUND,
      /parameter 'nope' does not exist/,
    );
  });

  it('arg:/aux: prefixes (HybridBlock.export, Module API) are stripped; two entries for one name are refused', async () => {
    const ps = await server();
    const w = await ps.parameter('fc_weight', { shape: [1, 2] });
    const m = await ps.parameter('bn_running_mean', { shape: [2], gradReq: 'null' });
    const f = file('model-0000.params');
    writeFileSync(f, encodeParams([entry('arg:fc_weight', [1, 2], [1, 2]), entry('aux:bn_running_mean', [2], [3, 4])]));
    expect(await ps.loadParameters(f)).toMatchObject({ loaded: ['fc_weight', 'bn_running_mean'] });
    expect(numbers(await w.data())).toEqual([1, 2]);
    expect(numbers(await m.data())).toEqual([3, 4]);
    const dup = file('dup.params');
    writeFileSync(dup, encodeParams([entry('arg:fc_weight', [1, 2], [1, 2]), entry('fc_weight', [1, 2], [3, 4])]));
    await rejectsWith(
      ps.loadParameters(dup, { allowMissing: true }),
      Status.INVALID_ARGUMENT,
      /the entries 'arg:fc_weight' and 'fc_weight' are both parameter 'fc_weight'/,
    );
  });

  it('shapes must match the known dims; unknown dims are filled from the file; dtypes must match unless castDtype', async () => {
    const ps = await server();
    const w = await ps.parameter('w', { shape: [2, 3] });
    await w.initialize({ init: init.constant(1) });
    const v = await ps.parameter('v', { shape: [0, 3] }); // unknown first dim, not deferred
    const f = file('shapes.params');
    writeFileSync(f, encodeParams([entry('w', [3, 2], iota(6)), entry('v', [4, 3], iota(12))]));
    await rejectsWith(
      ps.loadParameters(f),
      Status.INVALID_ARGUMENT,
      /nothing was loaded: parameter 'w': shape incompatible: expected \[2,3\] vs saved \[3,2\] in .*shapes\.params/,
    );
    // Nothing changed: v is still uninitialized with its unknown dim, w still ones.
    expect(await v.describe()).toMatchObject({ shape: [0, 3], initialized: false });
    expect(numbers(await w.data())).toEqual([1, 1, 1, 1, 1, 1]);
    const ok = file('shapes-ok.params');
    writeFileSync(ok, encodeParams([entry('w', [2, 3], iota(6)), entry('v', [4, 3], iota(12))]));
    await ps.loadParameters(ok);
    expect(await v.describe()).toMatchObject({ shape: [4, 3], initialized: true, ctx: [cpu(0)] });
    expect(numbers(await v.data())).toEqual(iota(12));
    // Rank differs.
    writeFileSync(f, encodeParams([entry('w', [6], iota(6))]));
    await rejectsWith(
      ps.loadParameters(f, { allowMissing: true }),
      Status.INVALID_ARGUMENT,
      /expected \[2,3\] vs saved \[6\]/,
    );

    // dtype: float64 in the file, float32 parameter.
    const d64: NamedTensor = {
      name: 'w',
      dtype: 'float64',
      shape: [2, 3],
      data: new Uint8Array(Float64Array.from([0.5, 1, 2, 3, 4, 1 / 3]).buffer),
      stype: 'default',
    };
    const fd = file('f64.params');
    writeFileSync(fd, encodeParams([d64]));
    await rejectsWith(
      ps.loadParameters(fd, { allowMissing: true }),
      Status.INVALID_ARGUMENT,
      /parameter 'w': dtype incompatible: expected float32 vs saved float64 .*set castDtype to true/,
    );
    await ps.loadParameters(fd, { allowMissing: true, castDtype: true }); // dtypeSource 'current'
    expect(await w.data()).toEqual(f32([2, 3], [0.5, 1, 2, 3, 4, 1 / 3]));
    await ps.loadParameters(fd, { allowMissing: true, castDtype: true, dtypeSource: 'saved' });
    expect((await w.describe()).dtype).toBe('float64');
    expect(Array.from((await w.data()).data as Float64Array)).toEqual([0.5, 1, 2, 3, 4, 1 / 3]);
  });

  it('a deferred parameter is initialized from the file on its deferred contexts; ctx must be the same set', async () => {
    const ps = await server();
    const d = await ps.parameter('d', { shape: [0, 2], allowDeferredInit: true, init: init.one() });
    await d.initialize({ ctx: [cpu(1), cpu(2)] });
    expect(await d.describe()).toMatchObject({ deferred: true, initialized: false });
    const f = file('deferred.params');
    writeFileSync(f, encodeParams([entry('d', [3, 2], iota(6, 2))]));
    await rejectsWith(
      ps.loadParameters(f, { ctx: cpu(0) }),
      Status.INVALID_ARGUMENT,
      /parameter 'd': cannot load on \[cpu\(0\)\] because it was deferred on \[cpu\(1\), cpu\(2\)\]/,
    );
    await ps.loadParameters(f, { ctx: [cpu(2), cpu(1)] }); // the same set
    expect(await d.describe()).toMatchObject({
      shape: [3, 2],
      initialized: true,
      deferred: false,
      ctx: [cpu(1), cpu(2)],
    });
    for (const t of await d.listData()) expect(numbers(t)).toEqual(iota(6, 2));
    // Initialized now: set_data, and ctx must still be the same set.
    await rejectsWith(
      ps.loadParameters(f, { ctx: [cpu(1)] }),
      Status.INVALID_ARGUMENT,
      /because it was initialized on \[cpu\(1\), cpu\(2\)\]/,
    );
    const before = (await d.describe()).version;
    await ps.loadParameters(f);
    expect((await d.describe()).version).toBeGreaterThan(before);
  });

  it('an uninitialized parameter is created on ctx (default cpu(0)) from the file, bypassing its initializer', async () => {
    const ps = await server();
    const u = await ps.parameter('u', { shape: [2, 2], init: init.constant(42) });
    const g = await ps.parameter('g', { shape: [2], gradReq: 'add' });
    const f = file('uninit.params');
    writeFileSync(f, encodeParams([entry('u', [2, 2], [1, 2, 3, 4]), entry('g', [2], [5, 6])]));
    await ps.loadParameters(f, { ctx: [cpu(1), cpu(3)] });
    expect(await u.describe()).toMatchObject({ initialized: true, ctx: [cpu(1), cpu(3)] });
    for (const t of await u.listData()) expect(numbers(t)).toEqual([1, 2, 3, 4]);
    // Gradients exist and start at zero.
    for (const t of await g.listGrad()) expect(numbers(t)).toEqual([0, 0]);
    const fresh = await server();
    const w = await fresh.parameter('u', { shape: [2, 2] });
    await fresh.loadParameters(f, { ignoreExtra: true });
    expect(await w.describe()).toMatchObject({ ctx: [cpu(0)] });
  });

  it('row_sparse records load into dense and row_sparse parameters (absent rows are zero)', async () => {
    const ps = await server();
    const dense = await ps.parameter('dense', { shape: [4, 2] });
    const sparse = await ps.parameter('sparse', { shape: [4, 2], stype: 'row_sparse' });
    const rows = (name: string): NamedTensor => ({
      name,
      dtype: 'float32',
      shape: [4, 2],
      data: new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer),
      stype: 'row_sparse',
      indices: new BigInt64Array([1n, 3n]),
    });
    const f = file('rows.params');
    writeFileSync(f, encodeParams([rows('dense'), rows('sparse')]));
    await ps.loadParameters(f);
    expect(numbers(await dense.data())).toEqual([0, 0, 1, 2, 0, 0, 3, 4]);
    expect(numbers((await sparse.rowSparseData([0, 1, 2, 3])).values)).toEqual([0, 0, 1, 2, 0, 0, 3, 4]);
  });

  it("declare: the file's entries the server lacks are declared and initialized from it", async () => {
    const ps = await server();
    const f = file('declare.params');
    writeFileSync(
      f,
      encodeParams([
        entry('n1', [2], [1, 2]),
        {
          name: 'n2',
          dtype: 'int64',
          shape: [1],
          data: new Uint8Array(new BigInt64Array([5n]).buffer),
          stype: 'default',
        },
        {
          name: 'n3',
          dtype: 'float32',
          shape: [3, 1],
          data: new Uint8Array(Float32Array.from([9]).buffer),
          stype: 'row_sparse',
          indices: new BigInt64Array([2n]),
        },
      ]),
    );
    await rejectsWith(
      ps.loadParameters(f),
      Status.INVALID_ARGUMENT,
      /not present on the server\. Set ignoreExtra to true to ignore them, or declare to true/,
    );
    const r = await ps.loadParameters(f, { declare: true, ctx: cpu(2) });
    expect(r).toMatchObject({ loaded: ['n1', 'n2', 'n3'], declared: ['n1', 'n2', 'n3'] });
    expect(await (await ps.get('n2')).describe()).toMatchObject({ dtype: 'int64', shape: [1], ctx: [cpu(2)] });
    expect(await (await ps.get('n3')).describe()).toMatchObject({ stype: 'row_sparse', shape: [3, 1] });
    expect(numbers((await (await ps.get('n3')).rowSparseData([0, 1, 2])).values)).toEqual([0, 0, 9]);
  });
});

describe('errors', () => {
  it('saving an uninitialized or unknown parameter; bad options', async () => {
    const ps = await server();
    await ps.parameter('ready', { shape: [1] }).then((p) => p.initialize());
    await ps.parameter('later', { shape: [0], allowDeferredInit: true }).then((p) => p.initialize());
    await ps.parameter('never', { shape: [1] });
    await rejectsWith(
      ps.saveParameters(file('x.params')),
      Status.FAILED_PRECONDITION,
      /cannot save 2 parameters that are not initialized: 'later' \(initialization deferred until its shape is known\), 'never'/,
    );
    await rejectsWith(
      ps.saveParameters(file('x.params'), { names: ['ready', 'ghost'] }),
      Status.NOT_FOUND,
      /parameter 'ghost' does not exist/,
    );
    await rejectsWith(
      ps.saveParameters(file('x.params'), { format: 'npy' as never }),
      Status.INVALID_ARGUMENT,
      /format must be one of params, safetensors, npz/,
    );
    await rejectsWith(
      ps.saveParameters(file('x.params'), { allow_missing: true } as never),
      Status.INVALID_ARGUMENT,
      /unknown option 'allow_missing'/,
    );
    await rejectsWith(
      ps.loadParameters(file('x.params'), { allowMissing: 'yes' as never }),
      Status.INVALID_ARGUMENT,
      /allowMissing must be a boolean/,
    );
    await rejectsWith(
      ps.saveParameters(path.join(dir, 'no-such-dir', 'x.params'), { names: ['ready'] }),
      Status.NOT_FOUND,
      /no-such-dir/,
    );
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a missing, corrupt or truncated file is a clear error and changes nothing', async () => {
    const ps = await server();
    const w = await ps.parameter('w', { shape: [4] });
    await w.initialize({ init: init.constant(3) });
    await rejectsWith(
      ps.loadParameters(file('absent.params')),
      Status.NOT_FOUND,
      /absent\.params.*ENOENT|ENOENT.*absent\.params/,
    );
    const f = file('good.params');
    writeFileSync(f, encodeParams([entry('w', [4], [1, 2, 3, 4])]));
    const bytes = readFileSync(f);
    writeFileSync(file('trunc.params'), bytes.subarray(0, bytes.byteLength - 10));
    await rejectsWith(
      ps.loadParameters(file('trunc.params')),
      Status.INVALID_ARGUMENT,
      /trunc\.params: MXNet \.params: /,
    );
    writeFileSync(file('junk.bin'), Buffer.from('hello, not a tensor file'));
    await rejectsWith(
      ps.loadParameters(file('junk.bin')),
      Status.INVALID_ARGUMENT,
      /junk\.bin: .*not a recognised tensor file/,
    );
    await rejectsWith(
      ps.loadParameters(f, { format: 'safetensors' }),
      Status.INVALID_ARGUMENT,
      /good\.params: safetensors: /,
    );
    expect(numbers(await w.data())).toEqual([3, 3, 3, 3]);
  });
});
