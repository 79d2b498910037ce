// parallel.h: splits large CPU kernels across cores. Work is cut into fixed-size blocks so a
// kernel's result never depends on how many threads ran it (reductions combine per-block
// partials in block order).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace gps {

// Elements per block; below two blocks a kernel runs on the calling thread.
constexpr int64_t kParallelBlock = 1 << 18;

// Threads per large kernel: GLUONPS_KERNEL_THREADS if set (1..64), else the core count (max 16).
inline int MaxKernelThreads() {
  static const int n = [] {
    if (const char* env = std::getenv("GLUONPS_KERNEL_THREADS")) {
      int v = std::atoi(env);
      if (v >= 1 && v <= 64) return v;
    }
    unsigned hc = std::thread::hardware_concurrency();
    return static_cast<int>(hc == 0 ? 1 : std::min(hc, 16u));
  }();
  return n;
}

// Runs fn(begin, end) over [0, n) in contiguous ranges aligned to kParallelBlock.
template <typename Fn>
void ParallelFor(int64_t n, Fn&& fn) {
  int64_t blocks = (n + kParallelBlock - 1) / kParallelBlock;
  int threads = static_cast<int>(std::min<int64_t>(blocks, MaxKernelThreads()));
  if (threads <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  int64_t blocks_per = (blocks + threads - 1) / threads;
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) {
    int64_t b = std::min(n, t * blocks_per * kParallelBlock);
    int64_t e = std::min(n, (t + 1) * blocks_per * kParallelBlock);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(n, blocks_per * kParallelBlock));
  for (auto& th : pool) th.join();
}

// Deterministic reduction: partial(begin, end) per block, combined in block order.
template <typename Partial, typename Combine, typename R>
R ParallelReduce(int64_t n, R init, Partial&& partial, Combine&& combine) {
  int64_t blocks = (n + kParallelBlock - 1) / kParallelBlock;
  std::vector<R> parts(static_cast<size_t>(blocks), init);
  ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; s += kParallelBlock) {
      parts[static_cast<size_t>(s / kParallelBlock)] = partial(s, std::min(e, s + kParallelBlock));
    }
  });
  R acc = init;
  for (const R& p : parts) acc = combine(acc, p);
  return acc;
}

// Sums f(i) over [0, n) as per-chunk partials of kReduceChunk elements (each summed in index
// order) added in chunk order: the same association the CUDA kernels use, so norms agree
// bit for bit across devices and thread counts.
constexpr int64_t kReduceChunk = 4096;
template <typename F>
double ChunkedSum(int64_t n, F&& f) {
  int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<double> parts(static_cast<size_t>(chunks), 0.0);
  ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; s += kReduceChunk) {
      double acc = 0.0;
      int64_t end = std::min(e, s + kReduceChunk);
      for (int64_t i = s; i < end; ++i) acc += f(i);
      parts[static_cast<size_t>(s / kReduceChunk)] = acc;
    }
  });
  double total = 0.0;
  for (double p : parts) total += p;
  return total;
}

inline void ParallelCopy(void* dst, const void* src, size_t bytes) {
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<const char*>(src);
  ParallelFor(static_cast<int64_t>(bytes / 16), [&](int64_t b, int64_t e) {
    std::memcpy(d + b * 16, s + b * 16, static_cast<size_t>(e - b) * 16);
  });
  size_t tail = bytes % 16;
  if (tail) std::memcpy(d + bytes - tail, s + bytes - tail, tail);
}

}  // namespace gps
