// cuda_bridge.h: the host-side CUDA runtime calls the addon needs, implemented in
// native/cuda/runtime.cu. Only compiled when GLUONPS_CUDA is defined.
#pragma once
#include <cstddef>

#ifdef GLUONPS_CUDA
namespace gps {
namespace cuda {
int DeviceCount();
void SetDevice(int device);
void* Malloc(int device, size_t bytes);  // zero-filled; throws CodedError (EOOM, EDEVICE)
void Free(int device, void* ptr);
// device -1 means host memory. Synchronous.
void Memcpy(int dst_device, void* dst, int src_device, const void* src, size_t bytes);
}  // namespace cuda
}  // namespace gps
#endif
