// framing.ts: the server's fast path for the chunk messages of streamed reads (data, list_data,
// grad, row_sparse_data...), which carry nearly every byte the server sends.
//
// grpc-js frames a reply by calling the method's serializer and copying its output behind the
// 5-byte gRPC message prefix (BaseServerInterceptingCall.serializeMessage). For a chunk-only
// message (no header, just `bytes`) that is two copies of every byte: the tensor view into the
// protobuf encoding, then the encoding into the frame. Raw grpc-js with identity serializers
// makes one. So, as with the flow-control windows (transport.ts), we touch one private method:
// `serializeMessage` on grpc-js's BaseServerInterceptingCall prototype is wrapped so that a
// serializer marked as framing its own output is used as is. Our chunk serializer then writes
// prefix + tag + length and copies the chunk once, into the frame. Messages with any other
// field still go through protobufjs and are framed the same way.
//
// If the private method is gone (a later grpc-js), installFramedReplies warns and returns false
// and withChunkSerializers falls back to encoding chunk-only messages into a reused scratch
// buffer (safe: grpc-js copies the serializer's output synchronously), one copy more.
import type * as grpc from '@grpc/grpc-js';
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';
import { MAX_CHUNK_BYTES, type TransportWarn } from './transport';

const FRAMES_ITSELF = Symbol('gluonps.framesItself');

type Serialize = ((value: unknown) => Buffer) & { [FRAMES_ITSELF]?: true };

/** The private surface this module touches. */
interface CallInternals {
  handler?: { serialize?: Serialize };
  serializeMessage?: (this: CallInternals, value: unknown) => Buffer;
}

let installed: boolean | null = null;

/**
 * Makes grpc-js send the output of self-framing serializers unchanged. Process-wide and
 * idempotent; returns whether it is in place (false: warned, and withChunkSerializers uses
 * the scratch-buffer encoder instead).
 */
export function installFramedReplies(warn: TransportWarn = (m) => process.emitWarning(m, { code: 'GLUONPS_FRAMING' })): boolean {
  if (installed !== null) return installed;
  const proto = (serverInterceptors as unknown as { BaseServerInterceptingCall?: { prototype?: CallInternals } }).BaseServerInterceptingCall?.prototype;
  const original = proto?.serializeMessage;
  if (proto === undefined || typeof original !== 'function') {
    warn('framing: @grpc/grpc-js has no BaseServerInterceptingCall.serializeMessage (internals changed?); ' +
      'streamed reads copy every byte once more');
    installed = false;
    return false;
  }
  proto.serializeMessage = function serializeMessage(this: CallInternals, value: unknown): Buffer {
    const serialize = this.handler?.serialize;
    if (serialize?.[FRAMES_ITSELF] === true) return serialize(value);
    return original.call(this, value);
  };
  installed = true;
  return true;
}

/** The chunk field when `m` holds nothing else, else null. */
function chunkOnly(m: object, chunkField: string): Uint8Array | null {
  const fields = m as Record<string, unknown>;
  const chunk = fields[chunkField];
  if (!(chunk instanceof Uint8Array)) return null;
  for (const key in fields) {
    if (key !== chunkField && fields[key] !== undefined && fields[key] !== null) return null;
  }
  return chunk;
}

/** Writes tag and varint length of a length-delimited field at `at`; returns the next offset. */
function writeFieldHeader(out: Buffer, at: number, tag: number, length: number): number {
  out[at++] = tag;
  let len = length;
  while (len >= 0x80) {
    out[at++] = (len & 0x7f) | 0x80;
    len = Math.floor(len / 128);
  }
  out[at++] = len;
  return at;
}

/** Varint length of n (n < 2^35). */
function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/**
 * A serializer that returns complete gRPC frames (prefix + protobuf message): chunk-only
 * messages are encoded by hand with one copy of the bytes, anything else by `serialize`.
 * Only valid once installFramedReplies() returned true.
 */
export function framingChunkSerializer<M extends object>(serialize: (m: M) => Buffer, chunkField: string, fieldNumber: number): (m: M) => Buffer {
  const tag = (fieldNumber << 3) | 2;
  const framed = ((m: M): Buffer => {
    const chunk = chunkOnly(m, chunkField);
    if (chunk === null) {
      const message = serialize(m);
      const out = Buffer.allocUnsafe(message.byteLength + 5);
      out[0] = 0; // not compressed
      out.writeUInt32BE(message.byteLength, 1);
      message.copy(out, 5);
      return out;
    }
    const messageLength = 1 + varintLength(chunk.byteLength) + chunk.byteLength;
    const out = Buffer.allocUnsafe(messageLength + 5);
    out[0] = 0;
    out.writeUInt32BE(messageLength, 1);
    out.set(chunk, writeFieldHeader(out, 5, tag, chunk.byteLength));
    return out;
  }) as Serialize;
  framed[FRAMES_ITSELF] = true;
  return framed as (m: M) => Buffer;
}

/**
 * The fallback: chunk-only messages encoded into one reused scratch buffer instead of a new
 * protobufjs buffer per 1 MiB chunk. Safe because grpc-js (1.10-1.14) copies the serialized
 * message into its frame synchronously, before the next message is serialized.
 */
export function scratchChunkSerializer<M extends object>(serialize: (m: M) => Buffer, chunkField: string, fieldNumber: number): (m: M) => Buffer {
  const tag = (fieldNumber << 3) | 2;
  let scratch = Buffer.allocUnsafeSlow(MAX_CHUNK_BYTES + 16);
  return (m: M) => {
    const chunk = chunkOnly(m, chunkField);
    if (chunk === null) return serialize(m);
    const need = chunk.byteLength + 11;
    if (scratch.byteLength < need) scratch = Buffer.allocUnsafeSlow(need);
    const at = writeFieldHeader(scratch, 0, tag, chunk.byteLength);
    scratch.set(chunk, at);
    return scratch.subarray(0, at + chunk.byteLength);
  };
}

/**
 * A copy of a service definition whose listed methods serialize their replies on the fast
 * path: self-framing when installFramedReplies() is in place, else the scratch encoder.
 */
export function withChunkSerializers<S extends grpc.ServiceDefinition>(service: S, methods: readonly string[], chunkField: string, fieldNumber: number, warn?: TransportWarn): S {
  const make = installFramedReplies(warn) ? framingChunkSerializer : scratchChunkSerializer;
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    out[name] = methods.includes(name) ? { ...def, responseSerialize: make(def.responseSerialize as (m: object) => Buffer, chunkField, fieldNumber) as (m: unknown) => Buffer } : def;
  }
  return out as S;
}
