// zip.ts: the subset of ZIP an `.npz` needs. Reading: the end-of-central-directory record
// (and its zip64 form), the central directory, local headers; stored (method 0) and
// deflated (method 8) members, each checked against its CRC-32 (node:zlib crc32). Every
// count, size and offset is checked against the archive and the limits before anything is
// allocated or inflated; inflation is capped at the declared size (zip bombs), overlapping
// members, encryption, multi-disk archives, prepended or trailing bytes are refused.
// Writing: stored members, byte for byte what Python's zipfile writes for
// `ZipFile.writestr(ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)` (CPython 3.11),
// including its zip64 rules, so a file written here equals one written by that script.
import { crc32, inflateRawSync } from 'node:zlib';
import { ByteBuilder, ByteReader, decodeUtf8, encodeUtf8, u32At } from './bytes';
import type { Fail } from './types';
import { q } from './types';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const EOCD_BYTES = 22;
const LOCATOR64_BYTES = 20;
const EOCD64_MIN_BYTES = 56;
const CENTRAL_MIN_BYTES = 46;
const LOCAL_MIN_BYTES = 30;

/** CPython's zipfile.ZIP64_LIMIT: above it sizes and offsets move to zip64 fields. */
export const ZIP64_LIMIT = 2 ** 31 - 1;

export interface ZipEntry {
  name: string;
  method: 0 | 8;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** First byte of the (compressed) data. */
  dataOffset: number;
}

export interface ZipReadLimits {
  maxEntries: number;
  /** Most uncompressed bytes of one member. */
  maxEntryBytes: number;
  /** Most uncompressed bytes of all members together. */
  maxTotalBytes: number;
  maxNameBytes: number;
}

/** The byte ranges [start, end) each member occupies, to detect overlaps. */
interface Span {
  start: number;
  end: number;
  name: string;
}

function toSafe(v: bigint, fail: Fail, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('Invalid', `${what} ${v} is too large`);
  return Number(v);
}

/** Finds the EOCD record: it must end exactly at the end of the archive (comment included). */
function findEocd(bytes: Uint8Array, fail: Fail): number {
  const len = bytes.byteLength;
  if (len < EOCD_BYTES)
    fail(
      'Truncated',
      `the archive has ${len} bytes, fewer than the ${EOCD_BYTES} of an end-of-central-directory record`,
    );
  const lowest = Math.max(0, len - EOCD_BYTES - 0xffff);
  for (let p = len - EOCD_BYTES; p >= lowest; p--) {
    if (bytes[p] === 0x50 && bytes[p + 1] === 0x4b && bytes[p + 2] === 0x05 && bytes[p + 3] === 0x06) {
      const commentLen = bytes[p + 20]! | (bytes[p + 21]! << 8);
      if (p + EOCD_BYTES + commentLen === len) return p;
    }
  }
  return fail(
    'Invalid',
    'no end-of-central-directory record at the end of the file (not a zip archive, or bytes after its end)',
  );
}

/**
 * Reads and validates the central directory. Returns the members in directory order; every
 * member's local header and data are known to lie inside the archive, before the central
 * directory, without overlapping another member.
 */
export function readZipDirectory(bytes: Uint8Array, fail: Fail, limits: ZipReadLimits): ZipEntry[] {
  const eocd = findEocd(bytes, fail);
  const r = new ByteReader(bytes, fail);
  r.pos = eocd + 4;
  const disk = r.u16('end record: disk number');
  const cdDisk = r.u16('end record: central directory disk');
  let countOnDisk: number | bigint = r.u16('end record: entries on this disk');
  let count: number | bigint = r.u16('end record: entries');
  let cdSize: number | bigint = r.u32('end record: central directory size');
  let cdOffset: number | bigint = r.u32('end record: central directory offset');
  let cdLimit = eocd; // the central directory must end where the next record starts
  if (disk !== 0 || cdDisk !== 0)
    fail('Unsupported', `multi-disk archives are not supported (disk ${disk}, directory disk ${cdDisk})`);

  const locPos = eocd - LOCATOR64_BYTES;
  if (locPos >= 0 && u32At(bytes, locPos) === SIG_LOCATOR64) {
    const lr = new ByteReader(bytes, fail);
    lr.pos = locPos + 4;
    const locDisk = lr.u32('zip64 locator: disk');
    const recOffset = lr.u64('zip64 locator: end record offset');
    const disks = lr.u32('zip64 locator: disk count');
    if (locDisk !== 0 || disks > 1)
      fail('Unsupported', `multi-disk zip64 archives are not supported (disk ${locDisk} of ${disks})`);
    if (recOffset + BigInt(EOCD64_MIN_BYTES) > BigInt(locPos)) {
      fail(
        'Invalid',
        `zip64 end record offset ${recOffset} does not leave room for the record before the locator at ${locPos}`,
      );
    }
    const rec = Number(recOffset);
    const zr = new ByteReader(bytes, fail);
    zr.pos = rec;
    if (zr.u32('zip64 end record: signature') !== SIG_EOCD64)
      fail('Invalid', `no zip64 end record signature at offset ${rec}`);
    const recSize = zr.u64('zip64 end record: size');
    if (recSize + 12n !== BigInt(locPos - rec)) {
      fail('Invalid', `zip64 end record declares ${recSize + 12n} bytes but ${locPos - rec} lie before the locator`);
    }
    zr.u16('zip64 end record: version made by');
    zr.u16('zip64 end record: version needed');
    const d64 = zr.u32('zip64 end record: disk');
    const cd64 = zr.u32('zip64 end record: directory disk');
    if (d64 !== 0 || cd64 !== 0) fail('Unsupported', 'multi-disk zip64 archives are not supported');
    countOnDisk = zr.u64('zip64 end record: entries on this disk');
    count = zr.u64('zip64 end record: entries');
    cdSize = zr.u64('zip64 end record: central directory size');
    cdOffset = zr.u64('zip64 end record: central directory offset');
    cdLimit = rec;
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    fail('Invalid', 'the end record defers to zip64 fields but there is no zip64 locator');
  }
  if (BigInt(countOnDisk) !== BigInt(count))
    fail('Invalid', `entries on this disk (${countOnDisk}) differ from the total (${count})`);
  if (BigInt(count) > BigInt(limits.maxEntries))
    fail('LimitExceeded', `the archive declares ${count} members, more than the limit of ${limits.maxEntries}`);
  const n = Number(count);
  if (BigInt(cdOffset) + BigInt(cdSize) !== BigInt(cdLimit)) {
    fail(
      'Invalid',
      `central directory [${cdOffset}, +${cdSize}) does not end at the end record (offset ${cdLimit}); prepended or stray bytes?`,
    );
  }
  const cdStart = Number(cdOffset);
  const cdEnd = cdLimit;
  if (BigInt(n) * BigInt(CENTRAL_MIN_BYTES) > BigInt(cdEnd - cdStart)) {
    fail(
      'Truncated',
      `central directory of ${cdEnd - cdStart} bytes cannot hold ${n} entries (${CENTRAL_MIN_BYTES} bytes each at least)`,
    );
  }

  const cd = new ByteReader(bytes.subarray(0, cdEnd), fail);
  cd.pos = cdStart;
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const where = `central directory entry ${i}`;
    if (cd.u32(`${where}: signature`) !== SIG_CENTRAL)
      fail('Invalid', `${where}: bad signature at offset ${cd.pos - 4}`);
    cd.u16(`${where}: version made by`);
    cd.u16(`${where}: version needed`);
    const flags = cd.u16(`${where}: flags`);
    const method = cd.u16(`${where}: method`);
    cd.u16(`${where}: time`);
    cd.u16(`${where}: date`);
    const crc = cd.u32(`${where}: crc-32`);
    let csize: number | bigint = cd.u32(`${where}: compressed size`);
    let usize: number | bigint = cd.u32(`${where}: size`);
    const nameLen = cd.u16(`${where}: name length`);
    const extraLen = cd.u16(`${where}: extra length`);
    const commentLen = cd.u16(`${where}: comment length`);
    const diskStart = cd.u16(`${where}: disk`);
    cd.u16(`${where}: internal attributes`);
    cd.u32(`${where}: external attributes`);
    let offset: number | bigint = cd.u32(`${where}: local header offset`);
    if (nameLen > limits.maxNameBytes)
      fail('LimitExceeded', `${where}: name of ${nameLen} bytes is over the limit of ${limits.maxNameBytes}`);
    const nameRaw = cd.take(nameLen, `${where}: name`);
    const extra = cd.take(extraLen, `${where}: extra field`);
    cd.take(commentLen, `${where}: comment`);
    let name: string | undefined;
    if (flags & 0x800) name = decodeUtf8(nameRaw);
    else if (nameRaw.every((b) => b < 0x80)) name = String.fromCharCode(...nameRaw);
    if (name === undefined) fail('Invalid', `${where}: name is neither ASCII nor flagged and valid UTF-8`);
    const at = `member ${q(name)}`;
    // zip64 extended information: the fields whose 32-bit value is all ones, in order.
    if (usize === 0xffffffff || csize === 0xffffffff || offset === 0xffffffff || diskStart === 0xffff) {
      const xr = new ByteReader(extra, fail);
      let found = false;
      while (xr.remaining >= 4) {
        const id = xr.u16(`${at}: extra id`);
        const size = xr.u16(`${at}: extra size`);
        const body = new ByteReader(xr.take(size, `${at}: extra field ${id}`), fail);
        if (id !== 1) continue;
        found = true;
        if (usize === 0xffffffff) usize = body.u64(`${at}: zip64 size`);
        if (csize === 0xffffffff) csize = body.u64(`${at}: zip64 compressed size`);
        if (offset === 0xffffffff) offset = body.u64(`${at}: zip64 local header offset`);
        break;
      }
      if (!found) fail('Invalid', `${at}: 32-bit fields defer to zip64 but there is no zip64 extra field`);
    }
    if (diskStart !== 0) fail('Unsupported', `${at}: on disk ${diskStart}; multi-disk archives are not supported`);
    if (flags & 0x41) fail('Unsupported', `${at}: encrypted members are not supported`);
    if (method !== 0 && method !== 8) {
      fail(
        'Unsupported',
        `${at}: compression method ${method} is not supported (only 0 stored and 8 deflate, as numpy writes)`,
      );
    }
    if (names.has(name)) fail('Duplicate', `${at}: the name appears twice in the archive`);
    names.add(name);
    if (BigInt(usize) > BigInt(limits.maxEntryBytes)) {
      fail(
        'LimitExceeded',
        `${at}: ${usize} uncompressed bytes are over the per-member limit of ${limits.maxEntryBytes}`,
      );
    }
    const size = Number(usize);
    total += size;
    if (total > limits.maxTotalBytes)
      fail(
        'LimitExceeded',
        `${at}: members total ${total} uncompressed bytes, over the limit of ${limits.maxTotalBytes}`,
      );
    const compressedSize = toSafe(BigInt(csize), fail, `${at}: compressed size`);
    if (method === 0 && compressedSize !== size)
      fail('Invalid', `${at}: stored member with compressed size ${compressedSize} != size ${size}`);
    const localHeaderOffset = toSafe(BigInt(offset), fail, `${at}: local header offset`);
    entries.push({
      name,
      method: method as 0 | 8,
      flags,
      crc32: crc,
      compressedSize,
      size,
      localHeaderOffset,
      dataOffset: -1,
    });
  }
  if (cd.pos !== cdEnd)
    fail('Invalid', `central directory has ${cdEnd - cd.pos} unexpected bytes after its ${n} entries`);

  // Local headers: inside the archive, before the directory, names and methods agreeing.
  const spans: Span[] = [];
  const lr = new ByteReader(bytes.subarray(0, cdStart), fail);
  for (const e of entries) {
    const at = `member ${q(e.name)}`;
    if (e.localHeaderOffset + LOCAL_MIN_BYTES > cdStart)
      fail(
        'Invalid',
        `${at}: local header offset ${e.localHeaderOffset} is not before the central directory at ${cdStart}`,
      );
    lr.pos = e.localHeaderOffset;
    if (lr.u32(`${at}: local signature`) !== SIG_LOCAL)
      fail('Invalid', `${at}: no local header signature at offset ${e.localHeaderOffset}`);
    lr.u16(`${at}: local version`);
    const lflags = lr.u16(`${at}: local flags`);
    const lmethod = lr.u16(`${at}: local method`);
    lr.pos += 16; // time, date, crc, sizes: the directory's values are authoritative
    const lname = lr.u16(`${at}: local name length`);
    const lextra = lr.u16(`${at}: local extra length`);
    const nameRaw = lr.take(lname, `${at}: local name`);
    lr.take(lextra, `${at}: local extra field`);
    // The directory name decoded from ASCII or UTF-8, so its UTF-8 bytes are the raw name.
    if (Buffer.compare(nameRaw, encodeUtf8(e.name)!) !== 0)
      fail('Invalid', `${at}: the local header names a different member`);
    if (lmethod !== e.method)
      fail('Invalid', `${at}: local method ${lmethod} differs from the directory's ${e.method}`);
    if ((lflags & 0x41) !== 0) fail('Unsupported', `${at}: encrypted members are not supported`);
    e.dataOffset = lr.pos;
    if (e.dataOffset + e.compressedSize > cdStart) {
      fail(
        'Truncated',
        `${at}: ${e.compressedSize} data bytes at offset ${e.dataOffset} run past the central directory at ${cdStart}`,
      );
    }
    spans.push({ start: e.localHeaderOffset, end: e.dataOffset + e.compressedSize, name: e.name });
  }
  spans.sort((a, b) => a.start - b.start);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k]!.start < spans[k - 1]!.end)
      fail('Invalid', `members ${q(spans[k - 1]!.name)} and ${q(spans[k]!.name)} overlap`);
  }
  return entries;
}

/**
 * A member's uncompressed bytes: a view into `bytes` for a stored member, a new buffer for a
 * deflated one (inflation stops at the declared size). The CRC-32 is checked either way.
 */
export function extractZipEntry(bytes: Uint8Array, e: ZipEntry, fail: Fail): Uint8Array {
  const at = `member ${q(e.name)}`;
  const raw = bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
  let out: Uint8Array;
  if (e.method === 0) {
    out = raw;
  } else {
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/larger than|maxOutputLength|buffer/i.test(msg) && !/unexpected end/i.test(msg)) {
        return fail('Invalid', `${at}: inflates to more than the declared ${e.size} bytes`);
      }
      return fail('Invalid', `${at}: deflate data is corrupt (${msg})`);
    }
    if (out.byteLength !== e.size)
      fail('Invalid', `${at}: inflates to ${out.byteLength} bytes, the directory declares ${e.size}`);
  }
  const crc = crc32(out) >>> 0;
  if (crc !== e.crc32)
    fail(
      'Checksum',
      `${at}: CRC-32 is 0x${crc.toString(16).padStart(8, '0')}, the directory declares 0x${e.crc32.toString(16).padStart(8, '0')}`,
    );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface ZipWriteEntry {
  name: string;
  /** The member's bytes as chunks (not copied). */
  chunks: readonly Uint8Array[];
}

export interface ZipWriteOptions {
  /** CPython's ZIP64_LIMIT (2^31 - 1); lower only to exercise zip64 in tests. */
  zip64Limit?: number;
}

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
const EXTERNAL_ATTR = (0o600 << 16) >>> 0; // zipfile's default for a member: ?rw-------

/** A stored-only archive of `entries` as chunks: headers plus the callers' own buffers. */
export function encodeZipChunks(entries: readonly ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array[] {
  const limit = options.zip64Limit ?? ZIP64_LIMIT;
  const out: Uint8Array[] = [];
  const central = new ByteBuilder();
  let pos = 0;
  for (const e of entries) {
    const nameBytes = encodeUtf8(e.name);
    if (nameBytes === undefined) throw new RangeError(`zip member name ${q(e.name)} is not well-formed Unicode`);
    const ascii = nameBytes.every((b) => b < 0x80);
    const flags = ascii ? 0 : 0x800;
    let size = 0;
    let crc = 0;
    for (const c of e.chunks) {
      size += c.byteLength;
      crc = crc32(c, crc);
    }
    crc >>>= 0;
    const offset = pos;
    const zip64Local = size * 1.05 > limit; // zipfile._open_to_write
    const local = new ByteBuilder()
      .u32(SIG_LOCAL)
      .u16(zip64Local ? 45 : 20)
      .u16(flags)
      .u16(0)
      .u16(0)
      .u16(DOS_DATE_1980_01_01)
      .u32(crc)
      .u32(zip64Local ? 0xffffffff : size)
      .u32(zip64Local ? 0xffffffff : size)
      .u16(nameBytes.byteLength)
      .u16(zip64Local ? 20 : 0)
      .raw(nameBytes);
    if (zip64Local) local.u16(1).u16(16).u64(size).u64(size);
    const header = local.bytes();
    out.push(header);
    for (const c of e.chunks) if (c.byteLength > 0) out.push(c);
    pos += header.byteLength + size;

    const extra: number[] = [];
    const big = size > limit;
    if (big) extra.push(size, size);
    if (offset > limit) extra.push(offset);
    const version = zip64Local || extra.length > 0 ? 45 : 20;
    central
      .u32(SIG_CENTRAL)
      .u8(version)
      .u8(3) // made by: Unix
      .u16(version)
      .u16(flags)
      .u16(0)
      .u16(0)
      .u16(DOS_DATE_1980_01_01)
      .u32(crc)
      .u32(big ? 0xffffffff : size)
      .u32(big ? 0xffffffff : size)
      .u16(nameBytes.byteLength)
      .u16(extra.length > 0 ? 4 + 8 * extra.length : 0)
      .u16(0)
      .u16(0)
      .u16(0)
      .u32(EXTERNAL_ATTR)
      .u32(offset > limit ? 0xffffffff : offset)
      .raw(nameBytes);
    if (extra.length > 0) {
      central.u16(1).u16(8 * extra.length);
      for (const v of extra) central.u64(v);
    }
  }
  const cd = central.bytes();
  out.push(cd);
  const cdOffset = pos;
  const cdSize = cd.byteLength;
  const count = entries.length;
  const end = new ByteBuilder();
  if (count > 0xffff || cdOffset > limit || cdSize > limit) {
    const rec = cdOffset + cdSize;
    end.u32(SIG_EOCD64).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cdSize).u64(cdOffset);
    end.u32(SIG_LOCATOR64).u32(0).u64(rec).u32(1);
  }
  end
    .u32(SIG_EOCD)
    .u16(0)
    .u16(0)
    .u16(Math.min(count, 0xffff))
    .u16(Math.min(count, 0xffff))
    .u32(Math.min(cdSize, 0xffffffff))
    .u32(Math.min(cdOffset, 0xffffffff))
    .u16(0);
  out.push(end.bytes());
  return out;
}
