// common/formats/index.ts: format detection from content (bytes and paths), and whole-file
// readTensorFile / writeTensorFile for every format, through real files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NamedTensor, TensorFormat } from '../../common/formats/index';
import {
  decodeTensors,
  detectFormat,
  encodeTensors,
  FormatError,
  readTensorFile,
  TENSOR_FORMATS,
  writeTensorFile,
} from '../../common/formats/index';
import { essence, f32, fixture, fixtureNames, hex, i64, sortedEssence, u16 } from '../fixtures/formats/helpers';

const dir = mkdtempSync(join(tmpdir(), 'gluonps-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TENSORS: NamedTensor[] = [
  { name: 'dense0.weight', dtype: 'float32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6), stype: 'default' },
  { name: 'dense0.bias', dtype: 'bfloat16', shape: [3], data: u16(1, 2, 3), stype: 'default' },
  { name: 'step', dtype: 'int64', shape: [1], data: i64(9n), stype: 'default' },
];

describe('detectFormat', () => {
  it('recognises every valid golden file by content', () => {
    const dirs: [string, TensorFormat][] = [
      ['params', 'params'],
      ['safetensors', 'safetensors'],
      ['npy', 'npy'],
      ['npz', 'npz'],
    ];
    for (const [sub, fmt] of dirs) {
      for (const name of fixtureNames(sub, (n) => !n.startsWith('bad-'))) {
        expect(detectFormat(fixture(sub, name)), name).toBe(fmt);
      }
    }
  });

  it('detects from a path, and fails with a FormatError naming the file otherwise', async () => {
    const p = join(dir, 'model.bin');
    writeFileSync(p, fixture('params', 'dense-v2.params'));
    expect(await detectFormat(p)).toBe('params');
    writeFileSync(p, 'hello, world');
    await expect(detectFormat(p)).rejects.toThrow(FormatError);
    await expect(detectFormat(p)).rejects.toThrow(`${p}: tensor file: not a recognised tensor file`);
    expect(() => detectFormat(new Uint8Array(0))).toThrow(FormatError);
  });
});

describe('readTensorFile / writeTensorFile', () => {
  for (const fmt of TENSOR_FORMATS) {
    it(`${fmt}: write then read (format detected) gives the same tensors`, async () => {
      const path = join(dir, `t.${fmt}`);
      const ts = fmt === 'npy' ? TENSORS.slice(0, 1) : TENSORS;
      const bytes = await writeTensorFile(path, fmt, ts, {
        fsync: true,
        metadata: fmt === 'safetensors' ? { a: 'b' } : undefined,
      });
      const onDisk = new Uint8Array(readFileSync(path));
      expect(onDisk.byteLength).toBe(bytes);
      expect(hex(onDisk)).toBe(
        hex(encodeTensors(fmt, ts, { metadata: fmt === 'safetensors' ? { a: 'b' } : undefined })),
      );
      const back = await readTensorFile(path);
      const expected = fmt === 'npy' ? [{ ...ts[0]!, name: `t.${fmt}`.replace(/\.npy$/, '') }] : ts;
      expect(sortedEssence(back)).toEqual(sortedEssence(expected));
      expect(sortedEssence(decodeTensors(onDisk))).toEqual(
        sortedEssence(fmt === 'npy' ? [{ ...ts[0]!, name: 'array' }] : ts),
      );
    });
  }

  it('.params keeps order, row_sparse and context; options reach the format', async () => {
    const path = join(dir, 'rs.params');
    const rs: NamedTensor = {
      name: 'arg:emb',
      dtype: 'float32',
      shape: [10, 2],
      data: f32(1, 2),
      stype: 'row_sparse',
      indices: BigInt64Array.of(7n),
      context: { devType: 'gpu', devId: 2 },
    };
    await writeTensorFile(path, 'params', [rs]);
    const [back] = await readTensorFile(path, 'params', { stripPrefixes: true });
    expect(essence(back!)).toEqual({ ...essence(rs), name: 'emb' });
    expect(back!.context).toEqual({ devType: 'gpu', devId: 2 });
    await writeTensorFile(path, 'params', [{ ...TENSORS[0]!, shape: [6], name: 's' }], { numpyShape: true });
    expect(new Uint8Array(readFileSync(path)).subarray(24, 28)).toEqual(Uint8Array.of(0xca, 0xfa, 0x93, 0xf9));
  });

  it('npy holds one array; names a read array after its file', async () => {
    await expect(writeTensorFile(join(dir, 'two.npy'), 'npy', TENSORS)).rejects.toMatchObject({ code: 'Invalid' });
    const p = join(dir, 'my_weight.npy');
    await writeTensorFile(p, 'npy', TENSORS.slice(0, 1));
    expect((await readTensorFile(p))[0]!.name).toBe('my_weight');
    expect((await readTensorFile(p, 'npy', { name: 'w' }))[0]!.name).toBe('w');
  });

  it('limits apply to files (maxFileBytes for whole-file formats, all limits for safetensors)', async () => {
    const p = join(dir, 'lim.npz');
    await writeTensorFile(p, 'npz', TENSORS);
    await expect(readTensorFile(p, undefined, { limits: { maxFileBytes: 100 } })).rejects.toMatchObject({
      code: 'LimitExceeded',
      source: p,
    });
    const s = join(dir, 'lim.safetensors');
    await writeTensorFile(s, 'safetensors', TENSORS);
    await expect(readTensorFile(s, undefined, { limits: { maxTensors: 2 } })).rejects.toMatchObject({
      code: 'LimitExceeded',
    });
  });

  it('I/O errors are not FormatErrors; a wrong explicit format is a FormatError', async () => {
    await expect(readTensorFile(join(dir, 'missing.params'))).rejects.toMatchObject({ code: 'ENOENT' });
    const p = join(dir, 'x.npz');
    await writeTensorFile(p, 'npz', TENSORS);
    await expect(readTensorFile(p, 'params')).rejects.toThrow(`${p}: MXNet .params: list magic`);
  });
});
