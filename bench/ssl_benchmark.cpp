// Batched training runs vs one after another for Swap-VAE: training steps per second of R = 5
// runs (the 5 splits x seeds of bench/swap_vae_reach.yaml) of the examples/swap_vae.yaml model
// (174 units -> 128 -> 128 -> content 64 + style 64, minibatch 256) on the shipped reach
// recording, trained as one batch (one strided-batched GEMM and one launch per layer for all R)
// or as R single-run models stepped in turn (what R separate jobs do).
//
//   build/bench/engram_bench --benchmark_filter=BM_SwapVaeSteps
//   (steps_per_s counts run-steps: R per iteration; compare the two at equal R)
//
// MYOW's cost of mining: R = 5 runs of the bench/myow_reach.yaml model (174 -> 256 -> 128,
// minibatch 256, pool 512) stepped with the mined view on (weight 0.1) and off (BYOL), so the
// ratio of the two is the price of the mined view (query and pool encodings, the cosine GEMM,
// the selection and the mined projector/predictor).
//
//   build/bench/engram_bench --benchmark_filter=BM_MyowSteps
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/swap_vae.hpp"

namespace {

const engram::ssl::ReachData& reach() {
  static const engram::ssl::ReachData data =
      engram::ssl::load_reach_data(std::string(ENGRAM_SOURCE_DIR) + "/data/reach/chewie_2013_10_03.npz");
  return data;
}

engram::ssl::SwapVaeConfig example_model() {
  engram::ssl::SwapVaeConfig cfg;  // examples/swap_vae.yaml
  cfg.hidden = {128, 128};
  cfg.content = 64;
  cfg.style = 64;
  cfg.batch = 256;
  cfg.lr = 5e-4;
  return cfg;
}

void BM_SwapVaeStepsBatched(benchmark::State& state) {
  const std::int64_t R = state.range(0);
  std::vector<std::uint64_t> seeds;
  for (std::int64_t r = 0; r < R; ++r) seeds.push_back(static_cast<std::uint64_t>(r + 1));
  const engram::ssl::ReachRuns runs(reach(), seeds, 0.2);
  engram::ssl::SwapVaeModel<float> model(example_model(), runs, engram::bench::backend());
  const std::vector<double> lr(static_cast<std::size_t>(R), 5e-4);
  std::uint32_t s = 0;
  for (auto _ : state) {
    const auto terms = model.train_step(s++, lr);
    benchmark::DoNotOptimize(terms.data());
  }
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SwapVaeStepsOneAfterAnother(benchmark::State& state) {
  const std::int64_t R = state.range(0);
  std::vector<std::unique_ptr<engram::ssl::ReachRuns>> runs;
  std::vector<std::unique_ptr<engram::ssl::SwapVaeModel<float>>> models;
  for (std::int64_t r = 0; r < R; ++r) {
    runs.push_back(std::make_unique<engram::ssl::ReachRuns>(reach(), std::vector<std::uint64_t>{static_cast<std::uint64_t>(r + 1)}, 0.2));
    models.push_back(std::make_unique<engram::ssl::SwapVaeModel<float>>(example_model(), *runs.back(), engram::bench::backend()));
  }
  const std::vector<double> lr = {5e-4};
  std::uint32_t s = 0;
  for (auto _ : state) {
    for (auto& model : models) {
      const auto terms = model->train_step(s, lr);
      benchmark::DoNotOptimize(terms.data());
    }
    ++s;
  }
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}

engram::ssl::MyowConfig myow_bench_model() {
  // bench/myow_reach.yaml before 2026-12-02 (representation 128, AdamW): the model the step
  // figures in docs/self_supervised.md were measured on; the shipped LARS step is the same GEMMs.
  engram::ssl::MyowConfig cfg;
  cfg.hidden = {256};
  return cfg;
}

void BM_MyowSteps(benchmark::State& state) {
  const std::int64_t R = 5;
  const double mined_weight = state.range(0) != 0 ? 0.1 : 0.0;
  std::vector<std::uint64_t> seeds;
  for (std::int64_t r = 0; r < R; ++r) seeds.push_back(static_cast<std::uint64_t>(r + 1));
  const engram::ssl::ReachRuns runs(reach(), seeds, 0.2);
  engram::ssl::MyowModel<float> model(myow_bench_model(), runs, engram::bench::backend());
  const std::vector<double> lr(static_cast<std::size_t>(R), 1e-3);
  std::uint32_t s = 0;
  for (auto _ : state) {
    const auto terms = model.train_step(s++, mined_weight, 0.99, lr);
    benchmark::DoNotOptimize(terms.data());
  }
  state.SetLabel(mined_weight > 0 ? "myow (mined view on)" : "byol (mining off)");
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_MyowSteps)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_SwapVaeStepsBatched)->Arg(5)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_SwapVaeStepsOneAfterAnother)->Arg(5)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
