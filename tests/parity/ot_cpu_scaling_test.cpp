// The CPU Sinkhorn fast path (stabilised kernel scalings, kernels/ot/cpu_sinkhorn.hpp) against the
// portable log-domain functors it replaces on the CPU (SinkhornOptions::cpu_scaling = false), on
// fresh random problems: stored and online costs (squared Euclidean at low dimension and through
// the GEMM at dimension 32, p-norm), uniform, random and zero weights, balanced and unbalanced,
// ε from 1e-3 to 1 with and without annealing, double and float, ragged batches. Both run to the
// same tolerance; they must agree on the stop, the potentials, plans, values and gradients to the
// stated tolerances, and the fast path's bits must not depend on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "support/ot_problems.hpp"

namespace {

using engram::ot::CostKind;
using engram::ot::Problem;
using engram::ot::SinkhornOptions;
using engram::testing::random_ot_problem;

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
    d = std::max(d, std::abs(static_cast<double>(a[k]) - static_cast<double>(b[k])));
  }
  return d;
}

template <class T>
void expect_same_solutions(const std::vector<Problem<T>>& problems, SinkhornOptions o, double potential_tol,
                           double plan_tol) {
  auto backend = engram::make_backend("cpu");
  o.cpu_scaling = false;
  const auto reference = engram::ot::solve(*backend, problems, o);
  o.cpu_scaling = true;
  const auto fast = engram::ot::solve(*backend, problems, o);
  for (std::size_t p = 0; p < problems.size(); ++p) {
    SCOPED_TRACE("problem " + std::to_string(p) + ", eps " + std::to_string(problems[p].eps));
    const auto& r = reference[p];
    const auto& s = fast[p];
    EXPECT_EQ(s.converged, r.converged);
    EXPECT_NEAR(s.iterations, r.iterations, std::max(2.0, 0.02 * r.iterations));
    EXPECT_LE(s.error, o.tol);
    // Potentials are defined up to a constant shift for balanced problems; compare them shifted.
    const double shift = std::isfinite(problems[p].tau) ? 0.0 : static_cast<double>(s.f[0] - r.f[0]);
    std::vector<double> sf(s.f.begin(), s.f.end()), sg(s.g.begin(), s.g.end()), rf(r.f.begin(), r.f.end()),
        rg(r.g.begin(), r.g.end());
    for (double& v : sf) v -= shift;
    for (double& v : sg) v += shift;
    EXPECT_LE(max_abs_diff(sf, rf), potential_tol);
    EXPECT_LE(max_abs_diff(sg, rg), potential_tol);
    EXPECT_LE(max_abs_diff(s.plan, r.plan), plan_tol);
    EXPECT_LE(max_abs_diff(s.gradient, r.gradient), plan_tol * 100);
    EXPECT_NEAR(s.value, r.value, potential_tol);
    EXPECT_NEAR(s.transport_cost, r.transport_cost, potential_tol);
    EXPECT_NEAR(s.mass, r.mass, plan_tol * 100);
  }
}

TEST(CpuScalingParity, OnlineSquaredEuclideanOverEpsilon) {
  std::mt19937_64 rng(21);
  std::vector<Problem<double>> problems;
  const double eps[] = {1e-3, 3e-3, 1e-2, 0.1, 1.0};
  for (int k = 0; k < 5; ++k) problems.push_back(random_ot_problem<double>(rng, 30 + 7 * k, 45 - 3 * k, 3, eps[k], k % 2 == 1));
  SinkhornOptions o;
  o.dim = 3;
  o.tol = 1e-11;
  o.max_iter = 50000;
  o.plan = true;
  o.gradient = true;
  expect_same_solutions(problems, o, 1e-9, 1e-10);
  o.eps_decay = 1.0;  // no annealing
  expect_same_solutions(problems, o, 1e-9, 1e-10);
}

TEST(CpuScalingParity, GemmCostsAtDimension32) {
  std::mt19937_64 rng(22);
  std::vector<Problem<double>> problems;
  for (double eps : {0.01, 0.1}) problems.push_back(random_ot_problem<double>(rng, 60, 50, 32, eps, false));
  SinkhornOptions o;
  o.dim = 32;
  o.tol = 1e-11;
  o.plan = true;
  o.gradient = true;
  expect_same_solutions(problems, o, 1e-9, 1e-10);
}

TEST(CpuScalingParity, StoredAndPNormCosts) {
  std::mt19937_64 rng(23);
  std::vector<Problem<double>> stored, pnorm;
  for (double eps : {0.005, 0.05, 0.5}) {
    Problem<double> p = random_ot_problem<double>(rng, 40, 33, 2, eps, true);
    pnorm.push_back(p);
    p.cost = engram::testing::sq_euclidean_cost(p.x, p.y, 2);
    p.n = 40;
    p.m = 33;
    p.x.clear();
    p.y.clear();
    stored.push_back(p);
  }
  SinkhornOptions o;
  o.tol = 1e-11;
  o.plan = true;
  o.cost = CostKind::stored;
  expect_same_solutions(stored, o, 1e-9, 1e-10);
  o.cost = CostKind::p_norm;
  o.power = 1.5;
  o.dim = 2;
  o.gradient = true;
  expect_same_solutions(pnorm, o, 1e-9, 1e-10);
}

TEST(CpuScalingParity, UnbalancedAndZeroWeights) {
  std::mt19937_64 rng(24);
  std::vector<Problem<double>> problems;
  for (double tau : {0.05, 1.0}) {
    Problem<double> p = random_ot_problem<double>(rng, 35, 28, 2, 0.02, false);
    p.tau = tau;
    problems.push_back(p);
  }
  Problem<double> z = random_ot_problem<double>(rng, 20, 20, 2, 0.01, false);
  const double moved = z.a[3] + z.a[7];
  z.a[3] = z.a[7] = 0;
  z.a[0] += moved;
  const double moved_b = z.b[5];
  z.b[5] = 0;
  z.b[1] += moved_b;
  problems.push_back(z);
  SinkhornOptions o;
  o.dim = 2;
  o.tol = 1e-12;
  o.plan = true;
  o.gradient = true;
  expect_same_solutions(problems, o, 1e-9, 1e-10);
}

TEST(CpuScalingParity, FloatAtSmallEpsilon) {
  std::mt19937_64 rng(25);
  std::vector<Problem<float>> problems;
  for (double eps : {1e-3, 1e-2}) problems.push_back(random_ot_problem<float>(rng, 48, 40, 2, eps, eps > 5e-3));
  SinkhornOptions o;
  o.dim = 2;
  o.tol = 1e-4;
  o.max_iter = 50000;
  o.plan = true;
  // Float potentials carry ~1e-7 absolute error each step, so the two paths' stops may differ by
  // a few iterations; the answers stay within float's reach of each other.
  auto backend = engram::make_backend("cpu");
  o.cpu_scaling = false;
  const auto reference = engram::ot::solve(*backend, problems, o);
  o.cpu_scaling = true;
  const auto fast = engram::ot::solve(*backend, problems, o);
  for (std::size_t p = 0; p < problems.size(); ++p) {
    EXPECT_TRUE(fast[p].converged);
    EXPECT_NEAR(fast[p].transport_cost, reference[p].transport_cost, 1e-4);
    EXPECT_NEAR(fast[p].mass, 1.0, 1e-3);
    EXPECT_LE(max_abs_diff(fast[p].plan, reference[p].plan), 1e-4);
  }
}

TEST(CpuScalingParity, BitsDoNotDependOnThreads) {
  std::mt19937_64 rng(26);
  // One large problem (its passes split over the threads) and a batch of small ones (problems
  // split over the threads).
  const std::vector<Problem<double>> large{random_ot_problem<double>(rng, 400, 300, 3, 0.01, false)};
  std::vector<Problem<double>> batch;
  for (int k = 0; k < 9; ++k) batch.push_back(random_ot_problem<double>(rng, 20 + k, 30 - k, 3, 0.02, k % 2 == 0));
  SinkhornOptions o;
  o.dim = 3;
  o.tol = 1e-10;
  o.plan = true;
  o.gradient = true;
  auto backend = engram::make_backend("cpu");
  const int threads = omp_get_max_threads();
  for (const std::vector<Problem<double>>* problems : {&large, static_cast<const std::vector<Problem<double>>*>(&batch)}) {
    omp_set_num_threads(1);
    const auto one = engram::ot::solve(*backend, *problems, o);
    omp_set_num_threads(std::max(2, threads));
    const auto many = engram::ot::solve(*backend, *problems, o);
    omp_set_num_threads(threads);
    for (std::size_t p = 0; p < problems->size(); ++p) {
      EXPECT_EQ(one[p].iterations, many[p].iterations);
      EXPECT_EQ(one[p].f, many[p].f);
      EXPECT_EQ(one[p].g, many[p].g);
      EXPECT_EQ(one[p].plan, many[p].plan);
      EXPECT_EQ(one[p].gradient, many[p].gradient);
      EXPECT_EQ(one[p].value, many[p].value);
    }
  }
}

}  // namespace
