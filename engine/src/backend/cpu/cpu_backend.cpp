// The CPU backend: the kernels of kernels/ run as OpenMP loops; collectives use Thrust's OpenMP
// system (the same Thrust the CUDA backend uses, taken from the CUDA toolkit's cccl headers).
#include <cstdlib>
#include <cstring>
#include <new>

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
};

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace engram::cpu
