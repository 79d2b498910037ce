// durability-report.ts: what `npm run bench:durability` prints once both parts are measured
// (bench/durability.ts): the medians and same-run ratios, the targets (PASS / FAIL), warnings
// for a noisy disk or machine, and the last JSON line. Nothing here measures.
import { readFileSync } from 'node:fs';
import { fmt, GiB, MODES, round3, type Args, type Mode } from './durability-args';
import type { CkptRunResult } from './durability-ckpt';
import type { WindowResult } from './durability-worker';
import { median } from './measure';

/** Part 1's result: every run and the medians in GB/s. */
export interface CkptSummary {
  runs: CkptRunResult[];
  cacheNote: string;
  rawWrite: number;
  ckptWrite: number;
  rawRead: number;
  ckptLoad: number;
  rawReadWarm: number;
  ckptLoadWarm: number;
  rawReadFresh: number;
  peakDiskBytes: number;
}

export interface ModeStats {
  windows: WindowResult[];
  cpuMsPerStep: number[];
  diskBytesPerStep: number[];
  checkpointsPerWindow: number[];
  checkpointMs: number[];
  /** Write-ahead log bytes appended per step (from the server's checkpoint lines). */
  logBytesPerStep: number[];
}

export interface StepsSummary {
  stats: Record<Mode, ModeStats>;
  stepsPerS: Record<Mode, number>;
  peakDiskBytes: number;
}

/**
 * Prints the report of a run (part 1's `ck`, part 2's summaries per worker count) and returns
 * whether every target held.
 */
export function report(
  args: Args,
  ck: CkptSummary | null,
  sts: Array<{ workers: number; st: StepsSummary }>,
  times: { elapsedS: number; part2S: number; part1S: number },
): boolean {
  const st = sts[0]?.st ?? null;
  const lines: string[] = [];
  let ok = true;
  /** A target line: `value` is the ratio checked against `bar`; `what` says what it is made of. */
  const target = (label: string, value: number, bar: number, what: string): void => {
    const pass = value >= bar;
    ok &&= pass;
    lines.push(`target: ${label}: ${fmt(value, 3)} x: ${pass ? 'PASS' : 'FAIL'} (${what})`);
  };
  if (ck) {
    console.log(
      `  median GB/s: raw write ${fmt(ck.rawWrite)}, checkpoint write ${fmt(ck.ckptWrite)} (${fmt(ck.ckptWrite / ck.rawWrite)} x); ` +
        `raw read ${fmt(ck.rawRead)}, checkpoint load ${fmt(ck.ckptLoad)} (${fmt(ck.ckptLoad / ck.rawRead)} x); ` +
        `warm: raw read ${fmt(ck.rawReadWarm)}, checkpoint load ${fmt(ck.ckptLoadWarm)} (${fmt(ck.ckptLoadWarm / ck.rawReadWarm)} x)`,
    );
    // First touch of memory the process did not hold costs far more on some VMs than the disk
    // (a balloon driver handing pages back): a loader's new tensors pay it, the preallocated
    // raw baseline does not. Printed so that a failing load target can be told apart from it.
    console.log(
      `  reference: cold raw read into fresh buffers ${fmt(ck.rawReadFresh)} GB/s; checkpoint load / that ${fmt(ck.ckptLoad / ck.rawReadFresh)} x`,
    );
    const cpu = (f: (r: CkptRunResult) => number): string => fmt((median(ck.runs.map(f)) * GiB) / args.ckptBytes);
    console.log(
      `  CPU seconds per GiB (median; all threads of the process): raw write ${cpu((r) => r.cpuS.rawWrite)}, ` +
        `checkpoint write ${cpu((r) => r.cpuS.ckptWrite)}; cold raw read ${cpu((r) => r.cpuS.rawRead)}, cold checkpoint load ${cpu((r) => r.cpuS.ckptLoad)}`,
    );
    console.log(
      `  disk: at most ${fmt(ck.peakDiskBytes / GiB)} GiB at once (raw file + checkpoint), deleted after each run`,
    );
    // The same run's ratio, whose median resists the disk's drift between runs.
    const sameRun = (f: (r: CkptRunResult) => number): string => `same-run ratio ${fmt(median(ck.runs.map(f)))}`;
    target(
      'checkpoint write >= 0.7 x raw write',
      ck.ckptWrite / ck.rawWrite,
      0.7,
      `${fmt(ck.ckptWrite)} / ${fmt(ck.rawWrite)} GB/s; ${sameRun((r) => r.rawWriteS / r.ckptWriteS)}`,
    );
    target(
      'checkpoint load >= 0.7 x raw read',
      ck.ckptLoad / ck.rawRead,
      0.7,
      `${fmt(ck.ckptLoad)} / ${fmt(ck.rawRead)} GB/s, ${ck.cacheNote.split(':')[0]} reads; ${sameRun((r) => r.rawReadS / r.ckptLoadS)}`,
    );
  }
  for (const { workers: W, st } of sts) {
    console.log(`  W = ${W} sync workers:`);
    console.log(
      `  mode          steps/s  x none  (paired)   step ms p50 / p90 / max   server CPU ms/step   disk MB/step   log MB/step   checkpoints/window (ms each)`,
    );
    for (const m of MODES) {
      const s = st.stats[m];
      const p = (f: (w: WindowResult) => number): string => fmt(median(s.windows.map(f)), 1);
      // The same-round ratio to none, whose median resists drift between rounds.
      const paired = median(s.windows.map((w, i) => w.stepsPerS / st.stats.none.windows[i]!.stepsPerS));
      console.log(
        `  ${m.padEnd(12)}  ${fmt(st.stepsPerS[m], 1).padStart(7)}  ${fmt(st.stepsPerS[m] / st.stepsPerS.none).padStart(6)}  ${`(${fmt(paired)})`.padStart(8)}   ` +
          `${`${p((w) => w.p50Ms)} / ${p((w) => w.p90Ms)} / ${p((w) => w.maxMs)}`.padEnd(24)}  ${fmt(median(s.cpuMsPerStep), 1).padStart(18)}   ` +
          `${fmt(median(s.diskBytesPerStep) / 2 ** 20, 1).padStart(12)}   ${fmt(median(s.logBytesPerStep) / 2 ** 20, 2).padStart(11)}   ${m === 'checkpoint' ? `${s.checkpointsPerWindow.join(', ')} (median ${fmt(median(s.checkpointMs), 0)})` : '-'}`,
      );
    }
    // Training time one checkpoint costs: a window's time minus what its steps take at the
    // same round's no-durability rate, per checkpoint in it; scales to any interval.
    const cm = st.stats.checkpoint;
    const perCkpt = cm.windows.map(
      (w, i) => (w.seconds - w.steps / st.stats.none.windows[i]!.stepsPerS) / Math.max(1, cm.checkpointsPerWindow[i]!),
    );
    const costMs = median(perCkpt) * 1000;
    console.log(
      `  checkpoint mode: ~${fmt(costMs, 0)} ms of training time per checkpoint of ${fmt((args.params * 8) / 2 ** 20, 0)} MiB (weights + momentum), ` +
        `i.e. ~${fmt(costMs / 10 / args.ckptEverySeconds, 1)}% at one checkpoint every ${args.ckptEverySeconds} s, ~${fmt(costMs / 10 / 60, 2)}% every 60 s, ~${fmt(costMs / 10 / 300, 3)}% every 300 s (the default)`,
    );
    console.log(
      `  disk: at most ${fmt(st.peakDiskBytes / 2 ** 20, 0)} MiB at once (data dirs; WAL folded after every window), deleted at the end`,
    );
    const paired = (m: Mode): string =>
      `same-round ratio ${fmt(median(st.stats[m].windows.map((w, i) => w.stepsPerS / st.stats.none.windows[i]!.stepsPerS)))}`;
    target(
      `W=${W}: checkpoint mode steps/s >= 0.9 x none`,
      st.stepsPerS.checkpoint / st.stepsPerS.none,
      0.9,
      `${fmt(st.stepsPerS.checkpoint, 1)} / ${fmt(st.stepsPerS.none, 1)} steps/s, one checkpoint every ${args.ckptEverySeconds} s; ${paired('checkpoint')}`,
    );
    target(
      `W=${W}: wal-batch mode steps/s >= 0.8 x none`,
      st.stepsPerS['wal-batch'] / st.stepsPerS.none,
      0.8,
      `${fmt(st.stepsPerS['wal-batch'], 1)} / ${fmt(st.stepsPerS.none, 1)} steps/s; ${paired('wal-batch')}`,
    );
    target(
      `W=${W}: wal-always mode steps/s >= 0.7 x none`,
      st.stepsPerS['wal-always'] / st.stepsPerS.none,
      0.7,
      `${fmt(st.stepsPerS['wal-always'], 1)} / ${fmt(st.stepsPerS.none, 1)} steps/s; ${paired('wal-always')}`,
    );
    const gradBytes = args.params * 4;
    lines.push(
      `W=${W}: log bytes per step (wal-batch): ${fmt(median(st.stats['wal-batch'].logBytesPerStep) / 2 ** 20, 2)} MiB; one gradient is ${fmt(gradBytes / 2 ** 20, 2)} MiB`,
    );
  }
  // A machine busy with other work makes single windows and runs swing; say so.
  const spread = (xs: number[]): number => Math.max(...xs) / Math.min(...xs);
  const loadNow = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  if (ck && spread(ck.runs.map((r) => r.rawWriteS)) > 1.5) {
    console.log(
      `warning: noisy disk: the raw write took ${fmt(Math.min(...ck.runs.map((r) => r.rawWriteS)))}-${fmt(Math.max(...ck.runs.map((r) => r.rawWriteS)))} s across runs; rerun with more --runs or on a quieter machine`,
    );
  }
  if (st && spread(st.stats.none.windows.map((w) => w.stepsPerS)) > 1.5) {
    const xs = st.stats.none.windows.map((w) => w.stepsPerS);
    console.log(
      `warning: noisy machine (load average now ${loadNow}): no-durability windows ranged ${fmt(Math.min(...xs), 1)}-${fmt(Math.max(...xs), 1)} steps/s; ` +
        'the same-round ratios are the steadier figures; rerun on a quieter machine',
    );
  }
  console.log(
    `bench:durability: ${fmt(times.elapsedS, 0)} s (part 2 ${fmt(times.part2S, 0)} s, then part 1 ${fmt(times.part1S, 0)} s)`,
  );
  for (const l of lines) console.log(l);
  const nan = Number.NaN;
  console.log(
    JSON.stringify({
      bench: 'durability',
      ckpt_write_gbps: round3(ck?.ckptWrite ?? nan),
      raw_write_gbps: round3(ck?.rawWrite ?? nan),
      ckpt_load_gbps: round3(ck?.ckptLoad ?? nan),
      raw_read_gbps: round3(ck?.rawRead ?? nan),
      raw_read_fresh_gbps: round3(ck?.rawReadFresh ?? nan),
      workers: sts[0]?.workers ?? null,
      steps_per_s: Object.fromEntries(MODES.map((m) => [m, Number((st?.stepsPerS[m] ?? nan).toFixed(1))])),
      log_bytes_per_step: Math.round(median(st?.stats['wal-batch'].logBytesPerStep ?? [nan])),
      by_workers: Object.fromEntries(
        sts.map(({ workers: W, st: x }) => [
          W,
          {
            steps_per_s: Object.fromEntries(MODES.map((m) => [m, Number(x.stepsPerS[m].toFixed(1))])),
            log_bytes_per_step: Math.round(median(x.stats['wal-batch'].logBytesPerStep)),
          },
        ]),
      ),
    }),
  );
  return ok;
}
