// op_options.h: what every kernel builder of `run(op, options)` shares (ops.cc dispatches,
// kernel_ops.cc and file_ops.cc build): the plain options object read and checked for memory
// safety (Options), a tensor argument as a builder sees it (TensorArg), the job a builder fills
// in (Job: what runs, on the calling thread or the pool, and its result), the shape checks with
// their error codes, and the builders' signatures. Internal to the addon: only these three files
// include it.
#pragma once
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cuda_bridge.h"
#include "device.h"
#include "errors.h"
#include "kernels.h"
#include "tensor.h"

namespace gps::ops {

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

[[noreturn]] inline void Fail(const std::string& op, ErrorCode code, const std::string& msg) {
  throw CodedError(code, op + ": " + msg);
}

inline std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

inline void SameDevice(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.dev != b.dev) Fail(op, ErrorCode::kInvalid, "tensors are on " + a.dev.Name() + " and " + b.dev.Name() + "; copy them to one device first");
}
inline void SameDtype(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.dtype != b.dtype) Fail(op, ErrorCode::kDtype, std::string("dtype ") + DTypeName(b.dtype) + " does not match " + DTypeName(a.dtype));
}
inline void SameNumel(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.numel != b.numel) {
    Fail(op, ErrorCode::kShape, "size " + std::to_string(b.numel) + " " + ShapeStr(b.shape) + " does not match " + std::to_string(a.numel) + " " + ShapeStr(a.shape));
  }
}
inline void SameShape(const std::string& op, const TensorArg& a, const TensorArg& b) {
  if (a.shape != b.shape) Fail(op, ErrorCode::kShape, "shape " + ShapeStr(b.shape) + " does not match " + ShapeStr(a.shape));
}
inline void RequireFloat(const std::string& op, const TensorArg& t) {
  if (!DTypeIsFloat(t.dtype)) Fail(op, ErrorCode::kDtype, std::string("needs a floating-point tensor, got ") + DTypeName(t.dtype));
}
inline void RequireRowsCompatible(const std::string& op, const TensorArg& full, const TensorArg& rows, size_t num_ids) {
  if (full.shape.empty()) Fail(op, ErrorCode::kShape, "needs a tensor of rank >= 1, got a scalar");
  if (rows.shape.empty() || static_cast<size_t>(rows.shape[0]) != num_ids) {
    Fail(op, ErrorCode::kShape, "rows tensor " + ShapeStr(rows.shape) + " must have " + std::to_string(num_ids) + " rows (one per id)");
  }
  if (!std::equal(full.shape.begin() + 1, full.shape.end(), rows.shape.begin() + 1, rows.shape.end())) {
    Fail(op, ErrorCode::kShape, "row shape of " + ShapeStr(rows.shape) + " does not match " + ShapeStr(full.shape));
  }
}
inline void CheckIdsInRange(const std::string& op, const std::vector<int64_t>& ids, int64_t num_rows) {
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

// The builders, by file: tensor kernels (kernel_ops.cc), file I/O from the pool (file_ops.cc).
void BuildFill(const Options& o, Job& job);
void BuildCopy(const Options& o, Job& job);
void BuildCast(const Options& o, Job& job);
void BuildRandom(const Options& o, Job& job, bool normal);
void BuildAddN(const Options& o, Job& job);
void BuildScale(const Options& o, Job& job);
void BuildAxpy(const Options& o, Job& job);
void BuildSumSquares(const Options& o, Job& job);
void BuildAllFinite(const Options& o, Job& job);
void BuildGatherRows(const Options& o, Job& job);
void BuildScatterAddRows(const Options& o, Job& job);
void BuildOptimizer(const Options& o, Job& job);
void BuildWrite(const Options& o, Job& job);
void BuildRead(const Options& o, Job& job);
void BuildWalWrite(const Options& o, Job& job);
void BuildFileRead(const Options& o, Job& job);

}  // namespace gps::ops
