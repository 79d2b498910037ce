// GPU tier: the kernels on CUDA must equal the CPU's bit for bit. Skipped, with the reason
// printed, when the addon has no CUDA or the machine has no GPU.
import { describe, it } from 'vitest';
import { gpuChecks, gpuUnavailableReason } from './checks';

const reason = gpuUnavailableReason();
if (reason !== null) console.log(`test/gpu skipped: ${reason}`);

describe.skipIf(reason !== null)('CUDA kernels', () => {
  for (const check of gpuChecks) it(check.name, check.run, 300_000);
});
