// The server's limits on what one caller may make it hold (issue 10; docs/configuration.md,
// "Limits"), against the real server in this process: each refusal is the documented status,
// names the limit, its value and the flag that raises it, and changes nothing. Also what the
// write-ahead log cannot hold: a LoadStates body, a --max-tensor-bytes, a step's record.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import { loadProtos } from '../../protos/load';
import { afterAll, describe, expect, it } from 'vitest';
import { init, Status } from '../../client/index';
import { ConfigError, startServer } from '../../server/index';
import type { Journal } from '../../server/durability/journal';
import { checkpointNow, healthCheck, readWalRecords } from './crash-harness';
import { rejectsWith, startHarness } from './helpers';
import { RawTrainerService, RawWorker, sleep, trainerRequest } from './trainer-helpers';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gluonps-limits-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SGD = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 0.1 };

describe('messages that name what a request listed', () => {
  it('name at most a few of its items: 100000 listed parameters do not come back in the reply', async () => {
    // Found by npm run fuzz: the whole list in the message made a 0.5 MB status and log line,
    // and the call ran past its deadline.
    const h = await startHarness();
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      const err = await raw.create(trainerRequest('dup', new Array<string>(100_000).fill('w'), SGD)).then(
        () => null,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(Status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(
        /^trainer 'dup': parameter 'w' is listed twice in \[w, w, .*, w, \.\.\. \(100000 in all\)\]$/,
      );
      expect(err!.details.length).toBeLessThan(200);
    } finally {
      raw.close();
      await h.close();
    }
  });
});

describe('status messages', () => {
  it('are at most 4096 characters: a request echoed whole (a 100000-character name) still gets its status', async () => {
    const h = await startHarness();
    const Ctor = loadProtos().gluonps.v1.ParameterService as unknown as new (
      address: string,
      credentials: grpc.ChannelCredentials,
    ) => ParameterServiceClient;
    const raw = new Ctor(h.server.address, grpcCredentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.declare({ spec: { name: 'n'.repeat(100_000), shape: [1] } }, { deadline: Date.now() + 20_000 }, resolve),
      );
      expect(err?.code).toBe(Status.INVALID_ARGUMENT);
      expect(err!.details).toMatch(/^parameter name must be 1-256 characters .*\.\.\. \(100\d{3} characters in all\)$/);
      expect(err!.details.length).toBeLessThan(4200);
    } finally {
      raw.close();
      await h.close();
    }
  });
});

describe('workers per trainer', () => {
  it('refuses a trainer for more workers than --max-workers-per-trainer, and creates nothing', async () => {
    const h = await startHarness();
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await rejectsWith(
        raw.create(trainerRequest('big', ['w'], SGD, { numWorkers: 0xffff_ffff })),
        Status.RESOURCE_EXHAUSTED,
        /num_workers 4294967295 is over the limit of 4096 \(--max-workers-per-trainer raises it\)/,
      );
      expect(h.server.trainers.all()).toEqual([]);
      await rejectsWith(raw.describe('big'), Status.NOT_FOUND, /does not exist/);
      // The limit itself is allowed.
      expect((await raw.create(trainerRequest('ok', ['w'], SGD, { numWorkers: 4096 }))).numWorkers).toBe(4096);
    } finally {
      raw.close();
      await h.close();
    }
  });

  it('serves a sync trainer for 2^32 - 1 workers (limit raised) without lists as long as num_workers', async () => {
    const h = await startHarness({ maxWorkersPerTrainer: 0xffff_ffff });
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await raw.create(trainerRequest('huge', ['w'], SGD, { numWorkers: 0xffff_ffff, stepTimeoutMs: 200 }));
      const worker = new RawWorker(raw, 'huge', 7);
      await worker.push('w', { shape: [2], dtype: 'float32', data: Float32Array.of(1, 2) });
      const step = worker.step(1).then(
        () => null,
        (e: unknown) => e as Error & { code: number },
      );
      await sleep(20);
      const info = await raw.describe('huge');
      expect(info.waitingFor.length).toBe(1024);
      expect(info.waitingFor.slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
      expect(info.workersSeen).toEqual([0, 7]);
      // The deadline names a few of the missing workers and counts the rest.
      const err = await step;
      expect(err?.code).toBe(Status.DEADLINE_EXCEEDED);
      expect(err?.message).toMatch(/waiting for workers 0, 1, .*, 16 and 4294967278 more; the step was not applied/);
      expect((await raw.describe('huge')).waitingFor).toEqual([]);
    } finally {
      raw.close();
      await h.close();
    }
  });
});

/** A snapshot's parts: the JSON header and the tensor bytes after it (common/formats/states.ts). */
function splitStates(b: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const len = b.readUInt32LE(8);
  return {
    header: JSON.parse(b.toString('utf8', 12, 12 + len)) as Record<string, unknown>,
    data: b.subarray(12 + len),
  };
}
function joinStates(header: object, data: Uint8Array): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  return Buffer.concat([Buffer.from('GPSSTAT1'), len, h, data]);
}

describe('LoadStates', () => {
  it('refuses a body its trainer could never hold before buffering it, a record the log cannot hold, and malformed snapshots; nothing changes and the server keeps serving', async () => {
    const h = await startHarness({ dataDir: dataDir(), durability: 'wal-batch' });
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [4], init: init.one() })).initialize();
      await raw.create(
        trainerRequest('st', ['w'], { kind: 'OPTIMIZER_KIND_ADAM', learningRate: 0.1 }, { numWorkers: 1 }),
      );
      const worker = new RawWorker(raw, 'st', 0);
      await worker.push('w', { shape: [4], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4) });
      await worker.step(1);
      const good = await raw.saveStates('st');
      const before = await raw.describe('st');

      // A 4 GiB body announced: refused from the first message, nothing is buffered.
      const stub = raw.stub;
      const refused = await new Promise<grpc.ServiceError>((resolve) => {
        const call = stub.loadStates((err) => resolve(err!));
        call.write({ trainer: 'st', byteLength: 4 * 2 ** 30, chunk: Buffer.alloc(16) });
        call.end();
      });
      expect(refused.code).toBe(Status.INVALID_ARGUMENT);
      expect(refused.details).toMatch(
        /trainer 'st': a states snapshot of 4294967296 bytes is larger than its optimizer states can be \(at most \d+ bytes/,
      );

      // A log that holds less than the snapshot (one record is 4 GiB - 64 MiB; states that large
      // need more memory than a test has): RESOURCE_EXHAUSTED, and the log is still working.
      const t = h.server.trainers.get('st');
      const real = t.journal;
      t.journal = {
        maxPayloadBytes: good.length - 1,
        append: (m, p) => real.append(m, p),
        appendParts: (m, p) => real.appendParts(m, p),
      } satisfies Journal;
      await rejectsWith(
        raw.loadStates('st', good),
        Status.RESOURCE_EXHAUSTED,
        /over the limit of \d+ bytes that one write-ahead log record holds/,
      );
      t.journal = real;

      const { header, data } = splitStates(good);
      const params = header.params as Array<Record<string, unknown>>;
      const bad: Array<[Buffer, RegExp]> = [
        [joinStates({ ...header, step: -1 }, data), /the step must be >= 0, got -1/],
        [Buffer.concat([good, Buffer.alloc(8)]), /8 bytes follow the last state tensor/],
        [
          joinStates({ ...header, params: [{ ...params[0], ranges: [] }] }, data),
          /parameter 'w' has an empty list of contexts/,
        ],
        [joinStates({ ...header, params: [params[0], params[0]] }, data), /parameter 'w' is listed twice/],
      ];
      for (const [bytes, message] of bad)
        await rejectsWith(raw.loadStates('st', bytes), Status.INVALID_ARGUMENT, message);

      expect(await raw.describe('st')).toEqual(before);
      expect(await raw.saveStates('st')).toEqual(good);
      expect((await healthCheck(h.server.address)).status).toBe('SERVING');
      await raw.loadStates('st', good); // a real snapshot still loads
    } finally {
      raw.close();
      await h.close();
    }
  });

  it('a --max-tensor-bytes over what one log record holds is refused at start (a log-less mode takes it)', async () => {
    await expect(
      startServer({ port: 0, logLevel: 'silent', dataDir: dataDir(), maxTensorBytes: 5 * 2 ** 30 }),
    ).rejects.toThrow(ConfigError);
    await expect(
      startServer({ port: 0, logLevel: 'silent', dataDir: dataDir(), maxTensorBytes: 5 * 2 ** 30 }),
    ).rejects.toThrow(/--max-tensor-bytes 5368709120 is over the 4227858411 bytes one write-ahead log record can hold/);
    const s = await startServer({
      port: 0,
      logLevel: 'silent',
      dataDir: dataDir(),
      durability: 'checkpoint',
      maxTensorBytes: 5 * 2 ** 30,
    });
    await s.close();
  });
});

describe('a step', () => {
  it('whose log record is over what one record holds is refused (RESOURCE_EXHAUSTED) before anything changes; the log keeps working', async () => {
    const dir = dataDir();
    const h = await startHarness({ dataDir: dir, durability: 'wal-batch' });
    const raw = new RawTrainerService(h.server.address);
    try {
      for (const [name, n] of [
        ['w', 4],
        ['b', 3],
      ] as const)
        await (await h.ps.parameter(name, { shape: [n], init: init.one() })).initialize();
      await raw.create(trainerRequest('big', ['w', 'b'], SGD, { numWorkers: 2 }));
      const workers = [new RawWorker(raw, 'big', 0), new RawWorker(raw, 'big', 1)];
      const pushAll = async () => {
        for (const w of workers) {
          await w.push('w', { shape: [4], dtype: 'float32', data: Float32Array.of(1, 2, 3, 4) });
          await w.push('b', { shape: [3], dtype: 'float32', data: Float32Array.of(1, 2, 3) });
        }
      };
      const values = async () => [
        ...(await (await h.ps.get('w')).data()).data,
        ...(await (await h.ps.get('b')).data()).data,
      ];
      const initial = await values();

      // The step's record (28 bytes of summed gradients and its meta) over a 64-byte log record: a
      // real one holds 4 GiB - 64 MiB, more gradient than a test has memory for.
      const t = h.server.trainers.get('big');
      const real = t.journal;
      t.journal = {
        maxPayloadBytes: 64,
        append: (m, p) => real.append(m, p),
        appendParts: (m, p) => real.appendParts(m, p),
      } satisfies Journal;
      await pushAll();
      const before = await raw.describe('big');
      const refused =
        /trainer 'big': step 0 was not applied: its log record \(the summed gradients of 2 parameters and their row ids\) is \d+ bytes, over the limit of 64 bytes that one write-ahead log record holds/;
      await Promise.all(workers.map((w) => rejectsWith(w.step(1), Status.RESOURCE_EXHAUSTED, refused)));
      expect(await raw.describe('big')).toEqual(before);
      expect(await values()).toEqual(initial);
      t.journal = real;

      // Nothing was logged or changed; the workers push again and the step is applied and logged.
      await pushAll();
      const [r0, r1] = await Promise.all(workers.map((w) => w.step(1)));
      expect(r0!.step).toBe(1);
      expect(r1).toEqual(r0);
      expect(await values()).not.toEqual(initial);
      expect(
        readWalRecords(dir)
          .filter((r) => r.meta.op === 'trainer.commit')
          .map((r) => r.meta.step),
      ).toEqual([0]);
      expect((await healthCheck(h.server.address)).status).toBe('SERVING');
    } finally {
      raw.close();
      await h.close();
    }
  });
});

describe('idempotency slots', () => {
  it('calls from an out-of-range or departed worker id leave no slot behind, whatever their incarnation', async () => {
    const h = await startHarness();
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await raw.create(trainerRequest('slots', ['w'], SGD, { numWorkers: 2 }));
      await raw.leave('slots', 1);
      const t = h.server.trainers.get('slots');
      const before = t.keyed.results.size;
      for (let i = 0; i < 200; i++) {
        const key = { workerId: i % 2 === 0 ? 5 + i : 1, incarnation: 10_000 + i, sequence: 1 };
        const err = await raw.step({ trainer: 'slots', key, step: 0, batchSize: 1 }).then(
          () => null,
          (e: unknown) => e as { code: number },
        );
        expect(err?.code).toBe(i % 2 === 0 ? Status.INVALID_ARGUMENT : Status.FAILED_PRECONDITION);
      }
      expect(t.keyed.results.size).toBe(before);
      // A valid worker's calls that fail keep nothing either; its incarnations are bounded.
      const w0 = (inc: number) => new RawWorker(raw, 'slots', 0, inc);
      for (let inc = 1; inc <= 10; inc++)
        await w0(inc)
          .push('w', { shape: [2], dtype: 'float32', data: Float32Array.of(inc, 0) })
          .catch(() => undefined);
      expect(t.keyed.results.size).toBeLessThanOrEqual(4);
    } finally {
      raw.close();
      await h.close();
    }
  });
});

describe('step_timeout_ms', () => {
  it('over the longest timer (2^31 - 1 ms) is refused: setTimeout would fire it after 1 ms', async () => {
    const h = await startHarness();
    const raw = new RawTrainerService(h.server.address);
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      await rejectsWith(
        raw.create(trainerRequest('t', ['w'], SGD, { stepTimeoutMs: 2 ** 31 })),
        Status.INVALID_ARGUMENT,
        /step_timeout_ms must be at most 2147483647 .*, got 2147483648/,
      );
      await raw.create(trainerRequest('t', ['w'], SGD, { numWorkers: 2, stepTimeoutMs: 2 ** 31 - 1 }));
      // A step waits for the other worker instead of timing out at once.
      const worker = new RawWorker(raw, 't', 0);
      let settled = false;
      void worker
        .step(1)
        .finally(() => (settled = true))
        .catch(() => undefined);
      await sleep(100);
      expect(settled).toBe(false);
    } finally {
      raw.close();
      await h.close();
    }
  });
});

describe('Checkpoint', () => {
  it('concurrent requests share checkpoints, which start at least --checkpoint-min-interval-ms apart; a long reason is refused', async () => {
    const h = await startHarness({
      dataDir: dataDir(),
      durability: 'wal-batch',
      checkpointMinIntervalMs: 500,
      maxReasonBytes: 64,
    });
    try {
      await (await h.ps.parameter('w', { shape: [2], init: init.zero() })).initialize();
      const written: number[] = [];
      const d = h.server.durability!;
      const real = d.checkpoint.bind(d);
      d.checkpoint = (reason, onStart) =>
        real(reason, () => {
          written.push(performance.now());
          return onStart?.() ?? 1;
        });
      const ids = await Promise.all(
        Array.from({ length: 40 }, (_, i) => checkpointNow(h.server.address, `r${i}`).then((r) => r.id)),
      );
      const distinct = [...new Set(ids)];
      expect(distinct.length).toBeLessThanOrEqual(2);
      expect(written.length).toBe(distinct.length);
      if (written.length === 2) expect(written[1]! - written[0]!).toBeGreaterThanOrEqual(495);
      // Every request's checkpoint started after the request: a change made before a request is in it.
      await (await h.ps.get('w')).setData({ shape: [2], dtype: 'float32', data: Float32Array.of(1, 2) });
      const after = await checkpointNow(h.server.address, 'after');
      expect(after.id).toBeGreaterThan(Math.max(...ids));

      const err = await checkpointNow(h.server.address, 'x'.repeat(65)).then(
        () => null,
        (e: unknown) => e as { code: number; details: string },
      );
      expect(err?.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(err?.details).toBe(
        'checkpoint: a reason of 65 bytes is over the limit of 64 bytes (--max-reason-bytes raises it)',
      );
      expect(written.length).toBe(distinct.length + 1);
    } finally {
      await h.close();
    }
  });
});
