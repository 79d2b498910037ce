// The per-call log line of the real CLI process: a call that fails, or takes --slow-call-ms or
// more, logs one line naming the method, the parameter or trainer, the worker, the status, the
// duration and the tensor bytes, with a request id: the client's x-request-id, or a generated
// one; either way it is echoed in the call's trailing metadata.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import { loadProtos } from '../../protos/load';
import { connectTo, startServer, useServerBundle, type LogLine, type ServerProcess } from './crash-harness';
import { f32t, RawTrainerService, RawWorker, settle, sleep, trainerRequest } from './trainer-helpers';

const bundle = useServerBundle('call-log');
const SLOW_MS = 200;

type ParamCtor = new (address: string, credentials: grpc.ChannelCredentials) => ParameterServiceClient;

/** Status and trailing metadata of a raw call; `start` issues it. */
function statusOf(
  start: () => grpc.Call & { on(e: 'status', l: (s: grpc.StatusObject) => void): unknown },
): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    const call = start();
    call.on('status', resolve);
    // Streams must be read to reach their status.
    (call as unknown as { on(e: string, l: () => void): void }).on('data', () => undefined);
  });
}

let srv: ServerProcess;
let ps: ParameterServerClient;
let stub: ParameterServiceClient;
const conns: RawTrainerService[] = [];

beforeAll(async () => {
  srv = await startServer(bundle, { dataDir: 'none', args: ['--slow-call-ms', String(SLOW_MS)] });
  ps = await connectTo(srv.address);
  stub = new (loadProtos().gluonps.v1.ParameterService as unknown as ParamCtor)(
    srv.address,
    grpc.credentials.createInsecure(),
  );
}, 60_000);
afterAll(async () => {
  for (const c of conns) c.close();
  stub?.close();
  await ps?.close();
  await srv?.stop();
});

const lineWithId = (id: string): Promise<LogLine> => srv.waitForLog((l) => l.requestId === id);

describe('the call log line', () => {
  it("a failed call: one line with the method, parameter, status, duration, bytes and the client's request id, echoed back", async () => {
    const md = new grpc.Metadata();
    md.set('x-request-id', 'req-abc-123');
    const status = await statusOf(() => stub.get({ name: 'log_missing' }, md, () => undefined));
    expect(status.code).toBe(Status.NOT_FOUND);
    expect(status.metadata.get('x-request-id')).toEqual(['req-abc-123']);
    const line = await lineWithId('req-abc-123');
    expect(line).toMatchObject({
      msg: 'call failed',
      level: 30,
      grpcService: 'ParameterService',
      method: 'Get',
      param: 'log_missing',
      code: 'NOT_FOUND',
      bytesReceived: 0,
      bytesSent: 0,
      details: "parameter 'log_missing' does not exist",
    });
    expect(typeof line.ms).toBe('number');
    expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(srv.logs.filter((l) => l.requestId === 'req-abc-123')).toHaveLength(1);
  });

  it('without x-request-id (or with an unusable one) the server makes one, logs it and echoes it', async () => {
    const status = await statusOf(() => stub.get({ name: 'log_missing2' }, () => undefined));
    const [id] = status.metadata.get('x-request-id') as string[];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await lineWithId(id!)).toMatchObject({ method: 'Get', param: 'log_missing2', code: 'NOT_FOUND' });
    const md = new grpc.Metadata();
    md.set('x-request-id', 'has a space');
    const other = await statusOf(() => stub.get({ name: 'log_missing3' }, md, () => undefined));
    expect(other.metadata.get('x-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a failed upload counts the bytes it received; a failed trainer call names the trainer and worker', async () => {
    const w = await ps.parameter('log_w', { shape: [2, 3], init: init.zero() });
    await w.initialize();
    await expect(w.setData(new Float32Array([1, 2, 3, 4]))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    const upload = await srv.waitForLog((l) => l.msg === 'call failed' && l.method === 'SetData');
    expect(upload).toMatchObject({ param: 'log_w', code: 'INVALID_ARGUMENT', bytesReceived: 16 });

    const svc = new RawTrainerService(srv.address);
    conns.push(svc);
    await svc.create(
      trainerRequest('log_t', ['log_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: 1 }, { numWorkers: 3 }),
    );
    const push = await settle(new RawWorker(svc, 'log_t', 2).push('log_other', f32t([2], [1, 2])));
    expect(push).toMatchObject({ ok: false, error: { code: Status.INVALID_ARGUMENT } });
    const line = await srv.waitForLog((l) => l.msg === 'call failed' && l.method === 'PushGrad');
    expect(line).toMatchObject({
      grpcService: 'TrainerService',
      trainer: 'log_t',
      param: 'log_other',
      worker: 2,
      code: 'INVALID_ARGUMENT',
      bytesReceived: 8,
    });
  });

  it('a call slower than --slow-call-ms is logged even though it succeeds: a step waiting at the barrier', async () => {
    const svc = new RawTrainerService(srv.address);
    conns.push(svc);
    await svc.create(
      trainerRequest('log_slow', ['log_w'], { kind: 'OPTIMIZER_KIND_SGD', learningRate: 1 }, { numWorkers: 2 }),
    );
    const a = new RawWorker(svc, 'log_slow', 0);
    const b = new RawWorker(svc, 'log_slow', 1);
    const first = a.step(1);
    while ((await svc.describe('log_slow')).waitingFor.join() !== '1') await sleep(10);
    await sleep(SLOW_MS + 100); // worker 0's step now waits longer than the threshold
    await Promise.all([first, b.step(1)]);
    const line = await srv.waitForLog((l) => l.msg === 'slow call' && l.trainer === 'log_slow' && l.worker === 0);
    expect(line).toMatchObject({ level: 40, method: 'Step', code: 'OK' });
    expect(line.ms as number).toBeGreaterThanOrEqual(SLOW_MS);
    // No successful call under the threshold is logged.
    for (const l of srv.linesWith('slow call')) expect(l.ms as number).toBeGreaterThanOrEqual(SLOW_MS);
  });
});

describe('--slow-call-ms 0', () => {
  it('logs every call, a read with the bytes it sent', async () => {
    const every = await startServer(bundle, { dataDir: 'none', args: ['--slow-call-ms', '0'] });
    const client = await connectTo(every.address);
    try {
      const w = await client.parameter('log_all', { shape: [1000], init: init.one() });
      await w.initialize();
      await w.data();
      const line = await every.waitForLog((l) => l.msg === 'slow call' && l.method === 'Data');
      expect(line).toMatchObject({ param: 'log_all', code: 'OK', bytesSent: 4000, bytesReceived: 0 });
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await client.close();
      await every.stop();
    }
  });
});
