// Slow and stalled clients (issue 10): an upload that sends its header and then nothing, and a
// pull whose client never reads, beside a worker training at full speed. The worker keeps being
// served; the stalled calls end RESOURCE_EXHAUSTED within --stream-idle-timeout-ms and
// --read-timeout-ms; the upload's staged tensor is freed and the pulled version unpinned. The
// server runs in this process, so its allocations show in nk.memoryStats here.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import * as nk from '../../native/index';
import { clientChannelOptions } from '../../common/wire/channel';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../../protos/load';
import { isViewed } from '../../server/store/views';
import { parseCommandLine } from '../../server/config';
import type { Harness } from './helpers';
import { startHarness } from './helpers';
import { RawTrainerService, RawWorker, sleep, trainerRequest } from './trainer-helpers';

const IDLE_MS = 400;
const READ_MS = 800;
const MiB = 1 << 20;
const UP_SHAPE = [1024, 1024]; // 4 MiB of float32, staged in a tensor of its own
const BIG_SHAPE = [4096, 4096]; // 64 MiB: far more than the windows and buffers of one stream

let h: Harness;
let svc: RawTrainerService;
let params: ParameterServiceClient;

const allocated = (): number => nk.memoryStats(nk.cpu(0)).allocated;

async function settleTo(baseline: number): Promise<number> {
  for (let i = 0; i < 100 && allocated() !== baseline; i++) await sleep(20);
  return allocated();
}

beforeAll(async () => {
  h = await startHarness({ streamIdleTimeoutMs: IDLE_MS, readTimeoutMs: READ_MS });
  svc = new RawTrainerService(h.server.address);
  const Ctor = loadProtos().gluonps.v1.ParameterService as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => ParameterServiceClient;
  // Its own connection: the stalled calls must not share the worker's.
  params = new Ctor(
    h.server.address,
    grpc.credentials.createInsecure(),
    clientChannelOptions(undefined, { 'grpc.use_local_subchannel_pool': 1 }),
  );
  for (const [name, shape] of [
    ['sc_w', [256]],
    ['sc_up', UP_SHAPE],
    ['sc_big', BIG_SHAPE],
  ] as const) {
    const p = await h.ps.parameter(name, { shape: [...shape], init: init.zero() });
    await p.initialize({ ctx: [cpu(0)] });
  }
  await svc.create(trainerRequest('sc', ['sc_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: 0.1 }));
});

afterAll(async () => {
  svc.close();
  params.close();
  await h.close();
});

let worker: RawWorker | undefined;

/** Pushes and steps as fast as the server answers until `stop()` is true; returns the step count. */
async function train(stop: () => boolean, onStep?: () => void): Promise<number> {
  worker ??= new RawWorker(svc, 'sc', 0);
  const grad = { shape: [256], dtype: 'float32' as const, data: new Float32Array(256).fill(1) };
  let steps = 0;
  while (!stop()) {
    await worker.push('sc_w', grad);
    await worker.step(1);
    steps++;
    onStep?.();
  }
  return steps;
}

describe('stalled clients', () => {
  it('a stalled upload and a never-read pull end within their bounds while a worker trains', async () => {
    const warmedUp = Date.now() + 300;
    await train(() => Date.now() > warmedUp);
    const baseline = allocated();
    const t0 = Date.now();
    // set_data: the header (4 MiB staged at once), then nothing.
    const upload = new Promise<{ err: grpc.ServiceError | null; ms: number }>((resolve) => {
      const call = params.setData((err) => resolve({ err, ms: Date.now() - t0 }));
      call.write({
        name: 'sc_up',
        header: { shape: UP_SHAPE, dtype: 'DTYPE_FLOAT32', byteLength: 4 * MiB },
      } as TensorUpload);
    });
    // data(): opened, never read. Usually grpc-js stops taking the stream's bytes once its
    // buffers are full, the server's read bound ends the call and the client sees the reset.
    // But grpc-js may also take every message into its own buffers (then the server finishes
    // and its status waits, on the client, behind the unread messages): the server is not
    // stuck either way, which is what this test is about. So after the bound the test starts
    // reading, which lets a status that arrived surface.
    let readAfterBound = false;
    const pull = new Promise<{ err: grpc.ServiceError | null; ms: number }>((resolve) => {
      const call = params.data({ name: 'sc_big' });
      call.on('error', (err: grpc.ServiceError) => resolve({ err, ms: Date.now() - t0 }));
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code === Status.OK) resolve({ err: null, ms: Date.now() - t0 });
      });
      setTimeout(() => {
        readAfterBound = true;
        call.on('data', () => undefined);
      }, READ_MS + 3000).unref();
    });
    let done = false;
    let last = Date.now();
    let longestGap = 0;
    const training = train(
      () => done,
      () => {
        longestGap = Math.max(longestGap, Date.now() - last);
        last = Date.now();
      },
    );
    await sleep(150);
    const big = h.server.store.entry('sc_big').data![0]!;
    expect(isViewed(big)).toBe(true); // the read pins the version it sends
    expect(allocated()).toBeGreaterThanOrEqual(baseline + 4 * MiB); // the staged upload
    const [up, rd] = await Promise.all([upload, pull]);
    done = true;
    const stepsDuringStall = await training;

    expect(up.err?.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(up.err?.details).toMatch(
      /SetData of 'sc_up': no message from the client for 400 ms, the limit \(--stream-idle-timeout-ms raises it\)/,
    );
    expect(up.ms).toBeLessThan(IDLE_MS + 1500);
    if (!readAfterBound) {
      // The client read nothing, so the status could not pass its unread messages: the stream
      // was reset, which grpc-js reports as RESOURCE_EXHAUSTED.
      expect(rd.err?.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(rd.ms).toBeLessThan(READ_MS + 1000 + 1500);
    } else {
      // grpc-js had taken the whole stream: the server had finished and unpinned; reading now
      // gives its status (OK, or the bound's RESOURCE_EXHAUSTED when it still had to stop).
      expect([Status.OK, Status.RESOURCE_EXHAUSTED]).toContain(rd.err?.code ?? Status.OK);
    }
    expect(isViewed(big)).toBe(false);
    // The worker was served all along: it never waited for a stalled call to end (each ends
    // after at least IDLE_MS), whatever the pace of these shared cores.
    expect(stepsDuringStall).toBeGreaterThan(10);
    expect(longestGap).toBeLessThan(IDLE_MS);
    expect(await settleTo(baseline)).toBe(baseline);
    // The stalled calls changed nothing.
    expect((await (await h.ps.get('sc_up')).describe()).version).toBe(1);
  });

  it('a slow reader that keeps reading gets the status with its message', async () => {
    const t0 = Date.now();
    const got = await new Promise<{ err: grpc.ServiceError | null; ms: number }>((resolve) => {
      const call = params.data({ name: 'sc_big' });
      // One message every 100 ms: 64 of them take 6.4 s, over the bound.
      call.on('data', () => {
        call.pause();
        setTimeout(() => call.resume(), 100);
      });
      call.on('error', (err: grpc.ServiceError) => resolve({ err, ms: Date.now() - t0 }));
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code === Status.OK) resolve({ err: null, ms: Date.now() - t0 });
      });
    });
    expect(got.err?.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(got.ms).toBeLessThan(READ_MS + 2500);
    expect(isViewed(h.server.store.entry('sc_big').data![0]!)).toBe(false);
  });

  it('an upload that keeps sending slowly, within the idle bound, succeeds', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = params.setData((e) => resolve(e));
      call.write({ name: 'sc_w', header: { shape: [256], dtype: 'DTYPE_FLOAT32', byteLength: 1024 } } as TensorUpload);
      void (async () => {
        for (let i = 0; i < 4; i++) {
          await sleep(IDLE_MS / 2);
          call.write({ chunk: new Uint8Array(256) } as TensorUpload);
        }
        call.end();
      })();
    });
    expect(err).toBeNull();
  });

  it('the bounds and keepalive have flags and variables', () => {
    const { options } = parseCommandLine(
      ['--stream-idle-timeout-ms', '5000', '--read-timeout-ms', '9000', '--keepalive-time-ms', '30000'],
      { GLUONPS_KEEPALIVE_TIMEOUT_MS: '5000' },
    );
    expect(options).toMatchObject({
      streamIdleTimeoutMs: 5000,
      readTimeoutMs: 9000,
      keepaliveTimeMs: 30000,
      keepaliveTimeoutMs: 5000,
    });
    expect(() => parseCommandLine(['--read-timeout-ms', '2147483648'], {})).toThrow(/--read-timeout-ms/);
  });
});
