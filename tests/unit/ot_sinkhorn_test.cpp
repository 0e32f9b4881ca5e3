// Batched log-domain Sinkhorn (kernels/ot, models/ot/sinkhorn.hpp): gradients against central
// finite differences, a ragged batch against each problem alone, single precision at ε = 1e-4 of
// the cost scale, unbalanced optimality conditions, the Sinkhorn divergence, and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "support/backends.hpp"
#include "support/ot_problems.hpp"

namespace {

using engram::ot::Problem;
using engram::ot::SinkhornOptions;
using engram::testing::random_ot_problem;

class SinkhornTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SinkhornTest, GradientMatchesCentralDifferences) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(11);
  for (const auto cost : {engram::ot::CostKind::sq_euclidean, engram::ot::CostKind::p_norm}) {
    Problem<double> p = random_ot_problem<double>(rng, 9, 7, 3, 0.05, /*uniform=*/false);
    SinkhornOptions o;
    o.dim = 3;
    o.cost = cost;
    o.power = 1.5;
    o.tol = 1e-14;
    o.max_iter = 100000;
    o.gradient = true;
    const auto base = engram::ot::solve(backend, std::vector<Problem<double>>{p}, o)[0];
    ASSERT_TRUE(base.converged);
    o.gradient = false;
    const double h = 1e-5;
    std::vector<Problem<double>> shifted;  // x + h e_k and x - h e_k for every coordinate k
    for (std::size_t k = 0; k < p.x.size(); ++k) {
      for (double sign : {1.0, -1.0}) {
        shifted.push_back(p);
        shifted.back().x[k] += sign * h;
      }
    }
    const auto s = engram::ot::solve(backend, shifted, o);
    for (std::size_t k = 0; k < p.x.size(); ++k) {
      const double fd = (s[2 * k].value - s[2 * k + 1].value) / (2 * h);
      EXPECT_NEAR(base.gradient[k], fd, 1e-6 * std::max(1.0, std::abs(fd))) << "coordinate " << k;
    }
  }
}

TEST_P(SinkhornTest, RaggedBatchEqualsEachProblemAlone) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(5);
  std::vector<Problem<double>> problems;
  const int shapes[][2] = {{1, 4}, {17, 3}, {40, 55}, {8, 8}, {25, 12}};
  const double eps[] = {0.5, 0.02, 0.01, 0.1, 0.05};
  for (int k = 0; k < 5; ++k) problems.push_back(random_ot_problem<double>(rng, shapes[k][0], shapes[k][1], 2, eps[k], k % 2 == 0));
  problems[3].tau = 0.3;  // one unbalanced problem in the mix
  SinkhornOptions o;
  o.dim = 2;
  o.tol = 1e-9;
  o.plan = true;
  o.gradient = true;
  const auto together = engram::ot::solve(backend, problems, o);
  for (std::size_t k = 0; k < problems.size(); ++k) {
    const auto alone = engram::ot::solve(backend, std::vector<Problem<double>>{problems[k]}, o)[0];
    SCOPED_TRACE("problem " + std::to_string(k));
    EXPECT_TRUE(alone.converged);
    EXPECT_EQ(together[k].iterations, alone.iterations);
    EXPECT_EQ(together[k].f, alone.f);
    EXPECT_EQ(together[k].g, alone.g);
    EXPECT_EQ(together[k].plan, alone.plan);
    EXPECT_EQ(together[k].gradient, alone.gradient);
    EXPECT_EQ(together[k].value, alone.value);
    EXPECT_EQ(together[k].transport_cost, alone.transport_cost);
  }
}

TEST_P(SinkhornTest, SinglePrecisionAtTinyEpsilonStaysFinite) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(3);
  std::vector<Problem<float>> problems;
  for (bool uniform : {true, false}) problems.push_back(random_ot_problem<float>(rng, 48, 40, 2, 1e-4, uniform));
  SinkhornOptions o;
  o.dim = 2;
  // Float potentials of cost scale 1 carry ~6e-8 absolute error, ~6e-4 in units of ε = 1e-4, per
  // row; the L1 marginal error still gets to ~1e-4 (the row errors partly cancel), at 10^4 iterations.
  o.tol = 1e-3;
  o.max_iter = 50000;
  o.plan = true;
  o.gradient = true;
  const auto solutions = engram::ot::solve(backend, problems, o);
  for (const auto& s : solutions) {
    EXPECT_TRUE(s.converged) << "error " << s.error << " after " << s.iterations;
    EXPECT_LT(s.error, o.tol);
    EXPECT_TRUE(std::isfinite(s.value) && std::isfinite(s.transport_cost) && std::isfinite(s.mass));
    for (const auto* v : {&s.f, &s.g, &s.plan, &s.gradient}) {
      for (float x : *v) ASSERT_TRUE(std::isfinite(x));
    }
    // Marginals checked from the returned plan itself.
    double total = 0;
    for (float x : s.plan) total += x;
    EXPECT_NEAR(total, 1.0, 1e-3);
  }
}

TEST_P(SinkhornTest, UnbalancedSatisfiesItsOptimalityConditions) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(8);
  Problem<double> p = random_ot_problem<double>(rng, 20, 30, 3, 0.05, false);
  for (double& w : p.b) w *= 1.7;  // unequal masses are allowed when unbalanced
  p.tau = 0.2;
  SinkhornOptions o;
  o.dim = 3;
  o.tol = 1e-13;
  o.plan = true;
  const auto s = engram::ot::solve(backend, std::vector<Problem<double>>{p}, o)[0];
  ASSERT_TRUE(s.converged);
  // First-order conditions of the KL-relaxed problem: P 1 = a e^{-f/τ}, Pᵀ 1 = b e^{-g/τ}.
  for (std::int64_t i = 0; i < p.n; ++i) {
    double row = 0;
    for (std::int64_t j = 0; j < p.m; ++j) row += s.plan[static_cast<std::size_t>(i * p.m + j)];
    EXPECT_NEAR(row, p.a[static_cast<std::size_t>(i)] * std::exp(-s.f[static_cast<std::size_t>(i)] / p.tau), 1e-10);
  }
  for (std::int64_t j = 0; j < p.m; ++j) {
    double col = 0;
    for (std::int64_t i = 0; i < p.n; ++i) col += s.plan[static_cast<std::size_t>(i * p.m + j)];
    EXPECT_NEAR(col, p.b[static_cast<std::size_t>(j)] * std::exp(-s.g[static_cast<std::size_t>(j)] / p.tau), 1e-10);
  }
  // As τ grows the solution tends to the balanced one's mass (normalised inputs).
  Problem<double> q = random_ot_problem<double>(rng, 20, 30, 3, 0.05, false);
  q.tau = 1e6;
  EXPECT_NEAR(engram::ot::solve(backend, std::vector<Problem<double>>{q}, o)[0].mass, 1.0, 1e-4);
}

TEST_P(SinkhornTest, DivergenceIsZeroOnIdenticalCloudsAndPositiveOtherwise) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(2);
  Problem<double> same = random_ot_problem<double>(rng, 25, 25, 3, 0.1, false);
  same.y = same.x;
  same.b = same.a;
  Problem<double> apart = random_ot_problem<double>(rng, 25, 30, 3, 0.1, true);
  for (double& v : apart.y) v += 0.3;
  SinkhornOptions o;
  o.dim = 3;
  o.tol = 1e-12;
  const auto d = engram::ot::sinkhorn_divergence(backend, std::vector<Problem<double>>{same, apart}, o);
  EXPECT_NEAR(d[0], 0.0, 1e-10);
  EXPECT_GT(d[1], 0.01);
  // The debiased divergence lies below the biased entropic value and above zero.
  EXPECT_LT(d[1], engram::ot::solve(backend, std::vector<Problem<double>>{apart}, o)[0].value);
}

void expect_bad_input(const std::function<void()>& call, const std::string& field) {
  try {
    call();
    ADD_FAILURE() << "no error; expected bad input naming " << field;
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST_P(SinkhornTest, BadInputsAreNamed) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(1);
  const Problem<double> good = random_ot_problem<double>(rng, 5, 4, 3, 0.1, false);
  SinkhornOptions o;
  o.dim = 3;
  const auto solve_one = [&](const Problem<double>& p, const SinkhornOptions& opt) {
    return [&backend, p, opt] { engram::ot::solve(backend, std::vector<Problem<double>>{p}, opt); };
  };
  Problem<double> nan_point = good;
  nan_point.x[4] = std::nan("");
  expect_bad_input(solve_one(nan_point, o), "problems[0].x[4]");
  Problem<double> negative = good;
  negative.b[2] = -0.1;
  expect_bad_input(solve_one(negative, o), "problems[0].b[2]");
  Problem<double> ragged = good;
  ragged.y.pop_back();
  expect_bad_input(solve_one(ragged, o), "problems[0].y.size");
  Problem<double> wrong_weights = good;
  wrong_weights.a.push_back(0.1);
  expect_bad_input(solve_one(wrong_weights, o), "problems[0].a.size");
  for (double eps : {0.0, -1.0, std::nan("")}) {
    Problem<double> bad_eps = good;
    bad_eps.eps = eps;
    expect_bad_input(solve_one(bad_eps, o), "problems[0].eps");
  }
  Problem<double> heavier = good;
  for (double& w : heavier.b) w *= 2;
  expect_bad_input(solve_one(heavier, o), "problems[0].b");
  SinkhornOptions no_dim;
  expect_bad_input(solve_one(good, no_dim), "dim");
  Problem<double> stored = good;
  stored.cost.assign(19, 0.5);
  SinkhornOptions matrix;
  matrix.cost = engram::ot::CostKind::stored;
  expect_bad_input(solve_one(stored, matrix), "problems[0].cost.size");
}

INSTANTIATE_TEST_SUITE_P(Backends, SinkhornTest, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
