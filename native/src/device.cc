// device.cc: host allocation, per-device accounting, and the bridge to CUDA memory when built
// with GLUONPS_CUDA (cuda_bridge.h); without it every gpu(i) request fails with a clear error.
#include "device.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "cuda_bridge.h"
#include "errors.h"
#include "parallel.h"

namespace gps {

std::string Device::Name() const {
  return std::string(type == DeviceType::kCpu ? "cpu(" : "gpu(") + std::to_string(id) + ")";
}

bool CudaBuilt() {
#ifdef GLUONPS_CUDA
  return true;
#else
  return false;
#endif
}

int GpuCount() {
#ifdef GLUONPS_CUDA
  return cuda::DeviceCount();
#else
  return 0;
#endif
}

void CheckDeviceAvailable(const Device& dev) {
  if (dev.id < 0) throw CodedError(ErrorCode::kNoDevice, dev.Name() + " is not a valid device: ids start at 0");
  if (dev.type == DeviceType::kCpu) {
    if (dev.id >= kMaxCpuDevices) {
      throw CodedError(ErrorCode::kNoDevice,
                       dev.Name() + " is not available: cpu ids go up to " + std::to_string(kMaxCpuDevices - 1));
    }
    return;
  }
  if (!CudaBuilt()) throw CodedError(ErrorCode::kNoDevice, dev.Name() + " is not available: built without CUDA");
  int n = GpuCount();
  if (dev.id >= n) {
    throw CodedError(ErrorCode::kNoDevice,
                     dev.Name() + " is not available: no such GPU (this machine has " + std::to_string(n) + ")");
  }
}

namespace {

struct Account {
  std::atomic<int64_t> allocated{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> budget{-1};
};

std::mutex g_accounts_mu;
std::unordered_map<int64_t, std::unique_ptr<Account>> g_accounts;
// Every byte of every account below, and the external bytes, under the one server budget.
Account g_total;
Account g_external;

Account& AccountFor(const Device& dev) {
  int64_t key = (static_cast<int64_t>(dev.type) << 32) | static_cast<uint32_t>(dev.id);
  std::lock_guard<std::mutex> lock(g_accounts_mu);
  auto& slot = g_accounts[key];
  if (!slot) slot = std::make_unique<Account>();
  return *slot;
}

std::string AccountName(const Device& dev) {
  return dev == kHostStaging ? std::string("host staging") : dev.Name();
}

void RaisePeak(Account& acc, int64_t now) {
  int64_t peak = acc.peak.load();
  while (now > peak && !acc.peak.compare_exchange_weak(peak, now)) {
  }
}

// Counts `bytes` in the total; over its budget (when `enforce`) it is undone and EBUDGET names
// `where`, the budget and what is in use.
void ReserveTotal(const std::string& where, int64_t bytes, bool enforce) {
  int64_t budget = g_total.budget.load();
  int64_t prev = g_total.allocated.fetch_add(bytes);
  if (enforce && budget >= 0 && prev + bytes > budget) {
    g_total.allocated.fetch_sub(bytes);
    throw CodedError(ErrorCode::kBudget, where + ": allocating " + std::to_string(bytes) +
                                             " bytes would exceed the memory budget of " + std::to_string(budget) +
                                             " bytes, with " + std::to_string(prev) + " bytes in use");
  }
  RaisePeak(g_total, prev + bytes);
}

void Reserve(const Device& dev, Account& acc, int64_t bytes, bool enforce_total = true) {
  int64_t budget = acc.budget.load();
  int64_t prev = acc.allocated.fetch_add(bytes);
  if (budget >= 0 && prev + bytes > budget) {
    acc.allocated.fetch_sub(bytes);
    throw CodedError(ErrorCode::kBudget, AccountName(dev) + ": allocating " + std::to_string(bytes) +
                                             " bytes would exceed the memory budget of " + AccountName(dev) + " (" +
                                             std::to_string(prev) + " of " + std::to_string(budget) +
                                             " bytes in use)");
  }
  try {
    ReserveTotal(AccountName(dev), bytes, enforce_total);
  } catch (...) {
    acc.allocated.fetch_sub(bytes);
    throw;
  }
  RaisePeak(acc, prev + bytes);
}

void Unreserve(Account& acc, int64_t bytes) {
  acc.allocated.fetch_sub(bytes);
  g_total.allocated.fetch_sub(bytes);
}

// Large host tensors and staging copies ask for transparent huge pages: their first touch (a
// checkpoint being loaded or snapshotted, a new parameter) then faults 2 MiB at a time instead
// of 4 KiB, about a third of the CPU of loading a checkpoint on the machines we measured. Only
// the 2 MiB-aligned interior of the block is advised (madvise needs page-aligned bounds; the
// heap around it is glibc's). Done here rather than process-wide
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), which also made the server's per-message gRPC
// buffers slow to allocate. The advice stays on the address range after the tensor is freed
// and glibc may hand it to smaller blocks; with npm start's malloc settings freed memory stays
// resident (no trim), so a reused range is not faulted again and the advice no longer matters
// there. Memory calloc had to zero (a reused block) is already resident, advised or not. Each
// advised block adds at most two mapping boundaries, merged with equally advised neighbours.
// No effect where THP is off; errors are ignored (advice only).
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kAdviseHugeFrom = size_t{8} << 20;

void AdviseHugePages(void* ptr, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < kAdviseHugeFrom) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(ptr) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(ptr) + bytes) & ~(kHugePage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)ptr;
  (void)bytes;
#endif
}

}  // namespace

DeviceStats GetDeviceStats(const Device& dev) {
  Account& acc = AccountFor(dev);
  return DeviceStats{acc.allocated.load(), acc.peak.load(), acc.budget.load()};
}

void SetDeviceBudget(const Device& dev, int64_t bytes) { AccountFor(dev).budget.store(bytes < 0 ? -1 : bytes); }

DeviceStats GetTotalStats() { return DeviceStats{g_total.allocated.load(), g_total.peak.load(), g_total.budget.load()}; }

void SetTotalBudget(int64_t bytes) { g_total.budget.store(bytes < 0 ? -1 : bytes); }

void ReserveExternal(int64_t bytes, bool force) {
  if (bytes < 0) throw CodedError(ErrorCode::kInvalid, "reserveExternal: bytes must be >= 0");
  ReserveTotal("host memory", bytes, !force);
  RaisePeak(g_external, g_external.allocated.fetch_add(bytes) + bytes);
}

void ReleaseExternal(int64_t bytes) {
  if (bytes < 0) throw CodedError(ErrorCode::kInvalid, "releaseExternal: bytes must be >= 0");
  g_external.allocated.fetch_sub(bytes);
  g_total.allocated.fetch_sub(bytes);
}

DeviceStats GetExternalStats() {
  return DeviceStats{g_external.allocated.load(), g_external.peak.load(), g_total.budget.load()};
}

std::shared_ptr<Storage> Storage::AllocateStaging(size_t bytes, bool budgeted) {
  Account& acc = AccountFor(kHostStaging);
  Reserve(kHostStaging, acc, static_cast<int64_t>(bytes), budgeted);
  void* ptr = std::malloc(bytes == 0 ? 64 : bytes);  // fully overwritten by the copy that follows
  if (ptr != nullptr) AdviseHugePages(ptr, bytes);
  if (ptr == nullptr) {
    Unreserve(acc, static_cast<int64_t>(bytes));
    throw CodedError(ErrorCode::kOom, "host: out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  return std::shared_ptr<Storage>(new Storage(kHostStaging, ptr, bytes));
}

std::shared_ptr<Storage> Storage::Allocate(const Device& dev, size_t bytes, bool zero) {
  CheckDeviceAvailable(dev);
  Account& acc = AccountFor(dev);
  Reserve(dev, acc, static_cast<int64_t>(bytes));
  void* ptr = nullptr;
  size_t alloc_bytes = bytes == 0 ? 64 : bytes;  // a real pointer even for empty tensors
  if (dev.type == DeviceType::kCpu) {
    // calloc: fresh pages from the OS are already zero, so zero-fill is often free.
    ptr = zero ? std::calloc(1, alloc_bytes) : std::malloc(alloc_bytes);
    if (ptr != nullptr) AdviseHugePages(ptr, alloc_bytes);
  } else {
#ifdef GLUONPS_CUDA
    try {
      ptr = cuda::Malloc(dev.id, alloc_bytes);
    } catch (...) {
      Unreserve(acc, static_cast<int64_t>(bytes));
      throw;
    }
#endif
  }
  if (ptr == nullptr) {
    Unreserve(acc, static_cast<int64_t>(bytes));
    throw CodedError(ErrorCode::kOom, dev.Name() + ": out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  return std::shared_ptr<Storage>(new Storage(dev, ptr, bytes));
}

Storage::~Storage() {
  if (device_.type == DeviceType::kCpu) {
    std::free(data_);
  } else {
#ifdef GLUONPS_CUDA
    cuda::Free(device_.id, data_);
#endif
  }
  Unreserve(AccountFor(device_), static_cast<int64_t>(bytes_));
}

void CopyBytes(const Device& dst_dev, void* dst, const Device& src_dev, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev.type == DeviceType::kCpu && src_dev.type == DeviceType::kCpu) {
    ParallelCopy(dst, src, bytes);
    return;
  }
#ifdef GLUONPS_CUDA
  cuda::Memcpy(dst_dev.type == DeviceType::kGpu ? dst_dev.id : -1, dst,
               src_dev.type == DeviceType::kGpu ? src_dev.id : -1, src, bytes);
#else
  throw CodedError(ErrorCode::kInternal, "internal: gpu copy in a build without CUDA");
#endif
}

}  // namespace gps
