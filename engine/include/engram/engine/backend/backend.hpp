#pragma once
// Backend: where engram's kernels run. A backend owns memory and a stream, copies, and the
// generic collectives (scan, k-cap selection, GEMM, strided-batched GEMM); any other kernel is a
// model's own functor run through launch(backend, n, f) (launch.hpp). The CPU backend (g++ +
// OpenMP + Thrust's OMP system) is part of the library; the CUDA backend is a module,
// libengram_cuda.so, loaded on first use (cuda_module.cpp), so a CPU run maps no CUDA library.
//
//   auto backend = engram::make_backend("auto");   // cuda when a GPU is usable, else cpu
//   engram::Buffer<float> x(*backend, 1024);
//   engram::launch(*backend, 1024, MyKernel{x.data()});
//
// A Backend instance is not thread-safe (it caches kernel workspaces); use one per thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram {

enum class BackendKind { cpu, cuda };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const noexcept = 0;
  virtual std::string_view name() const noexcept = 0;

  // Memory. Pointers returned by allocate() live in the backend's address space.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* ptr) noexcept = 0;
  virtual void copy_to_host(void* host_dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void copy_within(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void fill_zero(void* dst, std::size_t bytes) = 0;
  virtual void synchronize() = 0;
  // The stream launches run on (a cudaStream_t on CUDA; null on the CPU).
  virtual void* native_stream() noexcept { return nullptr; }

  // out[i] = sum of in[0..i); returns the total.
  virtual EdgeOffset exclusive_scan(const EdgeOffset* in, EdgeOffset* out, std::int64_t n) = 0;

  // Batched k-cap over inputs [batch, n]: winners [batch, k] in increasing neuron order.
  virtual void kcap(const FixedInput* inputs, std::int64_t batch, NeuronId n, std::uint32_t k,
                    NeuronId* winners) = 0;

  // Dense products, row-major: C[m, n] = alpha * op(A) op(B) + beta * C, op(A) [m, k] (A stored
  // [k, m] when trans_a), op(B) [k, n] (B stored [n, k] when trans_b). Eigen on CPU, cuBLAS on CUDA.
  virtual void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                    const float* a, const float* b, float beta, float* c) = 0;
  virtual void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                    const double* a, const double* b, double beta, double* c) = 0;
  // R independent products of one shape: C_r = alpha op(A_r) op(B_r) + beta C_r with
  // X_r = X + r * stride_x (a stride of 0 shares one operand across the batch). cuBLAS strided
  // batched on CUDA. On the CPU every product (and gemm() above) is cut into fixed blocks of rows,
  // each computed by single-threaded Eigen with fixed blocking, so a run's bits depend neither on
  // the thread count nor on how many other runs share the call.
  virtual void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                            const float* a, std::int64_t stride_a, const float* b, std::int64_t stride_b, float beta,
                            float* c, std::int64_t stride_c, std::int64_t batch) = 0;
  virtual void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                            const double* a, std::int64_t stride_a, const double* b, std::int64_t stride_b,
                            double beta, double* c, std::int64_t stride_c, std::int64_t batch) = 0;
};

// "cpu", "cuda" or "auto" (cuda when compiled in and a device is usable, else cpu).
std::unique_ptr<Backend> make_backend(std::string_view name);

// What the CUDA runtime reports on this machine.
struct CudaReport {
  bool compiled = false;       // the CUDA backend is part of this build
  bool usable = false;         // at least one device answered
  std::string status;          // why not, in the runtime's words, when unusable
  std::vector<std::string> devices;  // "NVIDIA H100 (sm_90, 80 GiB)"
};
CudaReport probe_cuda();

std::vector<std::string> compiled_backends();

}  // namespace engram
