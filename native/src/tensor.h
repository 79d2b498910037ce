// tensor.h: the JS-visible tensor handle. A Tensor owns a reference to its Storage, plus
// dtype and shape; dispose() drops that reference at once (memory returns when no kernel in
// flight still holds it).
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "device.h"
#include "dtype.h"

namespace gps {

constexpr int kMaxRank = 8;

class Tensor : public Napi::ObjectWrap<Tensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Creates a JS Tensor around freshly allocated (zeroed) storage.
  static Napi::Object New(Napi::Env env, const Device& dev, DType dtype, const std::vector<int64_t>& shape, bool zero = true);
  static bool IsTensor(Napi::Env env, const Napi::Value& v);
  static Tensor* FromValue(Napi::Env env, const Napi::Value& v, const char* what);

  explicit Tensor(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

  const std::shared_ptr<Storage>& storage(const char* what) const;
  // The tensor's host memory as an ArrayBuffer, created on first use and then reused (tensor.cc).
  Napi::Value HostView(Napi::Env env);
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  const Device& device() const { return device_; }

 private:
  Napi::Value GetDtype(const Napi::CallbackInfo& info);
  Napi::Value GetShape(const Napi::CallbackInfo& info);
  Napi::Value GetDeviceType(const Napi::CallbackInfo& info);
  Napi::Value GetDeviceId(const Napi::CallbackInfo& info);
  Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<Storage> storage_;
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  Device device_{DeviceType::kCpu, 0};
  // The cached host view; dropped (not detached: reads may still hold it) by dispose().
  Napi::Reference<Napi::ArrayBuffer> host_view_;
};

// Element count of a shape with overflow and range checks (throws ESHAPE).
int64_t CheckedNumel(const std::vector<int64_t>& shape, DType dtype);

}  // namespace gps
