// The hand-written encoder for chunk-only read messages must produce exactly what protobufjs
// decodes back to the same bytes, and leave every other message to protobufjs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../protos/load';
import { withChunkSerializers } from '../../server/rpc/transport';

const service = loadProtos().gluonps.v1.ParameterService.service;
const fast = withChunkSerializers(service, ['Data'], 'chunk', 2);

describe('chunk serializer', () => {
  it('round-trips chunk-only messages of any length through the real deserializer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        const chunk = new Uint8Array(length).fill(fill);
        const encoded = Buffer.from(fast.Data.responseSerialize({ chunk }));
        const decoded = service.Data.responseDeserialize(encoded) as { chunk: Buffer; header: unknown };
        expect(decoded.header).toBeNull();
        expect(Buffer.compare(decoded.chunk, Buffer.from(chunk))).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('leaves messages with a header to protobufjs', () => {
    const msg = { header: { shape: [2], dtype: 'DTYPE_UINT8' as const, byteLength: 2, version: 3, rowIds: [] as number[], ctx: null }, chunk: new Uint8Array([1, 2]) };
    expect(Buffer.compare(Buffer.from(fast.Data.responseSerialize(msg)), Buffer.from(service.Data.responseSerialize(msg)))).toBe(0);
  });
});
