#pragma once
// Training the separable transformer: minibatch AdamW (engram::nn::AdamW, the one optimiser)
// over a NeuralData set, with gradient clipping, a train/test split and transfer to a new
// population (freeze the individual module, train the rest on the new neurons).
//
//   TrainSpec spec;  spec.steps = 300;  spec.adam.lr = 1e-3;
//   auto [train, test] = split_trials(data, 0.25, seed);
//   TrainReport r = train_model(net, train, test, spec, seed);   // r.test_metric
// Many runs of one shape train as one batch (a net built with one seed per run); each run has
// its own data, minibatch order and learning rate, and is the same bits as when trained alone:
//   auto reports = train_runs(net, {{&train1, &test1, seed1, lr1}, {&train2, &test2, seed2, lr2}}, spec);
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "engram/kernels/nn/adamw.hpp"
#include "engram/models/data/neural_data.hpp"
#include "engram/models/transformer/separable_transformer.hpp"

namespace engram::models::transformer {

struct TrainSpec {
  std::int64_t steps = 1000;
  std::int64_t batch = 32;
  nn::AdamWConfig adam{1e-4, 0.9, 0.999, 1e-8, 0.0};  // the paper's Adam, lr 1e-4
  double clip = 1.0;           // global gradient norm; <= 0 disables
  bool freeze_individual = false;
};

struct TrainReport {
  std::vector<float> losses;       // per step
  double train_metric = 0;         // accuracy (classify) or mean squared error (regress)
  double test_metric = 0;
};

// Deterministic split: a Philox-keyed shuffle of the trials, the first test_fraction held out.
std::pair<data::NeuralData, data::NeuralData> split_trials(const data::NeuralData& data, double test_fraction,
                                                           std::uint64_t seed);

// One run of a batch: its data, the seed of its minibatch order, its learning rate.
struct RunData {
  const data::NeuralData* train = nullptr;
  const data::NeuralData* test = nullptr;
  std::uint64_t seed = 0;
  double lr = 1e-4;
};

// Trains every run of `net` in lockstep (runs.size() == net.runs(); equal trial counts and time
// bins across runs). spec.adam.lr is replaced by each run's lr; the rest of spec is shared.
std::vector<TrainReport> train_runs(SeparableTransformer& net, const std::vector<RunData>& runs, const TrainSpec& spec,
                                    const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                    const std::function<bool()>& keep_going = {});

// Per run: accuracy (classify) or mean squared error (regress) in eval mode on data[r].
std::vector<double> evaluate_runs(SeparableTransformer& net, const std::vector<const data::NeuralData*>& data,
                                  std::int64_t batch = 64);

// One run (net.runs() == 1). Trains in place; minibatch order keyed by (seed, epoch, position). `progress(step, steps)`
// is called after each step; returning false from `keep_going` stops early.
TrainReport train_model(SeparableTransformer& net, const data::NeuralData& train, const data::NeuralData& test,
                        const TrainSpec& spec, std::uint64_t seed,
                        const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                        const std::function<bool()>& keep_going = {});

// Accuracy (classify) or mean squared error (regress) in eval mode.
double evaluate(SeparableTransformer& net, const data::NeuralData& data, std::int64_t batch = 64);

}  // namespace engram::models::transformer
