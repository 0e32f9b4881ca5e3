#pragma once
// What libengram_cuda.so exports: one C entry point returning this table. Shared by the loader
// (cuda_module.cpp, host library) and the module (cuda/cuda_backend.cu); bump the version when
// the table changes, so a stale module is refused rather than misread.
#include <cstddef>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/backend/launch.hpp"

namespace engram::detail {

inline constexpr int kCudaModuleVersion = 1;

struct DeviceKernelEntry {
  const char* type_name;  // typeid(F).name()
  DeviceLaunchFn launcher;
};

struct CudaModuleApi {
  int version;
  CudaReport (*probe)();
  Backend* (*make_backend)();
  const DeviceKernelEntry* (*kernels)(std::size_t* count);
};

}  // namespace engram::detail

extern "C" {
using engram_cuda_module_fn = const engram::detail::CudaModuleApi* (*)();
}
