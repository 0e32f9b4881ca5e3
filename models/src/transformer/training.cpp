#include "engram/models/transformer/training.hpp"

#include <algorithm>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/purposes.hpp"

namespace engram::models::transformer {

namespace {

std::vector<std::int64_t> shuffled(std::int64_t n, std::uint64_t seed, std::uint32_t epoch) {
  std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    RngStream rng({seed, 0, purpose::nn_batches, epoch, static_cast<std::uint32_t>(i)});
    keyed[static_cast<std::size_t>(i)] = {rng.next_u64(), i};
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int64_t> order(keyed.size());
  for (std::size_t i = 0; i < keyed.size(); ++i) order[i] = keyed[i].second;
  return order;
}

void check_fits(const SeparableTransformer& net, const data::NeuralData& d, const char* what) {
  if (d.neurons != net.config().neurons) {
    throw Error::bad_input(std::string(what) + ".neurons", std::to_string(d.neurons),
                           "the model was built for " + std::to_string(net.config().neurons) + " neurons");
  }
  if (net.config().task == Task::classify) {
    if (d.labels.empty()) throw Error::bad_input(what, "(no labels)", "classification needs labels");
    if (d.classes > net.config().outputs) {
      throw Error::bad_input(std::string(what) + ".classes", std::to_string(d.classes),
                             "more classes than the model's outputs (" + std::to_string(net.config().outputs) + ")");
    }
  } else if (d.behaviour_dim != net.config().outputs) {
    throw Error::bad_input(std::string(what) + ".behaviour", std::to_string(d.behaviour_dim),
                           "regression needs behaviour with " + std::to_string(net.config().outputs) + " variables");
  }
}

}  // namespace

std::pair<data::NeuralData, data::NeuralData> split_trials(const data::NeuralData& d, double test_fraction,
                                                           std::uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    throw Error::bad_input("data.test_fraction", to_text(test_fraction), "must lie in (0, 1)");
  }
  const auto order = shuffled(d.trials, seed ^ 0x5eed5eedULL, 0xFFFFFFu);
  const auto n_test = std::max<std::int64_t>(1, static_cast<std::int64_t>(test_fraction * static_cast<double>(d.trials)));
  if (n_test >= d.trials) throw Error::bad_input("data.trials", std::to_string(d.trials), "too few trials to split");
  std::vector<std::int64_t> test(order.begin(), order.begin() + n_test), train(order.begin() + n_test, order.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  return {d.subset(train), d.subset(test)};
}

std::vector<double> evaluate_runs(SeparableTransformer& net, const std::vector<const data::NeuralData*>& runs,
                                  std::int64_t batch) {
  const std::int64_t R = net.runs();
  if (static_cast<std::int64_t>(runs.size()) != R) throw Error::internal("evaluate_runs: one data set per run");
  const data::NeuralData& first = *runs[0];
  for (const data::NeuralData* d : runs) {
    check_fits(net, *d, "data");
    if (d->trials != first.trials || d->time != first.time) {
      throw Error::internal("evaluate_runs: the runs of a batch need equal trial counts and time bins");
    }
  }
  const bool classify = net.config().task == Task::classify;
  const std::int64_t C = net.config().outputs, per = first.time * first.neurons, per_b = first.time * C;
  std::vector<double> score(static_cast<std::size_t>(R), 0.0);
  std::vector<float> counts, out;
  for (std::int64_t b0 = 0; b0 < first.trials; b0 += batch) {
    const std::int64_t n = std::min(batch, first.trials - b0);
    counts.resize(static_cast<std::size_t>(R * n * per));
    for (std::int64_t r = 0; r < R; ++r) {
      std::copy_n(runs[static_cast<std::size_t>(r)]->counts.begin() + b0 * per, n * per, counts.begin() + r * n * per);
    }
    net.predict(counts.data(), n, first.time, out);
    for (std::int64_t r = 0; r < R; ++r) {
      const data::NeuralData& d = *runs[static_cast<std::size_t>(r)];
      const float* o = out.data() + r * n * (classify ? C : per_b);
      double& s = score[static_cast<std::size_t>(r)];
      for (std::int64_t i = 0; i < n; ++i) {
        if (classify) {
          const float* row = o + i * C;
          const auto best = std::max_element(row, row + C) - row;
          s += best == d.labels[static_cast<std::size_t>(b0 + i)] ? 1.0 : 0.0;
        } else {
          for (std::int64_t j = 0; j < per_b; ++j) {
            const double e = o[i * per_b + j] - d.behaviour[static_cast<std::size_t>((b0 + i) * per_b + j)];
            s += e * e / static_cast<double>(per_b);
          }
        }
      }
    }
  }
  for (double& s : score) s /= static_cast<double>(first.trials);
  return score;
}

double evaluate(SeparableTransformer& net, const data::NeuralData& d, std::int64_t batch) {
  return evaluate_runs(net, {&d}, batch)[0];
}

std::vector<TrainReport> train_runs(SeparableTransformer& net, const std::vector<RunData>& runs, const TrainSpec& spec,
                                    const std::function<void(std::int64_t, std::int64_t)>& progress,
                                    const std::function<bool()>& keep_going) {
  if (spec.steps <= 0) throw Error::bad_input("train.steps", std::to_string(spec.steps), "must be > 0");
  if (spec.batch <= 0) throw Error::bad_input("train.batch", std::to_string(spec.batch), "must be > 0");
  const std::int64_t R = net.runs();
  if (static_cast<std::int64_t>(runs.size()) != R) {
    throw Error::internal("train_runs: " + std::to_string(runs.size()) + " runs for a net of " + std::to_string(R));
  }
  std::vector<double> lrs;
  for (const RunData& run : runs) {
    if (!(run.lr > 0)) throw Error::bad_input("train.lr", to_text(run.lr), "must be > 0");
    check_fits(net, *run.train, "data");
    check_fits(net, *run.test, "data");
    if (run.train->trials != runs[0].train->trials || run.train->time != runs[0].train->time) {
      throw Error::internal("train_runs: the runs of a batch need equal trial counts and time bins");
    }
    lrs.push_back(run.lr);
  }
  const data::NeuralData& first = *runs[0].train;
  const bool classify = net.config().task == Task::classify;
  const std::int64_t batch = std::min(spec.batch, first.trials), per = first.time * first.neurons,
                     per_b = first.time * first.behaviour_dim;
  const Slice live = net.trainable(spec.freeze_individual);
  runs::TrainingRuns& weights = net.weights();
  weights.set_learning_rates(lrs);
  weights.reset_optimizer();
  std::vector<float> counts(static_cast<std::size_t>(R * batch * per)),
      targets(static_cast<std::size_t>(R * batch * std::max<std::int64_t>(per_b, 1)));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(R * batch));
  std::vector<TrainReport> reports(static_cast<std::size_t>(R));
  struct Order {
    std::vector<std::int64_t> order;
    std::int64_t cursor;
    std::uint32_t epoch = 0;
  };
  std::vector<Order> orders(static_cast<std::size_t>(R), Order{{}, first.trials, 0});  // shuffles at the first step
  for (std::int64_t step = 0; step < spec.steps; ++step) {
    if (keep_going && !keep_going()) throw Error::cancelled("training stopped at step " + std::to_string(step));
    for (std::int64_t r = 0; r < R; ++r) {
      const RunData& run = runs[static_cast<std::size_t>(r)];
      const data::NeuralData& train = *run.train;
      Order& o = orders[static_cast<std::size_t>(r)];
      for (std::int64_t i = 0; i < batch; ++i) {
        if (o.cursor >= train.trials) {
          o.order = shuffled(train.trials, run.seed, o.epoch++);
          o.cursor = 0;
        }
        const std::int64_t trial = o.order[static_cast<std::size_t>(o.cursor++)];
        const std::int64_t slot = r * batch + i;
        std::copy_n(train.counts.begin() + trial * per, per, counts.begin() + slot * per);
        if (classify) labels[static_cast<std::size_t>(slot)] = train.labels[static_cast<std::size_t>(trial)];
        else std::copy_n(train.behaviour.begin() + trial * per_b, per_b, targets.begin() + slot * per_b);
      }
    }
    const std::vector<float> losses = net.train_step(counts.data(), labels.data(), targets.data(), batch, first.time,
                                                     static_cast<std::uint32_t>(step), spec.freeze_individual);
    for (std::int64_t r = 0; r < R; ++r) reports[static_cast<std::size_t>(r)].losses.push_back(losses[static_cast<std::size_t>(r)]);
    if (spec.clip > 0) weights.clip_grad_norm({live.offset, live.size}, spec.clip);
    weights.adamw_step({live.offset, live.size}, spec.adam);
    if (progress) progress(step + 1, spec.steps);
  }
  std::vector<const data::NeuralData*> train_sets, test_sets;
  for (const RunData& run : runs) {
    train_sets.push_back(run.train);
    test_sets.push_back(run.test);
  }
  const std::vector<double> train_metric = evaluate_runs(net, train_sets), test_metric = evaluate_runs(net, test_sets);
  for (std::int64_t r = 0; r < R; ++r) {
    reports[static_cast<std::size_t>(r)].train_metric = train_metric[static_cast<std::size_t>(r)];
    reports[static_cast<std::size_t>(r)].test_metric = test_metric[static_cast<std::size_t>(r)];
  }
  return reports;
}

TrainReport train_model(SeparableTransformer& net, const data::NeuralData& train, const data::NeuralData& test,
                        const TrainSpec& spec, std::uint64_t seed,
                        const std::function<void(std::int64_t, std::int64_t)>& progress,
                        const std::function<bool()>& keep_going) {
  if (net.runs() != 1) throw Error::internal("train_model trains one run; use train_runs for " + std::to_string(net.runs()));
  return train_runs(net, {{&train, &test, seed, spec.adam.lr}}, spec, progress, keep_going)[0];
}

}  // namespace engram::models::transformer
