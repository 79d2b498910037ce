// dtype.h: element types (with MXNet's mshadow type flags as their codes) and the exact
// conversions between them, shared by the CPU and CUDA kernels so both round identically.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "errors.h"

#ifdef __CUDACC__
#define GPS_HD __host__ __device__ __forceinline__
#else
#define GPS_HD inline
#endif

namespace gps {

// Codes are MXNet's type flags (gluon-parameter-spec.md §7) so files and wire agree.
enum class DType : int32_t {
  kFloat32 = 0,
  kFloat64 = 1,
  kFloat16 = 2,
  kUint8 = 3,
  kInt32 = 4,
  kInt8 = 5,
  kInt64 = 6,
  kBfloat16 = 12,
};

inline bool DTypeValid(int32_t code) {
  switch (code) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 12: return true;
    default: return false;
  }
}

inline size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: return 4;
    case DType::kFloat64: case DType::kInt64: return 8;
    case DType::kFloat16: case DType::kBfloat16: return 2;
    case DType::kUint8: case DType::kInt8: return 1;
  }
  return 0;
}

inline bool DTypeIsFloat(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBfloat16;
}

inline const char* DTypeName(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kUint8: return "uint8";
    case DType::kInt32: return "int32";
    case DType::kInt8: return "int8";
    case DType::kInt64: return "int64";
    case DType::kBfloat16: return "bfloat16";
  }
  return "unknown";
}

// Storage wrappers for the 16-bit floats: raw bits, converted explicitly.
struct half_t { uint16_t bits; };
struct bf16_t { uint16_t bits; };

GPS_HD uint32_t FloatBits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u; std::memcpy(&u, &f, 4); return u;
#endif
}
GPS_HD float BitsFloat(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f; std::memcpy(&f, &u, 4); return f;
#endif
}
GPS_HD uint64_t DoubleBits(double d) {
#ifdef __CUDA_ARCH__
  return static_cast<uint64_t>(__double_as_longlong(d));
#else
  uint64_t u; std::memcpy(&u, &d, 8); return u;
#endif
}
GPS_HD double BitsDouble(uint64_t u) {
#ifdef __CUDA_ARCH__
  return __longlong_as_double(static_cast<long long>(u));
#else
  double d; std::memcpy(&d, &u, 8); return d;
#endif
}

// float -> float16, round to nearest even, with overflow to inf, subnormals and NaN kept.
GPS_HD uint16_t FloatToHalfBits(float f) {
  uint32_t x = FloatBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  }
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (absx < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25 rounds to zero
    uint32_t exp = absx >> 23;
    uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - exp;  // 14 - (exp - 127) + 13 - 1 ... bits dropped to land on 2^-24 units
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1u))) q += 1;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t r = absx - 0x38000000u;  // rebias exponent 127 -> 15
  uint32_t q = r >> 13;
  uint32_t rem = r & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q += 1;
  return static_cast<uint16_t>(sign | q);
}

GPS_HD float HalfBitsToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return BitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return BitsFloat(sign);
    // subnormal: value = mant * 2^-24, exact in float
    float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  return BitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

GPS_HD uint16_t FloatToBf16Bits(float f) {
  uint32_t x = FloatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

GPS_HD float Bf16BitsToFloat(uint16_t b) { return BitsFloat(static_cast<uint32_t>(b) << 16); }

// double -> float rounded to odd: converting that float to a 16-bit type then rounds
// exactly as a direct double -> 16-bit rounding would (no double-rounding error).
GPS_HD float DoubleToFloatRoundOdd(double d) {
  float f = static_cast<float>(d);
  double back = static_cast<double>(f);
  if (back == d || d != d) return f;
  if (std::fabs(back) > std::fabs(d)) {  // rounded away from zero: step one ulp toward zero
    uint32_t u = FloatBits(f);
    u -= 1;
    f = BitsFloat(u);
  }
  return BitsFloat(FloatBits(f) | 1u);
}

// Per-type load to the compute type and store from it. Integers saturate, NaN -> 0, and
// floats truncate toward zero on the way in (C semantics made total).
template <typename T> struct Conv;
template <> struct Conv<float> {
  GPS_HD static double load(float v) { return v; }
  GPS_HD static float store(double v) { return static_cast<float>(v); }
};
template <> struct Conv<double> {
  GPS_HD static double load(double v) { return v; }
  GPS_HD static double store(double v) { return v; }
};
template <> struct Conv<half_t> {
  GPS_HD static double load(half_t v) { return HalfBitsToFloat(v.bits); }
  GPS_HD static half_t store(double v) { return half_t{FloatToHalfBits(DoubleToFloatRoundOdd(v))}; }
};
template <> struct Conv<bf16_t> {
  GPS_HD static double load(bf16_t v) { return Bf16BitsToFloat(v.bits); }
  GPS_HD static bf16_t store(double v) { return bf16_t{FloatToBf16Bits(DoubleToFloatRoundOdd(v))}; }
};

template <typename I>
GPS_HD I SaturateToInt(double v, double lo, double hi) {
  if (v != v) return 0;
  if (v <= lo) return static_cast<I>(lo);
  if (v >= hi) return static_cast<I>(hi);
  return static_cast<I>(v);  // truncates toward zero
}
template <> struct Conv<int8_t> {
  GPS_HD static double load(int8_t v) { return v; }
  GPS_HD static int8_t store(double v) { return SaturateToInt<int8_t>(v, -128.0, 127.0); }
};
template <> struct Conv<uint8_t> {
  GPS_HD static double load(uint8_t v) { return v; }
  GPS_HD static uint8_t store(double v) { return SaturateToInt<uint8_t>(v, 0.0, 255.0); }
};
template <> struct Conv<int32_t> {
  GPS_HD static double load(int32_t v) { return v; }
  GPS_HD static int32_t store(double v) { return SaturateToInt<int32_t>(v, -2147483648.0, 2147483647.0); }
};
template <> struct Conv<int64_t> {
  GPS_HD static double load(int64_t v) { return static_cast<double>(v); }
  GPS_HD static int64_t store(double v) {
    if (v != v) return 0;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    if (v >= 9223372036854775808.0) return INT64_MAX;
    return static_cast<int64_t>(v);
  }
};

// Float compute type: float32 math for 32/16-bit floats (as MXNet does), double for float64.
template <typename T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };

template <typename T> GPS_HD typename Acc<T>::type LoadF(T v) {
  return static_cast<typename Acc<T>::type>(Conv<T>::load(v));
}
template <> GPS_HD float LoadF<float>(float v) { return v; }
template <> GPS_HD float LoadF<half_t>(half_t v) { return HalfBitsToFloat(v.bits); }
template <> GPS_HD float LoadF<bf16_t>(bf16_t v) { return Bf16BitsToFloat(v.bits); }

template <typename T> GPS_HD T StoreF(typename Acc<T>::type v) { return Conv<T>::store(v); }
template <> GPS_HD float StoreF<float>(float v) { return v; }
template <> GPS_HD half_t StoreF<half_t>(float v) { return half_t{FloatToHalfBits(v)}; }
template <> GPS_HD bf16_t StoreF<bf16_t>(float v) { return bf16_t{FloatToBf16Bits(v)}; }

}  // namespace gps

// Dispatch helpers: call F.template operator()<T>() for the runtime dtype.
#define GPS_DISPATCH_ALL(dtype, T, ...)                                   \
  switch (dtype) {                                                        \
    case ::gps::DType::kFloat32: { using T = float; __VA_ARGS__; break; } \
    case ::gps::DType::kFloat64: { using T = double; __VA_ARGS__; break; } \
    case ::gps::DType::kFloat16: { using T = ::gps::half_t; __VA_ARGS__; break; } \
    case ::gps::DType::kBfloat16: { using T = ::gps::bf16_t; __VA_ARGS__; break; } \
    case ::gps::DType::kUint8: { using T = uint8_t; __VA_ARGS__; break; } \
    case ::gps::DType::kInt8: { using T = int8_t; __VA_ARGS__; break; }   \
    case ::gps::DType::kInt32: { using T = int32_t; __VA_ARGS__; break; } \
    case ::gps::DType::kInt64: { using T = int64_t; __VA_ARGS__; break; } \
  }

#define GPS_DISPATCH_FLOAT(dtype, T, ...)                                 \
  switch (dtype) {                                                        \
    case ::gps::DType::kFloat32: { using T = float; __VA_ARGS__; break; } \
    case ::gps::DType::kFloat64: { using T = double; __VA_ARGS__; break; } \
    case ::gps::DType::kFloat16: { using T = ::gps::half_t; __VA_ARGS__; break; } \
    case ::gps::DType::kBfloat16: { using T = ::gps::bf16_t; __VA_ARGS__; break; } \
    default: throw ::gps::CodedError(::gps::ErrorCode::kInternal, "internal: float dispatch on a non-float dtype"); \
  }
