// A trained Swap-VAE or MYOW run taken off its trainer (ssl/model_state.hpp): encoding new rows
// from the saved state gives the trainer's own representation bit for bit, a state loaded into a
// fresh model trains on exactly as the original does, the named tensors tile every stored value
// once, and a fit on every trial (test fraction 0) holds none out.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/models/ssl/model_state.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/swap_vae.hpp"
#include "support/ssl_fixtures.hpp"

namespace {

using engram::ssl::NamedTensor;
using engram::ssl::ReachRuns;
using engram::ssl::RunState;
using engram::ssl::StateStore;

engram::ssl::ReachData data_of(std::uint64_t seed) { return engram::testing::small_reach(seed, 20); }

engram::ssl::SwapVaeConfig swap_config() {
  engram::ssl::SwapVaeConfig c = engram::testing::tiny_swap_vae();
  c.hidden = {7, 5};  // two hidden layers: the names must number past a ReLU
  c.epochs = 2;
  return c;
}

engram::ssl::MyowConfig myow_config() {
  engram::ssl::MyowConfig c = engram::testing::tiny_myow();
  c.epochs = 3;
  c.mining_warmup_epochs = 1;
  c.mining_rampup_epochs = 2;
  return c;
}

// Every element of each store is named exactly once (MYOW's target names only the networks the
// target keeps: its first `target_named` values).
void expect_tiling(const std::vector<NamedTensor>& tensors, const RunState& s, std::size_t target_named) {
  std::vector<int> params(s.params.size(), 0), stats(s.stats.size(), 0), target(s.target.size(), 0);
  for (const NamedTensor& t : tensors) {
    std::int64_t n = 1;
    for (std::int64_t d : t.shape) n *= d;
    std::vector<int>& seen = t.store == StateStore::params ? params : t.store == StateStore::stats ? stats : target;
    ASSERT_LE(static_cast<std::size_t>(t.offset + n), seen.size()) << t.name;
    for (std::int64_t i = 0; i < n; ++i) ++seen[static_cast<std::size_t>(t.offset + i)];
  }
  EXPECT_TRUE(std::all_of(params.begin(), params.end(), [](int c) { return c == 1; }));
  EXPECT_TRUE(std::all_of(stats.begin(), stats.end(), [](int c) { return c == 1; }));
  for (std::size_t i = 0; i < target.size(); ++i) EXPECT_EQ(target[i], i < target_named ? 1 : 0) << "target[" << i << "]";
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Columns [first, first + width) of rows of `cols` values.
std::vector<double> columns(const std::vector<float>& v, std::int64_t cols, std::int64_t first, std::int64_t width) {
  std::vector<double> out;
  for (std::size_t r = 0; r < v.size() / static_cast<std::size_t>(cols); ++r) {
    for (std::int64_t j = 0; j < width; ++j) out.push_back(v[r * static_cast<std::size_t>(cols) + static_cast<std::size_t>(first + j)]);
  }
  return out;
}

TEST(SslModelState, SwapVaeEncodeFromSavedStateEqualsTheTrainersRepresentation) {
  auto backend = engram::make_backend("cpu");
  const auto data = data_of(5);
  const auto cfg = swap_config();
  const ReachRuns runs(data, {41, 42}, 0.25);
  engram::ssl::SwapVaeModel<float> model(cfg, runs, *backend);
  engram::ssl::train_swap_vae(model, {}, {});
  std::vector<std::vector<double>> content, style;
  model.represent(content, style);
  const RunState s = model.save_run(1);
  const auto spec = engram::ssl::SwapVaeModel<float>::encoder_spec(cfg, data.neurons);
  const std::vector<float> z = engram::ssl::encode_rows(*backend, spec, s, data.counts.data(), data.bins, false);
  const std::int64_t width = cfg.content + 2 * cfg.style;
  EXPECT_EQ(columns(z, width, 0, cfg.content), content[1]);
  EXPECT_EQ(columns(z, width, cfg.content, cfg.style), style[1]);
  expect_tiling(engram::ssl::SwapVaeModel<float>::tensors(cfg, data.neurons, *backend), s, 0);
  EXPECT_TRUE(s.target.empty());
}

TEST(SslModelState, MyowEncodeFromSavedStateEqualsTheTrainersRepresentation) {
  auto backend = engram::make_backend("cpu");
  const auto data = data_of(6);
  const auto cfg = myow_config();
  const ReachRuns runs(data, {51, 52}, 0.25);
  engram::ssl::MyowModel<float> model(cfg, runs, *backend);
  engram::ssl::train_myow(model, {}, {});
  const auto reps = model.represent();
  const RunState s = model.save_run(0);
  const auto spec = engram::ssl::MyowModel<float>::encoder_spec(cfg, data.neurons);
  EXPECT_EQ(widen(engram::ssl::encode_rows(*backend, spec, s, data.counts.data(), data.bins, true)), reps[0]);
  // Without the standardisation the same encoder gives something else: the test sees it.
  EXPECT_NE(widen(engram::ssl::encode_rows(*backend, spec, s, data.counts.data(), data.bins, false)), reps[0]);
  const auto tensors = engram::ssl::MyowModel<float>::tensors(cfg, data.neurons, *backend);
  std::size_t target_named = 0;
  for (const NamedTensor& t : tensors) {
    if (t.name.rfind("target_mined_projector.", 0) == 0) {
      std::int64_t n = 1;
      for (std::int64_t d : t.shape) n *= d;
      target_named = std::max(target_named, static_cast<std::size_t>(t.offset + n));
    }
  }
  expect_tiling(tensors, s, target_named);
  EXPECT_EQ(tensors.front().name, "encoder.0.weight");
  EXPECT_EQ(tensors.front().shape, (std::vector<std::int64_t>{7, 9}));
}

// A model that trained one fit, saved, then loaded into a fresh model on the same data: a second
// fit from there gives the same bits as the original model's second fit (the target and the
// running statistics included, so load_run leaves none of the fresh model's own values behind).
TEST(SslModelState, LoadedStateTrainsOnAsTheOriginal) {
  auto backend = engram::make_backend("cpu");
  const auto data = data_of(7);
  const auto cfg = myow_config();
  const ReachRuns runs(data, {61}, 0.0);
  engram::ssl::MyowModel<float> original(cfg, runs, *backend);
  engram::ssl::train_myow(original, {}, {});
  engram::ssl::MyowModel<float> copy(cfg, runs, *backend);
  EXPECT_NE(copy.save_run(0).params, original.save_run(0).params);
  copy.load_run(0, original.save_run(0));
  // The optimiser's moments are not part of the state: a loaded model starts them afresh, as
  // the original does once reset.
  original.weights().reset_optimizer();
  engram::ssl::train_myow(original, {}, {});
  engram::ssl::train_myow(copy, {}, {});
  const RunState a = original.save_run(0), b = copy.save_run(0);
  EXPECT_EQ(b.params, a.params);
  EXPECT_EQ(b.target, a.target);
  EXPECT_EQ(b.stats, a.stats);
}

TEST(SslModelState, StopsWhenAskedAndKeepsFinishedEpochs) {
  auto backend = engram::make_backend("cpu");
  const auto data = data_of(8);
  auto cfg = swap_config();
  cfg.epochs = 4;
  const ReachRuns runs(data, {71}, 0.0);
  engram::ssl::SwapVaeModel<float> model(cfg, runs, *backend);
  std::int64_t steps = 0, total = 0;
  const std::int64_t per_epoch = runs.min_train_bins() / cfg.batch;
  const auto record = engram::ssl::train_swap_vae(
      model, [&](std::int64_t done, std::int64_t all) { steps = done, total = all; },
      [&] { return steps < per_epoch + 1; });
  EXPECT_EQ(total, 4 * per_epoch);
  EXPECT_EQ(steps, per_epoch + 1);
  EXPECT_EQ(record.curves[0].size(), 1u);  // the second epoch did not finish
}

TEST(SslModelState, TestFractionZeroTrainsOnEveryTrial) {
  const auto data = data_of(9);
  const ReachRuns runs(data, {81}, 0.0);
  EXPECT_TRUE(runs.split(0).test_trials.empty());
  EXPECT_EQ(static_cast<std::int64_t>(runs.split(0).train_bins.size()), data.bins);
  const ReachRuns held(data, {81}, 0.01);
  EXPECT_EQ(held.split(0).test_trials.size(), 1u);  // any positive fraction keeps one
}

TEST(SslModelState, LoadRejectsAStateOfAnotherShape) {
  auto backend = engram::make_backend("cpu");
  const auto data = data_of(10);
  const ReachRuns runs(data, {91}, 0.0);
  engram::ssl::SwapVaeModel<float> model(swap_config(), runs, *backend);
  RunState s = model.save_run(0);
  s.params.pop_back();
  EXPECT_THROW(model.load_run(0, s), engram::Error);
}

}  // namespace
