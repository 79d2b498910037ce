// Counter-based random fills: the same seed gives identical bytes whatever the thread count
// (checked in child processes with GLUONPS_KERNEL_THREADS=1 and 3), and the moments are right.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as nk from '../../native/index';
import { cpu } from '../../native/index';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function sample(
  kind: 'uniform' | 'normal',
  dtype: nk.DType,
  n: number,
  seed: number,
  offset = 0,
): Promise<Uint8Array> {
  const t = nk.empty(cpu(0), dtype, [n]);
  if (kind === 'uniform') await nk.uniform(t, -2, 3, seed, offset);
  else await nk.normal(t, 1, 2, seed, offset);
  return nk.readBytes(t);
}

function digestInChild(threads: number): string {
  const script = `
    import * as nk from './native/index.ts';
    import { createHash } from 'node:crypto';
    const h = createHash('sha256');
    for (const kind of ['uniform', 'normal']) for (const dtype of ['float32', 'float64', 'float16', 'bfloat16']) {
      const t = nk.empty(nk.cpu(0), dtype, [1200000]);
      if (kind === 'uniform') await nk.uniform(t, -2, 3, 42); else await nk.normal(t, 1, 2, 42);
      h.update(await nk.readBytes(t));
    }
    console.log(nk.buildInfo().kernelThreads + ' ' + h.digest('hex'));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, GLUONPS_KERNEL_THREADS: String(threads) },
    encoding: 'utf8',
  });
  const [used, digest] = out.trim().split(' ');
  expect(Number(used)).toBe(threads);
  return digest!;
}

describe('random fills', () => {
  it('are bit-identical for the same seed and differ for another seed or offset', async () => {
    for (const kind of ['uniform', 'normal'] as const) {
      const a = await sample(kind, 'float32', 5000, 7);
      expect(await sample(kind, 'float32', 5000, 7)).toEqual(a);
      expect(await sample(kind, 'float32', 5000, 8)).not.toEqual(a);
      expect(await sample(kind, 'float32', 5000, 7, 1)).not.toEqual(a);
    }
  });

  it('give the same values for a prefix whatever the tensor size (element i uses counter i)', async () => {
    const small = new Float64Array((await sample('normal', 'float64', 100, 3)).buffer);
    const big = new Float64Array((await sample('normal', 'float64', 600_000, 3)).buffer);
    expect([...small]).toEqual([...big.subarray(0, 100)]);
  });

  it('are identical across kernel thread counts', () => {
    expect(digestInChild(1)).toBe(digestInChild(3));
  }, 120_000);

  it('have the right moments and range', async () => {
    const n = 1 << 20;
    const u = new Float64Array((await sample('uniform', 'float64', n, 11)).buffer);
    const z = new Float64Array((await sample('normal', 'float64', n, 11)).buffer);
    const moments = (xs: Float64Array): [number, number] => {
      let s = 0,
        s2 = 0;
      for (const x of xs) {
        s += x;
        s2 += x * x;
      }
      const mean = s / xs.length;
      return [mean, s2 / xs.length - mean * mean];
    };
    const [um, uv] = moments(u);
    // U(-2, 3): mean 0.5, variance 25/12; 5 standard errors.
    expect(Math.abs(um - 0.5)).toBeLessThan(5 * Math.sqrt(25 / 12 / n));
    expect(Math.abs(uv - 25 / 12)).toBeLessThan(0.01);
    expect(Math.min(...u.subarray(0, 100000))).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u.subarray(0, 100000))).toBeLessThan(3);
    const [zm, zv] = moments(z);
    // N(1, 4)
    expect(Math.abs(zm - 1)).toBeLessThan(5 * Math.sqrt(4 / n));
    expect(Math.abs(zv - 4)).toBeLessThan(0.03);
    // tails: about 4.55% beyond 2 sigma
    const beyond = z.reduce((c, x) => c + (Math.abs(x - 1) > 4 ? 1 : 0), 0) / n;
    expect(Math.abs(beyond - 0.0455)).toBeLessThan(0.002);
  });

  it("fill rows of a bigger tensor with exactly what those rows get in the whole (a shard's part)", async () => {
    const full = [12, 5, 3];
    const rowElems = 15;
    for (const kind of ['uniform', 'normal'] as const) {
      for (const dtype of ['float32', 'float64', 'bfloat16', 'int32'] as const) {
        const fill = (t: nk.DeviceTensor, rows?: nk.RowsOf): Promise<void> =>
          kind === 'uniform' ? nk.uniform(t, -2, 3, 99, 4, rows) : nk.normal(t, 1, 2, 99, 4, rows);
        const whole = nk.empty(cpu(0), dtype, full);
        await fill(whole);
        const all = await nk.readBytes(whole);
        const rowBytes = rowElems * nk.dtypeSize(dtype);
        // A contiguous slice (rows 4..8) and every fifth row from row 3 (rows 3, 8).
        for (const { firstRow, rowStep, rows } of [
          { firstRow: 4, rowStep: 1, rows: 5 },
          { firstRow: 3, rowStep: 5, rows: 2 },
          { firstRow: 0, rowStep: 1, rows: 12 },
        ]) {
          const part = nk.empty(cpu(0), dtype, [rows, 5, 3]);
          await fill(part, { firstRow, rowStep });
          const want = new Uint8Array(rows * rowBytes);
          for (let r = 0; r < rows; r++)
            want.set(
              all.subarray((firstRow + r * rowStep) * rowBytes, (firstRow + r * rowStep + 1) * rowBytes),
              r * rowBytes,
            );
          expect(
            Buffer.from(await nk.readBytes(part)).equals(Buffer.from(want)),
            `${kind} ${dtype} ${firstRow}+${rowStep}j`,
          ).toBe(true);
        }
      }
    }
    const scalar = nk.empty(cpu(0), 'float32', []);
    await expect(nk.uniform(scalar, 0, 1, 1, 0, { firstRow: 0, rowStep: 1 })).rejects.toThrow(/a scalar has no rows/);
    const t = nk.empty(cpu(0), 'float32', [2, 2]);
    await expect(nk.normal(t, 0, 1, 1, 0, { firstRow: 2 ** 62, rowStep: 1 })).rejects.toThrow(
      /non-negative integer|fit in 64 bits/,
    );
  });

  it('round integer tensors by the cast rule (truncate toward zero)', async () => {
    const f = new Float64Array((await sample('uniform', 'float64', 64, 5)).buffer);
    const i = new Int32Array((await sample('uniform', 'int32', 64, 5)).buffer);
    expect([...i]).toEqual([...f].map((x) => Math.trunc(x) + 0));
  });
});
