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
