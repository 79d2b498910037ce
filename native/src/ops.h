// ops.h: the kernel entry point exported to JS, and the host-buffer helper shared with addon.cc.
#pragma once
#include <napi.h>

#include <memory>

#include "device.h"

namespace gps {
Napi::Value Run(const Napi::CallbackInfo& info);
// An ArrayBuffer over host storage that keeps the storage alive until the buffer is collected.
Napi::Value HostArrayBuffer(Napi::Env env, std::shared_ptr<Storage> storage);
}  // namespace gps
