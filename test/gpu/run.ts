// run.ts: runs the GPU checks without vitest (for a lent GPU machine with nothing but node),
// then times SGD-momentum and a device copy on gpu(0). Prints one line per check and a JSON line.
import * as nk from '../../native/index';
import { gpu } from '../../native/index';
import { gpuChecks, gpuUnavailableReason } from './checks';

const reason = gpuUnavailableReason();
if (reason !== null) {
  console.log(`gpu checks skipped: ${reason}`);
  process.exit(0);
}
let failed = 0;
for (const check of gpuChecks) {
  const t0 = performance.now();
  try {
    await check.run();
    console.log(`ok   ${check.name} (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${check.name}: ${(err as Error).message}`);
  }
}

async function median(fn: () => Promise<void>, runs = 9): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1e3);
  }
  return ts.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
const n = 64 * 1024 * 1024,
  bytes = n * 4;
const w = nk.empty(gpu(0), 'float32', [n]),
  g = nk.empty(gpu(0), 'float32', [n]),
  m = nk.empty(gpu(0), 'float32', [n]);
await nk.normal(g, 0, 1, 1);
const copySec = await median(() => nk.copy(w, g));
const sgdSec = await median(() => nk.optimizerUpdate('sgd', { lr: 0.01, momentum: 0.9, wd: 1e-4 }, w, g, [m]));
const v = nk.empty(gpu(0), 'float32', [n]);
const adamSec = await median(() => nk.optimizerUpdate('adam', { lr: 0.001, t: 1 }, w, g, [m, v]));
console.log(`${gpuChecks.length - failed} passed, ${failed} failed`);
console.log(
  JSON.stringify({
    bench: 'gpu-kernels',
    elements: n,
    device_copy_gbps: +((2 * bytes) / copySec / 1e9).toFixed(1),
    sgd_gbps: +((5 * bytes) / sgdSec / 1e9).toFixed(1),
    adam_gbps: +((7 * bytes) / adamSec / 1e9).toFixed(1),
  }),
);
process.exit(failed === 0 ? 0 : 1);
