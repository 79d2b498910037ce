// Diagnostic for `npm run bench:durability` (not run by it): where a checkpoint write and a
// checkpoint load spend their time, phase by phase, with the same code the server runs.
//   node scripts/bundle.mjs bench/durability-phases.ts durability-phases && \
//     MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=8589934592 \
//     node --expose-gc .build/durability-phases.mjs [--bytes N] [--tensors N] [--dir DIR]
// Every phase starts after `sync`; "cold" phases after dropping the page cache (root only).
// With --wal (instead of the checkpoint phases): the write-ahead log alone (WalWriter, as the
// server drives it in a sync step: 4 gradient records of --wal-record bytes appended together,
// then the small step and apply records), each step followed by --wal-gap ms of other work;
// the time steps wait for `durable` per mode, and with wal-batch syncs effectively off.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { connect } from '../client/index';
import { startServer } from '../server/index';
import { crc32File, listCheckpoints } from '../server/durability/checkpoint-dir';
import { openSafetensors } from '../common/formats/safetensors-file';
import { restoreEntry, snapshotEntry } from '../server/store/snapshot';
import { WalWriter, type WalMode } from '../server/durability/wal';
import { BENCH_OUT_DIR } from './child-process';

const argv = process.argv.slice(2);
const value = (flag: string, dflt: string): string => {
  const i = argv.indexOf(flag);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
};
const BYTES = Number(value('--bytes', String(2 ** 30)));
const TENSORS = Number(value('--tensors', '8'));
const DIR = path.resolve(value('--dir', path.join(BENCH_OUT_DIR, 'durability-phases')));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function cold(): void {
  execFileSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    console.log('(cannot drop the page cache: "cold" phases are warm)');
  }
}

async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  execFileSync('sync');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await fn();
  const c = process.cpuUsage(c0);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(64)} ${s.toFixed(3).padStart(7)} s  ${(BYTES / s / 1e9).toFixed(2).padStart(6)} GB/s  ` +
      `CPU ${((c.user + c.system) / 1e6).toFixed(2).padStart(5)} s (sys ${(c.system / 1e6).toFixed(2)})`,
  );
  return out;
}

async function writeBufs(file: string, bufs: Uint8Array[], hash: boolean): Promise<void> {
  const fh = await open(file, 'w');
  let pos = 0;
  for (const b of bufs) {
    const pending = fh.write(b, 0, b.byteLength, pos);
    if (hash) crc32(b);
    await pending;
    pos += b.byteLength;
  }
  await fh.sync();
  await fh.close();
}

async function readFile(file: string, chunk: number, bufs: Buffer[] | null, hash: boolean): Promise<void> {
  const fh = await open(file, 'r');
  const size = (await fh.stat()).size;
  const scratch = Buffer.allocUnsafe(chunk);
  let pos = 0;
  let i = 0;
  while (pos < size) {
    const target = bufs ? bufs[i++]! : scratch;
    const { bytesRead } = await fh.read(target, 0, Math.min(target.byteLength, size - pos), pos);
    if (bytesRead === 0) break;
    if (hash) crc32(target.subarray(0, bytesRead));
    pos += bytesRead;
  }
  await fh.close();
}

async function walMain(): Promise<void> {
  const recordBytes = Number(value('--wal-record', String(4 << 20)));
  const gapMs = Number(value('--wal-gap', '40'));
  const steps = Number(value('--wal-steps', '40'));
  const payloads = [0, 1, 2, 3].map((i) => new Uint8Array(recordBytes).fill(i + 1));
  console.log(
    `WAL: ${steps} steps of 4 x ${recordBytes} bytes + 2 small records, ${gapMs} ms of other work between steps`,
  );
  const configs: Array<{ label: string; mode: WalMode; batchMs: number }> = [
    { label: 'wal-batch (batchMs 10, the default)', mode: 'wal-batch', batchMs: 10 },
    { label: 'wal-batch (batchMs 60000: no fsync while stepping)', mode: 'wal-batch', batchMs: 60_000 },
    { label: 'wal-always', mode: 'wal-always', batchMs: 10 },
  ];
  for (const round of [0, 1]) {
    for (const c of round === 0 ? configs : [...configs].reverse()) {
      const dir = path.join(DIR, `wal-${round}-${c.mode}-${c.batchMs}`);
      mkdirSync(dir, { recursive: true });
      execFileSync('sync');
      const w = await WalWriter.open(dir, { mode: c.mode, batchMs: c.batchMs, nextLsn: 1n });
      const waits: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) {
        const s0 = performance.now();
        await Promise.all(payloads.map((p) => w.append({ op: 'trainer.push', step: i }, p).durable));
        await w.append({ op: 'trainer.step', step: i }).durable;
        await w.append({ op: 'trainer.apply', step: i }).durable;
        waits.push(performance.now() - s0);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      const total = performance.now() - t0;
      const stats = w.stats();
      await w.close();
      rmSync(dir, { recursive: true, force: true });
      waits.sort((a, b) => a - b);
      console.log(
        `${c.label.padEnd(52)} wait per step: median ${waits[waits.length >> 1]!.toFixed(1).padStart(6)} ms, ` +
          `p90 ${waits[Math.floor(waits.length * 0.9)]!.toFixed(1).padStart(6)} ms; ${(total / steps).toFixed(1)} ms/step; ${stats.fsyncs} fsyncs, ${stats.batches} writes`,
      );
    }
  }
}

async function main(): Promise<void> {
  rmSync(DIR, { recursive: true, force: true });
  if (argv.includes('--wal')) {
    try {
      await walMain();
    } finally {
      rmSync(DIR, { recursive: true, force: true });
    }
    return;
  }
  mkdirSync(DIR, { recursive: true });
  const dataDir = path.join(DIR, 'data');
  const opts = {
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent' as const,
    dataDir,
    durability: 'checkpoint' as const,
    checkpointEverySeconds: 86_400,
  };
  const each = BYTES / TENSORS / 4;
  let rows = 2 ** Math.floor(Math.log2(Math.sqrt(each)));
  while (each % rows !== 0) rows >>= 1;
  console.log(`${BYTES} bytes in ${TENSORS} float32 tensors of [${rows}, ${each / rows}] under ${DIR}`);
  try {
    let server = await startServer(opts);
    const ps = await connect(server.address);
    for (let i = 0; i < TENSORS; i++) {
      const p = await ps.parameter(`w${i}`, { shape: [rows, each / rows], dtype: 'float32' });
      await p.initialize({ init: 'ones' });
    }
    await ps.close();
    const entries = server.store.entriesInOrder();

    console.log('--- write');
    const snaps = await time('snapshot: snapshotEntry (nk.readBytes) of every tensor', async () => {
      const out = [];
      for (const e of entries) out.push(await snapshotEntry(e));
      return out;
    });
    const bufs = snaps.flatMap((s) => s.tensors.map((t) => t.bytes));
    await time('snapshot again (fresh buffers again)', async () => {
      for (const e of entries) await snapshotEntry(e);
    });
    gc();
    await time('plain write of the snapshot buffers + fsync', () => writeBufs(path.join(DIR, 'a.bin'), bufs, false));
    await time('plain write + crc32 overlapped (as HashingHandle) + fsync', () =>
      writeBufs(path.join(DIR, 'b.bin'), bufs, true),
    );
    rmSync(path.join(DIR, 'b.bin'));
    await time('durability.checkpoint() (snapshot + write + fsyncs)', () => server.durability!.checkpoint('phases'));
    gc();
    await server.durability!.close({ checkpoint: false });
    await server.close(1000);
    for (const e of entries) for (const t of [...(e.data ?? []), ...(e.grad ?? [])]) t.dispose();
    gc();

    console.log('--- load');
    const [ck] = await listCheckpoints(path.join(dataDir, 'checkpoints'), { verify: 'size' });
    const tensorsFile = path.join(ck!.dir, 'tensors.safetensors');
    const raw = path.join(DIR, 'a.bin');
    const dest = bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    cold();
    await time('cold: raw read, 128 MiB reads into preallocated buffers', () => readFile(raw, 0, dest, false));
    cold();
    await time('cold: raw read, 8 MiB reads, one at a time (as crc32File)', () => readFile(raw, 8 << 20, null, false));
    cold();
    await time('cold: crc32File (listCheckpoints verify: full)', () => crc32File(tensorsFile));
    await time('warm: crc32File', () => crc32File(tensorsFile));
    cold();
    const limits = {
      maxTensorBytes: Number.MAX_SAFE_INTEGER,
      maxTotalBytes: Number.MAX_SAFE_INTEGER,
      maxTensors: 10_000_000,
    };
    const read = async (): Promise<Buffer[]> => {
      const f = await openSafetensors(tensorsFile, { limits });
      const out = [];
      for (const t of f.tensors) out.push(await f.read(t.name));
      await f.close();
      return out;
    };
    await time('cold: openSafetensors + read() of every tensor (fresh buffers)', read);
    gc();
    await time('warm: openSafetensors + read() of every tensor', read);
    gc();
    await time('warm: openSafetensors + readInto() preallocated buffers', async () => {
      const f = await openSafetensors(tensorsFile, { limits });
      for (const [i, t] of f.tensors.entries()) await f.readInto(t.name, dest[i]!);
      await f.close();
    });
    const metaEntries = snaps.map((s) => s.meta);
    gc();
    await time('restoreEntry from in-memory bytes (nk.empty + write + grad)', async () => {
      for (const [i, m] of metaEntries.entries()) {
        const e = await restoreEntry(m, ['t'], async (_name, dest) => void dest.set(bufs[i]!));
        for (const t of [...(e.data ?? []), ...(e.grad ?? [])]) t.dispose();
      }
    });
    cold();
    server = await time('cold: startServer on the data dir (whole recovery)', () => startServer(opts));
    await server.durability!.close({ checkpoint: false });
    await server.close(1000);
    for (const e of server.store.entriesInOrder()) for (const t of [...(e.data ?? []), ...(e.grad ?? [])]) t.dispose();
    gc();
    server = await time('warm: startServer on the data dir (whole recovery)', () => startServer(opts));
    await server.durability!.close({ checkpoint: false });
    await server.close(1000);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
