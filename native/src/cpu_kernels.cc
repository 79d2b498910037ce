// cpu_kernels.cc: the CPU implementation of kernels.h. Elementwise kernels split across cores
// in fixed blocks (parallel.h); every per-element formula comes from the headers shared with
// CUDA (dtype.h, philox.h, optim.h) so both devices compute the same values.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "philox.h"

namespace gps {
namespace cpu {

void Fill(DType dt, void* out, int64_t n, double value) {
  GPS_DISPATCH_ALL(dt, T, {
    T v = Conv<T>::store(value);
    T* o = static_cast<T*>(out);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = v;
    });
  });
}

void Cast(DType dst_dt, void* dst, DType src_dt, const void* src, int64_t n) {
  GPS_DISPATCH_ALL(src_dt, S, {
    GPS_DISPATCH_ALL(dst_dt, D, {
      const S* s = static_cast<const S*>(src);
      D* d = static_cast<D*>(dst);
      ParallelFor(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) d[i] = Conv<D>::store(Conv<S>::load(s[i]));
      });
    });
  });
}

void RandomUniform(DType dt, void* out, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                   const CounterMap& map) {
  GPS_DISPATCH_ALL(dt, T, {
    T* o = static_cast<T*>(out);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        o[i] = Conv<T>::store(RandomUniformAt(seed, offset, CounterOf(map, static_cast<uint64_t>(i)), low, high));
      }
    });
  });
}

void RandomNormal(DType dt, void* out, int64_t n, double mean, double stddev, uint64_t seed, uint64_t offset,
                  const CounterMap& map) {
  GPS_DISPATCH_ALL(dt, T, {
    T* o = static_cast<T*>(out);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        o[i] = Conv<T>::store(RandomNormalAt(seed, offset, CounterOf(map, static_cast<uint64_t>(i)), mean, stddev));
      }
    });
  });
}

// Two float32 sources: summing in float is bit-identical to the double sum rounded once
// (double rounding is innocuous for + when the wider precision is >= 2p + 2, 53 >= 50).
template <typename T>
bool AddTwoFloats(T*, const void* const*, int, int64_t, int64_t) { return false; }
template <>
bool AddTwoFloats<float>(float* o, const void* const* srcs, int num_srcs, int64_t b, int64_t e) {
  if (num_srcs != 2) return false;
  const float* x = static_cast<const float*>(srcs[0]);
  const float* y = static_cast<const float*>(srcs[1]);
  for (int64_t i = b; i < e; ++i) o[i] = (0.0f + x[i]) + y[i];
  return true;
}

void AddN(DType dt, void* out, const void* const* srcs, int num_srcs, int64_t n) {
  GPS_DISPATCH_ALL(dt, T, {
    T* o = static_cast<T*>(out);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      // Summed in double in source order, from 0.0 (so -0 + -0 is +0, as on CUDA): exact for
      // every integer type up to 2^53 and one rounding for floats. Done a block at a time, one
      // source after another, so each inner loop is a plain vectorizable stream (the
      // per-element loop over sources ran at a third of the optimizer's speed).
      if (AddTwoFloats(o, srcs, num_srcs, b, e)) return;
      constexpr int64_t kBlock = 1024;
      double acc[kBlock];
      for (int64_t i0 = b; i0 < e; i0 += kBlock) {
        const int64_t len = std::min(kBlock, e - i0);
        for (int64_t j = 0; j < len; ++j) acc[j] = 0.0;
        for (int k = 0; k < num_srcs; ++k) {
          const T* src = static_cast<const T*>(srcs[k]) + i0;
          for (int64_t j = 0; j < len; ++j) acc[j] += Conv<T>::load(src[j]);
        }
        for (int64_t j = 0; j < len; ++j) o[i0 + j] = Conv<T>::store(acc[j]);
      }
    });
  });
}

void Scale(DType dt, void* x, int64_t n, double alpha) {
  GPS_DISPATCH_ALL(dt, T, {
    T* p = static_cast<T*>(x);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = Conv<T>::store(Conv<T>::load(p[i]) * alpha);
    });
  });
}

void Axpy(DType dt, void* y, const void* x, int64_t n, double alpha) {
  GPS_DISPATCH_ALL(dt, T, {
    T* py = static_cast<T*>(y);
    const T* px = static_cast<const T*>(x);
    ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = Conv<T>::store(Conv<T>::load(py[i]) + alpha * Conv<T>::load(px[i]));
    });
  });
}

double SumSquares(DType dt, const void* x, int64_t n) {
  double result = 0.0;
  GPS_DISPATCH_ALL(dt, T, {
    const T* p = static_cast<const T*>(x);
    result = ChunkedSum(n, [p](int64_t i) {
      double v = Conv<T>::load(p[i]);
      return v * v;
    });
  });
  return result;
}

bool AllFinite(DType dt, const void* x, int64_t n) {
  if (!DTypeIsFloat(dt)) return true;
  bool ok = true;
  GPS_DISPATCH_FLOAT(dt, T, {
    const T* p = static_cast<const T*>(x);
    ok = ParallelReduce(
        n, true,
        [&](int64_t b, int64_t e) {
          bool fine = true;
          for (int64_t i = b; i < e; ++i) fine &= std::isfinite(Conv<T>::load(p[i]));
          return fine;
        },
        [](bool a, bool c) { return a && c; });
  });
  return ok;
}

void GatherRows(DType dt, void* out, const void* src, int64_t row_elems, const int64_t* ids, int64_t num_ids) {
  size_t es = DTypeSize(dt);
  auto* o = static_cast<char*>(out);
  const auto* s = static_cast<const char*>(src);
  if (row_elems == 0) return;
  ParallelFor(num_ids * row_elems, [&](int64_t b, int64_t e) {
    while (b < e) {
      int64_t r = b / row_elems, j = b % row_elems;
      int64_t len = std::min(e - b, row_elems - j);
      std::memcpy(o + (r * row_elems + j) * es, s + (ids[r] * row_elems + j) * es, static_cast<size_t>(len) * es);
      b += len;
    }
  });
}

void ScatterAddRows(DType dt, void* out, const void* rows, int64_t row_elems, const ScatterPlan& plan) {
  GPS_DISPATCH_ALL(dt, T, {
    T* o = static_cast<T*>(out);
    const T* r = static_cast<const T*>(rows);
    for (int64_t t = 0; t < plan.num_targets; ++t) {
      T* dst = o + plan.targets[t] * row_elems;
      for (int64_t j = 0; j < row_elems; ++j) {
        double acc = Conv<T>::load(dst[j]);
        for (int64_t k = plan.seg_offsets[t]; k < plan.seg_offsets[t + 1]; ++k) {
          acc += Conv<T>::load(r[plan.sources[k] * row_elems + j]);
        }
        dst[j] = Conv<T>::store(acc);
      }
    }
  });
}

namespace {

// Applies rule to weight element wi with gradient element gi and states at wi.
// NS (the state count) is a compile-time constant so the per-element loop stays branch-free.
// The rule is copied into a local and pointers are restrict so the compiler keeps the rule's
// scalars in registers and vectorizes (a store through float* could otherwise alias them).
template <int NS, typename T, typename Rule>
void ApplyRange(const Rule& shared_rule, T* __restrict w, const T* __restrict g, T* __restrict s0,
                T* __restrict s1, T* __restrict s2, int64_t b, int64_t e) {
  using C = typename Acc<T>::type;
  const Rule rule = shared_rule;
  for (int64_t i = b; i < e; ++i) {
    C sv[3] = {C(0), C(0), C(0)};
    if (NS > 0) sv[0] = LoadF<T>(s0[i]);
    if (NS > 1) sv[1] = LoadF<T>(s1[i]);
    if (NS > 2) sv[2] = LoadF<T>(s2[i]);
    C wv = LoadF<T>(w[i]);
    rule(wv, LoadF<T>(g[i]), sv);
    w[i] = StoreF<T>(wv);
    if (NS > 0) s0[i] = StoreF<T>(sv[0]);
    if (NS > 1) s1[i] = StoreF<T>(sv[1]);
    if (NS > 2) s2[i] = StoreF<T>(sv[2]);
  }
}

// Lazy form: gradient row r applies to weight row ids[r].
template <int NS, typename T, typename Rule>
void ApplyRows(const Rule& shared_rule, T* __restrict w, const T* __restrict g, T* __restrict s0,
               T* __restrict s1, T* __restrict s2, const int64_t* ids, int64_t row_elems, int64_t b, int64_t e) {
  while (b < e) {
    int64_t r = b / row_elems, j = b % row_elems;
    int64_t len = std::min(e - b, row_elems - j);
    int64_t off = ids[r] * row_elems + j;
    ApplyRange<NS, T>(shared_rule, w + off, g + b, NS > 0 ? s0 + off : s0, NS > 1 ? s1 + off : s1,
                      NS > 2 ? s2 + off : s2, 0, len);
    b += len;
  }
}

template <typename Fn>
inline void WithStateCount(int ns, Fn&& fn) {
  switch (ns) {
    case 0: fn(std::integral_constant<int, 0>{}); break;
    case 1: fn(std::integral_constant<int, 1>{}); break;
    case 2: fn(std::integral_constant<int, 2>{}); break;
    case 3: fn(std::integral_constant<int, 3>{}); break;
    default: throw CodedError(ErrorCode::kInternal, "internal: optimizer state count out of range");
  }
}

template <typename T>
void LambUpdate(const OptimParams& p, T* w, const T* g, T* const* s, int64_t n) {
  using C = typename Acc<T>::type;
  LambPhase1Rule phase1{p};
  std::vector<C> dir(static_cast<size_t>(n));
  ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      C sv[2] = {LoadF<T>(s[0][i]), LoadF<T>(s[1][i])};
      dir[i] = phase1(LoadF<T>(w[i]), LoadF<T>(g[i]), sv);
      s[0][i] = StoreF<T>(sv[0]);
      s[1][i] = StoreF<T>(sv[1]);
    }
  });
  double r1 = std::sqrt(ChunkedSum(n, [w](int64_t i) {
    double v = LoadF<T>(w[i]);
    return v * v;
  }));
  double r2 = std::sqrt(ChunkedSum(n, [&dir](int64_t i) {
    double v = dir[static_cast<size_t>(i)];
    return v * v;
  }));
  C ratio = LambTrustRatio(p, static_cast<C>(r1), static_cast<C>(r2));
  ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) w[i] = StoreF<T>(LambPhase2(p, LoadF<T>(w[i]), dir[i], ratio));
  });
}

}  // namespace

void OptimizerUpdate(DType dt, const OptimParams& p, void* weight, const void* grad, void* const* states,
                     int64_t n, const RowSelection* rows) {
  int ns = OptimStateCount(p);
  GPS_DISPATCH_FLOAT(dt, T, {
    T* w = static_cast<T*>(weight);
    const T* g = static_cast<const T*>(grad);
    T* s[3] = {nullptr, nullptr, nullptr};
    for (int k = 0; k < ns; ++k) s[k] = static_cast<T*>(states[k]);
    if (p.kind == OptimKind::kLamb) {
      if (rows != nullptr) throw CodedError(ErrorCode::kInvalid, "optimizer lamb has no lazy row-sparse update");
      LambUpdate<T>(p, w, g, s, n);
    } else if (rows == nullptr) {
      VisitElementRule(p, [&](const auto& rule) {
        WithStateCount(ns, [&](auto nsc) {
          ParallelFor(n, [&](int64_t b, int64_t e) {
            ApplyRange<decltype(nsc)::value, T>(rule, w, g, s[0], s[1], s[2], b, e);
          });
        });
      });
    } else {
      const int64_t re = rows->row_elems;
      VisitElementRule(p, [&](const auto& rule) {
        WithStateCount(ns, [&](auto nsc) {
          // Row ids are unique, so rows never overlap and can be split freely.
          ParallelFor(rows->num_rows * re, [&](int64_t b, int64_t e) {
            ApplyRows<decltype(nsc)::value, T>(rule, w, g, s[0], s[1], s[2], rows->ids, re, b, e);
          });
        });
      });
    }
  });
}

}  // namespace cpu
}  // namespace gps
