// The CPU backend: the kernels of kernels/ run as OpenMP loops; collectives use Thrust's OpenMP
// system (the same Thrust the CUDA backend uses, taken from the CUDA toolkit's cccl headers).
#include <cstdlib>
#include <cstring>
#include <new>

#include <Eigen/Core>
#include <thrust/system/omp/execution_policy.h>

#include "../kernel_backend.hpp"

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

class CpuBackend final : public detail::KernelBackend<Exec> {
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

  // ---- nn: gemm through Eigen ----
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
            const float* b, float beta, float* c) override {
    eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }
  void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
            const double* a, const double* b, double beta, double* c) override {
    eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  }

 private:
  template <class T>
  static void eigen_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                         const T* a, const T* b, T beta, T* c) {
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<Mat> cm(c, m, n);
    if (m == 0 || n == 0) return;
    if (beta == T(0)) {
      cm.setZero();  // beta = 0 must not read C (it may hold NaN)
    } else if (beta != T(1)) {
      cm *= beta;
    }
    if (k == 0) return;
    // A row-major [r, c] matrix read as column-major is its transpose: no copies either way.
    Eigen::Map<const Mat> am(a, trans_a ? k : m, trans_a ? m : k);
    Eigen::Map<const Mat> bm(b, trans_b ? n : k, trans_b ? k : n);
    if (!trans_a && !trans_b) cm.noalias() += alpha * am * bm;
    else if (trans_a && !trans_b) cm.noalias() += alpha * am.transpose() * bm;
    else if (!trans_a && trans_b) cm.noalias() += alpha * am * bm.transpose();
    else cm.noalias() += alpha * am.transpose() * bm.transpose();
  }
};

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace engram::cpu
