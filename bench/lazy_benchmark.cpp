// The lazy-mode projection step (assembly::LazyBatch) at n = 10^6, 10^7 and 10^9 neurons per area:
// a stimulus of k neurons fires into area A (cap k) with recurrence A -> A; p = 0.001,
// beta = 0.05; k = sqrt(n) (10^3, 3162) or 10^4 at n = 10^9. One brain.
//
// Setup builds the batch and takes kWarmupSteps untimed steps (the early steps materialise most
// of the support); each timed iteration is one further project(). Nothing in a step is O(n), so
// the time depends on k, the support and the stored edges, not on n.
//
// Counters:
//   support/k   neurons of A materialised (ever fired), in units of k, at the end
//   edges       stored edges of both fibers at the end
//   MiB         backend memory held by the batch at the end
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/assembly/lazy_batch.hpp"

namespace engram::bench {
namespace {

constexpr int kWarmupSteps = 10;
constexpr double kLazyP = 0.001;

void BM_LazyStep(benchmark::State& state) {
  const auto n = static_cast<NeuronId>(state.range(0));
  const auto k = static_cast<std::uint32_t>(state.range(1));
  assembly::BrainSpec spec;
  spec.areas = {assembly::AreaSpec{"A", n, k}};
  spec.stimuli = {assembly::StimulusSpec{"s", k}};
  spec.fibers = {assembly::FiberSpec{"s", "A", kBeta}, assembly::FiberSpec{"A", "A", kBeta}};
  spec.p = kLazyP;
  spec.mode = assembly::GraphMode::lazy;
  assembly::LazyBatch batch(backend(), spec, {assembly::BrainId{1, 0}});
  for (int t = 0; t < kWarmupSteps; ++t) batch.project();
  for (auto _ : state) {
    batch.project();
    backend().synchronize();
  }
  state.counters["support/k"] = static_cast<double>(batch.support(0, "A")) / k;
  state.counters["edges"] = static_cast<double>(batch.edge_count(0, 0) + batch.edge_count(0, 1));
  state.counters["MiB"] = static_cast<double>(batch.memory_bytes()) / (1 << 20);
}

BENCHMARK(BM_LazyStep)
    ->Args({1'000'000, 1'000})
    ->Args({10'000'000, 3'162})
    ->Args({1'000'000'000, 10'000})
    ->ArgNames({"n", "k"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace engram::bench
