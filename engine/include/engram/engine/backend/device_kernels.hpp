#pragma once
// ENGRAM_DEVICE_KERNEL(F): makes functor type F launchable on the CUDA backend (launch.hpp).
// Used only in a model's <x>_kernels.inl, which one .cpp (g++) and one .cu (nvcc) include:
//
//   // models/<model>/src/<x>_kernels.inl
//   #include "engram/engine/backend/device_kernels.hpp"
//   #include "engram/kernels/nn/adamw.hpp"
//   ENGRAM_DEVICE_KERNEL(engram::nn::AdamW<float>)
//
// Under nvcc the macro instantiates a grid-stride kernel for F and registers it with the CUDA
// module (engine/src/backend/cuda); under g++ it checks what the device will need, so a CPU-only
// build catches a functor the CUDA build would reject.
#include <cstdint>
#include <type_traits>

#include "engram/engine/backend/launch.hpp"

#define ENGRAM_DEVICE_KERNEL_CONCAT2(a, b) a##b
#define ENGRAM_DEVICE_KERNEL_CONCAT(a, b) ENGRAM_DEVICE_KERNEL_CONCAT2(a, b)

#if defined(__CUDACC__)
#include <cuda_runtime.h>

namespace engram::device {

template <class F>
__global__ void for_each_index(std::int64_t n, F f) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// Reports a failed launch with the runtime's words (defined in the CUDA module).
void check_launch(cudaError_t status, const char* type_name);

template <class F>
void launch_on_stream(void* stream, std::int64_t n, const void* functor) {
  constexpr int kThreads = 256;
  const std::int64_t blocks = (n + kThreads - 1) / kThreads < (1 << 20) ? (n + kThreads - 1) / kThreads : (1 << 20);
  for_each_index<F><<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      n, *static_cast<const F*>(functor));
  check_launch(cudaGetLastError(), typeid(F).name());
}

// A static object per listed functor adds it to the module's kernel table at load time.
struct KernelRegistration {
  KernelRegistration(const char* type_name, DeviceLaunchFn launcher);
};

}  // namespace engram::device

#define ENGRAM_DEVICE_KERNEL(...)                                                                   \
  static const ::engram::device::KernelRegistration ENGRAM_DEVICE_KERNEL_CONCAT(engram_kernel_, __COUNTER__){ \
      typeid(__VA_ARGS__).name(), &::engram::device::launch_on_stream<__VA_ARGS__>};
#else
#define ENGRAM_DEVICE_KERNEL(...)                                                                   \
  static_assert(std::is_trivially_copyable_v<__VA_ARGS__>,                                          \
                "ENGRAM_DEVICE_KERNEL: a kernel functor holds raw pointers and sizes only");        \
  static_assert(std::is_invocable_v<const __VA_ARGS__&, std::int64_t>,                              \
                "ENGRAM_DEVICE_KERNEL: a kernel functor has a const operator()(std::int64_t)");
#endif
