// The TypeScript side of the Python interoperation test (python/tests/test_interop.py): one
// process of the TypeScript client that the pytest session bundles (scripts/bundle.mjs) and
// runs with a JSON job as its argument, printing one JSON line with what it did. Jobs:
//   train: worker `workerId` of a sync trainer pushing grad(k, workerId) (the formula below,
//          which the Python side computes too, exact in float32) and stepping `steps` times;
//   write: sets each named parameter to random bytes of its dtype and prints their hex;
//   read:  prints the hex of each named parameter's data();
//   save:  saveParameters of `names` to `file` in `format`.
import { randomBytes } from 'node:crypto';
import { connect, type Tensor } from '../../client/index';
import type { DType } from '../../client/tensor';

interface Job {
  op: 'train' | 'write' | 'read' | 'save';
  server: string;
  names?: string[];
  trainer?: string;
  param?: string;
  workerId?: number;
  numWorkers?: number;
  steps?: number;
  batchSize?: number;
  optimizer?: 'sgd' | 'adam';
  optimizerParams?: Record<string, number>;
  file?: string;
  format?: 'params' | 'safetensors' | 'npz';
}

/** Gradient element i of step k for worker w: small multiples of 1/16, exact in float32. */
export function gradValue(k: number, w: number, i: number): number {
  return (((i * 7 + k * 13 + w * 5) % 17) - 8) / 16;
}

function typed(dtype: DType, bytes: Buffer): Tensor['data'] {
  const b = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (dtype) {
    case 'float32':
      return new Float32Array(b);
    case 'float64':
      return new Float64Array(b);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(b);
    case 'int32':
      return new Int32Array(b);
    case 'int64':
      return new BigInt64Array(b);
    case 'int8':
      return new Int8Array(b);
    case 'uint8':
      return new Uint8Array(b);
  }
}

const hex = (t: Tensor): string => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const ps = await connect(job.server, { connectTimeoutMs: 10_000 });
  const out: Record<string, unknown> = { op: job.op };
  try {
    if (job.op === 'train') {
      const p = await ps.get(job.param!);
      const { shape } = await p.describe();
      const size = shape!.reduce((a, b) => a * b, 1);
      const tr = await ps.trainer(job.trainer!, [p], job.optimizer ?? 'sgd', job.optimizerParams ?? {}, {
        numWorkers: job.numWorkers ?? 2,
        workerId: job.workerId ?? 1,
      });
      const steps: number[] = [];
      for (let k = 0; k < job.steps!; k++) {
        const g = Float32Array.from({ length: size }, (_, i) => gradValue(k, tr.workerId, i));
        await tr.pushGrad(p, { shape: shape!, dtype: 'float32', data: g });
        steps.push((await tr.step(job.batchSize ?? 1)).step);
      }
      out.steps = steps;
    } else if (job.op === 'write' || job.op === 'read') {
      const values: Record<string, string> = {};
      for (const name of job.names ?? []) {
        const p = await ps.get(name);
        if (job.op === 'write') {
          const d = await p.describe();
          const size = d.shape!.reduce((a, b) => a * b, 1);
          const elem = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int32: 4, int64: 8 }[
            d.dtype
          ];
          let bytes = randomBytes(size * elem);
          if (d.dtype === 'float16' || d.dtype === 'bfloat16' || d.dtype === 'float32' || d.dtype === 'float64') {
            // Random bits, but no NaN (a NaN's payload need not survive): clear the top exponent bit.
            const top = elem - 1;
            bytes = Buffer.from(bytes.map((v, i) => (i % elem === top ? v & 0xbf : v)));
          }
          await p.setData({ shape: d.shape!, dtype: d.dtype, data: typed(d.dtype, bytes) } as Tensor);
        }
        values[name] = hex(await p.data());
      }
      out.values = values;
    } else {
      out.result = await ps.saveParameters(job.file!, { names: job.names ?? null, format: job.format ?? 'params' });
    }
  } finally {
    await ps.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`ts-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
