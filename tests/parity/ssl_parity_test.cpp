// Swap-VAE and MYOW on each backend against the CPU: a few training steps of small models on
// synthetic reach data give the same losses, parameters and representations within float
// tolerance (cuBLAS sums a GEMM in another order than the CPU's blocked Eigen; every pointwise
// kernel runs the same float operations, the module being built with --fmad=false). The cpu
// instance checks the comparison itself (it must be exact); the cuda instance skips without a
// usable device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/swap_vae.hpp"
#include "support/backends.hpp"

namespace {

using engram::ssl::ReachRuns;

engram::ssl::ReachData parity_data() {
  engram::ssl::SyntheticReachSpec spec;
  spec.trials = 32;
  spec.time = 8;
  spec.neurons = 24;
  return engram::ssl::synthetic_reach(spec, 5);
}

double worst_relative(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1e-3, std::fabs(a[i]) + std::fabs(b[i])));
  }
  return worst;
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

class SslParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SslParity, SwapVaeStepsMatchTheCpu) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = engram::make_backend("cpu");
  const auto data = parity_data();
  const ReachRuns runs(data, {41, 42}, 0.25);
  engram::ssl::SwapVaeConfig c;
  c.hidden = {16};
  c.content = 4;
  c.style = 3;
  c.batch = 32;
  c.lr = 5e-3;
  engram::ssl::SwapVaeModel<float> on_cpu(c, runs, *cpu), on_backend(c, runs, backend);
  const double tolerance = GetParam() == "cpu" ? 0.0 : 2e-3;
  for (std::uint32_t s = 0; s < 5; ++s) {
    const auto a = on_cpu.train_step(s, {5e-3, 5e-3});
    const auto b = on_backend.train_step(s, {5e-3, 5e-3});
    for (std::size_t r = 0; r < a.size(); ++r) EXPECT_LE(worst_relative(a[r], b[r]), tolerance) << "step " << s;
  }
  for (std::int64_t r = 0; r < 2; ++r) {
    EXPECT_LE(worst_relative(widen(on_cpu.weights().run_values(r)), widen(on_backend.weights().run_values(r))), tolerance);
  }
  std::vector<std::vector<double>> ca, sa, cb, sb;
  on_cpu.represent(ca, sa);
  on_backend.represent(cb, sb);
  EXPECT_LE(worst_relative(ca[0], cb[0]), tolerance * 5);
  EXPECT_LE(worst_relative(sa[1], sb[1]), tolerance * 5);
}

TEST_P(SslParity, MyowStepsWithMiningMatchTheCpu) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = engram::make_backend("cpu");
  const auto data = parity_data();
  const ReachRuns runs(data, {51, 52}, 0.25);
  engram::ssl::MyowConfig c;
  c.hidden = {16};
  c.representation = 8;
  c.projection = 6;
  c.projection_hidden = 12;
  c.mined_projection = 4;
  c.mined_hidden = 8;
  c.batch = 32;
  c.pool = 40;
  c.miner_k = 2;
  c.lr = 5e-3;
  engram::ssl::MyowModel<float> on_cpu(c, runs, *cpu), on_backend(c, runs, backend);
  const double tolerance = GetParam() == "cpu" ? 0.0 : 2e-3;
  // Two BYOL steps, then mined views: the nearest-neighbour choice must agree too, or the mined
  // term (index 2) would differ by far more than rounding.
  for (std::uint32_t s = 0; s < 5; ++s) {
    const double w = s < 2 ? 0.0 : 0.3;
    const auto a = on_cpu.train_step(s, w, 0.95, {5e-3, 5e-3});
    const auto b = on_backend.train_step(s, w, 0.95, {5e-3, 5e-3});
    for (std::size_t r = 0; r < a.size(); ++r) EXPECT_LE(worst_relative(a[r], b[r]), tolerance) << "step " << s;
  }
  for (std::int64_t r = 0; r < 2; ++r) {
    EXPECT_LE(worst_relative(widen(on_cpu.weights().run_values(r)), widen(on_backend.weights().run_values(r))), tolerance);
  }
  EXPECT_LE(worst_relative(on_cpu.represent()[1], on_backend.represent()[1]), tolerance * 5);
}

INSTANTIATE_TEST_SUITE_P(Backends, SslParity, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
