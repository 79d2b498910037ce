// ops.h: the kernel entry point exported to JS, and the helpers shared with addon.cc and
// tensor.cc: host buffers, and JS errors that carry the code of errors.h.
#pragma once
#include <napi.h>

#include <memory>

#include <exception>
#include <string>

#include "device.h"
#include "errors.h"

namespace gps {
Napi::Value Run(const Napi::CallbackInfo& info);
// An ArrayBuffer over host storage that keeps the storage alive until the buffer is collected.
Napi::Value HostArrayBuffer(Napi::Env env, std::shared_ptr<Storage> storage);
// A JS Error with `message` and `code` set to the errors.h name (e.g. "EBUDGET").
Napi::Error JsError(Napi::Env env, ErrorCode code, const std::string& message);
// The same for a caught exception: its code (CodeOf: EINTERNAL when it is not ours) and what().
Napi::Error JsError(Napi::Env env, const std::exception& e);
}  // namespace gps
