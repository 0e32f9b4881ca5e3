// The rows of the side-by-side table against the Assembly Calculus authors' C++ engine (NEMO):
// a stimulus of k neurons projected into area A (n neurons, cap k) with the recurrence A -> A,
// p = 0.01 and beta = 0.05, as bench/peers/nemo_driver.cpp runs the reference. bench/peers/
// nemo_assembly.py runs both and prints the table.
//
//   BM_NemoStep/mode/n/k     one brain: 25 untimed steps, then 25 timed iterations of one step
//                            each (the marginal time per step after step 25). mode 0 = lazy,
//                            1 = implicit (exact, no build phase).
//   BM_NemoLazyBrains/1000   1000 lazy brains of n = 10^5, k = 317, 25 steps each, run as a sweep
//                            runs them (run_projection_batch, batches of 250); one iteration is the
//                            whole run, as the reference's 1000 brains one after another.
//
// Counters: support/k (brain 0 at the end; BM_NemoLazyBrains: the mean over all brains).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/projection_kind.hpp"

namespace engram::bench {
namespace {

constexpr int kWarmSteps = 25;
constexpr int kTimedSteps = 25;
constexpr double kNemoP = 0.01;

assembly::BrainSpec nemo_spec(NeuronId n, std::uint32_t k, assembly::GraphMode mode) {
  assembly::BrainSpec spec;
  spec.areas = {assembly::AreaSpec{"A", n, k}};
  spec.stimuli = {assembly::StimulusSpec{"s", k}};
  spec.fibers = {assembly::FiberSpec{"s", "A", kBeta}, assembly::FiberSpec{"A", "A", kBeta}};
  spec.p = kNemoP;
  spec.mode = mode;
  return spec;
}

void BM_NemoStep(benchmark::State& state) {
  const auto mode = state.range(0) == 0 ? assembly::GraphMode::lazy : assembly::GraphMode::implicit_graph;
  const auto n = static_cast<NeuronId>(state.range(1));
  const auto k = static_cast<std::uint32_t>(state.range(2));
  auto batch = assembly::make_batch(backend(), nemo_spec(n, k, mode), {assembly::BrainId{7777, 0}});
  for (int t = 0; t < kWarmSteps; ++t) batch->project();
  backend().synchronize();
  for (auto _ : state) {
    batch->project();
    backend().synchronize();
  }
  state.counters["support/k"] = static_cast<double>(batch->support(0, "A")) / k;
}

void BM_NemoLazyBrains(benchmark::State& state) {
  const auto brains = static_cast<std::uint32_t>(state.range(0));
  constexpr NeuronId kN = 100'000;
  constexpr std::uint32_t kK = 317;
  // One-brain jobs of one shape class, run as a sweep runs them (run_projection_batch, in batches
  // of 250): on the CPU a thread owns a brain for all its steps.
  constexpr std::uint32_t kChunk = 250;
  assembly::ProjectionExperiment job;
  job.brain = nemo_spec(kN, kK, assembly::GraphMode::lazy);
  job.steps = kWarmSteps;
  double support = 0;
  for (auto _ : state) {
    for (std::uint32_t first = 0; first < brains; first += kChunk) {
      std::vector<assembly::ProjectionExperiment> jobs;
      for (std::uint32_t b = first; b < std::min(brains, first + kChunk); ++b) {
        job.seed = 1000 + b;
        jobs.push_back(job);
      }
      const auto summaries = assembly::run_projection_batch(jobs, backend());
      backend().synchronize();
      for (const auto& brain : summaries) support += static_cast<double>(brain[0].support);
    }
  }
  state.counters["support/k"] = support / static_cast<double>(state.iterations()) / brains / kK;
}

BENCHMARK(BM_NemoStep)
    ->Args({0, 100'000, 317})
    ->Args({0, 1'000'000, 1'000})
    ->Args({1, 100'000, 317})
    ->Args({1, 250'000, 500})
    ->ArgNames({"lazy0_exact1", "n", "k"})
    ->Iterations(kTimedSteps)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_NemoLazyBrains)->Arg(1000)->ArgName("brains")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace engram::bench
