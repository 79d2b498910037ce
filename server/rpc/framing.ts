// framing.ts: the server's fast path for the chunk messages of streamed reads (data, list_data,
// grad, row_sparse_data...), which carry nearly every byte the server sends.
//
// grpc-js frames a reply by calling the method's serializer and copying its output behind the
// 5-byte gRPC message prefix (BaseServerInterceptingCall.serializeMessage). For a chunk-only
// message (no header, just `bytes`) that is two copies of every byte: the tensor view into the
// protobuf encoding, then the encoding into the frame. Raw grpc-js with identity serializers
// makes one. So, as with the flow-control windows (transport.ts), we touch one private method:
// `serializeMessage` on grpc-js's BaseServerInterceptingCall prototype is wrapped so that a
// chunk-only message is framed by hand: prefix + tag + length, and the chunk copied once, into
// the frame.
//
// The serializer itself stays the protobufjs one (its output is a protobuf message, for anything
// else that calls it); the frame is a hook on it, asked first for each message, that returns
// null for messages with any field besides the chunk, which grpc-js then frames itself. If the
// private method is gone (a later grpc-js), installFramedReplies warns and the hook is never
// called: replies are exactly what grpc-js would send anyway, with one copy more.
import type * as grpc from '@grpc/grpc-js';
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';
import type { TransportWarn } from './transport';

const FRAME = Symbol('gluonps.frame');

/** A serializer that may frame a message itself: [FRAME] returns the whole gRPC frame, or null. */
type Serialize = ((value: unknown) => Buffer) & { [FRAME]?: (value: unknown) => Buffer | null };

/** The private surface this module touches. */
interface CallInternals {
  handler?: { serialize?: Serialize };
  serializeMessage?: (this: CallInternals, value: unknown) => Buffer;
}

let installed: boolean | null = null;

/**
 * Makes grpc-js ask a serializer's frame hook first. Process-wide and idempotent; returns
 * whether it is in place (false: warned, and replies are framed by grpc-js as usual).
 */
export function installFramedReplies(
  warn: TransportWarn = (m) => process.emitWarning(m, { code: 'GLUONPS_FRAMING' }),
): boolean {
  if (installed !== null) return installed;
  const proto = (serverInterceptors as unknown as { BaseServerInterceptingCall?: { prototype?: CallInternals } })
    .BaseServerInterceptingCall?.prototype;
  const original = proto?.serializeMessage;
  if (proto === undefined || typeof original !== 'function') {
    warn(
      'framing: @grpc/grpc-js has no BaseServerInterceptingCall.serializeMessage (internals changed?); ' +
        'streamed reads copy every byte once more',
    );
    installed = false;
    return false;
  }
  proto.serializeMessage = function serializeMessage(this: CallInternals, value: unknown): Buffer {
    return this.handler?.serialize?.[FRAME]?.(value) ?? original.call(this, value);
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
 * The gRPC frame (prefix + protobuf message) of a chunk-only message, encoded by hand with one
 * copy of the bytes; null for a message with any other field.
 */
export function chunkFrame(m: object, chunkField: string, fieldNumber: number): Buffer | null {
  const chunk = chunkOnly(m, chunkField);
  if (chunk === null) return null;
  const messageLength = 1 + varintLength(chunk.byteLength) + chunk.byteLength;
  const out = Buffer.allocUnsafe(messageLength + 5);
  out[0] = 0; // not compressed
  out.writeUInt32BE(messageLength, 1);
  out.set(chunk, writeFieldHeader(out, 5, (fieldNumber << 3) | 2, chunk.byteLength));
  return out;
}

/**
 * A copy of a service definition whose listed methods' reply serializers carry the chunk frame
 * hook (used once installFramedReplies() is in place; ignored otherwise).
 */
export function withChunkSerializers<S extends grpc.ServiceDefinition>(
  service: S,
  methods: readonly string[],
  chunkField: string,
  fieldNumber: number,
  warn?: TransportWarn,
): S {
  installFramedReplies(warn);
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    if (!methods.includes(name)) {
      out[name] = def;
      continue;
    }
    const protobuf = def.responseSerialize;
    const serialize = ((m: unknown) => protobuf(m)) as Serialize;
    serialize[FRAME] = (m) => chunkFrame(m as object, chunkField, fieldNumber);
    out[name] = { ...def, responseSerialize: serialize };
  }
  return out as S;
}
