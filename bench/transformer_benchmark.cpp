// Batched training runs vs one after another: training steps per second of R runs of the
// examples/train_transformer.yaml model (100 neurons, 2 bins, minibatch 16, width 16, one
// individual and one population layer), trained as one batch (one launch and one strided-batched
// GEMM per layer for all R) or as R single runs stepped in turn (what `--max-batch 1` does).
//
//   build/bench/engram_bench --benchmark_filter=BM_TransformerSteps
//   (steps_per_s counts run-steps: R per iteration; compare the two at equal R)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/data/synthetic.hpp"
#include "engram/models/transformer/training.hpp"

namespace {

using namespace engram::models::transformer;

TransformerConfig example_model() {
  TransformerConfig cfg;
  cfg.width = 16;
  cfg.heads = 1;
  cfg.head_dim = 16;
  cfg.ff_hidden = 64;
  cfg.individual_layers = 1;
  cfg.population_layers = 1;
  cfg.dropout = 0.1;
  cfg.neuron_embedding = true;
  cfg.neurons = 100;
  cfg.outputs = 8;
  return cfg;
}

constexpr std::int64_t kBatch = 16, kTime = 2;

struct Minibatch {
  std::vector<float> counts;
  std::vector<std::int32_t> labels;
};

// R copies of one minibatch of the example's data (the work per step does not depend on it).
Minibatch minibatch(std::int64_t runs) {
  engram::data::AngleSpec spec;
  spec.trials = kBatch;
  spec.time = kTime;
  spec.neurons = 100;
  spec.classes = 8;
  spec.gain = 3.0;
  const auto data = engram::data::angle_population(spec, 1);
  Minibatch m;
  for (std::int64_t r = 0; r < runs; ++r) {
    m.counts.insert(m.counts.end(), data.counts.begin(), data.counts.end());
    m.labels.insert(m.labels.end(), data.labels.begin(), data.labels.end());
  }
  return m;
}

void step(SeparableTransformer& net, const Minibatch& m, std::uint32_t s) {
  const std::vector<float> losses = net.train_step(m.counts.data(), m.labels.data(), nullptr, kBatch, kTime, s);
  benchmark::DoNotOptimize(losses.data());
  auto& w = net.weights();
  w.clip_grad_norm({0, w.params()}, 1.0);
  w.adamw_step({0, w.params()}, {0.01, 0.9, 0.999, 1e-8, 0.0});
}

void BM_TransformerStepsBatched(benchmark::State& state) {
  const std::int64_t R = state.range(0);
  std::vector<std::uint64_t> seeds;
  for (std::int64_t r = 0; r < R; ++r) seeds.push_back(static_cast<std::uint64_t>(r + 1));
  SeparableTransformer net(example_model(), engram::bench::backend(), seeds);
  const Minibatch m = minibatch(R);
  std::uint32_t s = 0;
  for (auto _ : state) {
    step(net, m, s++);
    engram::bench::backend().synchronize();
  }
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TransformerStepsOneAfterAnother(benchmark::State& state) {
  const std::int64_t R = state.range(0);
  // One run's buffers stepped R times: the work of R single-run jobs in turn, without R copies
  // of the activations.
  SeparableTransformer net(example_model(), engram::bench::backend(), std::uint64_t{1});
  const Minibatch m = minibatch(1);
  std::uint32_t s = 0;
  for (auto _ : state) {
    for (std::int64_t r = 0; r < R; ++r) step(net, m, s++);
    engram::bench::backend().synchronize();
  }
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_TransformerStepsBatched)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_TransformerStepsOneAfterAnother)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
