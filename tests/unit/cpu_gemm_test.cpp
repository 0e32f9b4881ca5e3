// The CPU backend's gemm_batched merges full 64-row blocks of C into larger Eigen products when
// the call has few items per thread (engine/src/backend/cpu/cpu_backend.cpp). Its results must be
// the bits of one Eigen product per 64-row block (what gemm() gives a slice of at most 64 rows),
// on 1 and 2 threads, for every transpose, beta, ragged m, n (including matrix-vector n = 1) and
// depths on both sides of Eigen's depth block (288 floats).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "support/threads.hpp"

namespace {

template <class T>
void check(engram::Backend& cpu, bool ta, bool tb, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
           T beta, std::mt19937& gen) {
  SCOPED_TRACE(::testing::Message() << "ta " << ta << " tb " << tb << " batch " << batch << " m " << m << " n " << n
                                    << " k " << k << " beta " << beta);
  std::normal_distribution<double> normal;
  auto fill = [&](std::vector<T>& v, std::int64_t count) {
    v.resize(static_cast<std::size_t>(count));
    for (auto& x : v) x = static_cast<T>(normal(gen));
  };
  std::vector<T> a, b, c0;
  fill(a, batch * m * k);
  fill(b, batch * k * n);
  fill(c0, batch * m * n);
  const T alpha = static_cast<T>(0.75);
  // Reference: one gemm() per run and 64-row slice of C (a single Eigen product each).
  std::vector<T> want = c0, slice;
  for (std::int64_t r = 0; r < batch; ++r) {
    for (std::int64_t row0 = 0; row0 < m; row0 += 64) {
      const std::int64_t rows = std::min<std::int64_t>(64, m - row0);
      const T* ar = a.data() + r * m * k;
      const T* a_slice = ar + row0 * k;
      if (ta) {  // op(A) rows are columns of A [k, m]: copy them out contiguously
        slice.resize(static_cast<std::size_t>(k * rows));
        for (std::int64_t i = 0; i < k; ++i) {
          for (std::int64_t j = 0; j < rows; ++j) slice[static_cast<std::size_t>(i * rows + j)] = ar[i * m + row0 + j];
        }
        a_slice = slice.data();
      }
      cpu.gemm(ta, tb, rows, n, k, alpha, a_slice, b.data() + r * k * n, beta, want.data() + r * m * n + row0 * n);
    }
  }
  for (int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scoped(threads);
    std::vector<T> got = c0;
    cpu.gemm_batched(ta, tb, m, n, k, alpha, a.data(), m * k, b.data(), k * n, beta, got.data(), m * n, batch);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(T))) << "threads " << threads;
  }
}

template <class T>
void check_all() {
  auto cpu = engram::make_backend("cpu");
  std::mt19937 gen(5);
  for (std::int64_t batch : {1, 5}) {
    for (std::int64_t m : {200, 512}) {
      for (std::int64_t n : {1, 17, 174}) {
        for (std::int64_t k : {8, 174, 300}) {
          for (int t = 0; t < 4; ++t) {
            check<T>(*cpu, (t & 1) != 0, (t & 2) != 0, batch, m, n, k, t == 3 ? T(1) : T(0), gen);
            if (::testing::Test::HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

TEST(CpuGemm, MergedRowBlocksAreTheBitsOf64RowProductsFloat) { check_all<float>(); }
TEST(CpuGemm, MergedRowBlocksAreTheBitsOf64RowProductsDouble) { check_all<double>(); }

}  // namespace
