// Integration test of the chunked transport over real gRPC: a tiny grpc-js server on port 0
// serving the real ParameterService proto (only SetData, Data and ListData, backed by a Map)
// with the product's chunk helpers and flow-control settings, driven by the client helpers.
// Round-trips edge sizes both ways and checks the statuses of malformed uploads.
import { randomFillSync } from 'node:crypto';
import type { ServerHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientChannelOptions, pullTensor, pullTensors, pushTensor } from '../../client/transport';
import type { ParameterInfo__Output } from '../../protos/generated/gluonps/v1/ParameterInfo';
import type {
  ParameterServiceClient,
  ParameterServiceHandlers,
} from '../../protos/generated/gluonps/v1/ParameterService';
import type { TensorHeader, TensorHeader__Output } from '../../protos/generated/gluonps/v1/TensorHeader';
import type { TensorUpload } from '../../protos/generated/gluonps/v1/TensorUpload';
import { loadProtos } from '../../protos/load';
import { ServerError, streamError } from '../../server/errors';
import { receiveTensor, writeTensor } from '../../common/wire/chunks';
import { FLOW_CONTROL_WINDOW_BYTES, MAX_CHUNK_BYTES } from '../../common/wire/channel';
import { applyServerFlowControl, serverOptions } from '../../server/rpc/transport';

const MiB = 1 << 20;
const MAX_BYTES = 80 * MiB;

const store = new Map<string, { data: Buffer; version: number }>();
let server: grpc.Server;
let client: ParameterServiceClient;
const sessions: ServerHttp2Session[] = [];
/** Outcome of the most recent Data handler's write, for the cancellation test. */
let lastDataWrite: Promise<unknown> = Promise.resolve();
/** Outcome of the most recent SetData handler's receive, for the cancellation test. */
let lastUpload: Promise<unknown> = Promise.resolve();
/** Called by the SetData handler once it has set lastUpload (the cancellation test waits for it). */
let onUploadStarted: () => void = () => undefined;
const warnings: string[] = [];

function header(data: Uint8Array, version = 0): TensorHeader {
  return { shape: [data.byteLength], dtype: 'DTYPE_UINT8', byteLength: data.byteLength, version };
}

const handlers: Partial<ParameterServiceHandlers> = {
  SetData(call, callback) {
    const received = receiveTensor<TensorHeader__Output>(call, {
      nameField: 'name',
      maxBytes: MAX_BYTES,
      makeError: streamError,
      validateHeader: (h, name) => {
        if (h.dtype !== 'DTYPE_UINT8' || h.shape.length !== 1 || h.shape[0] !== h.byteLength) {
          throw new ServerError(
            grpc.status.INVALID_ARGUMENT,
            `parameter '${name}': header ${JSON.stringify(h.shape)} ${h.dtype} does not describe ${h.byteLength} uint8 bytes`,
          );
        }
      },
    });
    lastUpload = received.then(
      () => null,
      (err: unknown) => err,
    );
    onUploadStarted();
    received.then(
      ({ name, data }) => {
        const version = (store.get(name)?.version ?? 0) + 1;
        store.set(name, { data, version });
        callback(null, { spec: { name }, version, initialized: true });
      },
      (err: Error) => callback(err),
    );
  },
  Data(call) {
    const entry = store.get(call.request.name);
    if (entry === undefined) {
      call.emit('error', { code: grpc.status.NOT_FOUND, details: `parameter '${call.request.name}' not found` });
      return;
    }
    const write = writeTensor(call, { header: header(entry.data, entry.version) }, entry.data, {
      makeError: streamError,
    });
    lastDataWrite = write.then(
      () => 'done',
      (err: unknown) => err,
    );
    write.then(
      () => call.end(),
      () => {
        /* client went away */
      },
    );
  },
  ListData(call) {
    const entry = store.get(call.request.name);
    if (entry === undefined) {
      call.emit('error', { code: grpc.status.NOT_FOUND, details: `parameter '${call.request.name}' not found` });
      return;
    }
    (async () => {
      for (let ctx = 0; ctx < 2; ctx++) {
        await writeTensor(
          call,
          { header: { ...header(entry.data, entry.version), ctx: { deviceType: 'DEVICE_TYPE_CPU', deviceId: ctx } } },
          entry.data,
          { makeError: streamError },
        );
      }
      call.end();
    })().catch(() => {
      /* client went away */
    });
  },
};

beforeAll(async () => {
  const proto = loadProtos();
  server = new grpc.Server(serverOptions());
  expect(applyServerFlowControl(server, { warn: (m) => warnings.push(m), onSession: (s) => sessions.push(s) })).toBe(
    true,
  );
  server.addService(proto.gluonps.v1.ParameterService.service, handlers as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  client = new proto.gluonps.v1.ParameterService(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    clientChannelOptions(),
  );
});

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let off = 0; off < n; off += 65536) randomFillSync(b, off, Math.min(65536, n - off));
  return b;
}

function push(name: string, data: Uint8Array): Promise<ParameterInfo__Output> {
  return pushTensor<TensorUpload, ParameterInfo__Output>(
    (cb) => client.setData(cb),
    { name, header: header(data) },
    data,
  );
}

/** Opens a raw SetData stream and writes the given messages, for malformed-stream tests. */
function rawUpload(messages: TensorUpload[]): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.setData((err) => resolve(err));
    for (const m of messages) call.write(m);
    call.end();
  });
}

describe('chunked transport over gRPC', () => {
  it('raises the server receive windows (stream and connection) on accepted sessions', async () => {
    await push('window-probe', randomBytes(1)); // a completed call: SETTINGS are acknowledged by now
    expect(warnings).toEqual([]);
    expect(sessions.length).toBeGreaterThan(0);
    const session = sessions[0] as ServerHttp2Session;
    expect(session.localSettings.initialWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    expect(session.state.effectiveLocalWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
  });

  const sizes = [0, 1, MiB, MiB + 1, 64 * MiB];
  for (const size of sizes) {
    it(`round-trips ${size} bytes both ways`, async () => {
      const name = `p${size}`;
      const data = randomBytes(size);
      const reply = await push(name, data);
      expect(reply.version).toBe(1);
      expect(store.get(name)?.data.equals(data)).toBe(true); // push direction
      const pulled = await pullTensor<TensorHeader__Output>(client.data({ name }), { name });
      expect(pulled.header.byteLength).toBe(size);
      expect(pulled.header.version).toBe(1);
      expect(pulled.header.shape).toEqual([size]);
      expect(pulled.data.equals(data)).toBe(true); // pull direction
    });
  }

  it('sends at most 1 MiB of data per message', async () => {
    const name = 'chunks';
    store.set(name, { data: randomBytes(2 * MiB + 1), version: 3 });
    const sizesSeen: number[] = [];
    const call = client.data({ name });
    call.on('data', (m: { chunk: Buffer }) => sizesSeen.push(m.chunk.byteLength));
    await pullTensor(call, { name });
    expect(sizesSeen).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 1]);
  });

  it('streams several tensors in sequence, each with its header', async () => {
    const name = 'multi';
    const data = randomBytes(MiB + 7);
    store.set(name, { data, version: 5 });
    const tensors = await pullTensors<TensorHeader__Output>(client.listData({ name }), { name });
    expect(tensors.map((t) => t.header.ctx?.deviceId)).toEqual([0, 1]);
    expect(tensors.every((t) => t.data.equals(data))).toBe(true);
  });

  it('rejects more bytes than byte_length with INVALID_ARGUMENT naming the parameter', async () => {
    const err = await rawUpload([
      { name: 'w', header: { shape: [10], dtype: 'DTYPE_UINT8', byteLength: 10 }, chunk: randomBytes(8) },
      { chunk: randomBytes(3) },
    ]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe("parameter 'w': expected 10 bytes, received at least 11");
  });

  it('rejects fewer bytes than byte_length with INVALID_ARGUMENT', async () => {
    const err = await rawUpload([
      { name: 'w', header: { shape: [10], dtype: 'DTYPE_UINT8', byteLength: 10 }, chunk: randomBytes(4) },
    ]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe("parameter 'w': expected 10 bytes, received 4");
  });

  it('rejects a stream without a header with INVALID_ARGUMENT', async () => {
    const err = await rawUpload([{ name: 'w', chunk: randomBytes(4) }]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/^parameter 'w': expected a header in the first message/);
  });

  it('rejects a header that does not match its byte length (validateHeader)', async () => {
    const err = await rawUpload([
      { name: 'w', header: { shape: [3], dtype: 'DTYPE_UINT8', byteLength: 4 }, chunk: randomBytes(4) },
    ]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/^parameter 'w': header \[3\]/);
  });

  it('rejects a tensor over max bytes with RESOURCE_EXHAUSTED before receiving it', async () => {
    const size = MAX_BYTES + 1;
    const err = await rawUpload([{ name: 'huge', header: { shape: [size], dtype: 'DTYPE_UINT8', byteLength: size } }]);
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err?.details).toBe(`parameter 'huge': byte_length ${size} exceeds the limit of ${MAX_BYTES} bytes`);
  });

  it('pushTensor stops early and rejects with the server status when the server refuses', async () => {
    const data = randomBytes(MAX_BYTES + 1);
    const err = await push('huge2', data).then(
      () => null,
      (e: unknown) => e as grpc.ServiceError,
    );
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(store.has('huge2')).toBe(false);
  });

  it('a client cancelling a pull stops the server writer with CANCELLED instead of hanging', async () => {
    const name = 'cancelled';
    store.set(name, { data: randomBytes(64 * MiB), version: 1 });
    const call = client.data({ name });
    call.on('error', () => {
      /* the cancellation itself */
    });
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.cancel();
    const outcome = await lastDataWrite;
    expect(outcome).toBeInstanceOf(ServerError);
    expect((outcome as ServerError).code).toBe(grpc.status.CANCELLED);
  });

  it('a client abandoning an upload midway leaves the value as it was; the server answers CANCELLED', async () => {
    const name = 'abandoned';
    store.set(name, { data: Buffer.from([1, 2, 3]), version: 1 });
    const data = randomBytes(8 * MiB);
    const started = new Promise<void>((resolve) => (onUploadStarted = resolve));
    const call = client.setData(() => undefined);
    call.on('error', () => {
      /* the cancellation itself */
    });
    call.write({ name, header: header(data), chunk: data.subarray(0, MiB) } as TensorUpload);
    call.write({ chunk: data.subarray(MiB, 2 * MiB) } as TensorUpload);
    await started; // the handler runs: lastUpload is this upload's outcome, not an earlier one's
    call.cancel();
    const outcome = await lastUpload;
    expect(outcome).toBeInstanceOf(ServerError);
    expect((outcome as ServerError).code).toBe(grpc.status.CANCELLED);
    expect(store.get(name)).toEqual({ data: Buffer.from([1, 2, 3]), version: 1 });
  });

  it('pull of an unknown parameter rejects with the server status', async () => {
    const err = await pullTensor(client.data({ name: 'nope' }), { name: 'nope' }).then(
      () => null,
      (e: unknown) => e as grpc.ServiceError,
    );
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
  });
});
