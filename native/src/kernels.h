// kernels.h: the kernel entry points, one set per device kind with identical signatures
// (cpu:: in cpu_kernels.cc, cuda:: in cuda/kernels.cu). Arguments are raw pointers that the
// caller (kernel_ops.cc) has already validated; kernels assume sizes and ids are in range.
#pragma once
#include <cstdint>

#include "dtype.h"
#include "optim.h"
#include "philox.h"

namespace gps {

// Row scatter-add plan, built on the host: unique target rows in ascending order, and for
// each target the source rows that add into it, in their original order (so every device
// sums in the same order and results are deterministic).
struct ScatterPlan {
  const int64_t* targets;      // [num_targets]
  const int64_t* seg_offsets;  // [num_targets + 1] into sources
  const int64_t* sources;      // [num_sources] indices of rows in the `rows` input
  int64_t num_targets;
  int64_t num_sources;
};

// Lazy (row-sparse) optimizer update: gradient rows grad[i] apply to weight row ids[i].
struct RowSelection {
  const int64_t* ids;  // sorted, unique, in range
  int64_t num_rows;
  int64_t row_elems;
};

#define GPS_KERNEL_DECLS                                                                          \
  void Fill(DType dt, void* out, int64_t n, double value);                                       \
  void Cast(DType dst_dt, void* dst, DType src_dt, const void* src, int64_t n);                  \
  void RandomUniform(DType dt, void* out, int64_t n, double low, double high, uint64_t seed,     \
                     uint64_t offset, const CounterMap& map);                                    \
  void RandomNormal(DType dt, void* out, int64_t n, double mean, double stddev, uint64_t seed,   \
                    uint64_t offset, const CounterMap& map);                                     \
  void AddN(DType dt, void* out, const void* const* srcs, int num_srcs, int64_t n);              \
  void Scale(DType dt, void* x, int64_t n, double alpha);                                        \
  void Axpy(DType dt, void* y, const void* x, int64_t n, double alpha);                          \
  double SumSquares(DType dt, const void* x, int64_t n);                                         \
  bool AllFinite(DType dt, const void* x, int64_t n);                                            \
  void GatherRows(DType dt, void* out, const void* src, int64_t row_elems, const int64_t* ids,   \
                  int64_t num_ids);                                                              \
  void ScatterAddRows(DType dt, void* out, const void* rows, int64_t row_elems,                  \
                      const ScatterPlan& plan);                                                  \
  void OptimizerUpdate(DType dt, const OptimParams& p, void* weight, const void* grad,           \
                       void* const* states, int64_t n, const RowSelection* rows);

namespace cpu {
GPS_KERNEL_DECLS
}  // namespace cpu

#ifdef GLUONPS_CUDA
namespace cuda {
// Each call runs on the current device (cuda::SetDevice) and returns once it has finished.
GPS_KERNEL_DECLS
}  // namespace cuda
#endif

}  // namespace gps
