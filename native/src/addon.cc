// addon.cc: module registration. Exports the Tensor class, a handful of functions (memory
// accounting and budgets among them; all kernels go through run(), ops.cc) and the code tables native/binding.ts checks against its
// enums at load. JS reaches this only via native/binding.ts.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "device.h"
#include "dtype.h"
#include "errors.h"
#include "ops.h"
#include "optim.h"
#include "parallel.h"
#include "tensor.h"

namespace gps {
namespace {

Device ReadDevice(const Napi::CallbackInfo& info, size_t at) {
  if (info.Length() < at + 2 || !info[at].IsNumber() || !info[at + 1].IsNumber()) {
    throw CodedError(ErrorCode::kInvalid, "expected a device as (deviceType, deviceId) numbers");
  }
  int32_t type = info[at].As<Napi::Number>().Int32Value();
  int32_t id = info[at + 1].As<Napi::Number>().Int32Value();
  if (type != static_cast<int32_t>(DeviceType::kCpu) && type != static_cast<int32_t>(DeviceType::kGpu)) {
    throw CodedError(ErrorCode::kInvalid, "device type must be 1 (cpu) or 2 (gpu), got " + std::to_string(type));
  }
  return Device{static_cast<DeviceType>(type), id};
}

template <typename Fn>
Napi::Value Guard(const Napi::CallbackInfo& info, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS error (a Tensor that failed to construct carries its code)
  } catch (const std::exception& e) {
    throw JsError(info.Env(), e);
  }
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cuda", CudaBuilt());
  o.Set("gpuCount", GpuCount());
  o.Set("kernelThreads", MaxKernelThreads());
  o.Set("maxCpuDevices", kMaxCpuDevices);
  return o;
}

Napi::Value CheckDevice(const Napi::CallbackInfo& info) {
  return Guard(info, [&] {
    CheckDeviceAvailable(ReadDevice(info, 0));
    return info.Env().Undefined();
  });
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Device dev = info.Length() == 0 ? kHostStaging : ReadDevice(info, 0);
    DeviceStats s = GetDeviceStats(dev);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("allocated", static_cast<double>(s.allocated));
    o.Set("peak", static_cast<double>(s.peak));
    o.Set("budget", static_cast<double>(s.budget));
    return o;
  });
}

Napi::Value SetMemoryBudget(const Napi::CallbackInfo& info) {
  return Guard(info, [&] {
    Device dev = ReadDevice(info, 0);
    if (info.Length() < 3 || !info[2].IsNumber()) throw CodedError(ErrorCode::kInvalid, "budget must be a number of bytes (-1 = none)");
    SetDeviceBudget(dev, static_cast<int64_t>(info[2].As<Napi::Number>().DoubleValue()));
    return info.Env().Undefined();
  });
}

Napi::Object StatsObject(Napi::Env env, const DeviceStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocated", static_cast<double>(s.allocated));
  o.Set("peak", static_cast<double>(s.peak));
  o.Set("budget", static_cast<double>(s.budget));
  return o;
}

// memoryTotals(): the total under the one budget, the staging copies and the external bytes.
Napi::Value MemoryTotals(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("total", StatsObject(info.Env(), GetTotalStats()));
    o.Set("staging", StatsObject(info.Env(), GetDeviceStats(kHostStaging)));
    o.Set("external", StatsObject(info.Env(), GetExternalStats()));
    return o;
  });
}

Napi::Value SetTotalMemoryBudget(const Napi::CallbackInfo& info) {
  return Guard(info, [&] {
    if (info.Length() < 1 || !info[0].IsNumber()) throw CodedError(ErrorCode::kInvalid, "budget must be a number of bytes (-1 = none)");
    SetTotalBudget(static_cast<int64_t>(info[0].As<Napi::Number>().DoubleValue()));
    return info.Env().Undefined();
  });
}

int64_t ReadByteCount(const Napi::CallbackInfo& info, const char* what) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw CodedError(ErrorCode::kInvalid, std::string(what) + ": bytes must be a number");
  double v = info[0].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > 9007199254740991.0 || v != std::floor(v)) {
    throw CodedError(ErrorCode::kInvalid, std::string(what) + ": bytes must be an integer >= 0");
  }
  return static_cast<int64_t>(v);
}

// reserveExternal(bytes, force?): counts JS memory held for callers in the total (EBUDGET over it).
Napi::Value ReserveExternalBytes(const Napi::CallbackInfo& info) {
  return Guard(info, [&] {
    int64_t bytes = ReadByteCount(info, "reserveExternal");
    bool force = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    ReserveExternal(bytes, force);
    return info.Env().Undefined();
  });
}

Napi::Value ReleaseExternalBytes(const Napi::CallbackInfo& info) {
  return Guard(info, [&] {
    ReleaseExternal(ReadByteCount(info, "releaseExternal"));
    return info.Env().Undefined();
  });
}

// empty(deviceType, deviceId, dtype, shape, uninitialized?): a zero-filled tensor, or one with
// unspecified contents when the caller overwrites every byte at once.
Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    Device dev = ReadDevice(info, 0);
    if (info.Length() < 4 || !info[2].IsNumber() || !info[3].IsArray()) {
      throw CodedError(ErrorCode::kInvalid, "empty(deviceType, deviceId, dtype, shape) got wrong argument types");
    }
    int32_t code = info[2].As<Napi::Number>().Int32Value();
    if (!DTypeValid(code)) throw CodedError(ErrorCode::kDtype, "unknown dtype code " + std::to_string(code));
    Napi::Array arr = info[3].As<Napi::Array>();
    std::vector<int64_t> shape;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value d = arr.Get(i);
      if (!d.IsNumber()) throw CodedError(ErrorCode::kShape, "shape entries must be numbers");
      double v = d.As<Napi::Number>().DoubleValue();
      if (!(v >= 0) || v != static_cast<double>(static_cast<int64_t>(v)) || v > 9007199254740991.0) {
        throw CodedError(ErrorCode::kShape, "shape entries must be non-negative integers");
      }
      shape.push_back(static_cast<int64_t>(v));
    }
    CheckedNumel(shape, static_cast<DType>(code));
    bool uninitialized = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
    return Tensor::New(info.Env(), dev, static_cast<DType>(code), shape, !uninitialized);
  });
}

// hostView(tensor): the bytes of a host tensor, without a copy. The view keeps the memory
// alive; the caller must not let the tensor be written while the view is in use.
Napi::Value HostView(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    if (info.Length() < 1) throw CodedError(ErrorCode::kInvalid, "hostView(tensor) needs a tensor");
    Tensor* t = Tensor::FromValue(info.Env(), info[0], "hostView: argument");
    if (t->device().type != DeviceType::kCpu) {
      throw CodedError(ErrorCode::kInvalid, "hostView: tensor is on " + t->device().Name() + ", not host memory; use read");
    }
    return t->HostView(info.Env());
  });
}

// writeAt(tensor, offset, bytes): copies `bytes` into a host tensor at byte `offset`, at once
// (no job: a chunk of an upload is at most 1 MiB). Uploads land chunk by chunk this way with no
// ArrayBuffer over the whole tensor, which V8 would count and, for a large one, answer with a
// full mark-compact per upload.
Napi::Value WriteAt(const Napi::CallbackInfo& info) {
  return Guard(info, [&]() -> Napi::Value {
    if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsTypedArray()) {
      throw CodedError(ErrorCode::kInvalid, "writeAt(tensor, offset, bytes) got wrong argument types");
    }
    Tensor* t = Tensor::FromValue(info.Env(), info[0], "writeAt: argument");
    if (t->device().type != DeviceType::kCpu) {
      throw CodedError(ErrorCode::kInvalid, "writeAt: tensor is on " + t->device().Name() + ", not host memory; use write");
    }
    const std::shared_ptr<Storage>& storage = t->storage("writeAt: argument");
    double offset = info[1].As<Napi::Number>().DoubleValue();
    Napi::TypedArray array = info[2].As<Napi::TypedArray>();
    size_t length = array.ByteLength();
    // Range first: casting an infinite or huge double to an integer is undefined behaviour.
    if (!(offset >= 0) || offset > static_cast<double>(storage->bytes()) || offset != std::floor(offset) ||
        static_cast<double>(length) > static_cast<double>(storage->bytes()) - offset) {
      std::ostringstream msg;
      msg << "writeAt: " << length << " bytes at offset " << offset << " do not fit in a tensor of " << storage->bytes() << " bytes";
      throw CodedError(ErrorCode::kRange, msg.str());
    }
    if (length > 0) {
      const auto* src = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
      std::memcpy(static_cast<uint8_t*>(storage->data()) + static_cast<size_t>(offset), src, length);
    }
    return info.Env().Undefined();
  });
}

// The code tables, built from the C++ enums' own name functions so that a code added on one
// side only shows up as a mismatch when binding.ts loads the addon (not as a wrong dtype later).
Napi::Object DTypeCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (int32_t code = 0; code < 256; ++code) {
    if (DTypeValid(code)) o.Set(DTypeName(static_cast<DType>(code)), code);
  }
  return o;
}

Napi::Object OptimKindCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (int32_t code = 0; code < 256; ++code) {
    if (const char* name = OptimKindName(code)) o.Set(name, code);
  }
  return o;
}

Napi::Object DeviceTypeCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpu", static_cast<int32_t>(DeviceType::kCpu));
  o.Set("gpu", static_cast<int32_t>(DeviceType::kGpu));
  return o;
}

Napi::Array ErrorCodes(Napi::Env env) {
  static const char* const kNames[] = {
#define GPS_ERROR_JS(name, js) js,
      GPS_ERROR_CODES(GPS_ERROR_JS)
#undef GPS_ERROR_JS
  };
  Napi::Array a = Napi::Array::New(env);
  for (uint32_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) a.Set(i, kNames[i]);
  return a;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tensor", Tensor::Init(env));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("checkDevice", Napi::Function::New(env, CheckDevice));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("setMemoryBudget", Napi::Function::New(env, SetMemoryBudget));
  exports.Set("memoryTotals", Napi::Function::New(env, MemoryTotals));
  exports.Set("setTotalMemoryBudget", Napi::Function::New(env, SetTotalMemoryBudget));
  exports.Set("reserveExternal", Napi::Function::New(env, ReserveExternalBytes));
  exports.Set("releaseExternal", Napi::Function::New(env, ReleaseExternalBytes));
  exports.Set("empty", Napi::Function::New(env, Empty));
  exports.Set("hostView", Napi::Function::New(env, HostView));
  exports.Set("writeAt", Napi::Function::New(env, WriteAt));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("dtypeCodes", DTypeCodes(env));
  exports.Set("optimKindCodes", OptimKindCodes(env));
  exports.Set("deviceTypeCodes", DeviceTypeCodes(env));
  exports.Set("errorCodes", ErrorCodes(env));
  return exports;
}

}  // namespace
}  // namespace gps

static Napi::Object InitGluonps(Napi::Env env, Napi::Object exports) { return gps::Init(env, exports); }
NODE_API_MODULE(gluonps, InitGluonps)
