// Rule-driven updates per second for a population of 1024 plastic k-cap networks (v = 100,
// d = 64, m = 10, cap = 50, R = 1, p = 0.5): one update = one brain's forward pass on one example
// plus its rule update. Three ways to drive the same population:
//   BM_PlasticBatched     one PlasticBatch of 1024 brains: 2R + 4 launches per example cover all
//   BM_PlasticOneAtATime  1024 PlasticBatch objects of one brain each, stepped in turn
//   BM_PlasticHostLoop    the host path (rule_step) per brain: no backend, no launches
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench_common.hpp"
#include "engram/models/plasticity/plastic_batch.hpp"
#include "engram/models/plasticity/plastic_data.hpp"

namespace engram::bench {
namespace {

constexpr std::int64_t kBrains = 1024;
const plastic::PlasticShape kShape{64, 100, 10, 50, 1, 0.5};

struct Population {
  std::vector<plastic::PlasticWeights> weights;
  std::vector<double> tables;
  plastic::Dataset data;
};

const Population& population() {
  static const Population p = [] {
    Population r;
    for (std::int64_t b = 0; b < kBrains; ++b) {
      r.weights.push_back(plastic::random_weights(kShape, 1, static_cast<std::uint32_t>(b)));
      const plastic::PlasticRule rule = plastic::PlasticRule::random(1, 0.3, static_cast<std::uint64_t>(b));
      r.tables.insert(r.tables.end(), rule.params.begin(), rule.params.end());
    }
    r.data = plastic::relu_teacher_data(64, 10, 32, 64, 1, 0);
    return r;
  }();
  return p;
}

std::vector<double> sample(const plastic::Dataset& data, std::size_t i) {
  return {data.sample(i), data.sample(i) + data.features};
}

void BM_PlasticBatched(benchmark::State& state) {
  const Population& p = population();
  plastic::PlasticBatch batch(backend(), kShape, kBrains);
  for (std::int64_t b = 0; b < kBrains; ++b) batch.set_weights(b, p.weights[static_cast<std::size_t>(b)]);
  batch.set_rules(p.tables, 0.1, plasticity::RuleMode::additive, false);
  std::size_t i = 0;
  for (auto _ : state) {
    batch.learn(sample(p.data, i % p.data.size()), {p.data.y[i % p.data.size()]});
    ++i;
  }
  backend().synchronize();
  state.counters["updates/s"] = benchmark::Counter(static_cast<double>(kBrains), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_PlasticOneAtATime(benchmark::State& state) {
  const Population& p = population();
  std::vector<std::unique_ptr<plastic::PlasticBatch>> brains;
  for (std::int64_t b = 0; b < kBrains; ++b) {
    brains.push_back(std::make_unique<plastic::PlasticBatch>(backend(), kShape, 1));
    brains.back()->set_weights(0, p.weights[static_cast<std::size_t>(b)]);
    const auto first = p.tables.begin() + b * kShape.layout().size();
    brains.back()->set_rules({first, first + kShape.layout().size()}, 0.1, plasticity::RuleMode::additive, false);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::vector<double> x = sample(p.data, i % p.data.size());
    for (auto& brain : brains) brain->learn(x, {p.data.y[i % p.data.size()]});
    ++i;
  }
  backend().synchronize();
  state.counters["updates/s"] = benchmark::Counter(static_cast<double>(kBrains), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_PlasticHostLoop(benchmark::State& state) {
  const Population& p = population();
  std::vector<plastic::PlasticWeights> weights = p.weights;
  std::vector<plastic::PlasticRule> rules(kBrains);
  for (std::int64_t b = 0; b < kBrains; ++b) {
    rules[static_cast<std::size_t>(b)].rounds = 1;
    const auto first = p.tables.begin() + b * kShape.layout().size();
    rules[static_cast<std::size_t>(b)].params.assign(first, first + kShape.layout().size());
    rules[static_cast<std::size_t>(b)].only_misclassified = false;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t n = i % p.data.size();
    for (std::size_t b = 0; b < weights.size(); ++b) plastic::rule_step(kShape, weights[b], rules[b], p.data.sample(n), p.data.y[n]);
    ++i;
  }
  state.counters["updates/s"] = benchmark::Counter(static_cast<double>(kBrains), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_PlasticBatched)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_PlasticOneAtATime)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_PlasticHostLoop)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace
}  // namespace engram::bench
