// NEMO noisy choice: learned weights plus input noise make an area sample a Markov chain.
#include <gtest/gtest.h>

#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/markov.hpp"
#include "support/backends.hpp"

namespace engram::assembly {
namespace {

MarkovExperiment two_state_chain(double beta) {
  MarkovExperiment e;
  e.transitions = {{0.8, 0.2}, {0.2, 0.8}};
  e.n = 200;
  e.k = 100;
  e.p = 0.1;
  e.beta = beta;
  e.noise = 2.0;
  e.train_transitions = 200;
  e.sample_steps = 1000;
  e.seed = 1;
  e.brains = 8;
  e.batch_size = 8;
  return e;
}

// Pooled sampled frequencies over brains: rows x of P_hat.
std::vector<std::vector<double>> pooled(const std::vector<MarkovResult>& results) {
  std::vector<std::vector<double>> counts(2, std::vector<double>(2, 0.0));
  for (const auto& r : results) {
    for (int x = 0; x < 2; ++x) {
      for (int y = 0; y < 2; ++y) counts[x][y] += r.sampled[x][y];
    }
  }
  for (auto& row : counts) {
    const double total = row[0] + row[1];
    for (double& v : row) v /= total;
  }
  return counts;
}

class Markov : public ::testing::TestWithParam<std::string> {};

TEST_P(Markov, SampledTransitionsApproachTheChain) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const MarkovExperiment e = two_state_chain(0.012);
  const auto results = run_markov(e, backend);
  ASSERT_EQ(results.size(), 8u);
  const auto frequencies = pooled(results);
  for (int x = 0; x < 2; ++x) {
    for (int y = 0; y < 2; ++y) {
      EXPECT_NEAR(frequencies[x][y], e.transitions[x][y], 0.1) << "transition " << x << " -> " << y;
    }
  }
  int close = 0;
  for (const auto& r : results) close += r.max_error <= 0.1;
  EXPECT_GE(close, 6) << "most single brains match the chain too";
}

TEST_P(Markov, WithoutLearningTheChoiceIsACoinFlip) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const auto frequencies = pooled(run_markov(two_state_chain(0.0), backend));
  EXPECT_NEAR(frequencies[0][0], 0.5, 0.1);
  EXPECT_NEAR(frequencies[1][1], 0.5, 0.1);
}

TEST(MarkovConfig, RejectsRowsThatAreNotDistributions) {
  MarkovExperiment e = two_state_chain(0.01);
  e.transitions = {{0.7, 0.2}, {0.2, 0.8}};
  try {
    validate(e);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("transitions[0] = 0.89"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("must sum to 1"), std::string::npos) << error.what();
  }
  e.transitions = {{0.5, 0.5}, {0.5, 0.5}};
  e.n = 150;
  EXPECT_THROW(validate(e), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, Markov, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
}  // namespace engram::assembly
