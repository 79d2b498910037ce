// bench/kernels.ts (`npm run bench:kernels`): fused optimizer kernels over 64M float32 elements
// against, in the same run, the same SGD loop in plain TypeScript and a memcpy of the same
// bytes. GB/s counts bytes read + written; figures are medians of several runs.
import * as nk from '../native/index';
import { cpu } from '../native/index';

const ELEMENTS = Number(process.env.BENCH_ELEMENTS ?? 64 * 1024 * 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const dev = cpu(0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(runs: number, fn: () => Promise<void> | void): Promise<number> {
  await fn(); // warm-up: page faults of fresh memory and JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(times);
}

async function filled(shape: number[], seed: number): Promise<nk.DeviceTensor> {
  const t = nk.empty(dev, 'float32', shape);
  await nk.uniform(t, -1, 1, seed);
  return t;
}

const rows: Array<{ name: string; bytes: number; seconds: number }> = [];
function record(name: string, bytes: number, seconds: number): number {
  rows.push({ name, bytes, seconds });
  return bytes / seconds / 1e9;
}

async function main(): Promise<void> {
  const n = ELEMENTS;
  const bytes = n * 4;
  const info = nk.buildInfo();
  console.log(`kernels benchmark: ${n} float32 elements, ${info.kernelThreads} kernel threads, ${RUNS} runs (median)`);

  // memcpy baseline: the native copy (same threading as the kernels), and libc memcpy on one
  // thread through Buffer.copy for reference.
  const src = await filled([n], 1);
  const dst = nk.empty(dev, 'float32', [n]);
  const memcpyNativeGbps = record(
    'memcpy (native, all kernel threads)',
    2 * bytes,
    await timeIt(RUNS, () => nk.copy(dst, src)),
  );
  const a = Buffer.alloc(bytes, 1),
    b = Buffer.alloc(bytes);
  const memcpy1Gbps = record('memcpy (Buffer.copy, 1 thread)', 2 * bytes, await timeIt(RUNS, () => void a.copy(b)));
  // The baseline is the faster of the two, the stricter comparison.
  const memcpyGbps = Math.max(memcpyNativeGbps, memcpy1Gbps);

  const w = await filled([n], 2),
    g = await filled([n], 3),
    m = nk.empty(dev, 'float32', [n]);
  const sgd = { lr: 0.01, momentum: 0.9, wd: 1e-4, rescaleGrad: 1 / 32 };
  // SGD with momentum reads w, g, m and writes w, m.
  const sgdGbps = record(
    'sgd momentum (native)',
    5 * bytes,
    await timeIt(RUNS, () => nk.optimizerUpdate('sgd', sgd, w, g, [m])),
  );

  const mean = nk.empty(dev, 'float32', [n]),
    variance = nk.empty(dev, 'float32', [n]);
  let t = 0;
  // Adam reads w, g, mean, var and writes w, mean, var.
  const adamGbps = record(
    'adam (native)',
    7 * bytes,
    await timeIt(RUNS, () => nk.optimizerUpdate('adam', { lr: 0.001, t: ++t }, w, g, [mean, variance])),
  );

  // Lazy row-sparse SGD momentum: a [1M, 64] weight, 1/8 of its rows touched.
  const width = 64,
    numRows = n / width,
    touched = numRows / 8;
  const ids = new BigInt64Array(touched);
  for (let i = 0; i < touched; i++) ids[i] = BigInt(i * 8);
  const gradRows = await filled([touched, width], 4);
  const w2 = nk.empty(dev, 'float32', [numRows, width]),
    m2 = nk.empty(dev, 'float32', [numRows, width]);
  const lazyBytes = 5 * touched * width * 4;
  const lazyGbps = record(
    'lazy row-sparse sgd momentum (1/8 rows)',
    lazyBytes,
    await timeIt(RUNS, () => nk.optimizerUpdate('sgd', sgd, w2, gradRows, [m2], ids)),
  );
  w2.dispose();
  m2.dispose();
  gradRows.dispose();
  mean.dispose();
  variance.dispose();

  // The same SGD-momentum update as a plain TypeScript loop (MXNet's sgd_mom_update formula).
  const jw = new Float32Array(n).fill(0.5),
    jg = new Float32Array(n).fill(0.25),
    jm = new Float32Array(n);
  const jsSgd = (): void => {
    const { lr, momentum, wd, rescaleGrad } = sgd;
    for (let i = 0; i < n; i++) {
      const mom = momentum * jm[i]! - lr * wd * jw[i]! - lr * (rescaleGrad * jg[i]!);
      jm[i] = mom;
      jw[i] = jw[i]! + mom;
    }
  };
  const jsGbps = record('sgd momentum (plain TypeScript)', 5 * bytes, await timeIt(Math.min(RUNS, 5), jsSgd));

  console.log('');
  console.log('| kernel | GB moved | median s | GB/s |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.name} | ${(r.bytes / 1e9).toFixed(2)} | ${r.seconds.toFixed(4)} | ${(r.bytes / r.seconds / 1e9).toFixed(2)} |`,
    );
  console.log('');
  const ok1 = sgdGbps >= 0.7 * memcpyGbps,
    ok2 = sgdGbps >= 5 * jsGbps;
  console.log(`target sgd >= 0.7 x memcpy: ${(sgdGbps / memcpyGbps).toFixed(2)}x ${ok1 ? 'PASS' : 'FAIL'}`);
  console.log(`target sgd >= 5 x plain TypeScript: ${(sgdGbps / jsGbps).toFixed(2)}x ${ok2 ? 'PASS' : 'FAIL'}`);
  console.log(
    `(memcpy baseline = the faster of native ${memcpyNativeGbps.toFixed(2)} and 1-thread libc ${memcpy1Gbps.toFixed(2)} GB/s; lazy update ${lazyGbps.toFixed(2)} GB/s)`,
  );
  const round = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'kernels',
      elements: n,
      sgd_gbps: round(sgdGbps),
      adam_gbps: round(adamGbps),
      js_sgd_gbps: round(jsGbps),
      memcpy_gbps: round(memcpyGbps),
      lazy_sgd_gbps: round(lazyGbps),
      memcpy_native_gbps: round(memcpyNativeGbps),
      memcpy_1thread_gbps: round(memcpy1Gbps),
    }),
  );
}

await main();
