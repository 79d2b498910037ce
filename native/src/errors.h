// errors.h: the addon's error contract. Every throw names one code from a small fixed set, and
// the N-API layer (ops.cc JsError) copies it onto the JS Error as `code`, so TypeScript switches
// on the code instead of matching message text. The list is exported as `errorCodes` and
// native/binding.ts checks at load that it equals KERNEL_ERROR_CODES. Plain C++ (no N-API):
// the CUDA sources throw these too.
#pragma once
#include <new>
#include <stdexcept>
#include <string>

namespace gps {

// X(enumerator, JS code). Order is the exported order; keep it in step with native/binding.ts.
#define GPS_ERROR_CODES(X)                                                                       \
  X(kInvalid, "EINVAL")      /* a malformed argument or option, or a call on the wrong device */ \
  X(kDtype, "EDTYPE")        /* an unknown dtype, or tensors whose dtypes do not fit the op */   \
  X(kShape, "ESHAPE")        /* a bad shape (rank, negative dim, overflow) or sizes that differ */ \
  X(kRange, "ERANGE")        /* a row id or byte offset outside its tensor */                   \
  X(kBudget, "EBUDGET")      /* a memory budget (the total or a device) would be exceeded */     \
  X(kOom, "EOOM")            /* the allocator (malloc, cudaMalloc) failed */                    \
  X(kNoDevice, "ENODEVICE")  /* no such device in this build or on this machine */              \
  X(kDisposed, "EDISPOSED")  /* a tensor used after dispose() */                                \
  X(kDevice, "EDEVICE")      /* the device runtime (CUDA) failed a call */                      \
  X(kInternal, "EINTERNAL")  /* a broken invariant of the addon itself */

enum class ErrorCode : int {
#define GPS_ERROR_ENUM(name, js) name,
  GPS_ERROR_CODES(GPS_ERROR_ENUM)
#undef GPS_ERROR_ENUM
};

inline const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
#define GPS_ERROR_NAME(name, js) \
  case ErrorCode::name:          \
    return js;
    GPS_ERROR_CODES(GPS_ERROR_NAME)
#undef GPS_ERROR_NAME
  }
  return "EINTERNAL";
}

// What the addon throws: a message for people (tests match it) and a code for programs.
class CodedError : public std::runtime_error {
 public:
  CodedError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// The code of any exception that reaches the N-API boundary. Exceptions from the standard
// library (a vector growing, a thread failing to start) carry none of ours.
inline ErrorCode CodeOf(const std::exception& e) {
  if (const auto* coded = dynamic_cast<const CodedError*>(&e)) return coded->code();
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return ErrorCode::kOom;
  return ErrorCode::kInternal;
}

}  // namespace gps
