# Builds the gluonps addon. The CPU build always exists; `npm run build:cuda` (GLUONPS_CUDA=1)
# adds the CUDA kernels, compiled by nvcc through build-cuda.sh and linked in.
{
  "variables": {
    "gluonps_cuda%": "<!(node -p \"process.env.GLUONPS_CUDA === '1' ? 1 : 0\")",
    "cuda_home%": "<!(node -p \"process.env.CUDA_HOME || '/usr/local/cuda'\")"
  },
  "targets": [
    {
      "target_name": "gluonps",
      "sources": [
        "src/addon.cc",
        "src/tensor.cc",
        "src/device.cc",
        "src/ops.cc",
        "src/kernel_ops.cc",
        "src/file_ops.cc",
        "src/cpu_kernels.cc",
        "src/crc32.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["gluonps_cuda==1", {
          "defines": ["GLUONPS_CUDA"],
          "actions": [{
            "action_name": "nvcc",
            "inputs": ["cuda/kernels.cu", "cuda/runtime.cu", "src/dtype.h", "src/philox.h", "src/optim.h", "src/kernels.h", "src/cuda_bridge.h", "src/errors.h", "build-cuda.sh"],
            "outputs": ["<(module_root_dir)/build/cuda/libgluonps_cuda.a"],
            "action": ["bash", "build-cuda.sh", "<(cuda_home)", "<(module_root_dir)/build/cuda"]
          }],
          "libraries": [
            "<(module_root_dir)/build/cuda/libgluonps_cuda.a",
            "-L<(cuda_home)/lib64",
            "-lcudart",
            "-Wl,-rpath,<(cuda_home)/lib64"
          ]
        }]
      ]
    }
  ]
}
