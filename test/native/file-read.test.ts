// nk.fileRead, the checkpoint load's read: the bytes land at the right offset of the target and
// the crc32 it returns equals zlib's for every length and alignment class (the native crc32
// folds with carry-less multiplies on x86-64, then finishes the tail with zlib); a file that
// ends early rejects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import * as nk from '../../native/index';

const dir = mkdtempSync(path.join(tmpdir(), 'gps-file-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('nk.fileRead', () => {
  const data = bytes(3 * 2 ** 20 + 12_345, 7);
  const file = path.join(dir, 'data.bin');
  writeFileSync(file, data);

  it('reads every length and alignment class into the target at its offset, with zlib crc32', async () => {
    const fh = await open(file, 'r');
    try {
      const lengths = [
        0,
        1,
        15,
        16,
        17,
        63,
        64,
        65,
        127,
        128,
        200,
        4095,
        4096,
        65_537,
        2 ** 20,
        2 ** 20 + 33,
        3 * 2 ** 20 + 12_000,
      ];
      for (const length of lengths) {
        for (const position of [0, 1, 5, 16, 333]) {
          for (const offset of [0, 3, 8]) {
            const target = new Uint8Array(offset + length + 4).fill(0xa5);
            const crc = await nk.fileRead(fh.fd, position, target, offset, length);
            const want = data.subarray(position, position + length);
            expect(crc, `length ${length} position ${position} offset ${offset}`).toBe(crc32(want));
            expect(Buffer.from(target.subarray(offset, offset + length)).equals(Buffer.from(want))).toBe(true);
            expect(target.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
            expect(target.subarray(offset + length).every((b) => b === 0xa5)).toBe(true);
          }
        }
      }
    } finally {
      await fh.close();
    }
  });

  it('rejects when the file ends before the bytes asked for, and when the target is too small', async () => {
    const fh = await open(file, 'r');
    try {
      const target = new Uint8Array(4096);
      await expect(nk.fileRead(fh.fd, data.byteLength - 100, target)).rejects.toThrow(/file ended/);
      await expect(nk.fileRead(fh.fd, 0, target, 4000, 200)).rejects.toThrow(/exceeds the target/);
    } finally {
      await fh.close();
    }
  });
});
