// Uploads that fail give back the host tensor their bytes were landing in. set_data and
// push_grad stage a tensor of the parameter's size and copy chunks straight into it; on a
// refused, short, cancelled or unusable upload that tensor must be freed at once (it counts
// against the device's memory budget, and V8 no longer hears of its size, so waiting for a
// garbage collection could leave it allocated indefinitely). The server runs in this process,
// so its allocations show in nk.memoryStats here.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu, init, Status } from '../../client/index';
import * as nk from '../../native/index';
import type { GradUpload } from '../../protos/generated/gluonps/v1/GradUpload';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../../protos/load';
import type { Harness } from './helpers';
import { startHarness } from './helpers';
import { RawTrainerService, RawWorker, trainerRequest } from './trainer-helpers';

const MiB = 1 << 20;
const SHAPE = [1024, 1024]; // 4 MiB of float32: staged in a tensor of its own
const BYTES = 4 * MiB;

let h: Harness;
let svc: RawTrainerService;
let params: ParameterServiceClient;

const allocated = (): number => nk.memoryStats(nk.cpu(0)).allocated;

/**
 * Waits (bounded) until cpu(0)'s allocation is back to `baseline`; returns what it last saw. Only
 * for a cancelled call, where the client hears of the end before the server's handler does: a
 * leaked tensor could also come back here when the GC collects its handle, so every call the
 * server answers is checked at once instead (it frees before it answers).
 */
async function settleTo(baseline: number): Promise<number> {
  for (let i = 0; i < 100 && allocated() !== baseline; i++) await new Promise((r) => setTimeout(r, 20));
  return allocated();
}

function header(byteLength = BYTES): GradUpload['header'] {
  return { shape: SHAPE, dtype: 'DTYPE_FLOAT32', byteLength, rowIds: [] };
}

/** A raw PushGrad stream: `first` plus `sent` bytes of a gradient, then end (or cancel). */
function rawPush(
  first: Omit<GradUpload, 'chunk'>,
  sent: number,
  how: 'end' | 'cancel' = 'end',
): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = svc.stub.pushGrad((err) => resolve(err));
    const data = new Uint8Array(sent);
    call.write({ ...first, chunk: data.subarray(0, Math.min(sent, MiB)) } as GradUpload);
    for (let off = MiB; off < sent; off += MiB) call.write({ chunk: data.subarray(off, Math.min(sent, off + MiB)) });
    if (how === 'end') call.end();
    else setImmediate(() => call.cancel());
  });
}

beforeAll(async () => {
  h = await startHarness();
  svc = new RawTrainerService(h.server.address);
  const Ctor = loadProtos().gluonps.v1.ParameterService as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
  ) => ParameterServiceClient;
  params = new Ctor(h.server.address, grpc.credentials.createInsecure());
  const w = await h.ps.parameter('um_w', { shape: SHAPE, init: init.zero() });
  await w.initialize({ ctx: [cpu(0)] });
  await svc.create(
    trainerRequest('um', ['um_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: 0.1 }, { numWorkers: 1 }),
  );
});

afterAll(async () => {
  svc.close();
  params.close();
  await h.close();
});

describe('a failed upload frees its staged tensor', () => {
  it('push_grad without an idempotency key: INVALID_ARGUMENT, before any byte is kept', async () => {
    const before = allocated();
    const err = await rawPush({ trainer: 'um', param: 'um_w', step: 0, header: header() }, BYTES);
    expect(err?.code).toBe(Status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/key/);
    expect(allocated()).toBe(before);
  });

  it('push_grad whose bytes fall short of its header: INVALID_ARGUMENT', async () => {
    const worker = new RawWorker(svc, 'um', 0);
    const before = allocated();
    const err = await rawPush({ trainer: 'um', param: 'um_w', key: worker.key(), step: 0, header: header() }, 2 * MiB);
    expect(err?.code).toBe(Status.INVALID_ARGUMENT);
    expect(allocated()).toBe(before);
  });

  it('push_grad for a step that is not open: FAILED_PRECONDITION after the bytes arrived', async () => {
    const worker = new RawWorker(svc, 'um', 0);
    const before = allocated();
    const err = await rawPush({ trainer: 'um', param: 'um_w', key: worker.key(), step: 7, header: header() }, BYTES);
    expect(err?.code).toBe(Status.FAILED_PRECONDITION);
    expect(allocated()).toBe(before);
  });

  it('push_grad cancelled by the client midway', async () => {
    const worker = new RawWorker(svc, 'um', 0);
    const before = allocated();
    const err = await rawPush(
      { trainer: 'um', param: 'um_w', key: worker.key(), step: 0, header: header() },
      2 * MiB,
      'cancel',
    );
    expect(err?.code).toBe(Status.CANCELLED);
    expect(await settleTo(before)).toBe(before);
  });

  it('set_data cancelled midway, or short, leaves the value and frees the staging', async () => {
    const version = (await (await h.ps.get('um_w')).describe()).version;
    const before = allocated();
    for (const how of ['cancel', 'end'] as const) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = params.setData((e) => resolve(e));
        call.write({ name: 'um_w', header: header(), chunk: new Uint8Array(MiB) } as TensorUpload);
        call.write({ chunk: new Uint8Array(MiB) } as TensorUpload);
        if (how === 'end') call.end();
        else setImmediate(() => call.cancel());
      });
      expect(err?.code, how).toBe(how === 'end' ? Status.INVALID_ARGUMENT : Status.CANCELLED);
      expect(how === 'end' ? allocated() : await settleTo(before), how).toBe(before);
    }
    expect((await (await h.ps.get('um_w')).describe()).version).toBe(version);
  });

  it('a successful push keeps exactly one gradient-sized tensor until the step', async () => {
    const worker = new RawWorker(svc, 'um', 0);
    const before = allocated();
    await worker.push('um_w', { shape: SHAPE, dtype: 'float32', data: new Float32Array(BYTES / 4).fill(1) });
    expect(allocated() - before).toBe(BYTES);
    await worker.step(1);
    expect(allocated()).toBe(before); // the step consumed it (plain SGD keeps no state)
  });
});
