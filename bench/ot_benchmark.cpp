// Batched log-domain Sinkhorn (models/ot/sinkhorn.hpp) at fixed iteration counts, so the time
// per iteration compares directly with POT's ot.bregman.sinkhorn_log on the same inputs
// (bench/peers/pot_sinkhorn.py builds them with the same formula and prints the ratios).
//
//   BM_Sinkhorn/n/dim/eps_milli/online   n = m points uniform in [0, 1)^dim; ε = eps_milli/1000 of
//                                        the cost scale; online: cost from the points, else stored
//   BM_SinkhornBatch/problems/n          `problems` independent problems of n = m points, dim 3, ε = 0.1
// No ε-scaling and no early stop (tol 1e-300): every run does exactly `iters` iterations. The
// counter ms_per_iter is wall time per iteration, upload and outputs included.
// n = 10^5 (online) and n = 10^4 at dim 64 take minutes on a small CPU: set ENGRAM_BENCH_OT_LARGE=1.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/ot/sinkhorn.hpp"

namespace engram::bench {
namespace {

// The inputs bench/peers/pot_sinkhorn.py rebuilds: a multiplicative hash of the element index.
std::vector<double> points(std::int64_t count, std::int64_t dim, std::uint64_t side) {
  std::vector<double> out(static_cast<std::size_t>(count * dim));
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::uint64_t h = (static_cast<std::uint64_t>(k) * 2654435761ull + side * 2246822519ull) & 0xffffffffull;
    out[k] = (static_cast<double>(h) + 0.5) / 4294967296.0;
  }
  return out;
}

// Standard normal points for the time-to-solution rows (the hashed points above lie on a lattice,
// where Sinkhorn at small ε hardly converges, for POT as for engram): Box-Muller on splitmix64
// uniforms; bench/peers/pot_sinkhorn.py rebuilds them the same way.
std::vector<double> gaussian_points(std::int64_t count, std::int64_t dim, std::uint64_t side) {
  const auto uniform = [side](std::uint64_t k) {
    std::uint64_t z = (side << 40) + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) / 9007199254740992.0;
  };
  std::vector<double> out(static_cast<std::size_t>(count * dim));
  for (std::size_t k = 0; k < out.size(); ++k) {
    const double u1 = uniform(2 * k), u2 = uniform(2 * k + 1);
    out[k] = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  return out;
}

std::int32_t iterations_for(std::int64_t n) { return n <= 1000 ? 20 : n <= 10000 ? 3 : 1; }

ot::SinkhornOptions fixed_iterations(std::int32_t dim, std::int32_t iters) {
  ot::SinkhornOptions o;
  o.dim = dim;
  o.tol = 1e-300;
  o.max_iter = iters;
  o.check_every = iters;
  o.eps_decay = 1.0;
  return o;
}

void BM_Sinkhorn(benchmark::State& state) {
  const std::int64_t n = state.range(0), dim = state.range(1);
  const double eps = static_cast<double>(state.range(2)) / 1000.0;
  const bool online = state.range(3) != 0;
  const std::int32_t iters = iterations_for(n);
  const double bytes = online ? 8.0 * static_cast<double>(n * dim * 2) : 8.0 * static_cast<double>(n * n);
  if (skip_if_over_budget(state, bytes * 2)) return;
  ot::Problem<double> p;
  p.x = points(n, dim, 1);
  p.y = points(n, dim, 2);
  ot::SinkhornOptions o = fixed_iterations(static_cast<std::int32_t>(dim), iters);
  p.eps = eps * ot::cost_scale(p, o);
  if (!online) {
    p.n = p.m = n;
    p.cost.resize(static_cast<std::size_t>(n * n));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < dim; ++k) {
          const double d = p.x[static_cast<std::size_t>(i * dim + k)] - p.y[static_cast<std::size_t>(j * dim + k)];
          s += d * d;
        }
        p.cost[static_cast<std::size_t>(i * n + j)] = s;
      }
    }
    p.x.clear();
    p.y.clear();
    o.cost = ot::CostKind::stored;
  }
  const std::vector<ot::Problem<double>> problems{p};
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto s = ot::solve(backend(), problems, o);
    benchmark::DoNotOptimize(s);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.counters["ms_per_iter"] = 1e3 * seconds / static_cast<double>(state.iterations()) / iters;
}

void BM_SinkhornBatch(benchmark::State& state) {
  const std::int64_t count = state.range(0), n = state.range(1);
  const std::int32_t iters = 20;
  std::vector<ot::Problem<double>> problems;
  const ot::SinkhornOptions o = fixed_iterations(3, iters);
  for (std::int64_t b = 0; b < count; ++b) {
    ot::Problem<double> p;
    p.x = points(n, 3, static_cast<std::uint64_t>(2 * b + 1));
    p.y = points(n, 3, static_cast<std::uint64_t>(2 * b + 2));
    p.eps = 0.1 * ot::cost_scale(p, o);
    problems.push_back(std::move(p));
  }
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto s = ot::solve(backend(), problems, o);
    benchmark::DoNotOptimize(s);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.counters["ms_per_iter"] = 1e3 * seconds / static_cast<double>(state.iterations()) / iters;
}

// Time to solution: one problem of n = m standard normal points in R^dim, ε = 0.01 of the cost scale,
// uniform weights, online squared-Euclidean cost, ε-scaling on (the defaults), solved to an L1
// marginal error of 1e-9; the whole ot::solve call (upload, cost, iterations, outputs) is timed,
// after one untimed solve of the same problem.
// scaling:1 is the CPU's default path (stabilised kernel scalings), scaling:0 the log-domain
// functors. bench/peers/pot_sinkhorn.py times POT's plain and log-domain solvers on the same
// points (their distance matrix included) beside it.
void BM_SinkhornSolve(benchmark::State& state) {
  const std::int64_t n = state.range(0), dim = state.range(1);
  ot::Problem<double> p;
  p.x = gaussian_points(n, dim, 1);
  p.y = gaussian_points(n, dim, 2);
  ot::SinkhornOptions o;
  o.dim = static_cast<std::int32_t>(dim);
  o.tol = 1e-9;
  o.max_iter = 100000;
  o.cpu_scaling = state.range(2) != 0;
  p.eps = 0.01 * ot::cost_scale(p, o);
  const std::vector<ot::Problem<double>> problems{p};
  // One untimed solve first: the peer script keeps POT's best of several calls in one warm
  // process, so engram's timed call must not be the first of its process either (that one pays
  // the OpenMP team's start, the allocator's first mappings and the page faults behind them).
  benchmark::DoNotOptimize(ot::solve(backend(), problems, o));
  double seconds = 0, iterations = 0, cost = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto s = ot::solve(backend(), problems, o);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s[0].converged) state.SkipWithError("did not converge");
    iterations = s[0].iterations;
    cost = s[0].transport_cost;
  }
  state.counters["ms"] = 1e3 * seconds / static_cast<double>(state.iterations());
  state.counters["sinkhorn_iterations"] = iterations;
  state.counters["transport_cost"] = cost;
}

BENCHMARK(BM_SinkhornSolve)
    ->Args({1000, 3, 1})
    ->Args({1000, 64, 1})
    ->Args({10000, 3, 1})
    ->Args({1000, 3, 0})
    ->Args({1000, 64, 0})
    ->ArgNames({"n", "dim", "scaling"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

bool large() {
  const char* v = std::getenv("ENGRAM_BENCH_OT_LARGE");
  return v != nullptr && std::string(v) == "1";
}

void register_sinkhorn(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {1000, 10000, 100000}) {
    for (std::int64_t dim : {3, 64}) {
      for (std::int64_t eps : {10, 100}) {
        for (std::int64_t online : {0, 1}) {
          if (n == 100000 && !online) continue;  // a 10^5 x 10^5 matrix is 80 GB
          if ((n == 100000 || (n == 10000 && dim == 64)) && !large()) continue;
          b->Args({n, dim, eps, online});
        }
      }
    }
  }
}

BENCHMARK(BM_Sinkhorn)
    ->Apply(register_sinkhorn)
    ->ArgNames({"n", "dim", "eps_milli", "online"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

BENCHMARK(BM_SinkhornBatch)->Args({1000, 100})->ArgNames({"problems", "n"})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace engram::bench
