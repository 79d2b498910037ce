// device.h: devices, device memory (host or CUDA), and byte accounting: per device, and one
// total over every device, the staging copies and what JS holds for callers (reported by
// ReserveExternal), each with an optional budget. Storage is reference counted so a kernel in flight keeps its memory alive
// even if the owning tensor is disposed meanwhile.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gps {

enum class DeviceType : int32_t { kCpu = 1, kGpu = 2 };  // MXNet's dev_type codes

struct Device {
  DeviceType type;
  int32_t id;
  bool operator==(const Device& o) const { return type == o.type && id == o.id; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string Name() const;
};

constexpr int32_t kMaxCpuDevices = 1024;
// Host memory for transient copies (reads for sending) is accounted apart from cpu(i).
constexpr Device kHostStaging{DeviceType::kCpu, kMaxCpuDevices};
constexpr int32_t kMaxGpuDevices = 64;

// Throws ENODEVICE (errors.h) naming the device when it does not exist in this build/machine.
void CheckDeviceAvailable(const Device& dev);
bool CudaBuilt();
int GpuCount();

struct DeviceStats {
  int64_t allocated;
  int64_t peak;
  int64_t budget;  // -1 = unlimited
};
DeviceStats GetDeviceStats(const Device& dev);
void SetDeviceBudget(const Device& dev, int64_t bytes);

// The total: every device's tensors, the staging copies and the external bytes together, under
// one budget (the server's --memory-budget). An allocation that would take it over the budget
// fails with EBUDGET and allocates nothing.
DeviceStats GetTotalStats();
void SetTotalBudget(int64_t bytes);
// Bytes held outside Storage (JS copies the server keeps for callers), counted in the total.
// Throws EBUDGET when they do not fit, unless `force` (state recovered from disk must load).
void ReserveExternal(int64_t bytes, bool force);
void ReleaseExternal(int64_t bytes);
DeviceStats GetExternalStats();

class Storage {
 public:
  // Allocates `bytes` on `dev`, zero-filled unless `zero` is false (for memory the caller
  // overwrites at once). Throws EBUDGET on budget excess, EOOM on allocation failure.
  static std::shared_ptr<Storage> Allocate(const Device& dev, size_t bytes, bool zero = true);
  // Host memory accounted under kHostStaging. `budgeted` = false: counted in the total but never
  // refused (the server's own copies, e.g. a checkpoint's, which callers must not be able to fail).
  static std::shared_ptr<Storage> AllocateStaging(size_t bytes, bool budgeted = true);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  const Device& device() const { return device_; }

 private:
  Storage(const Device& dev, void* data, size_t bytes) : device_(dev), data_(data), bytes_(bytes) {}
  Device device_;
  void* data_;
  size_t bytes_;
};

// Copies bytes between any two storages' devices (host<->host, host<->gpu, gpu<->gpu).
void CopyBytes(const Device& dst_dev, void* dst, const Device& src_dev, const void* src, size_t bytes);

}  // namespace gps
