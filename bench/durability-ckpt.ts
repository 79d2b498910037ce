// Child of `npm run bench:durability` (bench/durability.ts): checkpoint write and load of
// --bytes of float32 parameters against a plain sequential write and read of the same bytes, to
// the same directory, in the same process and run. Runs bundled under plain node with
// MALLOC_TUNING_ENV and --expose-gc (see bench/child-process.ts).
//
// Protocol (IPC): sends {ready, cacheMode} once; then for each {id, cmd: 'run', run, dir} it
// runs one interleaved run and answers {id, result} or {id, error}; 'stop' or a disconnect ends it.
//
// One run, in a fresh directory `dir` (deleted at the end):
//   - setup (untimed): an in-process server (startServer, durability 'checkpoint', no interval
//     checkpoint) with `tensors` float32 parameters of bytes/tensors each, initialized to ones
//     through the product client;
//   - raw write: open a new file, write the bytes from preallocated, pre-touched buffers with
//     sequential positional writes, fsync, close;
//   - checkpoint write: `durability.checkpoint('bench')` (consistent snapshot copy, safetensors
//     file, crc32, fsyncs, manifest, renames, directory fsyncs: everything one checkpoint does);
//   - raw read: open the raw file, read it sequentially into the same preallocated buffers, close;
//   - checkpoint load: `startServer` on the data dir (lock, leftovers, full crc32 verification,
//     safetensors read, tensors rebuilt, WAL replay: what a restart does) until it resolves;
//   - raw read into fresh buffers (reference): the same read into buffers allocated just
//     before it (untouched, as a loader's new tensors are); between the two cold reads above,
//     so each order puts it after one of them;
//   - the reads again after reading both files once untimed, so from the page cache (warm,
//     reported for reference: a restart after kill -9 finds the checkpoint cached).
// Every timed step is preceded by `sync` (untimed), so no step pays for an earlier one's dirty
// pages, and every write and cold read by dropping the page cache (echo 3 >
// /proc/sys/vm/drop_caches) when this process may; otherwise both reads come from the same
// (warm) cache state. The drop before a write gives both writes the same free memory: on this VM
// (virtio-balloon, DAMON) writing into page-cache pages that were not in use just before costs
// ~2.5 s of kernel CPU per GiB (a plain 1 GiB write to a new file while older files stay cached:
// 2.7-3.2 s; overwriting the previous file, whose pages are reused: 0.6-0.7 s), so without it the
// order of the two writes decided which one paid. Even runs time raw first, odd runs checkpoint
// first. Servers are closed without a final checkpoint and
// their tensors freed before the next step.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../client/index';
import { startServer, type RunningServer } from '../server/index';
import { errorText } from './child-process';
import { dirBytes, shapeOf } from './measure';

export interface CkptRunResult {
  run: number;
  bytes: number;
  /** Seconds of each timed step. */
  rawWriteS: number;
  ckptWriteS: number;
  rawReadS: number;
  ckptLoadS: number;
  rawReadWarmS: number;
  ckptLoadWarmS: number;
  /**
   * A cold raw read into buffers allocated just before (as any loader must hold the bytes in
   * new memory): the reference for what first-touch of fresh memory costs on this machine.
   */
  rawReadFreshS: number;
  /** CPU seconds (user + system, every thread of this process) of the cold/timed steps. */
  cpuS: { rawWrite: number; ckptWrite: number; rawRead: number; ckptLoad: number };
  /** Size of the checkpoint directory on disk (apparent bytes). */
  ckptDirBytes: number;
  order: 'raw-first' | 'ckpt-first';
}

export type CkptReply =
  | { ready: true; cacheMode: 'cold' | 'warm'; cacheNote: string }
  | { id: number; result?: CkptRunResult; error?: string };

interface RunCommand {
  id: number;
  cmd: 'run';
  run: number;
  dir: string;
  bytes: number;
  tensors: number;
  dropCaches: boolean;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Runs `fn` and returns its result with the CPU seconds this process used meanwhile. */
async function withCpu<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const c0 = process.cpuUsage();
  const out = await fn();
  const c = process.cpuUsage(c0);
  return [out, (c.user + c.system) / 1e6];
}

function syncAll(): void {
  execFileSync('sync');
}

/** Drops the page cache (after a sync); false when this process is not allowed to. */
function dropCaches(): boolean {
  try {
    syncAll();
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** The same `tensors` buffers serve as the raw write's source and the raw read's target. */
let rawBuffers: Buffer[] = [];
function buffersFor(bytes: number, tensors: number): Buffer[] {
  const each = bytes / tensors;
  if (rawBuffers.length !== tensors || rawBuffers[0]!.byteLength !== each) {
    rawBuffers = [];
    gc();
    const one = Buffer.alloc(4);
    one.writeFloatLE(1, 0);
    for (let i = 0; i < tensors; i++) rawBuffers.push(Buffer.alloc(each).fill(one)); // touched: no page faults while timed
  }
  return rawBuffers;
}

async function rawWrite(file: string, bufs: Buffer[]): Promise<number> {
  const t0 = performance.now();
  const fh = await open(file, 'w');
  let pos = 0;
  for (const b of bufs) {
    let done = 0;
    while (done < b.byteLength) {
      const { bytesWritten } = await fh.write(b, done, b.byteLength - done, pos + done);
      done += bytesWritten;
    }
    pos += b.byteLength;
  }
  await fh.sync();
  await fh.close();
  return (performance.now() - t0) / 1000;
}

async function rawRead(file: string, bufs: Buffer[]): Promise<number> {
  const t0 = performance.now();
  const fh = await open(file, 'r');
  let pos = 0;
  for (const b of bufs) {
    let done = 0;
    while (done < b.byteLength) {
      const { bytesRead } = await fh.read(b, done, b.byteLength - done, pos + done);
      if (bytesRead === 0) throw new Error(`raw read: ${file} ended at ${pos + done} bytes`);
      done += bytesRead;
    }
    pos += b.byteLength;
  }
  await fh.close();
  return (performance.now() - t0) / 1000;
}

/** Reads every file under `root` once (untimed), so that the next reads come from the page cache. */
async function warmUp(root: string): Promise<void> {
  const scratch = Buffer.allocUnsafe(8 << 20);
  const walk = async (p: string): Promise<void> => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p)) await walk(path.join(p, name));
      return;
    }
    const fh = await open(p, 'r');
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(scratch, 0, scratch.byteLength, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
    await fh.close();
  };
  await walk(root);
}

/** Closes a server without its shutdown checkpoint and frees its tensors. */
async function closeServer(s: RunningServer): Promise<void> {
  await s.durability?.close({ checkpoint: false });
  await s.close(1000);
  for (const e of s.store.entriesInOrder()) {
    for (const t of [...(e.data ?? []), ...(e.grad ?? [])]) if (!t.disposed) t.dispose();
  }
  gc();
}

function serverOptions(dataDir: string) {
  // No interval checkpoint during the run (24 h; setInterval caps at 2^31 - 1 ms).
  return {
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent' as const,
    dataDir,
    durability: 'checkpoint' as const,
    checkpointEverySeconds: 86_400,
  };
}

async function oneRun(c: RunCommand): Promise<CkptRunResult> {
  const { bytes, tensors } = c;
  if (bytes % (tensors * 4) !== 0) throw new Error(`bytes (${bytes}) must be a multiple of 4 x tensors (${tensors})`);
  const bufs = buffersFor(bytes, tensors);
  rmSync(c.dir, { recursive: true, force: true });
  mkdirSync(c.dir, { recursive: true });
  const dataDir = path.join(c.dir, 'data');
  const rawFile = path.join(c.dir, 'raw.bin');
  const cold = (): void => {
    if (c.dropCaches) dropCaches();
    else syncAll();
  };
  try {
    // Setup: the parameters, in a server with a data dir.
    let server = await startServer(serverOptions(dataDir));
    const ps = await connect(server.address);
    try {
      const shape = shapeOf(bytes / 4 / tensors);
      for (let i = 0; i < tensors; i++) {
        const p = await ps.parameter(`bench_ckpt_w${i}`, { shape, dtype: 'float32' });
        await p.initialize({ init: 'ones' });
      }
    } finally {
      await ps.close();
    }
    gc();

    const order = c.run % 2 === 0 ? 'raw-first' : 'ckpt-first';
    let rawWriteS = 0;
    let ckptWriteS = 0;
    const cpuS = { rawWrite: 0, ckptWrite: 0, rawRead: 0, ckptLoad: 0 };
    const writeRaw = async (): Promise<void> => {
      cold();
      [rawWriteS, cpuS.rawWrite] = await withCpu(() => rawWrite(rawFile, bufs));
    };
    const writeCkpt = async (): Promise<void> => {
      cold();
      [ckptWriteS, cpuS.ckptWrite] = await withCpu(async () => {
        const t0 = performance.now();
        await server.durability!.checkpoint('bench');
        return (performance.now() - t0) / 1000;
      });
      gc();
    };
    if (order === 'raw-first') {
      await writeRaw();
      await writeCkpt();
    } else {
      await writeCkpt();
      await writeRaw();
    }
    const ckptDirBytes = dirBytes(path.join(dataDir, 'checkpoints'));
    await closeServer(server);

    let rawReadS = 0;
    let ckptLoadS = 0;
    const loadCkpt = async (): Promise<number> => {
      const t0 = performance.now();
      server = await startServer(serverOptions(dataDir));
      const s = (performance.now() - t0) / 1000;
      const loaded = server.store.entriesInOrder().reduce((n, e) => n + (e.data?.[0]?.byteLength ?? 0), 0);
      await closeServer(server);
      if (loaded !== bytes)
        throw new Error(`checkpoint load restored ${loaded} bytes of parameters, expected ${bytes}`);
      return s;
    };
    const readRaw = (): Promise<number> => rawRead(rawFile, bufs);
    const coldRaw = async (): Promise<void> => {
      cold();
      [rawReadS, cpuS.rawRead] = await withCpu(readRaw);
    };
    const coldCkpt = async (): Promise<void> => {
      cold();
      [ckptLoadS, cpuS.ckptLoad] = await withCpu(loadCkpt);
    };
    let rawReadFreshS = 0;
    const coldFresh = async (): Promise<void> => {
      const fresh = Array.from({ length: tensors }, () => Buffer.allocUnsafeSlow(bytes / tensors));
      cold();
      rawReadFreshS = await rawRead(rawFile, fresh);
      fresh.length = 0;
      gc();
    };
    if (order === 'raw-first') {
      await coldRaw();
      await coldFresh();
      await coldCkpt();
    } else {
      await coldCkpt();
      await coldFresh();
      await coldRaw();
    }
    // Warm: both files read once more first (each cold read was followed by a cache drop).
    await warmUp(c.dir);
    const rawReadWarmS = await readRaw();
    const ckptLoadWarmS = await loadCkpt();
    return {
      run: c.run,
      bytes,
      rawWriteS,
      ckptWriteS,
      rawReadS,
      ckptLoadS,
      rawReadWarmS,
      ckptLoadWarmS,
      rawReadFreshS,
      cpuS,
      ckptDirBytes,
      order,
    };
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
}

function main(): void {
  const send = (m: CkptReply): void => {
    process.send?.(m);
  };
  let busy: Promise<unknown> = Promise.resolve();
  const quit = (): void => {
    void busy.finally(() => process.exit(0));
  };
  process.on('disconnect', quit);
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') return quit();
    const c = msg as RunCommand;
    busy = oneRun(c).then(
      (result) => send({ id: c.id, result }),
      (err: unknown) => send({ id: c.id, error: errorText(err) }),
    );
  });
  const canDrop = dropCaches();
  send({
    ready: true,
    cacheMode: canDrop ? 'cold' : 'warm',
    cacheNote: canDrop
      ? 'cold: page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before each cold read'
      : 'warm: cannot drop the page cache here, so both reads come from the same (cached) state',
  });
}

main();
