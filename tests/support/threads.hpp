#pragma once
// Runs a block of a test with a given OpenMP thread count and restores the previous count after,
// so determinism tests can compare 1 thread with several on the CPU backend.
//
//   std::vector<int> one, two;
//   { engram::testing::OmpThreads t(1); one = run(); }
//   { engram::testing::OmpThreads t(2); two = run(); }
//   EXPECT_EQ(one, two);
#include <omp.h>

namespace engram::testing {

class OmpThreads {
 public:
  explicit OmpThreads(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

// The thread counts every determinism test compares. (More would oversubscribe a 2-core CI
// machine, where spinning OpenMP barriers make every launch slow.)
inline constexpr int kThreadCounts[] = {1, 2};

}  // namespace engram::testing
