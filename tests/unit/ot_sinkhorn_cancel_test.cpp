// Cancelling a long Sinkhorn solve (SinkhornOptions::progress): the solver asks every
// `check_every` iterations, from the calling thread only, and throws Error::cancelled soon after
// the answer turns to no — on the CPU scaling path (problems in parallel and one at a time), the
// log-domain path, and the CUDA path when a GPU exists. A solve nobody cancels is unchanged.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engine/progress.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "support/backends.hpp"
#include "support/ot_problems.hpp"

namespace {

using engram::ot::Problem;
using engram::ot::SinkhornOptions;

class SinkhornCancelTest : public ::testing::TestWithParam<std::string> {};

// Problems that never converge (tol far below double resolution) within max_iter = 10^6.
std::vector<Problem<double>> endless(std::size_t count, std::int64_t n) {
  std::mt19937_64 rng(5);
  std::vector<Problem<double>> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(engram::testing::random_ot_problem<double>(rng, n, n, 2, 1e-3, true));
  return out;
}

TEST_P(SinkhornCancelTest, StopsWithinCheckEveryIterationsOfTheAnswer) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  for (const bool scaling : {true, false}) {
    for (const std::size_t problems : {std::size_t{1}, std::size_t{6}}) {
      SinkhornOptions o;
      o.dim = 2;
      o.tol = 1e-300;
      o.max_iter = 1000000;
      o.check_every = 5;
      o.cpu_scaling = scaling;
      const std::thread::id caller = std::this_thread::get_id();
      std::atomic<int> asked{0};
      std::atomic<bool> other_thread{false};
      o.progress = engram::Progress({}, [&] {
        if (std::this_thread::get_id() != caller) other_thread = true;
        return ++asked <= 20;  // 20 answers of yes: about 100 iterations, then stop
      });
      try {
        engram::ot::solve(backend, endless(problems, 40), o);
        FAIL() << "the solve was not cancelled";
      } catch (const engram::Error& e) {
        EXPECT_EQ(e.code(), engram::ErrorCode::cancelled) << e.what();
      }
      EXPECT_FALSE(other_thread) << "the hook was asked from a worker thread";
      // Asked once per check_every iterations of the problem the caller works on: it stopped at
      // the first no (one more look per problem at most, for problems started after it).
      EXPECT_GE(asked.load(), 21);
      EXPECT_LE(asked.load(), 21 + static_cast<int>(problems)) << "scaling " << scaling;
    }
  }
}

TEST_P(SinkhornCancelTest, AHookThatAlwaysSaysYesChangesNothing) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(9);
  std::vector<Problem<double>> problems;
  for (int i = 0; i < 3; ++i) problems.push_back(engram::testing::random_ot_problem<double>(rng, 12 + i, 9, 2, 0.05, false));
  SinkhornOptions o;
  o.dim = 2;
  o.plan = true;
  const auto plain = engram::ot::solve(backend, problems, o);
  int asked = 0;
  o.progress = engram::Progress({}, [&] { return ++asked > 0; });
  const auto hooked = engram::ot::solve(backend, problems, o);
  EXPECT_GT(asked, 0);
  for (std::size_t p = 0; p < problems.size(); ++p) {
    EXPECT_EQ(plain[p].plan, hooked[p].plan);
    EXPECT_EQ(plain[p].iterations, hooked[p].iterations);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SinkhornCancelTest, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
