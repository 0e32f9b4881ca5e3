// engram's batched log-domain Sinkhorn against POT's ot.bregman.sinkhorn_log / ot.sinkhorn2 on
// fresh random problems (several sizes, ε from 1e-3 to 1, uniform and non-uniform weights), both
// run to a marginal error of 1e-10 in double precision. POT runs in a Python subprocess
// (tests/peers/pot_reference.py); the test fails, never skips, when POT is missing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "support/backends.hpp"
#include "support/ot_problems.hpp"

namespace {

using engram::ot::Problem;

struct PotAnswer {
  long iterations = 0;
  double cost = 0, err = 0;
  std::vector<double> plan, log_u, log_v;
};

std::vector<double> weights_or_uniform(const std::vector<double>& w, std::int64_t count) {
  return w.empty() ? std::vector<double>(static_cast<std::size_t>(count), 1.0 / static_cast<double>(count)) : w;
}

std::vector<PotAnswer> run_pot(const std::vector<Problem<double>>& problems, double tol, long max_iter) {
  const auto dir = std::filesystem::temp_directory_path() / ("engram_pot_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto in_path = dir / "in.txt", out_path = dir / "out.txt";
  {
    std::ofstream in(in_path);
    in.precision(17);
    in << problems.size() << '\n';
    for (const auto& p : problems) {
      in << p.n << ' ' << p.m << ' ' << p.eps << ' ' << tol << ' ' << max_iter << '\n';
      for (double v : weights_or_uniform(p.a, p.n)) in << v << ' ';
      in << '\n';
      for (double v : weights_or_uniform(p.b, p.m)) in << v << ' ';
      in << '\n';
      for (double v : engram::testing::sq_euclidean_cost(p.x, p.y, 3)) in << v << ' ';
      in << '\n';
    }
  }
  const std::string command = "python3 " ENGRAM_SOURCE_DIR "/tests/peers/pot_reference.py " + in_path.string() +
                              " " + out_path.string();
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::filesystem::remove_all(dir);
    ADD_FAILURE() << "POT reference failed (exit status " << status << ") running: " << command
                  << "\nInstall the peers: pip install -r python/requirements-dev.txt (pot==0.9.5)";
    return {};
  }
  std::ifstream out(out_path);
  std::string version_line;
  std::getline(out, version_line);
  std::vector<PotAnswer> answers(problems.size());
  for (std::size_t k = 0; k < problems.size(); ++k) {
    PotAnswer& a = answers[k];
    out >> a.iterations >> a.cost >> a.err;
    a.plan.resize(static_cast<std::size_t>(problems[k].n * problems[k].m));
    a.log_u.resize(static_cast<std::size_t>(problems[k].n));
    a.log_v.resize(static_cast<std::size_t>(problems[k].m));
    for (double& v : a.plan) out >> v;
    for (double& v : a.log_u) out >> v;
    for (double& v : a.log_v) out >> v;
  }
  EXPECT_TRUE(static_cast<bool>(out)) << "could not read " << out_path;
  std::filesystem::remove_all(dir);
  return answers;
}

double max_abs_diff_rel(const std::vector<double>& got, const std::vector<double>& want) {
  double diff = 0, scale = 0;
  for (std::size_t k = 0; k < want.size(); ++k) {
    diff = std::max(diff, std::abs(got[k] - want[k]));
    scale = std::max(scale, std::abs(want[k]));
  }
  return diff / scale;
}

class SinkhornPotParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SinkhornPotParity, PlanCostAndPotentialsMatchSinkhornLog) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  std::mt19937_64 rng(7);
  std::vector<Problem<double>> problems;
  // At ε = 1e-3 of the cost scale Sinkhorn needs 10^4 to 10^5+ iterations on some problems of
  // 16+ points (POT and engram alike); smaller problems keep that case within seconds.
  const std::vector<std::pair<int, int>> shapes = {{7, 5}, {30, 40}, {64, 48}}, small = {{7, 5}, {12, 10}};
  for (double eps : {1.0, 0.1, 0.01, 0.001}) {
    for (const auto& [n, m] : eps < 0.005 ? small : shapes) {
      for (bool uniform : {true, false}) {
        problems.push_back(engram::testing::random_ot_problem<double>(rng, n, m, 3, eps, uniform));
      }
    }
  }
  constexpr double kTol = 1e-10;
  constexpr long kMaxIter = 200000;
  const std::vector<PotAnswer> pot = run_pot(problems, kTol, kMaxIter);
  ASSERT_EQ(pot.size(), problems.size());

  engram::ot::SinkhornOptions online;
  online.dim = 3;
  online.tol = kTol;
  online.max_iter = static_cast<std::int32_t>(kMaxIter);
  online.plan = true;
  const auto from_points = engram::ot::solve(backend, problems, online);

  std::vector<Problem<double>> stored = problems;
  for (auto& p : stored) {
    p.cost = engram::testing::sq_euclidean_cost(p.x, p.y, 3);
    p.x.clear();
    p.y.clear();
  }
  engram::ot::SinkhornOptions matrix = online;
  matrix.cost = engram::ot::CostKind::stored;
  const auto from_matrix = engram::ot::solve(backend, stored, matrix);

  for (std::size_t k = 0; k < problems.size(); ++k) {
    const Problem<double>& p = problems[k];
    SCOPED_TRACE("problem " + std::to_string(k) + ": n=" + std::to_string(p.n) + " m=" + std::to_string(p.m) +
                 " eps=" + std::to_string(p.eps) + (p.a.empty() ? " uniform" : " weighted"));
    ASSERT_LT(pot[k].err, kTol) << "POT did not converge in " << pot[k].iterations << " iterations";
    for (const auto* solutions : {&from_points, &from_matrix}) {
      const auto& s = (*solutions)[k];
      ASSERT_TRUE(s.converged) << "error " << s.error << " after " << s.iterations << " iterations";
      EXPECT_LT(s.error, kTol);
      EXPECT_LT(max_abs_diff_rel(s.plan, pot[k].plan), 1e-6);
      EXPECT_NEAR(s.transport_cost, pot[k].cost, 1e-6 * std::abs(pot[k].cost));
      // POT's plan is exp(log_u_i - M_ij/ε + log_v_j); engram's f_i = ε (log_u_i - log a_i), up to the
      // constant that can move between f and g.
      const auto a = weights_or_uniform(p.a, p.n), b = weights_or_uniform(p.b, p.m);
      std::vector<double> f(s.f), f_pot(a.size()), g(s.g), g_pot(b.size());
      for (std::size_t i = 0; i < a.size(); ++i) f_pot[i] = p.eps * (pot[k].log_u[i] - std::log(a[i]));
      for (std::size_t j = 0; j < b.size(); ++j) g_pot[j] = p.eps * (pot[k].log_v[j] - std::log(b[j]));
      const double shift = f[0] - f_pot[0];
      for (double& v : f) v -= shift;
      for (double& v : g) v += shift;
      EXPECT_LT(max_abs_diff_rel(f, f_pot), 1e-6);
      EXPECT_LT(max_abs_diff_rel(g, g_pot), 1e-6);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SinkhornPotParity, ::testing::Values("cpu", "cuda"),
                         engram::testing::backend_name);

}  // namespace
