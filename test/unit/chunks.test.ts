// Unit tests of the chunked tensor transport (common/wire/chunks.ts) without any network:
// the writer against an in-memory object stream with a tiny buffer (to force backpressure),
// the assembler against hand-made message sequences, and a fast-check round trip.
import { Readable, Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServerError, streamError } from '../../server/errors';
import {
  TensorAssembler,
  assembleFromEvents,
  receiveTensor,
  writeTensor as writeTensorWith,
  type CollectOptions,
  type HeaderLike,
  type MessageSink,
  type WriteTensorOptions,
} from '../../common/wire/chunks';
import { MAX_CHUNK_BYTES } from '../../common/wire/channel';

interface Header {
  byteLength: number | string;
  shape?: number[];
}

/** writeTensor raising the server's errors, as the server calls it. */
function writeTensor<M extends object, C extends string = 'chunk'>(
  sink: MessageSink<M>,
  first: Omit<M, C>,
  data: Uint8Array,
  options: Partial<WriteTensorOptions<C>> = {},
): Promise<void> {
  return writeTensorWith<M, C>(sink, first, data, { makeError: streamError, ...options });
}

// Message sequences through the product's event-driven readers (Readable.from emits the same
// 'data' / 'end' / 'error' events as a grpc-js call).
const collectTensor = <H extends HeaderLike>(source: Readable, options: CollectOptions<H>) =>
  receiveTensor<H>(source, options);
const collectTensors = <H extends HeaderLike>(source: Readable, options: CollectOptions<H>) =>
  assembleFromEvents<H>(source, options, {
    count: Infinity,
    abort: () => source.destroy(),
    closedEarly: 'closed early',
  });
interface Msg {
  name?: string;
  header?: Header | null;
  chunk?: Uint8Array;
}

/** An object-mode sink that accepts `highWaterMark` messages before write() returns false. */
function slowSink(highWaterMark = 1): { sink: Writable; messages: Msg[]; maxPending: () => number } {
  const messages: Msg[] = [];
  let maxPending = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark,
    write(message: Msg, _enc, callback) {
      maxPending = Math.max(maxPending, sink.writableLength);
      messages.push(message);
      setImmediate(callback);
    },
  });
  return { sink, messages, maxPending: () => maxPending };
}

/** Ends the sink (writeTensor does not) and waits for it to finish. */
function finished(sink: Writable): Promise<void> {
  return new Promise((resolve) => sink.end(resolve));
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const opts = (extra: Partial<CollectOptions<Header>> = {}): CollectOptions<Header> => ({
  maxBytes: 1 << 30,
  makeError: streamError,
  ...extra,
});

async function expectStatus(p: Promise<unknown>, code: grpc.status, text: RegExp): Promise<void> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServerError);
  expect((err as ServerError).code).toBe(code);
  expect((err as ServerError).message).toMatch(text);
}

describe('writeTensor', () => {
  it('splits into <= 1 MiB views of the source, header only on the first message', async () => {
    const data = bytes(2 * MAX_CHUNK_BYTES + 5);
    const { sink, messages } = slowSink();
    await writeTensor<Msg>(sink, { name: 'w', header: { byteLength: data.length } }, data);
    await finished(sink);
    expect(messages.map((m) => m.chunk?.byteLength)).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 5]);
    expect(messages[0]?.header).toEqual({ byteLength: data.length });
    expect(messages[0]?.name).toBe('w');
    expect(messages.slice(1).every((m) => m.header === undefined && m.name === undefined)).toBe(true);
    // Zero copies: every chunk shares the source's memory.
    for (const m of messages) expect(m.chunk?.buffer).toBe(data.buffer);
    expect(Buffer.concat(messages.map((m) => m.chunk ?? new Uint8Array())).equals(data)).toBe(true);
  });

  it('sends an empty tensor as one header message', async () => {
    const { sink, messages } = slowSink();
    await writeTensor<Msg>(sink, { header: { byteLength: 0 } }, new Uint8Array(0));
    await finished(sink);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.chunk?.byteLength).toBe(0);
  });

  it('waits for drain instead of queueing everything', async () => {
    const data = bytes(64 * 1024);
    const { sink, messages, maxPending } = slowSink(2);
    await writeTensor<Msg>(sink, { header: { byteLength: data.length } }, data, { chunkBytes: 1024 });
    await finished(sink);
    expect(messages).toHaveLength(64);
    expect(maxPending()).toBeLessThanOrEqual(2);
  });

  it('uses the configured chunk field name', async () => {
    const { sink, messages } = slowSink();
    await writeTensor<{ h?: Header; payload?: Uint8Array }, 'payload'>(sink, { h: { byteLength: 3 } }, bytes(3), {
      chunkField: 'payload',
    });
    await finished(sink);
    expect(messages[0]).toEqual({ h: { byteLength: 3 }, payload: bytes(3) });
  });

  it('rejects chunk sizes over 1 MiB', async () => {
    const { sink } = slowSink();
    await expect(writeTensor<Msg>(sink, {}, bytes(1), { chunkBytes: MAX_CHUNK_BYTES + 1 })).rejects.toThrow(RangeError);
  });

  it('resolves only once the stream has processed every message, as they are views of the bytes', async () => {
    // With room for 16 queued messages every write() returns true; resolving then would let a
    // server release (and a writer overwrite) a tensor that queued messages still point into.
    const { sink, messages } = slowSink(16);
    const data = bytes(4096);
    await writeTensor<Msg>(sink, { header: { byteLength: data.length } }, data, { chunkBytes: 1024 });
    expect(messages).toHaveLength(4);
    expect(sink.writableLength).toBe(0);
  });

  it('rejects with CANCELLED when the stream is destroyed before taking the last message', async () => {
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 16,
      write() {
        /* never completes */
      },
    });
    const p = writeTensor<Msg>(sink, { header: { byteLength: 4096 } }, bytes(4096), { chunkBytes: 1024 });
    setImmediate(() => sink.destroy());
    await expectStatus(p, grpc.status.CANCELLED, /closed before all bytes/);
  });

  it('rejects with CANCELLED when the stream is destroyed while waiting for drain', async () => {
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write() {
        /* never completes */
      },
    });
    const p = writeTensor<Msg>(sink, { header: { byteLength: 4096 } }, bytes(4096), { chunkBytes: 1024 });
    setImmediate(() => sink.destroy());
    await expectStatus(p, grpc.status.CANCELLED, /closed before all bytes/);
  });

  it('rejects with CANCELLED when the signal aborts', async () => {
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write() {
        /* never completes */
      },
    });
    const ac = new AbortController();
    const p = writeTensor<Msg>(sink, { header: { byteLength: 4096 } }, bytes(4096), {
      chunkBytes: 1024,
      signal: ac.signal,
    });
    setImmediate(() => ac.abort());
    await expectStatus(p, grpc.status.CANCELLED, /closed before all bytes/);
  });
});

describe('collectTensor', () => {
  it('assembles chunks into one buffer of exactly byte_length', async () => {
    const data = bytes(10);
    const t = await collectTensor<Header>(
      Readable.from([
        { name: 'w', header: { byteLength: 10 }, chunk: data.subarray(0, 4) },
        { chunk: data.subarray(4, 4) },
        { chunk: data.subarray(4) },
      ]),
      opts({ nameField: 'name' }),
    );
    expect(t.name).toBe('w');
    expect(t.data).toEqual(data);
    expect(t.data.byteOffset).toBe(0);
    expect(t.data.buffer.byteLength).toBe(10);
  });

  it('accepts a zero-length tensor and a decimal-string byte_length', async () => {
    const t = await collectTensor<Header>(Readable.from([{ header: { byteLength: '0' } }]), opts());
    expect(t.data.byteLength).toBe(0);
  });

  it('rejects a missing header, naming the parameter', async () => {
    await expectStatus(
      collectTensor<Header>(Readable.from([{ name: 'dense0_weight', chunk: bytes(3) }]), opts({ nameField: 'name' })),
      grpc.status.INVALID_ARGUMENT,
      /^parameter 'dense0_weight': expected a header in the first message/,
    );
  });

  it('rejects a missing name when one is required', async () => {
    await expectStatus(
      collectTensor<Header>(Readable.from([{ header: { byteLength: 0 } }]), opts({ nameField: 'name' })),
      grpc.status.INVALID_ARGUMENT,
      /expected a parameter name in the first message, received ''|nothing/,
    );
  });

  it('rejects an empty stream', async () => {
    await expectStatus(
      collectTensor<Header>(Readable.from([]), opts({ name: 'b' })),
      grpc.status.INVALID_ARGUMENT,
      /^parameter 'b': expected a header message, received an empty stream/,
    );
  });

  it('rejects too few bytes (underflow)', async () => {
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ name: 'w', header: { byteLength: 10 }, chunk: bytes(6) }]),
        opts({ nameField: 'name' }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /^parameter 'w': expected 10 bytes, received 6$/,
    );
  });

  it('rejects too many bytes (overflow), in the same or a later message', async () => {
    await expectStatus(
      collectTensor<Header>(Readable.from([{ header: { byteLength: 2 }, chunk: bytes(3) }]), opts({ name: 'w' })),
      grpc.status.INVALID_ARGUMENT,
      /expected 2 bytes, received at least 3/,
    );
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ header: { byteLength: 2 }, chunk: bytes(2) }, { chunk: bytes(1) }]),
        opts({ name: 'w' }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /expected 2 bytes, received at least 3/,
    );
  });

  it('rejects a second tensor in an upload', async () => {
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ header: { byteLength: 1 }, chunk: bytes(1) }, { header: { byteLength: 1 } }]),
        opts({ name: 'w' }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /received another header/,
    );
  });

  it('rejects a header in the middle of a tensor', async () => {
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ header: { byteLength: 4 }, chunk: bytes(1) }, { header: { byteLength: 1 } }]),
        opts({ name: 'w' }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /expected 4 bytes before the next header, received 1/,
    );
  });

  it('rejects bad byte_length values', async () => {
    for (const bad of [-1, 1.5, 'x', Number.MAX_SAFE_INTEGER + 2]) {
      await expectStatus(
        collectTensor<Header>(Readable.from([{ header: { byteLength: bad } }]), opts({ name: 'w' })),
        grpc.status.INVALID_ARGUMENT,
        /expected a non-negative integer byte_length/,
      );
    }
  });

  it('checks max bytes and validateHeader BEFORE allocating', async () => {
    const allocated: number[] = [];
    const allocate = (n: number): Buffer => {
      allocated.push(n);
      return Buffer.alloc(n);
    };
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ header: { byteLength: 2 ** 40 } }]),
        opts({ name: 'big', maxBytes: 1024, allocate }),
      ),
      grpc.status.RESOURCE_EXHAUSTED,
      /^parameter 'big': byte_length 1099511627776 exceeds the limit of 1024 bytes$/,
    );
    const validateHeader = (h: Header, name: string): void => {
      throw new ServerError(
        grpc.status.INVALID_ARGUMENT,
        `parameter '${name}': shape ${JSON.stringify(h.shape)} needs 8 bytes`,
      );
    };
    await expectStatus(
      collectTensor<Header>(
        Readable.from([{ name: 'v', header: { byteLength: 4, shape: [2] } }]),
        opts({ nameField: 'name', validateHeader, allocate }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /shape \[2\] needs 8 bytes/,
    );
    expect(allocated).toEqual([]);
  });

  it('uses a custom error factory', async () => {
    class MyError extends Error {
      constructor(
        readonly code: number,
        message: string,
      ) {
        super(message);
      }
    }
    const err = await collectTensor<Header>(Readable.from([]), opts({ makeError: (c, m) => new MyError(c, m) })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MyError);
    expect((err as MyError).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('propagates a stream error', async () => {
    const failing = new Readable({
      objectMode: true,
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(collectTensor<Header>(failing, opts())).rejects.toThrow('boom');
  });
});

describe('collectTensors', () => {
  it('reads several tensors in order, each with its header', async () => {
    const ts = await collectTensors<Header & { ctx: number }>(
      Readable.from([
        { header: { byteLength: 2, ctx: 0 }, chunk: bytes(2, 1) },
        { header: { byteLength: 0, ctx: 1 } },
        { header: { byteLength: 3, ctx: 2 }, chunk: bytes(1, 3) },
        { chunk: bytes(2, 4) },
      ]),
      { maxBytes: 10, name: 'p', makeError: streamError },
    );
    expect(ts.map((t) => t.header.ctx)).toEqual([0, 1, 2]);
    expect(ts.map((t) => t.data.byteLength)).toEqual([2, 0, 3]);
    expect(ts[2]?.data).toEqual(Buffer.concat([bytes(1, 3), bytes(2, 4)]));
  });

  it('accepts an empty stream as zero tensors, rejects data without a header between tensors', async () => {
    expect(await collectTensors<Header>(Readable.from([]), opts())).toEqual([]);
    await expectStatus(
      collectTensors<Header>(
        Readable.from([{ header: { byteLength: 1 }, chunk: bytes(1) }, { chunk: bytes(1) }]),
        opts({ name: 'p' }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /expected a header to start tensor 2, received 1 bytes without one/,
    );
  });
});

describe('round trip (property)', () => {
  it('writeTensor then TensorAssembler reproduces the bytes for any size and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 0, max: 255 }),
        async (size, chunkBytes, seed) => {
          const data = bytes(size, seed);
          const { sink, messages } = slowSink(3);
          await writeTensor<Msg>(sink, { header: { byteLength: size } }, data, { chunkBytes });
          await finished(sink);
          const asm = new TensorAssembler<Header>({ maxBytes: size, makeError: streamError });
          const done = messages.map((m) => asm.accept(m)).filter((t) => t !== null);
          asm.finish(1);
          expect(done).toHaveLength(1);
          expect(done[0]?.data.equals(data)).toBe(true);
          expect(messages.length).toBe(Math.max(1, Math.ceil(size / chunkBytes)));
        },
      ),
      { numRuns: 200 },
    );
  });
});
