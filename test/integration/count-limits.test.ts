// Count limits (issue 10; docs/configuration.md, "Limits"): parameters, constants, trainers,
// calls in flight, request metadata and health watchers. Each refusal is RESOURCE_EXHAUSTED
// naming the limit, its value and its flag, and changes nothing; a data dir that holds more than
// a lowered limit still starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, init, Status } from '../../client/index';
import { startServer } from '../../server/index';
import type { HealthClient } from '../../protos/generated/grpc/health/v1/Health';
import type { ParameterServiceClient } from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../../protos/load';
import { rejectsWith, startHarness, type Harness } from './helpers';
import { RawTrainerService, sleep, trainerRequest } from './trainer-helpers';

type Ctor<C> = new (address: string, credentials: grpc.ChannelCredentials) => C;

let h: Harness;
let params: ParameterServiceClient;
let health: HealthClient;
const SGD = { kind: 'OPTIMIZER_KIND_SGD' as const, learningRate: 0.1 };

beforeAll(async () => {
  h = await startHarness({
    maxParameters: 2,
    maxConstants: 1,
    maxTrainers: 1,
    maxConcurrentCalls: 3,
    maxMetadataBytes: 1024,
    maxHealthWatchers: 1,
  });
  const protos = loadProtos();
  params = new (protos.gluonps.v1.ParameterService as unknown as Ctor<ParameterServiceClient>)(
    h.server.address,
    grpc.credentials.createInsecure(),
  );
  health = new (protos.grpc.health.v1.Health as unknown as Ctor<HealthClient>)(
    h.server.address,
    grpc.credentials.createInsecure(),
  );
});

afterAll(async () => {
  params.close();
  health.close();
  await h.close();
});

const describeRaw = (name: string, metadata = new grpc.Metadata()): Promise<grpc.ServiceError | null> =>
  new Promise((resolve) => params.describe({ name }, metadata, (err) => resolve(err)));

describe('count limits', () => {
  it('parameters and constants are counted apart, against their own flags', async () => {
    await (await h.ps.parameter('a', { shape: [2], init: init.zero() })).initialize();
    await h.ps.parameter('b', { shape: [2], init: init.zero() });
    await rejectsWith(
      h.ps.parameter('c', { shape: [2] }),
      Status.RESOURCE_EXHAUSTED,
      /parameter 'c': the store's parameter count 3 is over the limit of 2 \(--max-parameters raises it\)/,
    );
    await h.ps.parameter('a', { shape: [2], init: init.zero() }); // the same declaration again: no new entry
    await h.ps.constant('k', { shape: [1], dtype: 'float32', data: Float32Array.of(1) });
    await rejectsWith(
      h.ps.constant('k2', { shape: [1], dtype: 'float32', data: Float32Array.of(2) }),
      Status.RESOURCE_EXHAUSTED,
      /the store's constant count 2 is over the limit of 1 \(--max-constants raises it\)/,
    );
    expect((await h.ps.list()).map((d) => d.name).sort()).toEqual(['a', 'b', 'k']);
  });

  it('trainers: a second one is refused; attaching to the first is not', async () => {
    const raw = new RawTrainerService(h.server.address);
    try {
      await raw.create(trainerRequest('t1', ['a'], SGD));
      await raw.create(trainerRequest('t1', ['a'], SGD)); // attach
      await rejectsWith(
        raw.create(trainerRequest('t2', ['a'], SGD)),
        Status.RESOURCE_EXHAUSTED,
        /trainer 't2': the server's trainer count 2 is over the limit of 1 \(--max-trainers raises it\)/,
      );
      expect(h.server.trainers.all().map((t) => t.spec.name)).toEqual(['t1']);
    } finally {
      raw.close();
    }
  });

  it('request metadata over --max-metadata-bytes is refused before the handler runs', async () => {
    const md = new grpc.Metadata();
    md.set('x-pad', 'p'.repeat(2000));
    const err = await describeRaw('a', md);
    expect(err?.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(
      /request metadata of 20\d\d bytes is over the limit of 1024 bytes \(--max-metadata-bytes/,
    );
    expect(await describeRaw('a')).toBeNull();
  });

  it('calls in flight over --max-concurrent-calls are refused; finished calls give their place back', async () => {
    for (let i = 0; i < 6; i++) expect(await describeRaw('a')).toBeNull(); // each call's place is returned
    const stalled = [0, 1, 2].map(() => {
      const call = params.setData(() => undefined);
      call.write({ name: 'a', header: { shape: [2], dtype: 'DTYPE_FLOAT32', byteLength: 8 } } as TensorUpload);
      return call;
    });
    await sleep(100);
    const err = await describeRaw('a');
    expect(err?.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/calls in flight 4 is over the limit of 3 \(--max-concurrent-calls raises it\)/);
    for (const c of stalled) c.cancel();
    await sleep(100);
    expect(await describeRaw('a')).toBeNull();
  });

  it('health Watch streams are bounded; Check stays open', async () => {
    const first = health.watch({ service: '' });
    first.on('error', () => undefined); // its cancel below
    await new Promise((resolve) => first.once('data', resolve));
    const second = await new Promise<grpc.ServiceError>((resolve) => {
      const call = health.watch({ service: '' });
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(second.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(second.details).toMatch(/health: Watch streams open 2 is over the limit of 1 \(--max-health-watchers/);
    first.cancel();
    const check = await new Promise<string>((resolve, reject) =>
      health.check({ service: '' }, (err, r) => (err ? reject(err) : resolve(String(r?.status)))),
    );
    expect(check).toBe('SERVING');
  });
});

describe('a data dir over a lowered limit', () => {
  it('still starts with everything it held; new entries are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-counts-'));
    try {
      const s1 = await startServer({ port: 0, logLevel: 'silent', dataDir: dir });
      const c1 = await connect(s1.address);
      for (const n of ['x', 'y', 'z']) await c1.parameter(n, { shape: [1], init: init.zero() });
      await c1.close();
      await s1.close(1000);
      const s2 = await startServer({ port: 0, logLevel: 'silent', dataDir: dir, maxParameters: 2 });
      const c2 = await connect(s2.address);
      try {
        expect((await c2.list()).length).toBe(3);
        await rejectsWith(c2.parameter('w', { shape: [1] }), Status.RESOURCE_EXHAUSTED, /--max-parameters/);
      } finally {
        await c2.close();
        await s2.close(1000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
