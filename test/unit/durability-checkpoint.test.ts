// Checkpoint directories (server/durability/checkpoint-dir.ts) on real temp dirs: crc32Combine
// against zlib, the hashing FileHandle wrapper (sequential, out-of-order and concurrent writes
// hash without a read-back; raw fd use falls back to one), write/list/prune, invalid manifests
// and files, and child processes killed with SIGKILL at each stage of a checkpoint write.
import { existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointExistsError,
  CheckpointInvalidError,
  checkpointDirName,
  crc32Combine,
  crc32File,
  inspectCheckpoints,
  listCheckpoints,
  ManifestTooLargeError,
  MAX_MANIFEST_BYTES,
  pruneCheckpoints,
  readManifest,
  removeLeftovers,
  writeCheckpoint,
  MAX_SPARE_FILES,
  type CheckpointFile,
} from '../../server/durability/checkpoint-dir';
import { configureFailpoints, FailpointError } from '../../server/durability/failpoints';
import { runChild, useBundledModule } from '../fixtures/bundled-module';

const scratch = useBundledModule('ckpt', 'server/durability/checkpoint-dir.ts');
const CKPT_TS = scratch.bundle;
const freshRoot = scratch.fresh;
afterAll(() => configureFailpoints(undefined));

function bytes(len: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let k = 0; k < len; k++) b[k] = (k * 31 + seed) & 255;
  return b;
}

/** A file written sequentially in chunks. */
const seqFile = (name: string, data: Buffer, chunk = 1000): CheckpointFile => ({
  name,
  write: async (fh) => {
    for (let off = 0; off < data.length; off += chunk) await fh.write(data.subarray(off, off + chunk));
  },
});

describe('crc32Combine', () => {
  it('equals zlib crc32 of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
      }),
      { numRuns: 300 },
    );
    // Long lengths (the x^(2^k) table beyond 32 bits of length).
    const zeros = Buffer.alloc(1 << 20);
    let crc = crc32(Buffer.from('head'));
    for (let i = 0; i < 8; i++) crc = crc32Combine(crc, crc32(zeros), zeros.length);
    expect(crc).toBe(crc32(zeros, crc32(Buffer.concat([Buffer.from('head'), Buffer.alloc(7 << 20)]))));
  });
});

describe('writeCheckpoint', () => {
  it('writes files + manifest atomically; sizes and crc32s match the bytes; lists as valid', async () => {
    const root = freshRoot();
    const a = bytes(10_000, 1);
    const b = bytes(12_345, 2);
    const { dir, manifest, readBack } = await writeCheckpoint(
      root,
      3n,
      [seqFile('params.safetensors', a), seqFile('trainer.json', b, 4096)],
      { step: 3, lsn: '17' },
    );
    expect(dir).toBe(path.join(root, checkpointDirName(3n)));
    expect(readBack).toEqual([]);
    expect(manifest).toMatchObject({ format: 'gluonps-checkpoint/1', id: '3', meta: { step: 3, lsn: '17' } });
    expect(manifest.files).toEqual([
      { name: 'params.safetensors', size: a.length, crc32: crc32(a) },
      { name: 'trainer.json', size: b.length, crc32: crc32(b) },
    ]);
    expect(readdirSync(root)).toEqual([checkpointDirName(3n)]);
    expect(await readManifest(dir)).toEqual(manifest);
    const listed = await listCheckpoints(root, { verify: 'full' });
    expect(listed.map((c) => c.id)).toEqual([3n]);
    await expect(writeCheckpoint(root, 3n, [], {})).rejects.toBeInstanceOf(CheckpointExistsError);
  });

  it("writes the meta as it was when called, whatever the caller's objects become meanwhile", async () => {
    // The soak found checkpoints skipped as invalid: the store's live spec changed (a cast) while
    // the files were written, after the meta's crc32 was taken.
    const root = freshRoot();
    const spec = { dtype: 'float32', shape: [2, 3] };
    const meta = { lsn: '5', entries: [{ spec }] };
    const mutating: CheckpointFile = {
      name: 'tensors.bin',
      write: async (fh) => {
        spec.dtype = 'float64';
        spec.shape.push(4);
        await fh.write(bytes(100, 3));
      },
    };
    const { dir, manifest } = await writeCheckpoint(root, 4n, [mutating], meta);
    expect(manifest.meta).toEqual({ lsn: '5', entries: [{ spec: { dtype: 'float32', shape: [2, 3] } }] });
    expect((await readManifest(dir)).meta).toEqual(manifest.meta);
    expect((await listCheckpoints(root)).map((c) => c.id)).toEqual([4n]);
  });

  it('pruning also removes invalid checkpoints older than the newest valid one', async () => {
    const root = freshRoot();
    for (const id of [1n, 2n, 3n, 4n])
      await writeCheckpoint(root, id, [seqFile('f.bin', bytes(10, Number(id)))], { id: String(id) });
    // Damage 1 and 4: 1 is older than the newest valid (3), 4 is the newest of all.
    for (const id of [1n, 4n]) writeFileSync(path.join(root, checkpointDirName(id), 'manifest.json'), '{"torn": ');
    const { removed, kept } = await pruneCheckpoints(root, 1);
    expect(removed.map((d) => path.basename(d)).sort()).toEqual([checkpointDirName(1n), checkpointDirName(2n)]);
    expect(kept.map((c) => c.id)).toEqual([3n]);
    expect(
      readdirSync(root)
        .filter((d) => d.startsWith('ckpt-'))
        .sort(),
    ).toEqual([checkpointDirName(3n), checkpointDirName(4n)]);
  });

  it('hashes out-of-order, concurrent, writev and string writes without a read-back', async () => {
    const root = freshRoot();
    const data = bytes(100_000, 7);
    const files: CheckpointFile[] = [
      {
        // header last, at position 0 (the safetensors way)
        name: 'a.bin',
        write: async (fh) => {
          await fh.write(data, 100, data.length - 100, 100);
          await fh.write(data.subarray(0, 100), 0, 100, 0);
        },
      },
      {
        // concurrent positional chunks, completing in any order
        name: 'b.bin',
        write: async (fh) => {
          const ops = [];
          for (let off = 0; off < data.length; off += 7000)
            ops.push(fh.write(data, off, Math.min(7000, data.length - off), off));
          await Promise.all(ops);
        },
      },
      {
        name: 'c.bin',
        write: async (fh) => {
          await fh.writev([data.subarray(0, 10), data.subarray(10, 50_000)]);
          await fh.writev([data.subarray(50_000)], 50_000);
        },
      },
      {
        name: 'd.json',
        write: async (fh) => {
          await fh.write('{"x":');
          await fh.writeFile('1}\n');
        },
      },
    ];
    const { manifest, readBack } = await writeCheckpoint(root, 1n, files, null);
    expect(readBack).toEqual([]);
    for (const f of manifest.files.slice(0, 3)) expect(f).toMatchObject({ size: data.length, crc32: crc32(data) });
    expect(manifest.files[3]).toMatchObject({ size: 8, crc32: crc32(Buffer.from('{"x":1}\n')) });
    expect((await listCheckpoints(root, { verify: 'full' })).length).toBe(1);
  });

  it('falls back to a read-back when the writer bypasses the wrapper, overlaps or leaves holes', async () => {
    const root = freshRoot();
    const data = bytes(5000, 3);
    const files: CheckpointFile[] = [
      { name: 'fd.bin', write: async (fh) => void writeSync(fh.fd, data) },
      {
        name: 'overlap.bin',
        write: async (fh) => {
          await fh.write(Buffer.alloc(5000), 0, 5000, 0);
          await fh.write(data, 0, 5000, 0);
        },
      },
      { name: 'hole.bin', write: async (fh) => void (await fh.write(data, 0, 10, 4990)) },
    ];
    const { manifest, readBack } = await writeCheckpoint(root, 1n, files, {});
    expect(readBack.map((r) => r.name)).toEqual(['fd.bin', 'overlap.bin', 'hole.bin']);
    expect(manifest.files[0]!.crc32).toBe(crc32(data));
    expect(manifest.files[1]!.crc32).toBe(crc32(data));
    expect(manifest.files[2]!.crc32).toBe(crc32(Buffer.concat([Buffer.alloc(4990), data.subarray(0, 10)])));
    expect((await listCheckpoints(root, { verify: 'full' })).length).toBe(1);
  });

  it('rejects bad file names; a failing writer leaves nothing behind', async () => {
    const root = freshRoot();
    for (const name of ['../x', 'a/b', 'manifest.json', '.hidden', '']) {
      await expect(writeCheckpoint(root, 1n, [seqFile(name, bytes(1, 1))], {})).rejects.toThrow(/not allowed/);
    }
    await expect(writeCheckpoint(root, 1n, [seqFile('x', bytes(1, 1)), seqFile('x', bytes(1, 1))], {})).rejects.toThrow(
      /twice/,
    );
    const boom: CheckpointFile = { name: 'b', write: () => Promise.reject(new Error('disk on fire')) };
    await expect(writeCheckpoint(root, 1n, [seqFile('a', bytes(100, 1)), boom], {})).rejects.toThrow('disk on fire');
    expect(readdirSync(root)).toEqual([]);
  });

  it('a throw failpoint before the rename removes the tmp dir; the checkpoint does not exist', async () => {
    const root = freshRoot();
    configureFailpoints('checkpoint.after-manifest-before-rename=1:throw');
    await expect(writeCheckpoint(root, 9n, [seqFile('a', bytes(10, 1))], {})).rejects.toBeInstanceOf(FailpointError);
    configureFailpoints(undefined);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('listCheckpoints, removeLeftovers, pruneCheckpoints', () => {
  async function threeCheckpoints(root: string) {
    for (const id of [5n, 10n, 20n])
      await writeCheckpoint(root, id, [seqFile('p.bin', bytes(3000, Number(id)))], { id: Number(id) });
  }

  it('lists newest first and skips invalid dirs, saying why; removeLeftovers deletes them and tmp-* dirs', async () => {
    const root = freshRoot();
    await threeCheckpoints(root);
    const dir = (id: bigint) => path.join(root, checkpointDirName(id));
    // 20: wrong size; 10: right size, wrong bytes (only 'full' sees it); plus junk.
    truncateSync(path.join(dir(20n), 'p.bin'), 100);
    const p10 = path.join(dir(10n), 'p.bin');
    const flipped = readFileSync(p10);
    flipped[7] = flipped[7]! ^ 1;
    writeFileSync(p10, flipped);
    mkdirSync(dir(30n)); // no manifest
    mkdirSync(dir(40n));
    writeFileSync(path.join(dir(40n), 'manifest.json'), '{"format":"gluonps-checkpoint/1","id":"40","crea'); // torn
    mkdirSync(path.join(root, 'tmp-ckpt-00000000000000000050'));
    writeFileSync(path.join(root, 'unrelated.txt'), 'keep me');

    const warnings: Array<Record<string, unknown>> = [];
    const log = { warn: (o: Record<string, unknown>) => void warnings.push(o) };
    expect((await listCheckpoints(root, { verify: 'size', log })).map((c) => c.id)).toEqual([10n, 5n]);
    expect(warnings.map((w) => path.basename(String(w.dir)))).toEqual([
      checkpointDirName(20n),
      checkpointDirName(30n),
      checkpointDirName(40n),
    ]);
    expect(String(warnings[0]!.reason)).toMatch(/p.bin is 100 bytes, the manifest says 3000/);
    expect(String(warnings[1]!.reason)).toMatch(/missing/);
    expect(String(warnings[2]!.reason)).toMatch(/not valid JSON/);
    expect((await listCheckpoints(root, { verify: 'full' })).map((c) => c.id)).toEqual([5n]);
    await expect(readManifest(dir(30n))).rejects.toBeInstanceOf(CheckpointInvalidError);

    const removed = await removeLeftovers(root);
    expect(removed.map((r) => path.basename(r)).sort()).toEqual(
      ['tmp-ckpt-00000000000000000050', checkpointDirName(20n), checkpointDirName(30n), checkpointDirName(40n)].sort(),
    );
    expect(readdirSync(root).sort()).toEqual([checkpointDirName(10n), checkpointDirName(5n), 'unrelated.txt'].sort());
    // A bad crc is removed only when verifying fully.
    await removeLeftovers(root, { verify: 'full' });
    expect(existsSync(dir(10n))).toBe(false);
  });

  it('a manifest whose id disagrees with the directory name is invalid', async () => {
    const root = freshRoot();
    await threeCheckpoints(root);
    const m = readFileSync(path.join(root, checkpointDirName(5n), 'manifest.json'), 'utf8');
    writeFileSync(path.join(root, checkpointDirName(5n), 'manifest.json'), m.replace('"id": "5"', '"id": "6"'));
    const r = await inspectCheckpoints(root);
    expect(r.valid.map((c) => c.id)).toEqual([20n, 10n]);
    expect(r.invalid[0]!.reason).toMatch(/says id 6/);
  });

  it("a change inside the meta that leaves valid JSON fails the meta's crc32; a manifest without one (older) still reads", async () => {
    const root = freshRoot();
    await writeCheckpoint(root, 1n, [seqFile('a.bin', bytes(10, 1))], { lsn: '1042', values: [1.5, -Infinity] });
    await writeCheckpoint(root, 2n, [seqFile('a.bin', bytes(10, 2))], { lsn: '1043' });
    const file = (id: bigint) => path.join(root, checkpointDirName(id), 'manifest.json');
    expect((await readManifest(path.dirname(file(1n)))).meta).toEqual({ lsn: '1042', values: [1.5, -Infinity] });
    writeFileSync(file(1n), readFileSync(file(1n), 'utf8').replace('"1042"', '"1043"'));
    const m2 = JSON.parse(readFileSync(file(2n), 'utf8')) as Record<string, unknown>;
    delete m2.metaCrc32;
    writeFileSync(file(2n), JSON.stringify(m2));
    const r = await inspectCheckpoints(root);
    expect(r.valid.map((c) => c.id)).toEqual([2n]);
    expect(r.invalid[0]!.reason).toMatch(/meta has crc32 [0-9a-f]+, the manifest says/);
  });

  it('a manifest over the limit the reader accepts is never written: refused before any file, nothing left behind', async () => {
    const root = freshRoot();
    let wrote = false;
    const big = { values: Array.from({ length: MAX_MANIFEST_BYTES / 16 }, (_, i) => i + 0.123456789) };
    const err = await writeCheckpoint(
      root,
      1n,
      [
        {
          name: 'a.bin',
          write: async () => {
            wrote = true;
          },
        },
      ],
      big,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestTooLargeError);
    expect((err as Error).message).toMatch(
      new RegExp(`over the limit of ${MAX_MANIFEST_BYTES} bytes a manifest may have`),
    );
    expect(wrote).toBe(false);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  it('prune keeps the newest K valid checkpoints; a crash mid-prune leaves only a tmp-del leftover', async () => {
    const root = freshRoot();
    await threeCheckpoints(root);
    const pruned = await pruneCheckpoints(root, 2);
    expect(pruned.removed.map((d) => path.basename(d))).toEqual([checkpointDirName(5n)]);
    expect(pruned.kept.map((c) => c.id)).toEqual([20n, 10n]);
    expect((await listCheckpoints(root)).map((c) => c.id)).toEqual([20n, 10n]);
    await expect(pruneCheckpoints(root, 0)).rejects.toThrow(RangeError);
    configureFailpoints('checkpoint.prune-after-rename=1:throw');
    await expect(pruneCheckpoints(root, 1)).rejects.toBeInstanceOf(FailpointError);
    configureFailpoints(undefined);
    // ckpt 5's file was kept as a spare; the crashed prune of 10 kept nothing yet.
    expect(readdirSync(root).sort()).toEqual([
      checkpointDirName(20n),
      'spare-00000000000000000000.bin',
      `tmp-del-${checkpointDirName(10n)}`,
    ]);
    expect((await listCheckpoints(root)).map((c) => c.id)).toEqual([20n]);
    await removeLeftovers(root);
    expect(readdirSync(root).sort()).toEqual([checkpointDirName(20n), 'spare-00000000000000000000.bin']);
  });

  it('pruned files are kept as spares (at most MAX_SPARE_FILES) and the next checkpoints write over them, cut to size', async () => {
    const root = freshRoot();
    const big = (id: number) => [
      seqFile('a.bin', bytes(50_000, id), 4096),
      seqFile('b.bin', bytes(20_000, id + 1), 999),
    ];
    for (const id of [1, 2, 3, 4]) {
      await writeCheckpoint(root, BigInt(id), big(id), { id });
      await pruneCheckpoints(root, 1);
    }
    const spares = () =>
      readdirSync(root)
        .filter((f) => f.startsWith('spare-'))
        .sort();
    expect(spares()).toHaveLength(MAX_SPARE_FILES);
    // Smaller files than the spares they reuse: each is cut to what was written.
    const small = [seqFile('a.bin', bytes(1234, 7), 100), seqFile('c.bin', bytes(777, 8), 50)];
    const { manifest } = await writeCheckpoint(root, 5n, small, { id: 5 });
    expect(spares()).toEqual([]);
    expect(manifest.files.map((f) => [f.name, f.size, f.crc32])).toEqual([
      ['a.bin', 1234, crc32(bytes(1234, 7))],
      ['c.bin', 777, crc32(bytes(777, 8))],
    ]);
    expect(readFileSync(path.join(root, checkpointDirName(5n), 'a.bin')).equals(bytes(1234, 7))).toBe(true);
    expect(readFileSync(path.join(root, checkpointDirName(5n), 'c.bin')).equals(bytes(777, 8))).toBe(true);
    expect((await inspectCheckpoints(root, { verify: 'full' })).valid.map((c) => c.id)).toEqual([5n, 4n]);
  });

  it('crc32File reads a file back', async () => {
    const root = freshRoot();
    mkdirSync(root);
    const p = path.join(root, 'f');
    const data = bytes(9 * 1024 * 1024 + 5, 9);
    writeFileSync(p, data);
    expect(await crc32File(p)).toBe(crc32(data));
  });
});

describe('kill -9 during a checkpoint write (child process, failpoints)', () => {
  const child = (root: string) => `
    const { writeCheckpoint } = await import(${JSON.stringify(CKPT_TS)});
    const data = new Uint8Array(300000).fill(7);
    const files = [1, 2, 3].map((k) => ({ name: 'part' + k + '.bin', write: async (fh) => { await fh.write(data); } }));
    await writeCheckpoint(${JSON.stringify(root)}, 1n, files, { n: 1 });
    await writeCheckpoint(${JSON.stringify(root)}, 2n, files, { n: 2 });
  `;

  it('before the rename the new checkpoint is invisible and removeLeftovers deletes it; after the rename it is complete', async () => {
    const points = [
      ['checkpoint.after-tensor-files', 1n],
      ['checkpoint.before-manifest', 1n],
      ['checkpoint.mid-manifest', 1n],
      ['checkpoint.after-manifest-before-rename', 1n],
      ['checkpoint.after-rename-before-dirsync', 2n],
    ] as const;
    const cases = points.map(([fp, newest]) => ({ fp, newest, root: freshRoot() }));
    // Hit 2: the second checkpoint dies, the first is complete.
    const runs = await Promise.all(cases.map((c) => runChild(child(c.root), { GLUONPS_FAILPOINTS: `${c.fp}=2` })));
    for (const [k, run] of runs.entries()) {
      const c = cases[k]!;
      expect(run.signal, run.stderr).toBe('SIGKILL');
      expect(run.stderr).toContain(`failpoint ${c.fp} fired on hit 2`);
      const listed = await listCheckpoints(c.root, { verify: 'full' });
      expect(listed[0]!.id, c.fp).toBe(c.newest);
      expect(listed[0]!.manifest.meta).toEqual({ n: Number(c.newest) });
      const removed = await removeLeftovers(c.root, { verify: 'full' });
      expect(
        removed.map((r) => path.basename(r)),
        c.fp,
      ).toEqual(c.newest === 1n ? ['tmp-ckpt-00000000000000000002'] : []);
      expect(readdirSync(c.root).sort()).toEqual(
        c.newest === 1n ? [checkpointDirName(1n)] : [checkpointDirName(1n), checkpointDirName(2n)],
      );
    }
  }, 20_000);
});
