// Bearer-token authentication over real gRPC, through the product client (and raw generated
// stubs where the client cannot send the call): no or a wrong token is UNAUTHENTICATED on every
// kind of call, a full-access token may call everything, a read-only token only the methods
// that change nothing (PERMISSION_DENIED otherwise, naming the method), health checks stay
// open, tokens come from a file too, and a server without tokens lets everyone in.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, cpu, init, Parameter, Status } from '../../client/index';
import type { ParameterServerClient } from '../../client/index';
import { Channel } from '../../client/channel';
import type { ListResponse__Output } from '../../protos/generated/gluonps/v1/ListResponse';
import type { PushGradResponse__Output } from '../../protos/generated/gluonps/v1/PushGradResponse';
import type { TrainerInfo__Output } from '../../protos/generated/gluonps/v1/TrainerInfo';
import type { HealthCheckResponse__Output } from '../../protos/generated/grpc/health/v1/HealthCheckResponse';
import { loadProtos } from '../../protos/load';
import { parseCommandLine } from '../../server/config';
import { startServer } from '../../server/index';
import type { RunningServer } from '../../server/index';
import { f32, iota, numbers, rejectsWith, startHarness } from './helpers';

const FULL = 'full-0f8e2c6b1d5a4e39';
const READER = 'reader-7c1d9a0b3e5f2468';
const protos = loadProtos();

let server: RunningServer;
let admin: ParameterServerClient; // full access: sets the scene
const clients: ParameterServerClient[] = [];

async function client(token?: string): Promise<ParameterServerClient> {
  const c = await connect(server.address, { connectTimeoutMs: 5000, ...(token === undefined ? {} : { token }) });
  clients.push(c);
  return c;
}

/** Metadata carrying `authorization: <value>` (raw, so malformed values can be sent). */
function auth(value?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (value !== undefined) md.set('authorization', value);
  return md;
}

function unaryResult<T>(run: (cb: grpc.requestCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, res) => (err ? reject(err) : resolve(res!))));
}

beforeAll(async () => {
  server = await startServer({ port: 0, logLevel: 'silent', auth: { tokens: [FULL], readOnlyTokens: [READER] } });
  admin = await client(FULL);
  const w = await admin.parameter('w', { shape: [2, 3] });
  await w.initialize({ ctx: [cpu(0), cpu(1)], seed: 3 });
  await w.setData(f32([2, 3], [1, 2, 3, 4, 5, 6]));
  const emb = await admin.parameter('emb', { shape: [10, 2], stype: 'row_sparse' });
  await emb.initialize();
  await admin.trainer('t', ['w'], 'sgd', { learningRate: 0.5 }, { mode: 'async' });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await server?.close(2000);
});

describe('without a valid token', () => {
  const missing = /^missing bearer token: this server requires `authorization: Bearer <token>`/;

  it('unary and trainer calls are UNAUTHENTICATED, with a message that asks for a bearer token', async () => {
    const anon = await client();
    await rejectsWith(anon.list(), Status.UNAUTHENTICATED, missing);
    await rejectsWith(anon.get('w'), Status.UNAUTHENTICATED, missing);
    await rejectsWith(anon.parameter('x', { shape: [1] }), Status.UNAUTHENTICATED, missing);
    await rejectsWith(
      anon.trainer('t', ['w'], 'sgd', { learningRate: 0.5 }, { mode: 'async' }),
      Status.UNAUTHENTICATED,
      missing,
    );
    const stranger = await client('not-a-configured-token');
    await rejectsWith(stranger.list(), Status.UNAUTHENTICATED, /^unknown bearer token$/);
    await rejectsWith(stranger.parameter('x', { shape: [1] }), Status.UNAUTHENTICATED, /^unknown bearer token$/);
  });

  it('streamed reads and uploads are refused before any byte is read, and change nothing', async () => {
    const stub = new protos.gluonps.v1.ParameterService(server.address, grpc.credentials.createInsecure());
    const big = await admin.parameter('big', { shape: [1024, 1024] }); // 4 MiB of float32
    await big.initialize({ init: init.constant(1) });
    const before = (await big.describe()).version;
    try {
      // Handles over connections without / with a wrong token (get() would be refused first).
      for (const [md, message] of [
        [auth(), missing],
        [auth('Bearer not-a-configured-token'), /^unknown bearer token$/],
      ] as const) {
        const handle = new Parameter(new Channel(stub, server.address, md, undefined), 'big');
        await rejectsWith(handle.data(), Status.UNAUTHENTICATED, message);
        await rejectsWith(handle.listData(), Status.UNAUTHENTICATED, message);
        await rejectsWith(
          handle.setData(f32([1024, 1024], new Float32Array(1024 * 1024).fill(5))),
          Status.UNAUTHENTICATED,
          message,
        );
      }
    } finally {
      stub.close();
    }
    expect((await big.describe()).version).toBe(before);
    expect(numbers(await big.data()).every((v) => v === 1)).toBe(true);
  });

  it('a malformed authorization value is UNAUTHENTICATED, and no message echoes the token', async () => {
    const stub = new protos.gluonps.v1.ParameterService(server.address, grpc.credentials.createInsecure());
    try {
      for (const value of [`Basic ${FULL}`, FULL, 'Bearer', `Bearer ${FULL} extra`]) {
        const err = await unaryResult((cb) => stub.list({}, auth(value), cb)).then(
          () => null,
          (e: grpc.ServiceError) => e,
        );
        expect(err, value).toMatchObject({ code: Status.UNAUTHENTICATED });
        expect(err!.details, value).toMatch(/^malformed authorization metadata/);
        expect(err!.details).not.toContain(FULL);
      }
      // The scheme is case-insensitive (RFC 7235).
      const ok = await unaryResult<ListResponse__Output>((cb) => stub.list({}, auth(`bearer ${FULL}`), cb));
      expect(ok.parameters.map((p) => p.spec?.name)).toContain('w');
    } finally {
      stub.close();
    }
  });
});

describe('a full-access token', () => {
  it('may make unary calls, uploads, streamed reads, trainer and admin calls', async () => {
    const ps = await client(FULL);
    const p = await ps.parameter('full_p', { shape: [4] });
    await p.initialize({ ctx: cpu(0) });
    await p.setData(f32([4], [1, 2, 3, 4]));
    expect(numbers(await p.data())).toEqual([1, 2, 3, 4]);
    const tr = await ps.trainer('full_t', [p], 'sgd', { learningRate: 1 }, { mode: 'async' });
    await tr.pushGrad(p, f32([4], [1, 1, 1, 1]));
    await tr.step(1);
    expect(numbers(await p.data())).toEqual([0, 1, 2, 3]);
    // AdminService is reached (and answers that there is no data dir), so auth let it through.
    const adminStub = new protos.gluonps.v1.AdminService(server.address, grpc.credentials.createInsecure());
    try {
      const err = await unaryResult((cb) => adminStub.checkpoint({ reason: 'test' }, auth(`Bearer ${FULL}`), cb)).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: Status.FAILED_PRECONDITION });
    } finally {
      adminStub.close();
    }
  });
});

describe('a read-only token', () => {
  it('may call every read method', async () => {
    const ro = await client(READER);
    expect((await ro.list()).map((d) => d.name)).toContain('w');
    const w = await ro.get('w');
    expect((await w.describe()).shape).toEqual([2, 3]);
    expect(numbers(await w.data(cpu(1)))).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await w.listData()).length).toBe(2);
    expect(numbers(await w.grad())).toEqual([0, 0, 0, 0, 0, 0]);
    expect((await w.listGrad()).length).toBe(2);
    expect(await w.listCtx()).toEqual([cpu(0), cpu(1)]);
    expect((await w.var()).name).toBe('w');
    const emb = await ro.get('emb');
    expect(Array.from((await emb.rowSparseData([1, 3])).indices, Number)).toEqual([1, 3]);
    expect((await emb.listRowSparseData([2])).length).toBe(1);
    const trainerStub = new protos.gluonps.v1.TrainerService(server.address, grpc.credentials.createInsecure());
    try {
      const info = await unaryResult<TrainerInfo__Output>((cb) =>
        trainerStub.describeTrainer({ name: 't' }, auth(`Bearer ${READER}`), cb),
      );
      expect(info.name).toBe('t');
      const chunks: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = trainerStub.saveStates({ name: 't' }, auth(`Bearer ${READER}`));
        s.on('data', (m) => chunks.push(m));
        s.on('end', resolve);
        s.on('error', reject);
      });
      expect(chunks.length).toBeGreaterThan(0);
    } finally {
      trainerStub.close();
    }
  });

  it('every write is PERMISSION_DENIED naming the method, and changes nothing', async () => {
    const ro = await client(READER);
    const w = await ro.get('w');
    const before = (await w.describe()).version;
    const denied = (method: string): RegExp => new RegExp(`^read-only token may not call ${method}$`);
    await rejectsWith(
      ro.parameter('ro_new', { shape: [2] }),
      Status.PERMISSION_DENIED,
      denied('ParameterService/Declare'),
    );
    await rejectsWith(
      ro.constant('ro_c', [1, 2]),
      Status.PERMISSION_DENIED,
      denied('ParameterService/DeclareConstant'),
    );
    await rejectsWith(w.setData(f32([2, 3], iota(6))), Status.PERMISSION_DENIED, denied('ParameterService/SetData'));
    await rejectsWith(
      w.initialize({ ctx: cpu(2), forceReinit: true }),
      Status.PERMISSION_DENIED,
      denied('ParameterService/Initialize'),
    );
    await rejectsWith(w.zeroGrad(), Status.PERMISSION_DENIED, denied('ParameterService/ZeroGrad'));
    await rejectsWith(w.cast('float64'), Status.PERMISSION_DENIED, denied('ParameterService/Cast'));
    await rejectsWith(w.resetCtx(cpu(0)), Status.PERMISSION_DENIED, denied('ParameterService/ResetCtx'));
    await rejectsWith(
      ro.trainer('t', ['w'], 'sgd', { learningRate: 0.5 }, { mode: 'async' }),
      Status.PERMISSION_DENIED,
      denied('TrainerService/CreateTrainer'),
    );
    // A gradient push (client-streaming), sent raw: the client needs CreateTrainer first.
    const trainerStub = new protos.gluonps.v1.TrainerService(server.address, grpc.credentials.createInsecure());
    const adminStub = new protos.gluonps.v1.AdminService(server.address, grpc.credentials.createInsecure());
    try {
      const pushed = await new Promise<unknown>((resolve) => {
        const call = trainerStub.pushGrad(
          auth(`Bearer ${READER}`),
          (e: grpc.ServiceError | null, r?: PushGradResponse__Output) => resolve(e ?? r),
        );
        call.write({
          trainer: 't',
          param: 'w',
          step: 0,
          key: { workerId: 0, incarnation: 1, sequence: 1 },
          header: { shape: [2, 3], dtype: 'DTYPE_FLOAT32', byteLength: 24 },
        });
        call.write({ chunk: Buffer.alloc(24) });
        call.end();
      });
      expect(pushed).toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: 'read-only token may not call TrainerService/PushGrad',
      });
      const step = await unaryResult((cb) =>
        trainerStub.step({ trainer: 't', step: 0, batchSize: 1 }, auth(`Bearer ${READER}`), cb),
      ).catch((e: unknown) => e);
      expect(step).toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: 'read-only token may not call TrainerService/Step',
      });
      const ckpt = await unaryResult((cb) => adminStub.checkpoint({ reason: 'x' }, auth(`Bearer ${READER}`), cb)).catch(
        (e: unknown) => e,
      );
      expect(ckpt).toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: 'read-only token may not call AdminService/Checkpoint',
      });
    } finally {
      trainerStub.close();
      adminStub.close();
    }
    expect((await w.describe()).version).toBe(before);
    expect(numbers(await w.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await ro.list()).map((d) => d.name)).not.toContain('ro_new');
  });
});

describe('around authentication', () => {
  it('health checks need no token', async () => {
    const health = new protos.grpc.health.v1.Health(server.address, grpc.credentials.createInsecure());
    try {
      const res = await unaryResult<HealthCheckResponse__Output>((cb) =>
        health.check({ service: 'gluonps.v1.ParameterService' }, cb),
      );
      expect(res.status).toBe('SERVING');
    } finally {
      health.close();
    }
  });

  it('takes tokens from a token file, skipping blank lines and # comments', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gluonps-auth-'));
    try {
      const file = path.join(dir, 'tokens');
      writeFileSync(file, '# operators\nfile-token-a\n\n   \n# CI\n  file-token-b  \n');
      const { options } = parseCommandLine(
        ['--auth-token-file', file, '--port', '0', '--data-dir', 'none', '--log-level', 'silent'],
        {},
      );
      const s = await startServer(options);
      try {
        for (const token of ['file-token-a', 'file-token-b']) {
          const c = await connect(s.address, { token, connectTimeoutMs: 5000 });
          expect(await c.list()).toEqual([]);
          await c.close();
        }
        const c = await connect(s.address, { token: '#', connectTimeoutMs: 5000 });
        await rejectsWith(c.list(), Status.UNAUTHENTICATED, /unknown bearer token/);
        await c.close();
      } finally {
        await s.close(2000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without any configured token, every caller may do everything (a token is ignored)', async () => {
    const h = await startHarness();
    try {
      const p = await h.ps.parameter('open', { shape: [2] });
      await p.initialize();
      await p.setData(f32([2], [7, 8]));
      const other = await connect(h.server.address, { token: 'anything', connectTimeoutMs: 5000 });
      expect(numbers(await (await other.get('open')).data())).toEqual([7, 8]);
      await other.close();
    } finally {
      await h.close();
    }
  });

  it('refuses a token configured both as full-access and read-only, and an invalid token', async () => {
    await expect(
      startServer({ port: 0, logLevel: 'silent', auth: { tokens: ['same'], readOnlyTokens: ['same'] } }),
    ).rejects.toThrow(/both as full-access and as read-only/);
    await expect(startServer({ port: 0, logLevel: 'silent', auth: { tokens: ['has space'] } })).rejects.toThrow(
      /auth.tokens: token 1 is not valid/,
    );
  });
});

describe('a non-loopback address', () => {
  it('is refused without a token unless --insecure; a token (or --insecure) lets the server start there', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0, logLevel: 'silent' })).rejects.toThrow(
      /--host 0.0.0.0 is not a loopback address and no caller would be authenticated: .* or pass --insecure/,
    );
    for (const options of [{ insecure: true }, { auth: { tokens: ['t0k3n'] } }]) {
      const s = await startServer({ host: '0.0.0.0', port: 0, logLevel: 'silent', ...options });
      const ps = await connect(`127.0.0.1:${s.port}`, {
        connectTimeoutMs: 5000,
        token: 'auth' in options ? 't0k3n' : undefined,
      });
      await ps.list();
      await ps.close();
      await s.close(1000);
    }
    // Loopback needs nothing.
    const local = await startServer({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
    await local.close(1000);
  });
});
