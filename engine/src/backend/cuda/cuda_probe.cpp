// Asks the CUDA runtime what devices exist. Host code only (g++), so `engram info` and the
// backend factory need no nvcc-compiled unit beyond the kernels themselves.
#include <cuda_runtime_api.h>

#include "engram/engine/backend/backend.hpp"

namespace engram::cuda {

CudaReport probe() {
  CudaReport report;
  report.compiled = true;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    report.status = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    return report;
  }
  if (count == 0) {
    report.status = "the CUDA runtime found no device";
    return report;
  }
  report.usable = true;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    report.devices.push_back(std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                             std::to_string(prop.minor) + ", " +
                             std::to_string(prop.totalGlobalMem >> 30) + " GiB)");
  }
  return report;
}

}  // namespace engram::cuda
