// kernels.cu: the CUDA implementation of kernels.h. Per-element arithmetic comes from the same
// headers as the CPU build (dtype.h, philox.h, optim.h), compiled with --fmad=false, so both
// devices produce the same values. Reductions use a fixed block partition and combine
// partials on the host in order, so results are deterministic run to run.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"
#include "philox.h"

namespace gps {
namespace cuda {

namespace {

constexpr int kThreads = 256;

void Check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw CodedError(ErrorCode::kDevice, std::string("cuda ") + what + ": " + cudaGetErrorString(err));
  }
}

void Finish(const char* what) {
  Check(cudaGetLastError(), what);
  Check(cudaDeviceSynchronize(), what);
}

unsigned GridFor(int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 * 16 ? (blocks < 1 ? 1 : blocks) : 65535 * 16);
}

// A device copy of a host array, freed on scope exit.
template <typename T>
struct DeviceArray {
  T* ptr = nullptr;
  DeviceArray(const T* host, int64_t n) {
    if (n == 0) return;
    Check(cudaMalloc(&ptr, sizeof(T) * n), "cudaMalloc(indices)");
    Check(cudaMemcpy(ptr, host, sizeof(T) * n, cudaMemcpyHostToDevice), "cudaMemcpy(indices)");
  }
  explicit DeviceArray(int64_t n) {
    if (n == 0) return;
    Check(cudaMalloc(&ptr, sizeof(T) * n), "cudaMalloc(scratch)");
  }
  ~DeviceArray() {
    if (ptr) cudaFree(ptr);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
};

#define GRID_STRIDE(i, n) for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)blockDim.x * gridDim.x)

template <typename T>
__global__ void FillKernel(T* out, int64_t n, T v) {
  GRID_STRIDE(i, n) out[i] = v;
}

template <typename D, typename S>
__global__ void CastKernel(D* d, const S* s, int64_t n) {
  GRID_STRIDE(i, n) d[i] = Conv<D>::store(Conv<S>::load(s[i]));
}

template <typename T>
__global__ void UniformKernel(T* out, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                              CounterMap map) {
  GRID_STRIDE(i, n)
  out[i] = Conv<T>::store(RandomUniformAt(seed, offset, CounterOf(map, static_cast<uint64_t>(i)), low, high));
}

template <typename T>
__global__ void NormalKernel(T* out, int64_t n, double mean, double stddev, uint64_t seed, uint64_t offset,
                             CounterMap map) {
  GRID_STRIDE(i, n)
  out[i] = Conv<T>::store(RandomNormalAt(seed, offset, CounterOf(map, static_cast<uint64_t>(i)), mean, stddev));
}

template <typename T>
__global__ void AddNKernel(T* out, const void* const* srcs, int k, int64_t n) {
  GRID_STRIDE(i, n) {
    double acc = 0.0;
    for (int j = 0; j < k; ++j) acc += Conv<T>::load(static_cast<const T*>(srcs[j])[i]);
    out[i] = Conv<T>::store(acc);
  }
}

template <typename T>
__global__ void ScaleKernel(T* x, int64_t n, double alpha) {
  GRID_STRIDE(i, n) x[i] = Conv<T>::store(Conv<T>::load(x[i]) * alpha);
}

template <typename T>
__global__ void AxpyKernel(T* y, const T* x, int64_t n, double alpha) {
  GRID_STRIDE(i, n) y[i] = Conv<T>::store(Conv<T>::load(y[i]) + alpha * Conv<T>::load(x[i]));
}

// One partial per chunk of kChunk elements, each summed sequentially by one thread: the same
// association as the CPU's per-block partials would need, kept simple and deterministic.
constexpr int64_t kChunk = 4096;  // = kReduceChunk in parallel.h (CPU)

template <typename T>
__global__ void SumSquaresKernel(const T* x, int64_t n, double* partials, int64_t chunks) {
  GRID_STRIDE(c, chunks) {
    int64_t b = c * kChunk, e = b + kChunk < n ? b + kChunk : n;
    double acc = 0.0;
    for (int64_t i = b; i < e; ++i) {
      double v = Conv<T>::load(x[i]);
      acc += v * v;
    }
    partials[c] = acc;
  }
}

template <typename T>
__global__ void NonFiniteKernel(const T* x, int64_t n, int* flag) {
  GRID_STRIDE(i, n) {
    double v = Conv<T>::load(x[i]);
    if (!isfinite(v)) *flag = 1;
  }
}

__global__ void GatherKernel(char* out, const char* src, int64_t row_bytes, const int64_t* ids, int64_t num_ids) {
  int64_t total = row_bytes * num_ids;
  GRID_STRIDE(k, total) {
    int64_t r = k / row_bytes, j = k % row_bytes;
    out[k] = src[ids[r] * row_bytes + j];
  }
}

template <typename T>
__global__ void ScatterAddKernel(T* out, const T* rows, int64_t row_elems, const int64_t* targets,
                                 const int64_t* offsets, const int64_t* sources, int64_t num_targets) {
  int64_t total = num_targets * row_elems;
  GRID_STRIDE(k, total) {
    int64_t t = k / row_elems, j = k % row_elems;
    T* dst = out + targets[t] * row_elems + j;
    double acc = Conv<T>::load(*dst);
    for (int64_t s = offsets[t]; s < offsets[t + 1]; ++s) acc += Conv<T>::load(rows[sources[s] * row_elems + j]);
    *dst = Conv<T>::store(acc);
  }
}

template <int NS, typename T, typename Rule>
__global__ void OptimKernel(Rule rule, T* w, const T* g, T* s0, T* s1, T* s2, int64_t n, const int64_t* ids,
                            int64_t row_elems) {
  using C = typename Acc<T>::type;
  GRID_STRIDE(k, n) {
    int64_t wi = ids == nullptr ? k : ids[k / row_elems] * row_elems + k % row_elems;
    T* st[3] = {s0, s1, s2};
    C sv[3] = {C(0), C(0), C(0)};
    for (int q = 0; q < NS; ++q) sv[q] = LoadF<T>(st[q][wi]);
    C wv = LoadF<T>(w[wi]);
    rule(wv, LoadF<T>(g[k]), sv);
    w[wi] = StoreF<T>(wv);
    for (int q = 0; q < NS; ++q) st[q][wi] = StoreF<T>(sv[q]);
  }
}

template <typename T>
__global__ void LambPhase1Kernel(OptimParams p, const T* w, const T* g, T* s0, T* s1,
                                 typename Acc<T>::type* dir, int64_t n) {
  using C = typename Acc<T>::type;
  LambPhase1Rule rule{p};
  GRID_STRIDE(i, n) {
    C sv[2] = {LoadF<T>(s0[i]), LoadF<T>(s1[i])};
    dir[i] = rule(LoadF<T>(w[i]), LoadF<T>(g[i]), sv);
    s0[i] = StoreF<T>(sv[0]);
    s1[i] = StoreF<T>(sv[1]);
  }
}

template <typename C>
__global__ void SumSquaresAccKernel(const C* x, int64_t n, double* partials, int64_t chunks) {
  GRID_STRIDE(c, chunks) {
    int64_t b = c * kChunk, e = b + kChunk < n ? b + kChunk : n;
    double acc = 0.0;
    for (int64_t i = b; i < e; ++i) {
      double v = x[i];
      acc += v * v;
    }
    partials[c] = acc;
  }
}

template <typename T>
__global__ void LambPhase2Kernel(OptimParams p, T* w, const typename Acc<T>::type* dir, typename Acc<T>::type ratio, int64_t n) {
  GRID_STRIDE(i, n) w[i] = StoreF<T>(LambPhase2(p, LoadF<T>(w[i]), dir[i], ratio));
}

template <typename Launch>
double ChunkedSum(int64_t n, Launch&& launch) {
  int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return 0.0;
  DeviceArray<double> partials(chunks);
  launch(partials.ptr, chunks);
  Finish("sum of squares");
  std::vector<double> host(static_cast<size_t>(chunks));
  Check(cudaMemcpy(host.data(), partials.ptr, sizeof(double) * chunks, cudaMemcpyDeviceToHost), "cudaMemcpy(partials)");
  double acc = 0.0;
  for (double v : host) acc += v;
  return acc;
}

}  // namespace

void Fill(DType dt, void* out, int64_t n, double value) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(dt, T, { FillKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(out), n, Conv<T>::store(value)); });
  Finish("fill");
}

void Cast(DType dst_dt, void* dst, DType src_dt, const void* src, int64_t n) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(src_dt, S, {
    GPS_DISPATCH_ALL(dst_dt, D, {
      CastKernel<D, S><<<GridFor(n), kThreads>>>(static_cast<D*>(dst), static_cast<const S*>(src), n);
    });
  });
  Finish("cast");
}

void RandomUniform(DType dt, void* out, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                   const CounterMap& map) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(dt, T, { UniformKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(out), n, low, high, seed, offset, map); });
  Finish("uniform");
}

void RandomNormal(DType dt, void* out, int64_t n, double mean, double stddev, uint64_t seed, uint64_t offset,
                  const CounterMap& map) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(dt, T, { NormalKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(out), n, mean, stddev, seed, offset, map); });
  Finish("normal");
}

void AddN(DType dt, void* out, const void* const* srcs, int num_srcs, int64_t n) {
  if (n == 0) return;
  DeviceArray<const void*> dsrcs(srcs, num_srcs);
  GPS_DISPATCH_ALL(dt, T, { AddNKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(out), dsrcs.ptr, num_srcs, n); });
  Finish("add_n");
}

void Scale(DType dt, void* x, int64_t n, double alpha) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(dt, T, { ScaleKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(x), n, alpha); });
  Finish("scale");
}

void Axpy(DType dt, void* y, const void* x, int64_t n, double alpha) {
  if (n == 0) return;
  GPS_DISPATCH_ALL(dt, T, { AxpyKernel<T><<<GridFor(n), kThreads>>>(static_cast<T*>(y), static_cast<const T*>(x), n, alpha); });
  Finish("axpy");
}

double SumSquares(DType dt, const void* x, int64_t n) {
  double r = 0.0;
  GPS_DISPATCH_ALL(dt, T, {
    r = ChunkedSum(n, [&](double* partials, int64_t chunks) {
      SumSquaresKernel<T><<<GridFor(chunks), kThreads>>>(static_cast<const T*>(x), n, partials, chunks);
    });
  });
  return r;
}

bool AllFinite(DType dt, const void* x, int64_t n) {
  if (n == 0 || !DTypeIsFloat(dt)) return true;
  DeviceArray<int> flag(1);
  Check(cudaMemset(flag.ptr, 0, sizeof(int)), "cudaMemset");
  GPS_DISPATCH_FLOAT(dt, T, { NonFiniteKernel<T><<<GridFor(n), kThreads>>>(static_cast<const T*>(x), n, flag.ptr); });
  Finish("all_finite");
  int host = 0;
  Check(cudaMemcpy(&host, flag.ptr, sizeof(int), cudaMemcpyDeviceToHost), "cudaMemcpy(flag)");
  return host == 0;
}

void GatherRows(DType dt, void* out, const void* src, int64_t row_elems, const int64_t* ids, int64_t num_ids) {
  int64_t row_bytes = row_elems * static_cast<int64_t>(DTypeSize(dt));
  if (num_ids == 0 || row_bytes == 0) return;
  DeviceArray<int64_t> dids(ids, num_ids);
  GatherKernel<<<GridFor(row_bytes * num_ids), kThreads>>>(static_cast<char*>(out), static_cast<const char*>(src),
                                                           row_bytes, dids.ptr, num_ids);
  Finish("gather_rows");
}

void ScatterAddRows(DType dt, void* out, const void* rows, int64_t row_elems, const ScatterPlan& plan) {
  if (plan.num_targets == 0 || row_elems == 0) return;
  DeviceArray<int64_t> targets(plan.targets, plan.num_targets);
  DeviceArray<int64_t> offsets(plan.seg_offsets, plan.num_targets + 1);
  DeviceArray<int64_t> sources(plan.sources, plan.num_sources);
  GPS_DISPATCH_ALL(dt, T, {
    ScatterAddKernel<T><<<GridFor(plan.num_targets * row_elems), kThreads>>>(
        static_cast<T*>(out), static_cast<const T*>(rows), row_elems, targets.ptr, offsets.ptr, sources.ptr,
        plan.num_targets);
  });
  Finish("scatter_add_rows");
}

void OptimizerUpdate(DType dt, const OptimParams& p, void* weight, const void* grad, void* const* states, int64_t n,
                     const RowSelection* rows) {
  int ns = OptimStateCount(p);
  GPS_DISPATCH_FLOAT(dt, T, {
    using C = typename Acc<T>::type;
    T* w = static_cast<T*>(weight);
    const T* g = static_cast<const T*>(grad);
    T* s[3] = {static_cast<T*>(states[0]), static_cast<T*>(states[1]), static_cast<T*>(states[2])};
    if (p.kind == OptimKind::kLamb) {
      if (rows != nullptr) throw CodedError(ErrorCode::kInvalid, "optimizer lamb has no lazy row-sparse update");
      if (n == 0) return;
      DeviceArray<C> dir(n);
      LambPhase1Kernel<T><<<GridFor(n), kThreads>>>(p, w, g, s[0], s[1], dir.ptr, n);
      Finish("lamb phase 1");
      double r1 = sqrt(ChunkedSum(n, [&](double* partials, int64_t chunks) {
        SumSquaresKernel<T><<<GridFor(chunks), kThreads>>>(w, n, partials, chunks);
      }));
      double r2 = sqrt(ChunkedSum(n, [&](double* partials, int64_t chunks) {
        SumSquaresAccKernel<C><<<GridFor(chunks), kThreads>>>(dir.ptr, n, partials, chunks);
      }));
      C ratio = LambTrustRatio(p, static_cast<C>(r1), static_cast<C>(r2));
      LambPhase2Kernel<T><<<GridFor(n), kThreads>>>(p, w, dir.ptr, ratio, n);
      Finish("lamb phase 2");
      return;
    }
    int64_t total = rows == nullptr ? n : rows->num_rows * rows->row_elems;
    if (total == 0) return;
    DeviceArray<int64_t> ids(rows == nullptr ? nullptr : rows->ids, rows == nullptr ? 0 : rows->num_rows);
    int64_t row_elems = rows == nullptr ? 1 : rows->row_elems;
    VisitElementRule(p, [&](const auto& rule) {
      using Rule = std::decay_t<decltype(rule)>;
      switch (ns) {
        case 0: OptimKernel<0, T, Rule><<<GridFor(total), kThreads>>>(rule, w, g, s[0], s[1], s[2], total, ids.ptr, row_elems); break;
        case 1: OptimKernel<1, T, Rule><<<GridFor(total), kThreads>>>(rule, w, g, s[0], s[1], s[2], total, ids.ptr, row_elems); break;
        case 2: OptimKernel<2, T, Rule><<<GridFor(total), kThreads>>>(rule, w, g, s[0], s[1], s[2], total, ids.ptr, row_elems); break;
        default: OptimKernel<3, T, Rule><<<GridFor(total), kThreads>>>(rule, w, g, s[0], s[1], s[2], total, ids.ptr, row_elems); break;
      }
    });
    Finish("optimizer");
  });
}

}  // namespace cuda
}  // namespace gps
