#!/usr/bin/env bash
# Compiles the CUDA kernels into a static library for binding.gyp (GLUONPS_CUDA=1 only).
# --fmad=false matches the CPU build's -ffp-contract=off, so both devices round identically.
set -euo pipefail
cuda_home=$1
out=$2
nvcc=${NVCC:-$cuda_home/bin/nvcc}
command -v "$nvcc" >/dev/null || nvcc=nvcc
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
arch=${GLUONPS_CUDA_ARCH:-"-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"}
for f in kernels runtime; do
  # shellcheck disable=SC2086
  "$nvcc" -std=c++17 -O3 --fmad=false -Xcompiler -fPIC -DGLUONPS_CUDA $arch \
    -I"$here/src" -c "$here/cuda/$f.cu" -o "$out/$f.o"
done
ar rcs "$out/libgluonps_cuda.a" "$out/kernels.o" "$out/runtime.o"
