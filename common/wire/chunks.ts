// Chunked tensor transport shared by the server handlers, the client (client/transport.ts)
// and the tests: writing one tensor as a sequence of <= 1 MiB messages over any grpc-js
// object stream while honouring backpressure, and assembling an incoming sequence of
// messages into ONE preallocated buffer with every size check done before allocating.
// The wire rules are in protos/gluonps/v1/tensor.proto; message field names are parameters
// (defaults: `header`, `chunk`, header field `byteLength`) so the same code serves
// TensorChunk reads, TensorUpload writes and the Trainer's messages later.
//
// Copies: the writer sends subarray views of the caller's bytes, so chunking itself copies
// nothing. On the server, chunk-only replies are framed by hand with one copy of each chunk
// (server/rpc/framing.ts); anything else, and everything a client sends, is encoded by
// protobufjs (one copy) and framed by grpc-js (another). The client decodes chunk-only replies
// as views of grpc-js's message buffer (chunkOnlyBytes), and the assembler copies each chunk
// exactly once, into the preallocated result (on the server, straight into the new tensor:
// see server/rpc/uploads.ts). Both hand-written codecs are tested byte for byte against
// protobufjs and grpc-js's framing.
import { constants as bufferConstants } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import { MAX_CHUNK_BYTES } from './channel';

/**
 * Builds the error thrown for a malformed or oversized stream: each end passes its own (the
 * server's ServerError, which its rpc layer turns into that status; the client's GluonPsError).
 */
export type MakeTransportError = (code: grpc.status, message: string) => Error;

/** The part of a grpc-js object stream (server-writable or client-writable) the writer needs. */
export interface MessageSink<M> {
  write(message: M, callback?: (err?: Error | null) => void): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'drain' | 'close' | 'error', listener: (...args: never[]) => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

export interface WriteTensorOptions<C extends string> {
  /** Name of the bytes field of the message (default 'chunk'). */
  chunkField?: C;
  /** Data bytes per message (default and maximum MAX_CHUNK_BYTES). */
  chunkBytes?: number;
  /** Stops the write early (the promise rejects with CANCELLED), e.g. when the call ended. */
  signal?: AbortSignal;
  /** Error factory, as in CollectOptions. */
  makeError: MakeTransportError;
}

/**
 * Writes one tensor: the first message is `first` (header, name, ...) plus the first chunk,
 * then one message per further chunk. Chunks are subarray views of `data` (no copies), so it
 * resolves only once the stream has processed the last message (and with it every earlier
 * one): from then on the stream holds no view of `data`, and the caller may change or free it
 * (a server releases its snapshot then; an object-mode stream may still queue up to its
 * highWaterMark of messages when write() returns true). While sending, it waits for 'drain'
 * whenever `sink.write` returns false. It does not end the stream, so several tensors can
 * follow each other (list_data). Rejects with CANCELLED if the stream closes,
 * errors or `signal` aborts before every chunk was accepted. An empty tensor is one message.
 */
export async function writeTensor<M extends object, C extends string = 'chunk'>(
  sink: MessageSink<M>,
  first: Omit<M, C>,
  data: Uint8Array,
  options: WriteTensorOptions<C>,
): Promise<void> {
  const chunkField = options.chunkField ?? 'chunk';
  const chunkBytes = options.chunkBytes ?? MAX_CHUNK_BYTES;
  const makeError = options.makeError;
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`writeTensor: chunkBytes must be an integer in [1, ${MAX_CHUNK_BYTES}], got ${chunkBytes}`);
  }
  let offset = 0;
  do {
    assertWritable(sink, options.signal, makeError);
    const end = Math.min(offset + chunkBytes, data.byteLength);
    const slice = data.subarray(offset, end);
    // The message type is generic; the caller's `first` plus the chunk field is exactly M.
    const message = (offset === 0 ? { ...first, [chunkField]: slice } : { [chunkField]: slice }) as M;
    offset = end;
    if (offset < data.byteLength) {
      if (!sink.write(message)) await untilStream(sink, options.signal, makeError, (done) => sink.once('drain', done));
    } else {
      await untilStream(sink, options.signal, makeError, (done, failed) =>
        sink.write(message, (err) => (err ? failed() : done())),
      );
    }
  } while (offset < data.byteLength);
}

function assertWritable(
  sink: MessageSink<unknown>,
  signal: AbortSignal | undefined,
  makeError: MakeTransportError,
): void {
  if (signal?.aborted === true || sink.destroyed || sink.writableEnded) {
    throw makeError(grpc.status.CANCELLED, 'tensor stream closed before all bytes were sent');
  }
}

/**
 * Resolves when `start` reports done ('drain', or a write's callback); rejects with CANCELLED
 * if it reports a failure or the stream closes, errors or `signal` aborts first.
 */
function untilStream(
  sink: MessageSink<unknown>,
  signal: AbortSignal | undefined,
  makeError: MakeTransportError,
  start: (done: () => void, failed: () => void) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      settled = true;
      sink.removeListener('close', onClosed);
      sink.removeListener('error', onClosed);
      signal?.removeEventListener('abort', onClosed);
    };
    const onDone = (): void => {
      if (settled) return;
      cleanup();
      resolve();
    };
    const onClosed = (): void => {
      if (settled) return;
      cleanup();
      reject(makeError(grpc.status.CANCELLED, 'tensor stream closed before all bytes were sent'));
    };
    sink.once('close', onClosed);
    sink.once('error', onClosed);
    signal?.addEventListener('abort', onClosed, { once: true });
    start(onDone, onClosed);
  });
}

/** A decoded header object; its byte length is read from CollectOptions.byteLengthField. */
export type HeaderLike = object;

/**
 * Where an incoming tensor's bytes land: a Buffer by default, or anything of that byte length
 * that copies a chunk in at an offset (the server lands uploads straight in tensor memory).
 */
export interface ByteDestination {
  readonly byteLength: number;
  set(chunk: Uint8Array, offset: number): void;
}

/** One assembled tensor. */
export interface CollectedTensor<H, D extends ByteDestination = Buffer> {
  /** Parameter name: from the first message's name field, else CollectOptions.name, else ''. */
  name: string;
  /** The header as received. */
  header: H;
  /** Exactly header.byteLength bytes, in a buffer of its own (or from CollectOptions.allocate). */
  data: D;
}

export interface CollectOptions<H, D extends ByteDestination = Buffer> {
  /** Name used in error messages when the messages carry none (reads of a known parameter). */
  name?: string;
  /** Field holding the header (default 'header'). */
  headerField?: string;
  /** Field holding the bytes (default 'chunk'). */
  chunkField?: string;
  /** Field of the first message holding the parameter name (uploads: 'name'); none by default. */
  nameField?: string;
  /**
   * Where a message's header is when it is not a field: given the message and its index in the
   * stream (a StatesChunk's first message carries trainer and byte_length itself). Default: the
   * `headerField` field.
   */
  headerOf?: (message: Record<string, unknown>, index: number) => H | null | undefined;
  /** Field of the header holding the byte length (default 'byteLength'). */
  byteLengthField?: string;
  /** Largest accepted byte length; over it is RESOURCE_EXHAUSTED, checked before allocating. */
  maxBytes: number;
  /**
   * Checks a header before its buffer is allocated (shape x dtype = byte length, dtype
   * allow-list, parameter exists...); throw to reject the stream.
   */
  validateHeader?: (header: H, name: string) => void;
  /** Allocates the destination (default Buffer.allocUnsafeSlow: own ArrayBuffer, offset 0). */
  allocate?: (byteLength: number) => D;
  /** Builds every error the stream raises (each end passes its own error type). */
  makeError: MakeTransportError;
}

/**
 * Incremental assembler behind assembleFromEvents, usable directly when the
 * messages arrive by callback. Feed every message to `accept`; it returns each tensor as it
 * completes. Call `finish` at end of stream; it throws if a tensor is incomplete.
 */
export class TensorAssembler<H extends HeaderLike, D extends ByteDestination = Buffer> {
  private readonly headerField: string;
  private readonly chunkField: string;
  private readonly byteLengthField: string;
  private readonly maxBytes: number;
  private readonly makeError: MakeTransportError;
  private readonly allocate: (byteLength: number) => D;
  private name: string;
  private messages = 0;
  private current: { header: H; data: D; received: number } | null = null;
  /** Byte length of the last completed tensor, for the overflow message after it. */
  private lastLength = 0;
  /** Tensors completed so far. */
  completed = 0;

  /**
   * @param maxTensors how many tensors the stream may hold (1 for uploads); a header or data
   *   after the last one is INVALID_ARGUMENT.
   */
  constructor(
    private readonly options: CollectOptions<H, D>,
    private readonly maxTensors = Infinity,
  ) {
    this.headerField = options.headerField ?? 'header';
    this.chunkField = options.chunkField ?? 'chunk';
    this.byteLengthField = options.byteLengthField ?? 'byteLength';
    this.maxBytes = options.maxBytes;
    this.makeError = options.makeError;
    // Without `allocate`, D is its default, Buffer.
    this.allocate = options.allocate ?? ((n) => Buffer.allocUnsafeSlow(n) as unknown as D);
    this.name = options.name ?? '';
  }

  /** Consumes one message; returns the tensor it completes, if any. */
  accept(message: object): CollectedTensor<H, D> | null {
    const fields = message as Record<string, unknown>;
    if (this.messages++ === 0 && this.options.nameField !== undefined) {
      const name = fields[this.options.nameField];
      if (typeof name !== 'string' || name === '') {
        throw this.fail(
          grpc.status.INVALID_ARGUMENT,
          `expected a parameter name in the first message, received ${describe(name)}`,
        );
      }
      this.name = name;
    }
    const header = this.options.headerOf ? this.options.headerOf(fields, this.messages - 1) : fields[this.headerField];
    const chunk = toBytes(fields[this.chunkField]);
    const hasHeader = header !== null && header !== undefined;
    if (this.current === null && this.completed >= this.maxTensors) {
      if (hasHeader) {
        throw this.fail(grpc.status.INVALID_ARGUMENT, `expected ${this.maxTensors} tensor(s), received another header`);
      }
      if (chunk.byteLength === 0) return null;
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        `expected ${this.lastLength} bytes, received at least ${this.lastLength + chunk.byteLength}`,
      );
    }
    if (hasHeader) {
      if (this.current !== null) {
        throw this.fail(
          grpc.status.INVALID_ARGUMENT,
          `expected ${this.expected()} bytes before the next header, received ${this.current.received}`,
        );
      }
      this.start(header as H);
    } else if (this.current === null) {
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        this.completed === 0
          ? 'expected a header in the first message, received a message without one'
          : `expected a header to start tensor ${this.completed + 1}, received ${chunk.byteLength} bytes without one`,
      );
    }
    return this.append(chunk);
  }

  /** Ends the stream: throws unless every started tensor is complete and `minTensors` arrived. */
  finish(minTensors = 0): void {
    if (this.current !== null) {
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        `expected ${this.expected()} bytes, received ${this.current.received}`,
      );
    }
    if (this.completed < minTensors) {
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        this.messages === 0
          ? 'expected a header message, received an empty stream'
          : `expected ${minTensors} tensors, received ${this.completed}`,
      );
    }
  }

  /** Name used in messages: the received or given parameter name. */
  get parameterName(): string {
    return this.name;
  }

  private start(header: H): void {
    const raw = (header as Record<string, unknown>)[this.byteLengthField];
    const byteLength = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof byteLength !== 'number' || !Number.isSafeInteger(byteLength) || byteLength < 0) {
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        `expected a non-negative integer byte_length, received ${describe(raw)}`,
      );
    }
    const limit = Math.min(this.maxBytes, bufferConstants.MAX_LENGTH);
    if (byteLength > limit) {
      throw this.fail(grpc.status.RESOURCE_EXHAUSTED, `byte_length ${byteLength} exceeds the limit of ${limit} bytes`);
    }
    this.options.validateHeader?.(header, this.name);
    this.current = { header, data: this.allocate(byteLength), received: 0 };
  }

  private append(chunk: Uint8Array): CollectedTensor<H, D> | null {
    const current = this.current;
    if (current === null) return null; // unreachable: accept() always starts a tensor first
    const total = current.data.byteLength;
    if (chunk.byteLength > total - current.received) {
      throw this.fail(
        grpc.status.INVALID_ARGUMENT,
        `expected ${total} bytes, received at least ${current.received + chunk.byteLength}`,
      );
    }
    current.data.set(chunk, current.received);
    current.received += chunk.byteLength;
    if (current.received < total) return null;
    this.current = null;
    this.lastLength = total;
    this.completed++;
    return { name: this.name, header: current.header, data: current.data };
  }

  private expected(): number {
    return this.current?.data.byteLength ?? 0;
  }

  private fail(code: grpc.status, what: string): Error {
    const who = this.name === '' ? 'tensor stream' : `parameter '${this.name}'`;
    return this.makeError(code, `${who}: ${what}`);
  }
}

/** The part of a grpc-js readable call (either side) that assembleFromEvents listens to. */
export interface MessageSource {
  on(event: 'data', listener: (message: object) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'data' | 'end' | 'close' | 'error', listener: (...args: never[]) => void): unknown;
  /** grpc-js server calls: set, and 'cancelled' emitted, when the client cancelled. */
  readonly cancelled?: boolean;
  once?(event: 'cancelled', listener: () => void): unknown;
}

/** How long a stream that ended short waits for grpc-js to report a cancel (see assembleFromEvents). */
const CANCEL_GRACE_MS = 25;

export interface EventAssembly {
  /** How many tensors the stream holds: exactly this many, or any number for Infinity. */
  count: number;
  /** Sees the first message before the assembler does (fields naming what is uploaded). */
  onFirst?: (message: object) => void;
  /** Stops the call after a bad message or an early close (cancel it, or destroy its readable side). */
  abort: () => void;
  /** What an early 'close' (before 'end') means, e.g. 'the client cancelled the upload'. */
  closedEarly: string;
}

/**
 * Feeds a grpc-js call's 'data' events to a TensorAssembler (every check above) and
 * resolves with the tensors at 'end'. Events rather than `for await`: the async iterator costs
 * promises per 1 MiB message, which slowed 64 MiB pulls and, under two workers pushing at
 * once, uploads. A bad message or a wrong count aborts the call and rejects with the
 * assembler's error; a stream error rejects with it; a close before the end is CANCELLED.
 */
export function assembleFromEvents<H extends HeaderLike, D extends ByteDestination = Buffer>(
  call: MessageSource,
  options: CollectOptions<H, D>,
  how: EventAssembly,
): Promise<CollectedTensor<H, D>[]> {
  return new Promise((resolve, reject) => {
    const assembler = new TensorAssembler<H, D>(options, how.count);
    const makeError = options.makeError;
    const tensors: CollectedTensor<H, D>[] = [];
    let first = true;
    let settled = false;
    let ended = false;
    const onData = (message: object): void => {
      if (settled) return;
      try {
        if (first) {
          first = false;
          how.onFirst?.(message);
        }
        const done = assembler.accept(message);
        if (done !== null) tensors.push(done);
      } catch (err) {
        fail(err, true);
      }
    };
    const onEnd = (): void => {
      if (settled) return;
      try {
        assembler.finish(how.count === Infinity ? 0 : how.count);
      } catch (err) {
        // A client's cancel ends a grpc-js server call's stream about a millisecond before the
        // call is marked cancelled: on this error path, such a call (it has a `cancelled` flag)
        // waits briefly for that, so the log says CANCELLED rather than "expected N bytes,
        // received M". The stream's own 'close' in between decides nothing.
        ended = true;
        const decide = (): void =>
          fail(call.cancelled === true ? makeError(grpc.status.CANCELLED, how.closedEarly) : err, true);
        if (call.cancelled !== false || call.once === undefined) {
          decide();
          return;
        }
        const timer = setTimeout(decide, CANCEL_GRACE_MS);
        call.once('cancelled', () => {
          clearTimeout(timer);
          decide();
        });
        return;
      }
      settle();
      resolve(tensors);
    };
    const onClose = (): void => {
      if (!ended) fail(makeError(grpc.status.CANCELLED, how.closedEarly), true);
    };
    const onError = (err: Error): void => fail(err, false);
    const settle = (): void => {
      settled = true;
      call.removeListener('data', onData);
      call.removeListener('end', onEnd);
      call.removeListener('close', onClose);
      // Kept: a late stream error must not go unhandled.
    };
    const fail = (err: unknown, abort: boolean): void => {
      if (settled) return;
      settle();
      if (abort) how.abort();
      reject(err);
    };
    call.on('data', onData);
    call.on('end', onEnd);
    call.on('close', onClose);
    call.on('error', onError);
  });
}

/** The server side of an upload call, as receiveTensor uses it. */
export type UploadCall = MessageSource & { destroy(): unknown };

/** One uploaded tensor (set_data, declare_constant, push_grad) from a server-side call. */
export async function receiveTensor<H extends HeaderLike, D extends ByteDestination = Buffer>(
  call: UploadCall,
  options: CollectOptions<H, D> & { onFirst?: (message: object) => void },
): Promise<CollectedTensor<H, D>> {
  // Destroying the readable side drops the rest of the upload, as leaving a `for await` does.
  const [tensor] = await assembleFromEvents(call, options, {
    count: 1,
    onFirst: options.onFirst,
    abort: () => call.destroy(),
    closedEarly: 'the client cancelled the upload',
  });
  return tensor!;
}

/** Normalises a decoded `bytes` field: proto-loader gives a Buffer; absent means empty. */
function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value === undefined || value === null) return EMPTY;
  throw new TypeError(`chunk field must be bytes, got ${describe(value)}`);
}

const EMPTY = new Uint8Array(0);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.slice(0, 64)}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** ParameterService methods that stream tensors to the client as TensorChunk messages. */
export const CHUNKED_READ_METHODS: readonly string[] = [
  'Data',
  'ListData',
  'Grad',
  'ListGrad',
  'RowSparseData',
  'ListRowSparseData',
];

/**
 * The bytes of a message that is exactly one length-delimited field `fieldNumber` (tag, varint
 * length, bytes: what a chunk-only TensorChunk encodes to), as a view of `buf`; null for any
 * other message. Lets a client skip protobufjs's decode and toObject for the 1 MiB messages
 * that carry nearly every byte of a read; anything else goes through the normal decoder.
 */
export function chunkOnlyBytes(buf: Buffer, fieldNumber: number): Buffer | null {
  if (buf.byteLength < 2 || buf[0] !== ((fieldNumber << 3) | 2)) return null;
  let len = 0;
  let scale = 1;
  let at = 1;
  for (;;) {
    if (at >= buf.byteLength || at > 5) return null;
    const b = buf[at++]!;
    len += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  return at + len === buf.byteLength ? buf.subarray(at) : null;
}

/**
 * A copy of a generated client constructor whose listed server-streaming methods decode
 * chunk-only replies with chunkOnlyBytes (as `{ [headerField]: null, [chunkField]: bytes }`,
 * exactly what the generated decoder returns for them) and everything else as before.
 */
export function withChunkDeserializers<C extends grpc.ServiceClientConstructor>(
  ctor: C,
  methods: readonly string[],
  headerField: string,
  chunkField: string,
  fieldNumber: number,
): C {
  const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(ctor.service) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    if (!methods.includes(name)) {
      service[name] = def;
      continue;
    }
    const decode = def.responseDeserialize;
    service[name] = {
      ...def,
      responseDeserialize: (buf: Buffer) => {
        const chunk = chunkOnlyBytes(buf, fieldNumber);
        return chunk === null ? decode(buf) : { [headerField]: null, [chunkField]: chunk };
      },
    };
  }
  return grpc.makeGenericClientConstructor(service, ctor.serviceName) as unknown as C;
}
