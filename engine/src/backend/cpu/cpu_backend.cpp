// The CPU backend: kernels run as OpenMP loops; collectives use Thrust's OpenMP
// system (the same Thrust the CUDA backend uses, taken from the CUDA toolkit's cccl headers).
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <mutex>
#include <new>

#include "engram/engine/backend/eigen.hpp"
#if defined(_OPENMP)
#include <omp.h>
#endif
#include <thrust/system/omp/execution_policy.h>

#include "../kernel_backend.hpp"
#include "engram/kernels/core/parallel_guard.hpp"

namespace engram::cpu {

struct Exec {
  // Large chunks: a CPU thread streams through memory; per-chunk histograms stay in L1.
  static constexpr NeuronId kcap_chunk = 1u << 15;

  template <class F>
  static void for_each_index(std::int64_t n, const F& f) {
    // A single work item (one brain's pick, one chunk) runs inline: a parallel region would only
    // add a fork/join, which costs a scheduler time slice when the cores are oversubscribed.
#pragma omp parallel for schedule(static) if (n > 1)
    for (std::int64_t i = 0; i < n; ++i) f(i);
  }
  static auto policy() { return thrust::omp::par; }
};

class CpuBackend final : public engram::detail::KernelBackend<Exec> {
 public:
  ~CpuBackend() override { release_workspaces(); }
  BackendKind kind() const noexcept override { return BackendKind::cpu; }
  std::string_view name() const noexcept override { return "cpu"; }

  void* allocate(std::size_t bytes) override {
    // 64-byte alignment keeps rows of a batch from sharing cache lines at their edges.
    void* ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (ptr == nullptr) throw std::bad_alloc();
    return ptr;
  }
  void release(void* ptr) noexcept override { std::free(ptr); }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void copy_within(void* dst, const void* src, std::size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    // Parallel zeroing: for [batch, n] input rows this is a bandwidth-bound step of its own.
    auto* bytes_out = static_cast<unsigned char*>(dst);
    constexpr std::int64_t kBlock = 1 << 20;
    const std::int64_t blocks = (static_cast<std::int64_t>(bytes) + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t begin = b * kBlock;
      const std::int64_t len = std::min<std::int64_t>(kBlock, static_cast<std::int64_t>(bytes) - begin);
      std::memset(bytes_out + begin, 0, static_cast<std::size_t>(len));
    }
  }
  void synchronize() override {}

  // ---- gemm through Eigen ----
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
            const float* b, float beta, float* c) override {
    blocked_gemm(trans_a, trans_b, m, n, k, alpha, a, 0, b, 0, beta, c, 0, 1);
  }
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
            const double* a, const double* b, double beta, double* c) override {
    blocked_gemm(trans_a, trans_b, m, n, k, alpha, a, 0, b, 0, beta, c, 0, 1);
  }
  void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                    const float* a, std::int64_t stride_a, const float* b, std::int64_t stride_b, float beta, float* c,
                    std::int64_t stride_c, std::int64_t batch) override {
    blocked_gemm(trans_a, trans_b, m, n, k, alpha, a, stride_a, b, stride_b, beta, c, stride_c, batch);
  }
  void gemm_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                    const double* a, std::int64_t stride_a, const double* b, std::int64_t stride_b, double beta,
                    double* c, std::int64_t stride_c, std::int64_t batch) override {
    blocked_gemm(trans_a, trans_b, m, n, k, alpha, a, stride_a, b, stride_b, beta, c, stride_c, batch);
  }

 private:
  // Rows of C per block. Each block is one single-threaded Eigen product whose blocking is fixed
  // (configure_eigen). An element's bits depend only on its operands and on Eigen's panel over
  // the columns of C and its depth blocking (from n and k), not on how many full blocks share one
  // product: so full 64-row blocks are merged into one product while the call still has about
  // kItemsPerThread items per thread (each product packs op(B) once: merging saves repacking it
  // per 64 rows), and a last partial block stays a product of its own, as it always was. Results
  // are the same bits for every thread count (tests/unit/cpu_gemm_test.cpp compares with 64-row
  // products on 1 and 2 threads).
  static constexpr std::int64_t kGemmRowBlock = 64;
  static constexpr std::int64_t kItemsPerThread = 4;

  template <class T>
  static void blocked_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                           const T* a, std::int64_t stride_a, const T* b, std::int64_t stride_b, T beta, T* c,
                           std::int64_t stride_c, std::int64_t batch) {
    if (m == 0 || n == 0 || batch == 0) return;
    const std::int64_t full = m / kGemmRowBlock, partial = m % kGemmRowBlock != 0 ? 1 : 0;
    std::int64_t threads = 1;
#if defined(_OPENMP)
    threads = omp_get_max_threads();
#endif
    const std::int64_t wanted = std::max<std::int64_t>(1, (kItemsPerThread * threads + batch - 1) / batch);
    const std::int64_t groups = std::min(full, wanted);
    const std::int64_t span = groups > 0 ? (full + groups - 1) / groups : 0;  // full blocks per group
    const std::int64_t used = span > 0 ? (full + span - 1) / span : 0;
    const std::int64_t blocks = used + partial;
    // Eigen allocates its packing buffers on the heap for large blocks: out of memory there
    // must come back as std::bad_alloc, not abort the process from a worker thread.
    ParallelGuard guard;
#pragma omp parallel for schedule(static) if (batch * blocks > 1)
    for (std::int64_t item = 0; item < batch * blocks; ++item) {
      guard.run([&] {
        const std::int64_t r = item / blocks, g = item % blocks;
        const std::int64_t row0 = g < used ? g * span * kGemmRowBlock : full * kGemmRowBlock;
        const std::int64_t rows = g < used ? std::min(span * kGemmRowBlock, full * kGemmRowBlock - row0)
                                           : m - full * kGemmRowBlock;
        row_block(trans_a, trans_b, n, k, alpha, a + r * stride_a, m, b + r * stride_b, beta, c + r * stride_c, row0,
                  rows);
      });
    }
    guard.rethrow();
  }

  // C[row0 .. row0 + rows) of one product, through strided maps (no copies).
  template <class T>
  static void row_block(bool trans_a, bool trans_b, std::int64_t n, std::int64_t k, T alpha, const T* a,
                        std::int64_t m, const T* b, T beta, T* c, std::int64_t row0, std::int64_t rows) {
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Strided = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
    Eigen::Map<Mat> cm(c + row0 * n, rows, n);
    if (beta == T(0)) {
      cm.setZero();  // beta = 0 must not read C (it may hold NaN)
    } else if (beta != T(1)) {
      cm *= beta;
    }
    if (k == 0) return;
    // op(A) rows [row0, row0 + rows): A stored [m, k] (rows of it) or [k, m] (columns of it).
    const Strided am_rows(a + row0 * k, rows, k, Eigen::OuterStride<>(k));
    const Strided am_cols(a + row0, k, rows, Eigen::OuterStride<>(m));
    // A row-major [r, c] matrix read as column-major is its transpose: no copies either way.
    Eigen::Map<const Mat> bm(b, trans_b ? n : k, trans_b ? k : n);
    if (!trans_a && !trans_b) cm.noalias() += alpha * am_rows * bm;
    else if (trans_a && !trans_b) cm.noalias() += alpha * am_cols.transpose() * bm;
    else if (!trans_a && trans_b) cm.noalias() += alpha * am_rows * bm.transpose();
    else cm.noalias() += alpha * am_cols.transpose() * bm.transpose();
  }
};

// Eigen picks its GEMM blocking from the thread count and the cache sizes it detects: fix both,
// so products are the same bits on every thread count and on every machine of one ISA.
void configure_eigen() {
  static std::once_flag once;
  std::call_once(once, [] {
    Eigen::setNbThreads(1);
    Eigen::setCpuCacheSizes(32 * 1024, 1024 * 1024, 8 * 1024 * 1024);
  });
}

std::unique_ptr<Backend> make_cpu_backend() {
  configure_eigen();
  return std::make_unique<CpuBackend>();
}

}  // namespace engram::cpu
