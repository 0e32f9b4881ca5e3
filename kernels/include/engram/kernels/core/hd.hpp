#pragma once
// ENGRAM_HD marks a function that must compile for both the host (g++, CPU backend) and the
// device (nvcc, CUDA backend). Kernel functors use it on operator() so one source serves both.
//
//   struct Scale { float* x; float a; ENGRAM_HD void operator()(std::int64_t i) const { x[i] *= a; } };

#if defined(__CUDACC__)
#define ENGRAM_HD __host__ __device__
#define ENGRAM_FORCEINLINE __forceinline__
#else
#define ENGRAM_HD
#define ENGRAM_FORCEINLINE inline __attribute__((always_inline))
#endif

#if defined(__CUDA_ARCH__)
#define ENGRAM_DEVICE_PASS 1
#else
#define ENGRAM_DEVICE_PASS 0
#endif
