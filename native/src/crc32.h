// crc32.h: the crc32 (zlib / IEEE, reflected 0xEDB88320) of the write-ahead log and of checkpoint
// loads. zlib's table-driven crc32 runs at ~3 GB/s on the development VM, which showed in the
// profiles of both (5 ms of each 16 MiB step record, most of a checkpoint load's CPU). On x86-64
// with PCLMULQDQ the bulk is folded with carry-less multiplies (Intel, "Fast CRC Computation for
// Generic Polynomials Using PCLMULQDQ", the algorithm of Linux's crc32-pclmul and Chromium's
// zlib), many times faster; the result is the same crc32, so nothing on disk changes. Other CPUs
// use zlib's crc32_z.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gps {

// Continues `crc` (a finished crc32, 0 for none) over [data, data + len), as zlib's crc32_z.
uint32_t Crc32(uint32_t crc, const uint8_t* data, size_t len);

// Whether Crc32 uses the carry-less multiply path on this CPU (for tests and diagnostics).
bool Crc32Accelerated();

}  // namespace gps
