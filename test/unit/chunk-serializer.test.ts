// The hand-written frames of chunk-only read messages must be exactly what grpc-js sends for the
// protobufjs encoding, and every other message must be left to protobufjs and grpc-js.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../protos/load';
import { chunkOnlyBytes, CHUNKED_READ_METHODS, withChunkDeserializers } from '../../common/wire/chunks';
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';
import { chunkFrame, installFramedReplies, withChunkSerializers } from '../../server/rpc/framing';

const service = loadProtos().gluonps.v1.ParameterService.service;
const protobufjs = service.Data.responseSerialize as (m: object) => Buffer;
const header = {
  shape: [2],
  dtype: 'DTYPE_UINT8' as const,
  byteLength: 2,
  version: 3,
  rowIds: [] as number[],
  ctx: null,
};

/** What grpc-js itself sends for a message: 0, u32 big-endian length, the message. */
function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([prefix, message]);
}

describe('chunk serializers', () => {
  it("chunkFrame: exactly grpc-js's frame of the protobufjs encoding for chunk-only messages; null for any other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        const chunk = new Uint8Array(length).fill(fill);
        expect(Buffer.compare(chunkFrame({ chunk }, 'chunk', 2)!, grpcFrame(protobufjs({ chunk })))).toBe(0);
        expect(chunkFrame({ header, chunk }, 'chunk', 2)).toBeNull();
      }),
      { numRuns: 40 },
    );
  });

  it('is installed on this grpc-js: its serializeMessage frames chunk-only replies by hand and the rest as before', () => {
    const warnings: string[] = [];
    expect(installFramedReplies((m) => warnings.push(m))).toBe(true);
    expect(warnings).toEqual([]);
    const fast = withChunkSerializers(service, ['Data'], 'chunk', 2);
    const chunk = new Uint8Array([7, 8, 9]);
    // The serializer itself still gives the protobuf message, for anyone else calling it.
    expect(Buffer.compare(fast.Data.responseSerialize({ chunk }), protobufjs({ chunk }))).toBe(0);
    expect(fast.Describe.responseSerialize).toBe(service.Describe.responseSerialize);
    const proto = (
      serverInterceptors as unknown as {
        BaseServerInterceptingCall: { prototype: { serializeMessage(this: object, v: unknown): Buffer } };
      }
    ).BaseServerInterceptingCall.prototype;
    const call = { handler: { serialize: fast.Data.responseSerialize } };
    for (const message of [{ chunk }, { header, chunk }, { chunk: new Uint8Array(200_000).fill(3) }]) {
      expect(Buffer.compare(proto.serializeMessage.call(call, message), grpcFrame(protobufjs(message)))).toBe(0);
    }
  });

  it('client fast decoder: chunk-only messages decode as protobufjs does; anything else is left to it', () => {
    const decode = service.Data.responseDeserialize as (b: Buffer) => { header: unknown; chunk: Buffer };
    for (const length of [0, 1, 127, 128, 16_383, 16_384, 1 << 20, (1 << 20) + 11]) {
      const chunk = new Uint8Array(length).fill(length & 255);
      const encoded = protobufjs({ chunk });
      const fast = chunkOnlyBytes(encoded, 2);
      expect(fast, `length ${length}`).not.toBeNull();
      expect(Buffer.compare(fast!, Buffer.from(chunk))).toBe(0);
      expect(fast!.buffer).toBe(encoded.buffer); // a view, no copy
      expect(Buffer.compare(decode(encoded).chunk, fast!)).toBe(0);
      // Truncated or extended by a byte: not chunk-only.
      if (length > 0) expect(chunkOnlyBytes(encoded.subarray(0, encoded.length - 1), 2)).toBeNull();
      expect(chunkOnlyBytes(Buffer.concat([encoded, Buffer.from([0])]), 2)).toBeNull();
    }
    expect(chunkOnlyBytes(protobufjs({ header, chunk: new Uint8Array([1]) }), 2)).toBeNull();
    expect(chunkOnlyBytes(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 2)).toBeNull(); // an absurd varint
    const Ctor = withChunkDeserializers(
      loadProtos().gluonps.v1.ParameterService as never,
      CHUNKED_READ_METHODS,
      'header',
      'chunk',
      2,
    ) as unknown as { service: typeof service };
    const chunk = new Uint8Array([4, 5, 6]);
    expect(Ctor.service.Data.responseDeserialize(protobufjs({ chunk }))).toEqual(decode(protobufjs({ chunk })));
    expect(Ctor.service.Data.responseDeserialize(protobufjs({ header, chunk }))).toEqual(
      decode(protobufjs({ header, chunk })),
    );
    expect(Ctor.service.Describe.responseDeserialize).toBe(service.Describe.responseDeserialize);
  });
});
