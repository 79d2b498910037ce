// file_ops.cc: the builders of the file ops of `run(op, options)`, which do their I/O and
// checksums on the kernel pool's threads, straight from and into tensor memory: wal_write (the
// write-ahead log's group commit) and file_read (a checkpoint load's read).
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "crc32.h"
#include "op_options.h"

namespace gps::ops {

// wal_write: the write-ahead log's group commit from a kernel-pool thread. Each record is a
// head (header + meta, filled in but for its crc) and parts: host tensors read in place, or
// pinned byte arrays. The crc32 (crc32.h: zlib's, by carry-less multiplies where the CPU has them) of bytes [8, total) is computed here
// and stored in the head, then one pwritev per IOV_MAX pieces writes them all at `position`,
// then fdatasync when `sync`. `limit` (the torn-record failpoint) stops after that many bytes.
// Resolves to the bytes written. The tensor bytes are never copied into JS memory.
void BuildWalWrite(const Options& o, Job& job) {
  struct Piece {
    uint8_t* data;
    size_t len;
  };
  struct Record {
    uint8_t* head;
    size_t head_len;
    std::vector<Piece> parts;
  };
  int fd = static_cast<int>(o.Number("fd"));
  uint64_t position = o.U64("position", 0);
  bool sync = o.Bool("sync", false);
  uint64_t limit = o.U64("limit", UINT64_MAX);
  std::vector<Record> records;
  std::vector<std::shared_ptr<Storage>> keep;
  int64_t total = 0;
  Napi::Value rv = o.Raw("records");
  if (!rv.IsArray()) o.Fail("option 'records' must be an array");
  Napi::Array arr = rv.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) o.Fail("records must be objects");
    Napi::Object rec = item.As<Napi::Object>();
    Napi::Value head = rec.Get("head");
    if (!head.IsTypedArray()) o.Fail("a record's head must be a Uint8Array");
    Napi::TypedArray h = head.As<Napi::TypedArray>();
    if (h.ByteLength() < 20) o.Fail("a record's head is shorter than its header");
    job.pins.push_back(Napi::Persistent(head));
    Record r{static_cast<uint8_t*>(h.ArrayBuffer().Data()) + h.ByteOffset(), h.ByteLength(), {}};
    total += static_cast<int64_t>(r.head_len);
    Napi::Value parts = rec.Get("parts");
    if (!parts.IsArray()) o.Fail("a record's parts must be an array");
    Napi::Array pa = parts.As<Napi::Array>();
    for (uint32_t k = 0; k < pa.Length(); ++k) {
      Napi::Value p = pa.Get(k);
      if (Tensor::IsTensor(o.env(), p)) {
        gps::Tensor* t = Napi::ObjectWrap<gps::Tensor>::Unwrap(p.As<Napi::Object>());
        if (t->device().type != DeviceType::kCpu) o.Fail("a record's tensor part must be in host memory");
        const std::shared_ptr<Storage>& st = t->storage("wal_write: part");
        keep.push_back(st);
        size_t len = static_cast<size_t>(t->numel()) * DTypeSize(t->dtype());
        r.parts.push_back({static_cast<uint8_t*>(st->data()), len});
      } else if (p.IsTypedArray()) {
        Napi::TypedArray a = p.As<Napi::TypedArray>();
        job.pins.push_back(Napi::Persistent(p));
        r.parts.push_back({static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(), a.ByteLength()});
      } else {
        o.Fail("a record's parts must be Tensors or Uint8Arrays");
      }
      total += static_cast<int64_t>(r.parts.back().len);
    }
    records.push_back(std::move(r));
  }
  job.work_bytes = INT64_MAX;  // always on the pool: it does I/O
  job.run = [fd, position, sync, limit, records, keep](Job& j) {
    std::vector<iovec> iov;
    uint64_t budget = limit;
    for (const Record& r : records) {
      uint32_t c = Crc32(0, r.head + 8, r.head_len - 8);
      for (const Piece& p : r.parts) c = Crc32(c, p.data, p.len);
      for (int b = 0; b < 4; ++b) r.head[4 + b] = static_cast<uint8_t>(c >> (8 * b));
      auto add = [&](uint8_t* d, size_t n) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(budget, n));
        if (take > 0) iov.push_back({d, take});
        budget -= take;
      };
      add(r.head, r.head_len);
      for (const Piece& p : r.parts) add(p.data, p.len);
    }
    uint64_t written = 0;
    size_t at = 0;
    off_t pos = static_cast<off_t>(position);
    while (at < iov.size()) {
      int n = static_cast<int>(std::min<size_t>(iov.size() - at, IOV_MAX));
      ssize_t w = pwritev(fd, iov.data() + at, n, pos);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw CodedError(ErrorCode::kInternal, std::string("wal_write: pwritev failed: ") + std::strerror(errno));
      }
      if (w == 0) throw CodedError(ErrorCode::kInternal, "wal_write: pwritev wrote nothing");
      written += static_cast<uint64_t>(w);
      pos += w;
      size_t left = static_cast<size_t>(w);
      while (at < iov.size() && left >= iov[at].iov_len) left -= iov[at++].iov_len;
      if (left > 0) {
        iov[at].iov_base = static_cast<uint8_t*>(iov[at].iov_base) + left;
        iov[at].iov_len -= left;
      }
    }
    if (sync && fdatasync(fd) != 0)
      throw CodedError(ErrorCode::kInternal, std::string("wal_write: fdatasync failed: ") + std::strerror(errno));
    j.kind = ResultKind::kNumber;
    j.number = static_cast<double>(written);
  };
  (void)total;
}

// file_read: a checkpoint load's read from a pool thread. Reads `length` bytes at `position` of
// file `fd` into `target` (a Uint8Array, usually a view of a host tensor's memory) at
// `offset`, in 1 MiB preads, and computes the crc32 of each piece right after reading it, while
// it is still in cache. Resolves to the crc32 of the bytes read. Several run at once (the
// caller splits tensors into pieces), so the read and the checksum of a large checkpoint use
// every pool thread instead of the JS thread. A file that ends early is an error.
void BuildFileRead(const Options& o, Job& job) {
  int fd = static_cast<int>(o.Number("fd"));
  uint64_t position = o.U64("position", 0);
  Napi::Value tv = o.Raw("target");
  if (!tv.IsTypedArray()) o.Fail("option 'target' must be a Uint8Array");
  Napi::TypedArray ta = tv.As<Napi::TypedArray>();
  uint64_t offset = o.U64("offset", 0);
  uint64_t length = o.U64("length", ta.ByteLength() - std::min<uint64_t>(offset, ta.ByteLength()));
  if (offset > ta.ByteLength() || length > ta.ByteLength() - offset) {
    o.Fail("offset " + std::to_string(offset) + " + length " + std::to_string(length) + " exceeds the target's " +
           std::to_string(ta.ByteLength()) + " bytes");
  }
  job.pins.push_back(Napi::Persistent(tv));
  uint8_t* dst = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset() + offset;
  job.work_bytes = INT64_MAX;  // always on the pool: it does I/O
  job.run = [fd, position, dst, length](Job& j) {
    constexpr uint64_t kPiece = 1 << 20;
    uint32_t crc = 0;
    uint64_t done = 0;
    while (done < length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(kPiece, length - done));
      ssize_t r = pread(fd, dst + done, want, static_cast<off_t>(position + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw CodedError(ErrorCode::kInternal, std::string("file_read: pread failed: ") + std::strerror(errno));
      }
      if (r == 0) {
        throw CodedError(ErrorCode::kInternal, "file_read: the file ended after " + std::to_string(position + done) +
                                                   " bytes, " + std::to_string(length - done) + " more were expected");
      }
      crc = Crc32(crc, dst + done, static_cast<size_t>(r));
      done += static_cast<uint64_t>(r);
    }
    j.kind = ResultKind::kNumber;
    j.number = static_cast<double>(crc);
  };
}

}  // namespace gps::ops
