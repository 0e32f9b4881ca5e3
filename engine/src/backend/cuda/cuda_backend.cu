// The CUDA backend: the same kernel functors as the CPU backend, launched as grid-stride kernels;
// collectives through Thrust's CUDA system. Only launch mechanics and memory live here. This
// file, cuda_probe.cpp and every model's *_kernels.cu form libengram_cuda.so, which the host
// library opens on demand through the one entry point at the bottom (cuda_module_api.hpp).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <vector>

#include <thrust/system/cuda/execution_policy.h>

#include "../cuda_module_api.hpp"
#include "../kernel_backend.hpp"
#include "engram/engine/backend/device_kernels.hpp"
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

// Each CudaBackend owns a stream; the launching thread's current stream is what the Exec
// policy below uses, so several backends on several host threads run their batches concurrently.
thread_local cudaStream_t current_stream = nullptr;

struct Exec {
  // Small chunks: many threads each walk a short slice; histograms live in local memory.
  static constexpr NeuronId kcap_chunk = 1024;

  template <class F>
  static void for_each_index(std::int64_t n, const F& f) {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    const std::int64_t blocks = std::min<std::int64_t>((n + kThreads - 1) / kThreads, 1 << 20);
    for_each_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, current_stream>>>(n, f);
    check(cudaGetLastError(), "kernel launch");
  }
  static auto policy() { return thrust::cuda::par.on(current_stream); }
};

class CudaBackend final : public detail::KernelBackend<Exec> {
 public:
  CudaBackend() {
    check(cudaSetDevice(0), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    current_stream = stream_;
  }
  ~CudaBackend() override {
    release_workspaces();
    if (blas_ != nullptr) cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }
  BackendKind kind() const noexcept override { return BackendKind::cuda; }
  std::string_view name() const noexcept override { return "cuda"; }

  void* allocate(std::size_t bytes) override {
    bind();
    void* ptr = nullptr;
    check(cudaMallocAsync(&ptr, bytes, stream_), "cudaMallocAsync");
    return ptr;
  }
  void release(void* ptr) noexcept override { cudaFreeAsync(ptr, stream_); }
  // Copies to the host return with the data in place; the others are ordered on the stream.
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    bind();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
    check(cudaStreamSynchronize(stream_), "synchronize");
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    bind();
    // The host buffer may be a temporary: wait until the copy has read it.
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "copy from host");
    check(cudaStreamSynchronize(stream_), "synchronize");
  }
  void copy_within(void* dst, const void* src, std::size_t bytes) override {
    bind();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "device copy");
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    bind();
    check(cudaMemsetAsync(dst, 0, bytes, stream_), "cudaMemset");
  }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "synchronize"); }
  void* native_stream() noexcept override { return stream_; }

  // ---- nn: gemm through cuBLAS ----
  // cuBLAS is column-major; a row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T,
  // so the operands swap and the leading dimensions are the stored row lengths.
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
            const float* b, float beta, float* c) override {
    if (m == 0 || n == 0) return;
    blas_check(cublasSgemm(blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                           static_cast<int>(trans_b ? k : n), a, static_cast<int>(trans_a ? m : k), &beta, c,
                           static_cast<int>(n)));
  }
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
            const double* a, const double* b, double beta, double* c) override {
    if (m == 0 || n == 0) return;
    blas_check(cublasDgemm(blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                           static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                           static_cast<int>(trans_b ? k : n), a, static_cast<int>(trans_a ? m : k), &beta, c,
                           static_cast<int>(n)));
  }

  void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                    const float* a, std::int64_t stride_a, const float* b, std::int64_t stride_b, float beta, float* c,
                    std::int64_t stride_c, std::int64_t batch) override {
    if (m == 0 || n == 0 || batch == 0) return;
    blas_check(cublasSgemmStridedBatched(blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                                         static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                         static_cast<int>(trans_b ? k : n), stride_b, a,
                                         static_cast<int>(trans_a ? m : k), stride_a, &beta, c,
                                         static_cast<int>(n), stride_c, static_cast<int>(batch)));
  }
  void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                    const double* a, std::int64_t stride_a, const double* b, std::int64_t stride_b, double beta,
                    double* c, std::int64_t stride_c, std::int64_t batch) override {
    if (m == 0 || n == 0 || batch == 0) return;
    blas_check(cublasDgemmStridedBatched(blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                                         static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                         static_cast<int>(trans_b ? k : n), stride_b, a,
                                         static_cast<int>(trans_a ? m : k), stride_a, &beta, c,
                                         static_cast<int>(n), stride_c, static_cast<int>(batch)));
  }

 protected:
  // Kernels launch on the calling thread's current stream: make it this backend's.
  void bind_launch_context() override { bind(); }

 private:
  void bind() const { current_stream = stream_; }
  static void blas_check(cublasStatus_t status) {
    if (status != CUBLAS_STATUS_SUCCESS) throw Error::internal("cuBLAS gemm failed with status " + std::to_string(static_cast<int>(status)));
  }
  cublasHandle_t blas() {
    if (blas_ == nullptr) blas_check(cublasCreate(&blas_));
    blas_check(cublasSetStream(blas_, stream_));
    return blas_;
  }
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
};

CudaReport probe();

}  // namespace engram::cuda

namespace engram::device {

namespace {
std::vector<detail::DeviceKernelEntry>& kernel_table() {
  static std::vector<detail::DeviceKernelEntry> table;
  return table;
}
}  // namespace

KernelRegistration::KernelRegistration(const char* type_name, DeviceLaunchFn launcher) {
  kernel_table().push_back({type_name, launcher});
}

void check_launch(cudaError_t status, const char* type_name) {
  if (status != cudaSuccess) {
    throw Error::internal(std::string("CUDA launch of ") + type_name + ": " + cudaGetErrorString(status));
  }
}

}  // namespace engram::device

extern "C" __attribute__((visibility("default"))) const engram::detail::CudaModuleApi* engram_cuda_module() {
  static const engram::detail::CudaModuleApi api{
      engram::detail::kCudaModuleVersion, &engram::cuda::probe,
      []() -> engram::Backend* { return new engram::cuda::CudaBackend(); },
      [](std::size_t* count) -> const engram::detail::DeviceKernelEntry* {
        *count = engram::device::kernel_table().size();
        return engram::device::kernel_table().data();
      }};
  return &api;
}
