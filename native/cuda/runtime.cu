// runtime.cu: device enumeration, memory and copies through the CUDA runtime, with every
// failure turned into a CodedError naming the call (never an abort): EOOM when memory ran out,
// EDEVICE otherwise.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda_bridge.h"
#include "errors.h"

namespace gps {
namespace cuda {

static void Check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error state
    throw CodedError(ErrorCode::kDevice, std::string(what) + " failed: " + cudaGetErrorString(err));
  }
}

int DeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;  // no driver or no device: the build works, gpu(i) reports "no such GPU"
  }
  return n;
}

void SetDevice(int device) { Check(cudaSetDevice(device), "cudaSetDevice"); }

void* Malloc(int device, size_t bytes) {
  SetDevice(device);
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw CodedError(ErrorCode::kOom, "gpu(" + std::to_string(device) + "): out of memory allocating " +
                             std::to_string(bytes) + " bytes");
  }
  Check(err, "cudaMalloc");
  Check(cudaMemset(ptr, 0, bytes), "cudaMemset");
  Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return ptr;
}

void Free(int device, void* ptr) {
  if (cudaSetDevice(device) == cudaSuccess) cudaFree(ptr);
  cudaGetLastError();
}

void Memcpy(int dst_device, void* dst, int src_device, const void* src, size_t bytes) {
  if (dst_device >= 0 && src_device >= 0 && dst_device != src_device) {
    Check(cudaMemcpyPeer(dst, dst_device, src, src_device, bytes), "cudaMemcpyPeer");
    return;
  }
  SetDevice(dst_device >= 0 ? dst_device : src_device);
  Check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy");
}

}  // namespace cuda
}  // namespace gps
