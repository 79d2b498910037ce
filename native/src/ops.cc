// ops.cc: `run(op, options)`, the single entry point for kernels. It reads a plain options
// object, checks every size and index that memory safety depends on (TypeScript checks them
// first with friendlier messages), and runs the kernel inline when it is small or as an
// AsyncWorker on the libuv pool otherwise, settling a Promise either way.
#include "ops.h"

#include <v8.h>

#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "crc32.h"
#include "cuda_bridge.h"
#include "errors.h"
#include "kernels.h"
#include "tensor.h"

namespace gps {

namespace {

// Kernels touching fewer bytes than this run on the calling thread: a thread-pool round trip
// costs more than the work itself.
constexpr int64_t kInlineBytes = 256 * 1024;

struct TensorArg {
  std::shared_ptr<Storage> storage;
  DType dtype;
  std::vector<int64_t> shape;
  int64_t numel;
  Device dev;
  void* ptr() const { return storage->data(); }
  int64_t bytes() const { return numel * static_cast<int64_t>(DTypeSize(dtype)); }
  int64_t row_elems() const { return shape.empty() || shape[0] == 0 ? 0 : numel / shape[0]; }
};

enum class ResultKind { kUndefined, kNumber, kBool, kHostBuffer };

struct Job {
  std::string op;
  std::function<void(Job&)> run;
  int64_t work_bytes = 0;
  Device device{DeviceType::kCpu, 0};
  ResultKind kind = ResultKind::kUndefined;
  double number = 0;
  bool flag = false;
  std::shared_ptr<Storage> host_result;
  std::vector<Napi::Reference<Napi::Value>> pins;  // JS memory read by the job (kept alive)
};

class Options {
 public:
  Options(Napi::Env env, Napi::Object obj, const std::string& op) : env_(env), obj_(obj), op_(op) {}

  // A malformed option: every check in this class is about the options object itself.
  [[noreturn]] void Fail(const std::string& msg) const { throw CodedError(ErrorCode::kInvalid, op_ + ": " + msg); }

  TensorArg GetTensor(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!Tensor::IsTensor(env_, v)) Fail(std::string("option '") + key + "' must be a Tensor");
    gps::Tensor* t = Napi::ObjectWrap<gps::Tensor>::Unwrap(v.As<Napi::Object>());
    std::string what = op_ + ": option '" + key + "'";
    return TensorArg{t->storage(what.c_str()), t->dtype(), t->shape(), t->numel(), t->device()};
  }

  std::vector<TensorArg> TensorList(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) Fail(std::string("option '") + key + "' must be an array of Tensors");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<TensorArg> out;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value e = arr.Get(i);
      if (!Tensor::IsTensor(env_, e)) Fail(std::string("option '") + key + "' must be an array of Tensors");
      gps::Tensor* t = Napi::ObjectWrap<gps::Tensor>::Unwrap(e.As<Napi::Object>());
      std::string what = op_ + ": option '" + key + "[" + std::to_string(i) + "]'";
      out.push_back(TensorArg{t->storage(what.c_str()), t->dtype(), t->shape(), t->numel(), t->device()});
    }
    return out;
  }

  Napi::Value Raw(const char* key) const { return obj_.Get(key); }
  Napi::Env env() const { return env_; }

  bool Has(const char* key) const {
    Napi::Value v = obj_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }

  double Number(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) Fail(std::string("option '") + key + "' must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  double Number(const char* key, double fallback) const { return Has(key) ? Number(key) : fallback; }
  bool Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    Napi::Value v = obj_.Get(key);
    if (!v.IsBoolean()) Fail(std::string("option '") + key + "' must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  uint64_t U64(const char* key, uint64_t fallback) const {
    if (!Has(key)) return fallback;
    Napi::Value v = obj_.Get(key);
    if (v.IsBigInt()) {
      bool lossless = false;
      uint64_t r = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) Fail(std::string("option '") + key + "' must fit in 64 unsigned bits");
      return r;
    }
    double d = Number(key);
    if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      Fail(std::string("option '") + key + "' must be a non-negative integer");
    }
    return static_cast<uint64_t>(d);
  }

  // Copies a BigInt64Array (row ids are small next to the rows they index).
  std::vector<int64_t> Ids(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
      Fail(std::string("option '") + key + "' must be a BigInt64Array");
    }
    Napi::TypedArrayOf<int64_t> arr = v.As<Napi::TypedArrayOf<int64_t>>();
    return std::vector<int64_t>(arr.Data(), arr.Data() + arr.ElementLength());
  }

  // A byte view of a TypedArray/Buffer, pinned on the job while it runs.
  std::pair<const uint8_t*, size_t> Bytes(const char* key, Job& job) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsTypedArray()) Fail(std::string("option '") + key + "' must be a Uint8Array or Buffer");
    Napi::TypedArray arr = v.As<Napi::TypedArray>();
    Napi::ArrayBuffer buf = arr.ArrayBuffer();
    const uint8_t* base = static_cast<const uint8_t*>(buf.Data());
    job.pins.push_back(Napi::Persistent(v));
    return {base + arr.ByteOffset(), arr.ByteLength()};
  }

 private:
  Napi::Env env_;
  Napi::Object obj_;
  std::string op_;
};

[[noreturn]] void Fail(const std::string& op, ErrorCode code, const std::string& msg) { throw CodedError(code, op + ": " + msg); }

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

void SameDevice(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.dev != b.dev) Fail(op, ErrorCode::kInvalid, "tensors are on " + a.dev.Name() + " and " + b.dev.Name() + "; copy them to one device first");
}
void SameDtype(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.dtype != b.dtype) Fail(op, ErrorCode::kDtype, std::string("dtype ") + DTypeName(b.dtype) + " does not match " + DTypeName(a.dtype));
}
void SameNumel(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.numel != b.numel) {
    Fail(op, ErrorCode::kShape, "size " + std::to_string(b.numel) + " " + ShapeStr(b.shape) + " does not match " + std::to_string(a.numel) + " " + ShapeStr(a.shape));
  }
}
void SameShape(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.shape != b.shape) Fail(op, ErrorCode::kShape, "shape " + ShapeStr(b.shape) + " does not match " + ShapeStr(a.shape));
}
void RequireFloat(const std::string& op, const TensorArg& t) {
  if (!DTypeIsFloat(t.dtype)) Fail(op, ErrorCode::kDtype, std::string("needs a floating-point tensor, got ") + DTypeName(t.dtype));
}
void RequireRowsCompatible(const std::string& op, const TensorArg& full, const TensorArg& rows, size_t num_ids) {
  if (full.shape.empty()) Fail(op, ErrorCode::kShape, "needs a tensor of rank >= 1, got a scalar");
  if (rows.shape.empty() || static_cast<size_t>(rows.shape[0]) != num_ids) {
    Fail(op, ErrorCode::kShape, "rows tensor " + ShapeStr(rows.shape) + " must have " + std::to_string(num_ids) + " rows (one per id)");
  }
  if (!std::equal(full.shape.begin() + 1, full.shape.end(), rows.shape.begin() + 1, rows.shape.end())) {
    Fail(op, ErrorCode::kShape, "row shape of " + ShapeStr(rows.shape) + " does not match " + ShapeStr(full.shape));
  }
}
void CheckIdsInRange(const std::string& op, const std::vector<int64_t>& ids, int64_t num_rows) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= num_rows) {
      Fail(op, ErrorCode::kRange, "row id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is out of range [0, " +
                   std::to_string(num_rows) + ")");
    }
  }
}

// Picks the kernel set for a device and makes that device current for CUDA.
#ifdef GLUONPS_CUDA
#define GPS_KERNEL(dev, name, ...)                                 \
  ((dev).type == DeviceType::kCpu ? cpu::name(__VA_ARGS__)        \
                                  : (cuda::SetDevice((dev).id), cuda::name(__VA_ARGS__)))
#else
#define GPS_KERNEL(dev, name, ...) cpu::name(__VA_ARGS__)
#endif

using Builder = std::function<void(const Options&, Job&)>;

void BuildFill(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  double value = o.Number("value");
  job.device = out.dev;
  job.work_bytes = out.bytes();
  job.run = [out, value](Job&) { GPS_KERNEL(out.dev, Fill, out.dtype, out.ptr(), out.numel, value); };
}

void BuildCopy(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  SameDtype(job.op, out, src);
  SameNumel(job.op, out, src);
  job.device = out.dev.type == DeviceType::kGpu ? out.dev : src.dev;
  job.work_bytes = out.bytes() * 2;
  job.run = [out, src](Job&) { CopyBytes(out.dev, out.ptr(), src.dev, src.ptr(), static_cast<size_t>(out.bytes())); };
}

void BuildCast(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  SameDevice(job.op, out, src);
  SameNumel(job.op, out, src);
  job.device = out.dev;
  job.work_bytes = out.bytes() + src.bytes();
  job.run = [out, src](Job&) {
    if (out.dtype == src.dtype) {
      CopyBytes(out.dev, out.ptr(), src.dev, src.ptr(), static_cast<size_t>(out.bytes()));
    } else {
      GPS_KERNEL(out.dev, Cast, out.dtype, out.ptr(), src.dtype, src.ptr(), out.numel);
    }
  };
}

void BuildRandom(const Options& o, Job& job, bool normal) {
  TensorArg out = o.GetTensor("out");
  double a = normal ? o.Number("mean", 0.0) : o.Number("low", 0.0);
  double b = normal ? o.Number("std", 1.0) : o.Number("high", 1.0);
  uint64_t seed = o.U64("seed", 0), offset = o.U64("offset", 0);
  // Optional: the fill is rows of a bigger tensor (philox.h, CounterMap); the row length must
  // divide the element count, and every counter must fit in 64 bits.
  CounterMap map{o.U64("first_row", 0), o.U64("row_step", 1), o.U64("row_elems", 0)};
  if (map.row_elems != 0) {
    uint64_t n = static_cast<uint64_t>(out.numel);
    if (n % map.row_elems != 0) Fail(job.op, ErrorCode::kInvalid, "row_elems must divide the element count");
    uint64_t rows = n / map.row_elems;
    if (rows > 0) {
      uint64_t last = map.first_row;
      if (map.row_step != 0 && rows - 1 > (UINT64_MAX - last) / map.row_step)
        Fail(job.op, ErrorCode::kInvalid, "the last row's index does not fit in 64 bits");
      last += (rows - 1) * map.row_step;
      if (last > UINT64_MAX / map.row_elems - 1)
        Fail(job.op, ErrorCode::kInvalid, "the last row's counters do not fit in 64 bits");
    }
  }
  job.device = out.dev;
  job.work_bytes = out.bytes() * 8;  // generation is compute-heavy
  job.run = [out, a, b, seed, offset, normal, map](Job&) {
    if (normal) {
      GPS_KERNEL(out.dev, RandomNormal, out.dtype, out.ptr(), out.numel, a, b, seed, offset, map);
    } else {
      GPS_KERNEL(out.dev, RandomUniform, out.dtype, out.ptr(), out.numel, a, b, seed, offset, map);
    }
  };
}

void BuildAddN(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  std::vector<TensorArg> srcs = o.TensorList("srcs");
  if (srcs.empty()) Fail(job.op, ErrorCode::kInvalid, "needs at least one source tensor");
  for (const auto& s : srcs) {
    SameDevice(job.op, out, s);
    SameDtype(job.op, out, s);
    SameNumel(job.op, out, s);
  }
  job.device = out.dev;
  job.work_bytes = out.bytes() * static_cast<int64_t>(srcs.size() + 1);
  job.run = [out, srcs](Job&) {
    std::vector<const void*> ptrs;
    for (const auto& s : srcs) ptrs.push_back(s.ptr());
    GPS_KERNEL(out.dev, AddN, out.dtype, out.ptr(), ptrs.data(), static_cast<int>(ptrs.size()), out.numel);
  };
}

void BuildScale(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  double alpha = o.Number("alpha");
  job.device = x.dev;
  job.work_bytes = x.bytes() * 2;
  job.run = [x, alpha](Job&) { GPS_KERNEL(x.dev, Scale, x.dtype, x.ptr(), x.numel, alpha); };
}

void BuildAxpy(const Options& o, Job& job) {
  TensorArg y = o.GetTensor("y"), x = o.GetTensor("x");
  double alpha = o.Number("alpha");
  SameDevice(job.op, y, x);
  SameDtype(job.op, y, x);
  SameNumel(job.op, y, x);
  job.device = y.dev;
  job.work_bytes = y.bytes() * 3;
  job.run = [y, x, alpha](Job&) { GPS_KERNEL(y.dev, Axpy, y.dtype, y.ptr(), x.ptr(), y.numel, alpha); };
}

void BuildSumSquares(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  job.device = x.dev;
  job.work_bytes = x.bytes();
  job.run = [x](Job& j) {
    j.kind = ResultKind::kNumber;
    j.number = GPS_KERNEL(x.dev, SumSquares, x.dtype, x.ptr(), x.numel);
  };
}

void BuildAllFinite(const Options& o, Job& job) {
  TensorArg x = o.GetTensor("x");
  job.device = x.dev;
  job.work_bytes = x.bytes();
  job.run = [x](Job& j) {
    j.kind = ResultKind::kBool;
    j.flag = GPS_KERNEL(x.dev, AllFinite, x.dtype, x.ptr(), x.numel);
  };
}

void BuildGatherRows(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), src = o.GetTensor("src");
  std::vector<int64_t> ids = o.Ids("ids");
  SameDevice(job.op, out, src);
  SameDtype(job.op, src, out);
  RequireRowsCompatible(job.op, src, out, ids.size());
  CheckIdsInRange(job.op, ids, src.shape[0]);
  job.device = out.dev;
  job.work_bytes = out.bytes() * 2;
  job.run = [out, src, ids](Job&) {
    GPS_KERNEL(out.dev, GatherRows, out.dtype, out.ptr(), src.ptr(), src.row_elems(), ids.data(),
               static_cast<int64_t>(ids.size()));
  };
}

void BuildScatterAddRows(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out"), rows = o.GetTensor("rows");
  std::vector<int64_t> ids = o.Ids("ids");
  SameDevice(job.op, out, rows);
  SameDtype(job.op, out, rows);
  RequireRowsCompatible(job.op, out, rows, ids.size());
  CheckIdsInRange(job.op, ids, out.shape[0]);
  job.device = out.dev;
  job.work_bytes = rows.bytes() * 3;
  job.run = [out, rows, ids](Job&) {
    // Group sources by target row (stable), so duplicates add in their given order.
    std::vector<int64_t> order(ids.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
    std::vector<int64_t> targets, offsets{0};
    for (size_t k = 0; k < order.size(); ++k) {
      if (k == 0 || ids[order[k]] != ids[order[k - 1]]) {
        if (k != 0) offsets.push_back(static_cast<int64_t>(k));
        targets.push_back(ids[order[k]]);
      }
    }
    if (!order.empty()) offsets.push_back(static_cast<int64_t>(order.size()));
    ScatterPlan plan{targets.data(), offsets.data(), order.data(), static_cast<int64_t>(targets.size()),
                     static_cast<int64_t>(order.size())};
    int64_t row_elems = out.row_elems();
    GPS_KERNEL(out.dev, ScatterAddRows, out.dtype, out.ptr(), rows.ptr(), row_elems, plan);
  };
}

OptimParams ReadOptimParams(const Options& o) {
  double kind_code = o.Number("kind");
  // Range first: casting a huge or NaN double to an integer is undefined behaviour.
  if (!(kind_code >= 0 && kind_code < 1024) || kind_code != static_cast<int>(kind_code) ||
      OptimKindName(static_cast<int32_t>(kind_code)) == nullptr) {
    o.Fail("unknown optimizer kind");
  }
  OptimParams p = DefaultOptimParams(static_cast<OptimKind>(static_cast<int>(kind_code)));
  auto f = [&](const char* key, float& field) { field = static_cast<float>(o.Number(key, field)); };
  auto b = [&](const char* key, bool& field) { field = o.Bool(key, field); };
  f("lr", p.lr); f("wd", p.wd); f("rescaleGrad", p.rescale_grad); f("clipGradient", p.clip_gradient);
  f("momentum", p.momentum); b("nesterov", p.nesterov);
  f("beta1", p.beta1); f("beta2", p.beta2); f("epsilon", p.epsilon); f("eta", p.eta);
  f("gamma1", p.gamma1); f("gamma2", p.gamma2); b("centered", p.centered); f("clipWeights", p.clip_weights);
  f("lamda1", p.lamda1); f("beta", p.beta);
  f("lowerBound", p.lower_bound); f("upperBound", p.upper_bound); b("biasCorrection", p.bias_correction);
  double t = o.Number("t", static_cast<double>(p.t));
  if (!(t >= 1) || t != static_cast<double>(static_cast<int64_t>(t))) o.Fail("option 't' must be an integer >= 1");
  p.t = static_cast<int64_t>(t);
  return p;
}

void BuildOptimizer(const Options& o, Job& job) {
  OptimParams p = ReadOptimParams(o);
  TensorArg weight = o.GetTensor("weight"), grad = o.GetTensor("grad");
  std::vector<TensorArg> states = o.TensorList("states");
  RequireFloat(job.op, weight);
  SameDevice(job.op, weight, grad);
  SameDtype(job.op, weight, grad);
  int ns = OptimStateCount(p);
  if (static_cast<int>(states.size()) != ns) {
    Fail(job.op, ErrorCode::kInvalid, "needs " + std::to_string(ns) + " state tensors for these settings, got " + std::to_string(states.size()));
  }
  for (const auto& s : states) {
    SameDevice(job.op, weight, s);
    SameDtype(job.op, weight, s);
    SameShape(job.op, weight, s);
  }
  bool lazy = o.Has("ids");
  std::vector<int64_t> ids;
  if (lazy) {
    ids = o.Ids("ids");
    RequireRowsCompatible(job.op, weight, grad, ids.size());
    CheckIdsInRange(job.op, ids, weight.shape[0]);
    for (size_t i = 1; i < ids.size(); ++i) {
      if (ids[i] <= ids[i - 1]) Fail(job.op, ErrorCode::kInvalid, "row ids must be sorted and unique for a lazy update");
    }
  } else {
    SameShape(job.op, weight, grad);
  }
  job.device = weight.dev;
  job.work_bytes = grad.bytes() * (3 + 2 * ns);
  job.run = [p, weight, grad, states, ids, lazy](Job&) {
    void* sp[3] = {nullptr, nullptr, nullptr};
    for (size_t k = 0; k < states.size(); ++k) sp[k] = states[k].ptr();
    RowSelection sel{ids.data(), static_cast<int64_t>(ids.size()), weight.row_elems()};
    GPS_KERNEL(weight.dev, OptimizerUpdate, weight.dtype, p, weight.ptr(), grad.ptr(), sp, weight.numel,
               lazy ? &sel : nullptr);
  };
}

void BuildWrite(const Options& o, Job& job) {
  TensorArg out = o.GetTensor("out");
  auto bytes = o.Bytes("bytes", job);
  if (static_cast<int64_t>(bytes.second) != out.bytes()) {
    Fail(job.op, ErrorCode::kShape, "got " + std::to_string(bytes.second) + " bytes, expected " + std::to_string(out.bytes()) + " for " +
                     DTypeName(out.dtype) + " " + ShapeStr(out.shape));
  }
  job.device = out.dev;
  job.work_bytes = out.bytes();
  const uint8_t* src = bytes.first;
  job.run = [out, src](Job&) {
    CopyBytes(out.dev, out.ptr(), Device{DeviceType::kCpu, 0}, src, static_cast<size_t>(out.bytes()));
  };
}

void BuildRead(const Options& o, Job& job) {
  TensorArg src = o.GetTensor("src");
  job.device = src.dev;
  job.work_bytes = src.bytes();
  // The host copy is allocated here (on the JS thread) so allocation errors surface at once.
  // budgeted: false for the server's own copies (checkpoints, log records): counted, never refused.
  auto host = Storage::AllocateStaging(static_cast<size_t>(src.bytes()), o.Bool("budgeted", true));
  job.run = [src, host](Job& j) {
    CopyBytes(host->device(), host->data(), src.dev, src.ptr(), static_cast<size_t>(src.bytes()));
    j.kind = ResultKind::kHostBuffer;
    j.host_result = host;
  };
}

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

const std::unordered_map<std::string, Builder>& Builders() {
  static const std::unordered_map<std::string, Builder> builders = {
      {"fill", BuildFill},
      {"copy", BuildCopy},
      {"cast", BuildCast},
      {"uniform", [](const Options& o, Job& j) { BuildRandom(o, j, false); }},
      {"normal", [](const Options& o, Job& j) { BuildRandom(o, j, true); }},
      {"add_n", BuildAddN},
      {"scale", BuildScale},
      {"axpy", BuildAxpy},
      {"sum_squares", BuildSumSquares},
      {"all_finite", BuildAllFinite},
      {"gather_rows", BuildGatherRows},
      {"scatter_add_rows", BuildScatterAddRows},
      {"optimizer", BuildOptimizer},
      {"write", BuildWrite},
      {"read", BuildRead},
      {"wal_write", BuildWalWrite},
      {"file_read", BuildFileRead},
  };
  return builders;
}

}  // namespace

Napi::Error JsError(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, ErrorCodeName(code)));
  return err;
}

Napi::Error JsError(Napi::Env env, const std::exception& e) { return JsError(env, CodeOf(e), e.what()); }

Napi::Value HostArrayBuffer(Napi::Env env, std::shared_ptr<Storage> storage) {
  // Built with V8's API rather than napi_create_external_arraybuffer on purpose. Node-API ties
  // an external buffer's release to a weak handle with a finalizer, and V8 frees such objects
  // only in a full mark-compact: every 64 MiB read view then lived until one, and since V8
  // also counts each view's length as external memory, one mark-compact ran per pull
  // (measured: twice the server CPU of raw grpc-js per 64 MiB pull). A backing store with its
  // own deleter needs no weak handle, so a dropped view dies young in a scavenge, like any
  // Buffer. V8 may run the deleter on any thread: it only drops a shared_ptr, and Storage's
  // release (free + atomic accounting) is thread-safe.
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  const size_t bytes = storage->bytes();
  v8::Local<v8::ArrayBuffer> buffer;
  if (bytes == 0) {
    buffer = v8::ArrayBuffer::New(isolate, 0);
  } else {
    void* data = storage->data();
    auto* keep = new std::shared_ptr<Storage>(std::move(storage));
    std::unique_ptr<v8::BackingStore> backing = v8::ArrayBuffer::NewBackingStore(
        data, bytes, [](void*, size_t, void* k) { delete static_cast<std::shared_ptr<Storage>*>(k); }, keep);
    buffer = v8::ArrayBuffer::New(isolate, std::move(backing));
  }
  // A napi_value is a v8::Local's slot (node's v8impl::JsValueFromV8LocalValue); the callback's
  // handle scope keeps it alive.
  return Napi::Value(env, reinterpret_cast<napi_value>(*buffer));
}

namespace {

Napi::Value ResultValue(Napi::Env env, Job& job) {
  switch (job.kind) {
    case ResultKind::kNumber: return Napi::Number::New(env, job.number);
    case ResultKind::kBool: return Napi::Boolean::New(env, job.flag);
    case ResultKind::kHostBuffer: return HostArrayBuffer(env, std::move(job.host_result));
    default: return env.Undefined();
  }
}

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "gluonps:kernel"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      job_->run(*job_);
    } catch (const std::exception& e) {
      code_ = CodeOf(e);  // SetError keeps only the message; OnError puts the code back
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(ResultValue(Env(), *job_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(JsError(Env(), code_, e.Message()).Value()); }

 private:
  std::unique_ptr<Job> job_;
  ErrorCode code_ = ErrorCode::kInternal;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto reject = [&](const Napi::Error& err) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(err.Value());
    return d.Promise();
  };
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    return reject(JsError(env, ErrorCode::kInvalid, "run(op, options): op must be a string and options an object"));
  }
  std::string op = info[0].As<Napi::String>().Utf8Value();
  auto it = Builders().find(op);
  if (it == Builders().end()) return reject(JsError(env, ErrorCode::kInvalid, "run: unknown op '" + op + "'"));
  auto job = std::make_unique<Job>();
  job->op = op;
  try {
    Options opts(env, info[1].As<Napi::Object>(), op);
    it->second(opts, *job);
  } catch (const Napi::Error& e) {
    return reject(e);  // a JS exception met while reading the options: passed on as it was
  } catch (const std::exception& e) {
    return reject(JsError(env, e));
  }
  if (job->work_bytes < kInlineBytes) {
    auto d = Napi::Promise::Deferred::New(env);
    try {
      job->run(*job);
      d.Resolve(ResultValue(env, *job));
    } catch (const std::exception& e) {
      d.Reject(JsError(env, e).Value());
    }
    return d.Promise();
  }
  auto* worker = new JobWorker(env, std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace gps
