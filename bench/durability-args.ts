// durability-args.ts: the flags of `npm run bench:durability` (bench/durability.ts's header
// says what each does), the durability modes it compares, and its number formats, shared by
// the measurement (durability.ts) and the report (durability-report.ts).
import path from 'node:path';
import { argReader, BENCH_OUT_DIR } from './child-process';

export const MODES = ['none', 'checkpoint', 'wal-batch', 'wal-always'] as const;
export type Mode = (typeof MODES)[number];
export const GiB = 2 ** 30;

export interface Args {
  runs: number;
  ckptBytes: number;
  ckptTensors: number;
  rounds: number;
  window: number;
  params: number;
  tensors: number;
  ckptEverySeconds: number;
  /** Passed to the wal-batch server as --wal-batch-ms when set (diagnosis). */
  walBatchMs: number | null;
  dir: string;
  warm: boolean;
  skipCkpt: boolean;
  skipSteps: boolean;
  serverProf: string | null;
  check: boolean;
  deadlineS: number;
  /** Sync workers per trainer (W); part 2 runs once per value, e.g. --workers 2,4. */
  workers: number[];
}

export function parseArgs(argv: string[]): Args {
  const { value, num } = argReader(argv);
  const known = new Set([
    '--runs',
    '--ckpt-bytes',
    '--ckpt-tensors',
    '--rounds',
    '--window',
    '--params',
    '--tensors',
    '--ckpt-every-seconds',
    '--wal-batch-ms',
    '--dir',
    '--server-prof',
    '--deadline',
    '--workers',
  ]);
  const flags = new Set(['--warm', '--skip-ckpt', '--skip-steps', '--check']);
  for (let i = 0; i < argv.length; i++) {
    if (known.has(argv[i]!)) i++;
    else if (!flags.has(argv[i]!)) throw new Error(`unknown argument ${argv[i]}`);
  }
  const args: Args = {
    runs: num('--runs', 5, 1),
    ckptBytes: num('--ckpt-bytes', GiB, 1024),
    ckptTensors: num('--ckpt-tensors', 8, 1),
    rounds: num('--rounds', 8, 1),
    window: num('--window', 2, 0.2, false),
    params: num('--params', 4 * 1024 * 1024, 1),
    tensors: num('--tensors', 4, 1),
    ckptEverySeconds: num('--ckpt-every-seconds', 1, 1),
    walBatchMs: value('--wal-batch-ms') === null ? null : num('--wal-batch-ms', 10, 1),
    dir: path.resolve(value('--dir') ?? path.join(BENCH_OUT_DIR, 'durability')),
    warm: argv.includes('--warm'),
    skipCkpt: argv.includes('--skip-ckpt'),
    skipSteps: argv.includes('--skip-steps'),
    serverProf: value('--server-prof'),
    check: argv.includes('--check'),
    deadlineS: num('--deadline', 239, 10),
    workers: (value('--workers') ?? '2').split(',').map((w) => {
      const n = Number(w);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`--workers: ${w} is not an integer in [1, 16]`);
      return n;
    }),
  };
  if (args.ckptBytes % (4 * args.ckptTensors) !== 0)
    throw new Error('--ckpt-bytes must be a multiple of 4 x --ckpt-tensors');
  if (args.params % args.tensors !== 0) throw new Error('--params must be a multiple of --tensors');
  return args;
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
export const round3 = (x: number): number => Number(x.toFixed(3));
