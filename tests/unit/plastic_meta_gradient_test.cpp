// The exact meta-gradient (forward-mode tangents through the unrolled rule-driven chain,
// contracted with a reverse pass of the final loss) against central finite differences in double
// precision, and the antithetic ES estimate against the exact gradient.
#include <gtest/gtest.h>

#include <cmath>

#include "engram/models/plasticity/meta_learning.hpp"
#include "engram/models/plasticity/plastic_data.hpp"
#include "support/backends.hpp"

namespace engram::plastic {
namespace {

MetaProblem small_problem(std::uint32_t rounds, plasticity::RuleMode mode, std::uint64_t seed) {
  const PlasticShape shape{5, 12, 3, 6, rounds, 0.4};
  MetaProblem p;
  p.shape = shape;
  p.initial = random_weights(shape, seed, 0, 1.0);
  p.batch = relu_teacher_data(5, 3, 8, 12, seed, 0);
  p.eta = 0.3;
  p.mode = mode;
  p.only_misclassified = true;
  return p;
}

struct Case {
  std::uint32_t rounds;
  plasticity::RuleMode mode;
  std::uint64_t seed;
  bool held_out = false;  // score the chain on other examples than it learned from
};

class MetaGradientFd : public ::testing::TestWithParam<Case> {};

TEST_P(MetaGradientFd, MatchesCentralDifferences) {
  const Case c = GetParam();
  MetaProblem problem = small_problem(c.rounds, c.mode, c.seed);
  if (c.held_out) problem.score = relu_teacher_data(5, 3, 8, 9, c.seed, 1);
  const std::vector<double> params = PlasticRule::random(c.rounds, 0.5, c.seed + 100).params;
  ASSERT_EQ(params.size(), c.rounds == 1 ? 28u : 88u);
  const MetaGradient g = meta_gradient(problem, params);
  EXPECT_NEAR(g.loss, meta_loss(problem, params), 1e-12);
  const double h = 1e-5;
  double diff2 = 0.0, norm2 = 0.0, nonzero = 0.0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    std::vector<double> up = params, down = params;
    up[k] += h;
    down[k] -= h;
    std::vector<std::uint32_t> sig_up, sig_down;
    const double f_up = meta_loss(problem, up, &sig_up);
    const double f_down = meta_loss(problem, down, &sig_down);
    // Finite differences are only meaningful within one piece: no k-cap selection, firing state
    // or prediction may flip under the perturbation.
    ASSERT_EQ(sig_up, g.signature) << "selection flipped for parameter " << k;
    ASSERT_EQ(sig_down, g.signature) << "selection flipped for parameter " << k;
    const double fd = (f_up - f_down) / (2 * h);
    diff2 += (fd - g.gradient[k]) * (fd - g.gradient[k]);
    norm2 += fd * fd;
    nonzero += std::fabs(g.gradient[k]) > 0.0;
    EXPECT_NEAR(g.gradient[k], fd, 1e-5 * std::max(1.0, std::fabs(fd))) << "parameter " << k;
  }
  EXPECT_LT(std::sqrt(diff2 / norm2), 1e-5);
  EXPECT_GT(nonzero, 0.3 * static_cast<double>(params.size()));  // most entries take part
}

INSTANTIATE_TEST_SUITE_P(Rules, MetaGradientFd,
                         ::testing::Values(Case{1, plasticity::RuleMode::additive, 3}, Case{1, plasticity::RuleMode::multiplicative, 4},
                                           Case{2, plasticity::RuleMode::additive, 5}, Case{2, plasticity::RuleMode::multiplicative, 6},
                                           Case{1, plasticity::RuleMode::multiplicative, 7, true},
                                           Case{2, plasticity::RuleMode::additive, 8, true}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return "R" + std::to_string(param_info.param.rounds) +
                                  (param_info.param.mode == plasticity::RuleMode::additive ? "_additive" : "_multiplicative") +
                                  (param_info.param.held_out ? "_held_out" : "");
                         });

class EsGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(EsGradient, PopulationOf512AgreesWithExactGradient) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  const PlasticShape shape{6, 24, 3, 12, 1, 0.4};
  MetaProblem problem;
  problem.shape = shape;
  problem.initial = random_weights(shape, 9, 0, 1.0);
  problem.batch = relu_teacher_data(6, 3, 8, 30, 9, 0);
  problem.eta = 0.2;
  const std::vector<double> params = PlasticRule::random(1, 0.3, 10).params;
  const MetaGradient exact = meta_gradient(problem, params);
  EsOptions options;
  options.population = 512;
  options.sigma = 1e-2;
  options.seed = 11;
  const std::vector<double> es = es_gradient(problem, params, options, backend);
  double dot = 0, ne = 0, nx = 0;
  for (std::size_t k = 0; k < es.size(); ++k) {
    dot += es[k] * exact.gradient[k];
    ne += es[k] * es[k];
    nx += exact.gradient[k] * exact.gradient[k];
  }
  const double cosine = dot / std::sqrt(ne * nx);
  EXPECT_GT(cosine, 0.5);
  // The population's losses come from the batched backend path; its unperturbed loss must be
  // the host chain's loss.
  const std::vector<double> one = population_losses(problem, params, 1, backend);
  EXPECT_NEAR(one[0], exact.loss, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Backends, EsGradient, ::testing::Values("cpu", "cuda"), testing::backend_name);

TEST(MetaTraining, AdamOnExactGradientLowersTheMetaLoss) {
  const MetaProblem problem = small_problem(1, plasticity::RuleMode::additive, 21);
  std::vector<double> params = PlasticRule::random(1, 0.1, 22).params;
  const double before = meta_loss(problem, params);
  MetaTraining options;
  options.steps = 30;
  options.adam.lr = 0.05;
  const auto log = meta_train([&](std::uint32_t) { return problem; }, params, options, nullptr);
  ASSERT_EQ(log.size(), 30u);
  EXPECT_LT(meta_loss(problem, params), 0.8 * before);
}

TEST(MetaTraining, LearnMaskFreezesEntries) {
  const MetaProblem problem = small_problem(1, plasticity::RuleMode::additive, 23);
  std::vector<double> params = PlasticRule::random(1, 0.1, 24).params;
  const std::vector<double> start = params;
  MetaTraining options;
  options.steps = 5;
  options.learn.assign(params.size(), 0);
  for (std::size_t k = 20; k < 28; ++k) options.learn[k] = 1;  // the output table
  meta_train([&](std::uint32_t) { return problem; }, params, options, nullptr);
  for (std::size_t k = 0; k < 20; ++k) EXPECT_EQ(params[k], start[k]) << k;
  bool moved = false;
  for (std::size_t k = 20; k < 28; ++k) moved = moved || params[k] != start[k];
  EXPECT_TRUE(moved);
}

TEST(NaturalSelection, KeepsTheFitterHalf) {
  auto backend = make_backend("cpu");
  MetaProblem problem = small_problem(1, plasticity::RuleMode::additive, 25);
  // Few examples: each generation is a handful of batched launches.
  problem.batch = problem.batch.slice(0, 6);
  PlasticRule rule = PlasticRule::zeros(1);
  const plasticity::RuleLayout l = rule.layout();
  SelectionOptions options;
  options.index = l.output(0b11, 0);  // true-label entry of neurons that fired in both rounds
  options.population = 6;
  options.generations = 3;
  options.mutation = 0.5;
  options.seed = 26;
  rule.params[options.index] = -1.0;  // a harmful start: selection must move it up
  const SelectionResult r = natural_selection([&](std::uint32_t) { return problem; }, rule.params, options, *backend);
  ASSERT_EQ(r.best_loss.size(), 3u);
  // The same problem every generation and elitist survival: the best loss never rises.
  for (std::size_t g = 1; g < r.best_loss.size(); ++g) EXPECT_LE(r.best_loss[g], r.best_loss[g - 1]);
  std::vector<double> best = rule.params;
  best[options.index] = r.best_value;
  EXPECT_NEAR(meta_loss(problem, best), r.best_loss.back(), 1e-12);
  EXPECT_LT(r.best_loss.back(), meta_loss(problem, rule.params));
}

}  // namespace
}  // namespace engram::plastic
