#include "engram/models/transformer/training.hpp"

#include <algorithm>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/clip.hpp"

namespace engram::models::transformer {

namespace {

std::vector<std::int64_t> shuffled(std::int64_t n, std::uint64_t seed, std::uint32_t epoch) {
  std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    RngStream rng({seed, 0, Purpose::nn_batches, epoch, static_cast<std::uint32_t>(i)});
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

double evaluate(SeparableTransformer& net, const data::NeuralData& d, std::int64_t batch) {
  const bool classify = net.config().task == Task::classify;
  const std::int64_t C = net.config().outputs, per = d.time * d.neurons, per_b = d.time * C;
  double score = 0;
  std::vector<float> out;
  for (std::int64_t b0 = 0; b0 < d.trials; b0 += batch) {
    const std::int64_t n = std::min(batch, d.trials - b0);
    net.predict(d.counts.data() + b0 * per, n, d.time, out);
    for (std::int64_t i = 0; i < n; ++i) {
      if (classify) {
        const float* row = out.data() + i * C;
        const auto best = std::max_element(row, row + C) - row;
        score += best == d.labels[static_cast<std::size_t>(b0 + i)] ? 1.0 : 0.0;
      } else {
        for (std::int64_t j = 0; j < per_b; ++j) {
          const double e = out[static_cast<std::size_t>(i * per_b + j)] - d.behaviour[static_cast<std::size_t>((b0 + i) * per_b + j)];
          score += e * e / static_cast<double>(per_b);
        }
      }
    }
  }
  return score / static_cast<double>(d.trials);
}

TrainReport train_model(SeparableTransformer& net, const data::NeuralData& train, const data::NeuralData& test,
                        const TrainSpec& spec, std::uint64_t seed,
                        const std::function<void(std::int64_t, std::int64_t)>& progress,
                        const std::function<bool()>& keep_going) {
  if (spec.steps <= 0) throw Error::bad_input("train.steps", std::to_string(spec.steps), "must be > 0");
  if (spec.batch <= 0) throw Error::bad_input("train.batch", std::to_string(spec.batch), "must be > 0");
  if (!(spec.adam.lr > 0)) throw Error::bad_input("train.lr", to_text(spec.adam.lr), "must be > 0");
  check_fits(net, train, "data");
  check_fits(net, test, "data");
  const bool classify = net.config().task == Task::classify;
  const std::int64_t batch = std::min(spec.batch, train.trials), per = train.time * train.neurons,
                     per_b = train.time * train.behaviour_dim;
  const Slice live = net.trainable(spec.freeze_individual);
  std::vector<float> m(static_cast<std::size_t>(live.size), 0.0f), v(m.size(), 0.0f);
  std::vector<float> counts(static_cast<std::size_t>(batch * per)), targets(static_cast<std::size_t>(batch * std::max<std::int64_t>(per_b, 1)));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  TrainReport report;
  std::vector<std::int64_t> order;
  std::int64_t cursor = train.trials;  // forces a shuffle at the first step
  std::uint32_t epoch = 0;
  for (std::int64_t step = 0; step < spec.steps; ++step) {
    if (keep_going && !keep_going()) throw Error::cancelled("training stopped at step " + std::to_string(step));
    for (std::int64_t i = 0; i < batch; ++i) {
      if (cursor >= train.trials) {
        order = shuffled(train.trials, seed, epoch++);
        cursor = 0;
      }
      const std::int64_t trial = order[static_cast<std::size_t>(cursor++)];
      std::copy_n(train.counts.begin() + trial * per, per, counts.begin() + i * per);
      if (classify) labels[static_cast<std::size_t>(i)] = train.labels[static_cast<std::size_t>(trial)];
      else std::copy_n(train.behaviour.begin() + trial * per_b, per_b, targets.begin() + i * per_b);
    }
    const float loss = net.train_step_loss(counts.data(), labels.data(), targets.data(), batch, train.time,
                                           static_cast<std::uint32_t>(step), spec.freeze_individual);
    report.losses.push_back(loss);
    float* g = net.grads.data() + live.offset;
    float* p = net.params.data() + live.offset;
    if (spec.clip > 0) nn::clip_grad_norm<float>({{g, live.size}}, spec.clip);
    const nn::AdamW<float> adam{p, g, m.data(), v.data(), nn::adam_step_scales(spec.adam, step + 1), spec.adam};
    for (std::int64_t i = 0; i < live.size; ++i) adam(i);
    if (progress) progress(step + 1, spec.steps);
  }
  report.train_metric = evaluate(net, train);
  report.test_metric = evaluate(net, test);
  return report;
}

}  // namespace engram::models::transformer
