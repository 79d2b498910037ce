// tensor.cc: Tensor handle implementation. Storage is owned explicitly (dispose, or the GC of
// the handle); host views of it are ArrayBuffers that share ownership (ops.cc).
#include "tensor.h"

#include "errors.h"
#include "ops.h"

#include <stdexcept>
#include <string>

namespace gps {

namespace {
struct AddonData {
  Napi::FunctionReference tensor_ctor;
};
AddonData* DataOf(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
}  // namespace

int64_t CheckedNumel(const std::vector<int64_t>& shape, DType dtype) {
  if (shape.size() > static_cast<size_t>(kMaxRank)) {
    throw CodedError(ErrorCode::kShape, "rank " + std::to_string(shape.size()) + " exceeds the maximum of 8");
  }
  const int64_t limit = INT64_MAX / 16;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw CodedError(ErrorCode::kShape, "shape dims must be >= 0, got " + std::to_string(d));
    if (d != 0 && n > limit / d) throw CodedError(ErrorCode::kShape, "shape has too many elements (overflow)");
    n *= d;
  }
  if (n > limit / static_cast<int64_t>(DTypeSize(dtype))) throw CodedError(ErrorCode::kShape, "tensor byte size overflows");
  return n;
}

Napi::Function Tensor::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "Tensor",
                                    {
                                        InstanceAccessor<&Tensor::GetDtype>("dtype"),
                                        InstanceAccessor<&Tensor::GetShape>("shape"),
                                        InstanceAccessor<&Tensor::GetDeviceType>("deviceType"),
                                        InstanceAccessor<&Tensor::GetDeviceId>("deviceId"),
                                        InstanceAccessor<&Tensor::GetByteLength>("byteLength"),
                                        InstanceAccessor<&Tensor::GetSize>("size"),
                                        InstanceAccessor<&Tensor::GetDisposed>("disposed"),
                                        InstanceMethod<&Tensor::Dispose>("dispose"),
                                    });
  auto* data = new AddonData();
  data->tensor_ctor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);
  return ctor;
}

struct TensorInit {
  Device dev;
  DType dtype;
  std::vector<int64_t> shape;
  bool zero;
};

Napi::Object Tensor::New(Napi::Env env, const Device& dev, DType dtype, const std::vector<int64_t>& shape, bool zero) {
  TensorInit init{dev, dtype, shape, zero};
  return DataOf(env)->tensor_ctor.New({Napi::External<TensorInit>::New(env, &init)});
}

Tensor::Tensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tensor>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw JsError(env, ErrorCode::kInvalid, "Tensor cannot be constructed from JS: use the addon's empty()");
  }
  auto* init = info[0].As<Napi::External<TensorInit>>().Data();
  try {
    numel_ = CheckedNumel(init->shape, init->dtype);
    storage_ = Storage::Allocate(init->dev, static_cast<size_t>(numel_) * DTypeSize(init->dtype), init->zero);
  } catch (const std::exception& e) {
    throw JsError(env, e);
  }
  dtype_ = init->dtype;
  shape_ = init->shape;
  device_ = init->dev;
  // Not reported to V8 (AdjustExternalMemory): tensors are owned explicitly, and the report of
  // one large tensor alone crosses V8's 64 MB external-memory step, which forced a full
  // mark-compact per 64 MiB upload (~9 ms of a ~45 ms set_data). Host views are still counted,
  // as V8 counts every ArrayBuffer.
}

bool Tensor::IsTensor(Napi::Env env, const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(DataOf(env)->tensor_ctor.Value());
}

Tensor* Tensor::FromValue(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!IsTensor(env, v)) throw CodedError(ErrorCode::kInvalid, std::string(what) + " must be a Tensor");
  return Napi::ObjectWrap<Tensor>::Unwrap(v.As<Napi::Object>());
}

const std::shared_ptr<Storage>& Tensor::storage(const char* what) const {
  if (!storage_) throw CodedError(ErrorCode::kDisposed, std::string(what) + " is a disposed Tensor");
  return storage_;
}

Napi::Value Tensor::GetDtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int32_t>(dtype_));
}
Napi::Value Tensor::GetShape(const Napi::CallbackInfo& info) {
  Napi::Array arr = Napi::Array::New(info.Env(), shape_.size());
  for (size_t i = 0; i < shape_.size(); ++i) arr.Set(static_cast<uint32_t>(i), static_cast<double>(shape_[i]));
  return arr;
}
Napi::Value Tensor::GetDeviceType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int32_t>(device_.type));
}
Napi::Value Tensor::GetDeviceId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_.id); }
Napi::Value Tensor::GetByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(numel_ * static_cast<int64_t>(DTypeSize(dtype_))));
}
Napi::Value Tensor::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(numel_));
}
Napi::Value Tensor::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !storage_); }

Napi::Value Tensor::HostView(Napi::Env env) {
  // One view per tensor, not one per read. V8 counts each new ArrayBuffer's length as external
  // memory and starts a full mark-compact whenever that count jumps 64 MiB past its low mark
  // since the last one: a fresh 64 MiB view per read forced one per pull (measured: twice the
  // server CPU of raw grpc-js per 64 MiB pull). The cached view is counted once per tensor.
  if (!host_view_.IsEmpty()) return host_view_.Value();
  Napi::Value view = HostArrayBuffer(env, storage("hostView: argument"));
  host_view_ = Napi::Persistent(view.As<Napi::ArrayBuffer>());
  return view;
}

void Tensor::Finalize(Napi::Env) { host_view_.Reset(); }

Napi::Value Tensor::Dispose(const Napi::CallbackInfo& info) {
  if (storage_) {
    storage_.reset();
    host_view_.Reset();  // a read still holding the view keeps the memory until it lets go
  }
  return info.Env().Undefined();
}

}  // namespace gps
