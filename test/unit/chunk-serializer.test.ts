// The hand-written encoders for chunk-only read messages must produce exactly what protobufjs
// decodes back to the same bytes (framed as grpc-js frames, for the self-framing one), and
// leave every other message to protobufjs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../protos/load';
import { chunkOnlyBytes, CHUNKED_READ_METHODS, withChunkDeserializers } from '../../server/rpc/chunks';
import { framingChunkSerializer, installFramedReplies, scratchChunkSerializer, withChunkSerializers } from '../../server/rpc/framing';

const service = loadProtos().gluonps.v1.ParameterService.service;
const protobufjs = service.Data.responseSerialize as (m: object) => Buffer;
const header = { shape: [2], dtype: 'DTYPE_UINT8' as const, byteLength: 2, version: 3, rowIds: [] as number[], ctx: null };

/** What grpc-js itself sends for a message: 0, u32 big-endian length, the message. */
function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([prefix, message]);
}

describe('chunk serializers', () => {
  it('scratch encoder: chunk-only messages of any length round-trip through the real deserializer', () => {
    const scratch = scratchChunkSerializer(protobufjs, 'chunk', 2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        const chunk = new Uint8Array(length).fill(fill);
        const encoded = Buffer.from(scratch({ chunk }));
        expect(Buffer.compare(encoded, protobufjs({ chunk }))).toBe(0);
        const decoded = service.Data.responseDeserialize(encoded) as { chunk: Buffer; header: unknown };
        expect(decoded.header).toBeNull();
        expect(Buffer.compare(decoded.chunk, Buffer.from(chunk))).toBe(0);
      }),
      { numRuns: 40 },
    );
    expect(Buffer.compare(Buffer.from(scratch({ header, chunk: new Uint8Array([1, 2]) })), protobufjs({ header, chunk: new Uint8Array([1, 2]) }))).toBe(0);
  });

  it('self-framing encoder: exactly grpc-js\'s frame of the protobufjs encoding, for chunk-only and other messages', () => {
    const framing = framingChunkSerializer(protobufjs, 'chunk', 2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (length, fill, withHeader) => {
        const chunk = new Uint8Array(length).fill(fill);
        const message = withHeader ? { header, chunk } : { chunk };
        expect(Buffer.compare(framing(message), grpcFrame(protobufjs(message)))).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('is installed on this grpc-js, so the server uses the self-framing encoder', () => {
    const warnings: string[] = [];
    expect(installFramedReplies((m) => warnings.push(m))).toBe(true);
    expect(warnings).toEqual([]);
    const fast = withChunkSerializers(service, ['Data'], 'chunk', 2);
    const chunk = new Uint8Array([7, 8, 9]);
    expect(Buffer.compare(fast.Data.responseSerialize({ chunk }), grpcFrame(protobufjs({ chunk })))).toBe(0);
    expect(fast.Describe.responseSerialize).toBe(service.Describe.responseSerialize);
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
    const Ctor = withChunkDeserializers(loadProtos().gluonps.v1.ParameterService as never, CHUNKED_READ_METHODS, 'header', 'chunk', 2) as unknown as { service: typeof service };
    const chunk = new Uint8Array([4, 5, 6]);
    expect(Ctor.service.Data.responseDeserialize(protobufjs({ chunk }))).toEqual(decode(protobufjs({ chunk })));
    expect(Ctor.service.Data.responseDeserialize(protobufjs({ header, chunk }))).toEqual(decode(protobufjs({ header, chunk })));
    expect(Ctor.service.Describe.responseDeserialize).toBe(service.Describe.responseDeserialize);
  });
});
