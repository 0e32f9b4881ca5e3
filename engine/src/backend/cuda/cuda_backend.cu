// The CUDA backend: the same kernel functors as the CPU backend, launched as grid-stride kernels;
// collectives through Thrust's CUDA system. Only launch mechanics and memory live here.
#include <cuda_runtime.h>

#include <thrust/system/cuda/execution_policy.h>

#include "../kernel_backend.hpp"
#include "engram/engine/error.hpp"

namespace engram::cuda {

namespace {
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw Error::internal(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
  }
}

template <class F>
__global__ void for_each_kernel(std::int64_t n, F f) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    f(i);
  }
}
}  // namespace

struct Exec {
  // Small chunks: many threads each walk a short slice; histograms live in local memory.
  static constexpr NeuronId kcap_chunk = 1024;

  template <class F>
  static void for_each_index(std::int64_t n, const F& f) {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    const std::int64_t blocks = std::min<std::int64_t>((n + kThreads - 1) / kThreads, 1 << 20);
    for_each_kernel<<<static_cast<unsigned>(blocks), kThreads>>>(n, f);
    check(cudaGetLastError(), "kernel launch");
  }
  static auto policy() { return thrust::cuda::par; }
};

class CudaBackend final : public detail::KernelBackend<Exec> {
 public:
  CudaBackend() { check(cudaSetDevice(0), "cudaSetDevice"); }
  ~CudaBackend() override { release_workspaces(); }
  BackendKind kind() const noexcept override { return BackendKind::cuda; }
  std::string_view name() const noexcept override { return "cuda"; }

  void* allocate(std::size_t bytes) override {
    void* ptr = nullptr;
    check(cudaMalloc(&ptr, bytes), "cudaMalloc");
    return ptr;
  }
  void release(void* ptr) noexcept override { cudaFree(ptr); }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "copy to host");
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "copy from host");
  }
  void copy_within(void* dst, const void* src, std::size_t bytes) override {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "device copy");
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    check(cudaMemset(dst, 0, bytes), "cudaMemset");
  }
  void synchronize() override { check(cudaDeviceSynchronize(), "synchronize"); }
};

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

}  // namespace engram::cuda
