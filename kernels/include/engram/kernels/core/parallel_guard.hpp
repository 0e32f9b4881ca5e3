#pragma once
// An exception may not leave an OpenMP parallel region: the runtime calls std::terminate and the
// process aborts (exit 134), losing the error. Work items that can throw (an allocation inside
// Eigen's GEMM, a std::vector in a model's loop) run through a ParallelGuard: the first exception
// is kept, later items are skipped, and rethrow() raises it on the calling thread after the
// region, where it becomes an ordinary engram::Error or std::bad_alloc.
//
//   engram::ParallelGuard guard;
//   #pragma omp parallel for
//   for (std::int64_t i = 0; i < n; ++i) guard.run([&] { work(i); });
//   guard.rethrow();
#include <atomic>
#include <exception>
#include <mutex>

namespace engram {

class ParallelGuard {
 public:
  template <class F>
  void run(F&& item) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      item();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!failed_.exchange(true)) first_ = std::current_exception();
    }
  }
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  void rethrow() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr first_;
};

}  // namespace engram
