// Batched training runs (runs::TrainingRuns through the separable transformer): R runs trained as
// one batch give every run exactly the bits it gets trained alone, for R = 1, 3, 8 and on 1 or 2
// threads, including per-run learning rates, seeds, data and dropout masks.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/data/synthetic.hpp"
#include "engram/models/transformer/training.hpp"
#include "support/threads.hpp"

namespace {

using namespace engram::models::transformer;

TransformerConfig small_config() {
  TransformerConfig cfg;  // the model of examples/train_transformer.yaml, on fewer neurons
  cfg.width = 16;
  cfg.heads = 1;
  cfg.head_dim = 16;
  cfg.ff_hidden = 64;
  cfg.individual_layers = 1;
  cfg.population_layers = 1;
  cfg.dropout = 0.1;
  cfg.neuron_embedding = true;
  cfg.neurons = 20;
  cfg.outputs = 4;
  return cfg;
}

struct RunResult {
  std::vector<float> losses, params;
  double test = 0;
};

// Trains runs [first, first + count) of the fixed run list as one batch.
std::vector<RunResult> train_batch(std::int64_t first, std::int64_t count, int threads) {
  engram::testing::OmpThreads omp(threads);
  auto backend = engram::make_backend("cpu");
  std::vector<engram::data::NeuralData> train, test;
  std::vector<std::uint64_t> seeds;
  std::vector<double> lrs;
  for (std::int64_t r = first; r < first + count; ++r) {
    engram::data::AngleSpec spec;
    spec.trials = 48;
    spec.time = 2;
    spec.neurons = 20;
    spec.classes = 4;
    const auto [tr, te] = split_trials(engram::data::angle_population(spec, 100 + static_cast<std::uint64_t>(r)), 0.25,
                                       static_cast<std::uint64_t>(r));
    train.push_back(tr);
    test.push_back(te);
    seeds.push_back(7 + static_cast<std::uint64_t>(r));
    lrs.push_back(0.002 * static_cast<double>(1 + r % 3));
  }
  std::vector<RunData> runs;
  for (std::size_t i = 0; i < seeds.size(); ++i) runs.push_back({&train[i], &test[i], seeds[i], lrs[i]});
  SeparableTransformer net(small_config(), *backend, seeds);
  TrainSpec spec;
  spec.steps = 4;
  spec.batch = 8;
  spec.clip = 0.5;  // small enough to clip: the per-run norm is part of what must match
  spec.adam.weight_decay = 0.01;
  const std::vector<TrainReport> reports = train_runs(net, runs, spec);
  std::vector<RunResult> out;
  for (std::int64_t r = 0; r < count; ++r) {
    out.push_back({reports[static_cast<std::size_t>(r)].losses, net.params(r), reports[static_cast<std::size_t>(r)].test_metric});
  }
  return out;
}

TEST(TransformerRuns, EveryRunOfABatchIsTheSameBitsAsTrainedAlone) {
  std::vector<RunResult> alone;
  for (std::int64_t r = 0; r < 8; ++r) alone.push_back(train_batch(r, 1, 1).front());
  for (std::int64_t r = 1; r < 8; ++r) {
    ASSERT_NE(alone[static_cast<std::size_t>(r)].params, alone[0].params) << "runs must differ for the test to mean anything";
  }
  for (const int threads : {1, 2}) {
    for (const std::int64_t R : {1, 3, 8}) {
      const std::vector<RunResult> batch = train_batch(0, R, threads);
      for (std::int64_t r = 0; r < R; ++r) {
        const RunResult& a = alone[static_cast<std::size_t>(r)];
        const RunResult& b = batch[static_cast<std::size_t>(r)];
        EXPECT_EQ(b.losses, a.losses) << "run " << r << " of " << R << " on " << threads << " threads";
        EXPECT_EQ(b.params, a.params) << "run " << r << " of " << R << " on " << threads << " threads";
        EXPECT_EQ(b.test, a.test) << "run " << r << " of " << R << " on " << threads << " threads";
      }
    }
  }
}

TEST(TransformerRuns, LaterRunsOfABatchMatchTheirOwnSingleRun) {
  // Runs 5..7 batched on their own, so run 5 sits at slot 0 here and at slot 5 in a batch of 8.
  const std::vector<RunResult> tail = train_batch(5, 3, 2);
  for (std::int64_t r = 0; r < 3; ++r) {
    const RunResult alone = train_batch(5 + r, 1, 2).front();
    EXPECT_EQ(tail[static_cast<std::size_t>(r)].params, alone.params) << "run " << 5 + r;
  }
}

}  // namespace
