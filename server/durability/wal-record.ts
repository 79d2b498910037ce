// wal-record.ts: the write-ahead log's record format, shared by the writer (wal.ts) and the
// reader (wal-replay.ts) so neither imports the other. Files and segments are described in
// wal.ts; one record, all integers little-endian:
//
//   offset 0   u32  total length of the record in bytes, these 20 header bytes included
//          4   u32  crc32 (zlib / IEEE) of bytes [8, total): lsn, meta length, meta, payload
//          8   u64  lsn
//         16   u32  meta length M
//         20   M    meta: UTF-8 JSON (an object), numbers as state-json.ts writes them
//       20+M   ...  payload: total - 20 - M bytes (may be empty)
import { crc32 } from 'node:zlib';
import { parseState, stringifyState } from '../../common/formats/state-json';

export const WAL_HEADER_BYTES = 20;
/** The total length field is a u32. */
export const WAL_MAX_RECORD_BYTES = 0xffff_ffff;
/**
 * Room kept for a record's meta when sizing payloads: metas are small (the largest, a row_sparse
 * push's row ids, is bounded by the 8 MiB gRPC message that carried them).
 */
export const WAL_META_ALLOWANCE = 64 * 1024 * 1024;
/**
 * The largest payload a record is guaranteed to hold: callers check a change against it before
 * making it (Journal.maxPayloadBytes), so an append never fails for size, which would fail the
 * log and stop the server with a change in memory that is not on disk.
 */
export const WAL_MAX_PAYLOAD_BYTES = WAL_MAX_RECORD_BYTES - WAL_HEADER_BYTES - WAL_META_ALLOWANCE;
/** Payloads up to this size are copied into the header buffer (one iovec instead of two). */
const INLINE_PAYLOAD_BYTES = 4096;

export class WalCorruptError extends Error {
  override name = 'WalCorruptError';
  readonly code = 'EWALCORRUPT';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(
      `write-ahead log ${file} is corrupt at byte ${offset}: ${reason}; records after it cannot be replayed (start with the truncate-corrupt option to drop them and everything after)`,
    );
  }
}

export interface WalRecord {
  lsn: bigint;
  meta: Record<string, unknown>;
  /**
   * The payload bytes. onRecord may keep it: the reader never overwrites a buffer it handed
   * out. A payload that fits in a read chunk (readChunkBytes, 1 MiB) is a view into that chunk,
   * so keeping it keeps the chunk alive (copy small payloads you keep many of); a larger one has
   * its own exact-size buffer (20 + meta bytes before it).
   */
  payload: Buffer;
  /** Segment file path and byte offset of the record. */
  file: string;
  offset: number;
}

/**
 * A payload piece the injected parts writer (WalWriterOptions.writeParts) reads in place: a host
 * tensor (no JS copy of it is ever made) or bytes. Only its length is known here.
 */
export interface WalPart {
  readonly byteLength: number;
}

/**
 * Writes records at `position` of `fd` from outside the main thread: computes each record's crc32
 * over bytes [8, total) (head after the crc field, then its parts) into head[4, 8), writes them
 * in order, fdatasyncs when `sync`; `limit` stops after that many bytes. Resolves to bytes written.
 */
export type WalPartsWriter = (
  fd: number,
  position: number,
  records: Array<{ head: Buffer; parts: WalPart[] }>,
  options: { limit?: number; sync?: boolean },
) => Promise<number>;

/**
 * An encoded record: `head` (header + meta, + the payload when small) and the big payload by
 * reference; or, for a record of parts, the head without its crc and the parts (`parts` set).
 */
export interface EncodedRecord {
  lsn: bigint;
  head: Buffer;
  payload: Uint8Array | null;
  parts: WalPart[] | null;
  size: number;
}

/** Encodes a record whose payload is `parts` (written and checksummed by a WalPartsWriter). */
export function encodeHead(lsn: bigint, meta: object, parts: WalPart[]): EncodedRecord {
  const json = stringifyState(meta);
  if (typeof json !== 'string' || json[0] !== '{') throw new TypeError('WAL record meta must be a JSON object');
  const metaLen = Buffer.byteLength(json, 'utf8');
  let payLen = 0;
  for (const p of parts) payLen += p.byteLength;
  const size = WAL_HEADER_BYTES + metaLen + payLen;
  if (size > WAL_MAX_RECORD_BYTES)
    throw new RangeError(`WAL record of ${size} bytes is over the limit of ${WAL_MAX_RECORD_BYTES} bytes`);
  const head = Buffer.allocUnsafe(WAL_HEADER_BYTES + metaLen);
  head.writeUInt32LE(size, 0);
  head.writeUInt32LE(0, 4); // the parts writer stores the crc
  head.writeBigUInt64LE(lsn, 8);
  head.writeUInt32LE(metaLen, 16);
  head.write(json, WAL_HEADER_BYTES, metaLen, 'utf8');
  return { lsn, head, payload: null, parts, size };
}

/** Encodes a record: header + meta (+ a small payload) in one buffer, the big payload by reference. */
export function encodeRecord(lsn: bigint, meta: object, payload: Uint8Array | undefined): EncodedRecord {
  const json = stringifyState(meta);
  if (typeof json !== 'string' || json[0] !== '{') throw new TypeError('WAL record meta must be a JSON object');
  const metaLen = Buffer.byteLength(json, 'utf8');
  const payLen = payload?.byteLength ?? 0;
  const size = WAL_HEADER_BYTES + metaLen + payLen;
  if (size > WAL_MAX_RECORD_BYTES)
    throw new RangeError(`WAL record of ${size} bytes is over the limit of ${WAL_MAX_RECORD_BYTES} bytes`);
  const inline = payLen <= INLINE_PAYLOAD_BYTES;
  const head = Buffer.allocUnsafe(WAL_HEADER_BYTES + metaLen + (inline ? payLen : 0));
  head.writeUInt32LE(size, 0);
  head.writeBigUInt64LE(lsn, 8);
  head.writeUInt32LE(metaLen, 16);
  head.write(json, WAL_HEADER_BYTES, metaLen, 'utf8');
  if (inline && payload !== undefined && payLen > 0) head.set(payload, WAL_HEADER_BYTES + metaLen);
  let crc = crc32(head.subarray(8));
  if (!inline) crc = crc32(payload!, crc);
  head.writeUInt32LE(crc, 4);
  return { lsn, head, payload: inline || payLen === 0 ? null : payload!, parts: null, size };
}

/** What a record's header says, checked against the bytes left in its file. */
export type HeaderCheck =
  | { ok: true; total: number; metaLen: number }
  | { ok: false; reason: string; incomplete: boolean };

/** Checks a record header (WAL_HEADER_BYTES at `h`) against the `remaining` bytes of the file. */
export function checkHeader(h: Buffer, remaining: number): HeaderCheck {
  const total = h.readUInt32LE(0);
  const metaLen = h.readUInt32LE(16);
  if (total < WAL_HEADER_BYTES)
    return { ok: false, reason: `record length ${total} is below the header size`, incomplete: false };
  if (total > remaining)
    return {
      ok: false,
      reason: `record length ${total} runs past the end of the file (${remaining} bytes left)`,
      incomplete: true,
    };
  if (metaLen > total - WAL_HEADER_BYTES)
    return { ok: false, reason: `meta length ${metaLen} exceeds the record length ${total}`, incomplete: false };
  return { ok: true, total, metaLen };
}

export type Decoded =
  | { ok: true; total: number; lsn: bigint; meta: Record<string, unknown>; payload: Buffer }
  | { ok: false; reason: string; incomplete: false };

/** Decodes a whole record (`body`: its `total` bytes, header checked by checkHeader): CRC, meta JSON. */
export function decodeRecord(body: Buffer, metaLen: number): Decoded {
  const crc = body.readUInt32LE(4);
  const actual = crc32(body.subarray(8));
  if (actual !== crc)
    return {
      ok: false,
      reason: `crc mismatch (stored ${crc.toString(16)}, computed ${actual.toString(16)})`,
      incomplete: false,
    };
  let meta: unknown;
  try {
    meta = parseState(body.toString('utf8', WAL_HEADER_BYTES, WAL_HEADER_BYTES + metaLen));
  } catch {
    meta = undefined;
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
    return { ok: false, reason: 'meta is not a JSON object', incomplete: false };
  return {
    ok: true,
    total: body.byteLength,
    lsn: body.readBigUInt64LE(8),
    meta: meta as Record<string, unknown>,
    payload: body.subarray(WAL_HEADER_BYTES + metaLen),
  };
}
