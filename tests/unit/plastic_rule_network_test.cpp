// The plastic k-cap network: forward pass against a scalar oracle written independently here,
// the batched backend path against the host path (bit for bit), the backward pass against finite
// differences, the rule's table layout, data sets, and clear errors for bad rules and shapes.
#include <gtest/gtest.h>

#include <cstdio>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/models/plasticity/plastic_batch.hpp"
#include "engram/models/plasticity/plastic_data.hpp"
#include "engram/models/plasticity/plastic_network.hpp"
#include "support/backends.hpp"

namespace engram::plastic {
namespace {

// Oracle: plain loops; k-cap by sorting indices on (value desc, index asc).
Trace oracle_forward(const PlasticShape& s, const PlasticWeights& w, const double* x) {
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  Trace t;
  t.state.assign(v, 0);
  std::vector<double> h(v, 0.0);
  for (std::uint32_t r = 0; r <= s.rounds; ++r) {
    std::vector<double> z(v);
    for (std::size_t j = 0; j < v; ++j) {
      double a = w.bias[j];
      for (std::size_t k = 0; k < d; ++k) a += w.w_in[j * d + k] * x[k];
      if (r > 0) {
        for (std::size_t i = 0; i < v; ++i) a += w.w_rec[j * v + i] * h[i];
      }
      z[j] = std::max(a, 0.0);
    }
    std::vector<std::size_t> order(v);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return z[a] > z[b]; });
    std::fill(h.begin(), h.end(), 0.0);
    for (std::size_t q = 0; q < s.cap; ++q) {
      const std::size_t j = order[q];
      if (z[j] > 0.0) {
        h[j] = z[j];
        t.state[j] |= 1u << r;
      }
    }
  }
  t.logits.assign(m, 0.0);
  for (std::size_t c = 0; c < m; ++c) {
    for (std::size_t j = 0; j < v; ++j) t.logits[c] += w.w_out[c * v + j] * h[j];
  }
  t.predicted = static_cast<std::uint32_t>(std::max_element(t.logits.begin(), t.logits.end()) - t.logits.begin());
  return t;
}

TEST(PlasticNetwork, ForwardMatchesOracle) {
  for (std::uint32_t rounds : {0u, 1u, 3u}) {
    const PlasticShape s{7, 30, 4, 9, rounds, 0.3};
    const PlasticWeights w = random_weights(s, 5, rounds, 1.0);
    const Dataset data = relu_teacher_data(7, 4, 5, 20, 5, 0);
    for (std::size_t i = 0; i < data.size(); ++i) {
      const Trace a = forward(s, w, data.sample(i));
      const Trace b = oracle_forward(s, w, data.sample(i));
      EXPECT_EQ(a.state, b.state);
      EXPECT_EQ(a.predicted, b.predicted);
      for (std::size_t c = 0; c < a.logits.size(); ++c) EXPECT_NEAR(a.logits[c], b.logits[c], 1e-12);
      std::uint32_t fired = 0;
      for (std::uint32_t st : a.state) fired += (st >> rounds) & 1u;
      EXPECT_LE(fired, s.cap);
    }
  }
}

TEST(PlasticNetwork, GraphHasNoSelfLoopsAndDensityP) {
  const PlasticShape s{50, 200, 2, 20, 1, 0.2};
  const PlasticWeights w = random_weights(s, 3, 0);
  double edges = 0;
  for (std::size_t j = 0; j < 200; ++j) {
    EXPECT_EQ(w.mask_rec[j * 200 + j], 0);
    for (std::size_t i = 0; i < 200; ++i) edges += w.mask_rec[j * 200 + i];
  }
  EXPECT_NEAR(edges / (200.0 * 199.0), 0.2, 0.01);
  double in_edges = std::accumulate(w.mask_in.begin(), w.mask_in.end(), 0.0);
  EXPECT_NEAR(in_edges / (200.0 * 50.0), 0.2, 0.015);
  for (std::size_t e = 0; e < w.w_rec.size(); ++e) {
    if (!w.mask_rec[e]) {
      EXPECT_EQ(w.w_rec[e], 0.0);
    }
  }
}

TEST(PlasticNetwork, RuleTouchesOnlyExistingEdgesAndNamedOutputs) {
  const PlasticShape s{6, 20, 4, 8, 1, 0.3};
  PlasticWeights w = random_weights(s, 8, 0, 1.0);
  const PlasticWeights before = w;
  PlasticRule rule = PlasticRule::random(1, 1.0, 9);
  rule.only_misclassified = false;
  const Dataset data = relu_teacher_data(6, 4, 5, 1, 8, 0);
  const Trace t = rule_step(s, w, rule, data.sample(0), data.y[0]);
  const plasticity::RuleLayout l = rule.layout();
  for (std::size_t j = 0; j < 20; ++j) {
    for (std::size_t i = 0; i < 20; ++i) {
      const std::size_t e = j * 20 + i;
      const double expect = before.mask_rec[e] ? before.w_rec[e] + rule.eta * rule.params[l.recurrent(t.state[i], t.state[j])] : 0.0;
      EXPECT_DOUBLE_EQ(w.w_rec[e], expect);
    }
    for (std::size_t k = 0; k < 6; ++k) {
      const std::size_t e = j * 6 + k;
      const double expect = before.mask_in[e] ? before.w_in[e] + rule.eta * rule.params[l.input(t.state[j])] * data.sample(0)[k] : 0.0;
      EXPECT_DOUBLE_EQ(w.w_in[e], expect);
    }
  }
  for (std::uint32_t c = 0; c < 4; ++c) {
    for (std::size_t j = 0; j < 20; ++j) {
      double expect = before.w_out[c * 20 + j];
      if (c == data.y[0]) {
        expect += rule.eta * rule.params[l.output(t.state[j], 0)];
      } else if (c == t.predicted) {
        expect += rule.eta * rule.params[l.output(t.state[j], 1)];
      }
      EXPECT_DOUBLE_EQ(w.w_out[c * 20 + j], expect);
    }
  }
}

TEST(PlasticNetwork, CorrectPredictionChangesNothingByDefault) {
  const PlasticShape s{6, 20, 2, 8, 1, 0.3};
  PlasticWeights w = random_weights(s, 8, 0, 1.0);
  const Dataset data = halfspace_data(6, 40, 8, 0);
  const PlasticRule rule = PlasticRule::random(1, 1.0, 9);
  int right = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const PlasticWeights before = w;
    const Trace t = rule_step(s, w, rule, data.sample(i), data.y[i]);
    if (t.predicted == data.y[i]) {
      ++right;
      EXPECT_EQ(w.w_rec, before.w_rec);
      EXPECT_EQ(w.w_out, before.w_out);
    } else {
      EXPECT_NE(w.w_out, before.w_out);
    }
  }
  EXPECT_GT(right, 0);
}

TEST(PlasticNetwork, BackwardMatchesFiniteDifferences) {
  const PlasticShape s{5, 16, 3, 6, 2, 0.4};
  const PlasticWeights w = random_weights(s, 12, 0, 1.0);
  const Dataset data = relu_teacher_data(5, 3, 4, 1, 12, 0);
  Gradients g;
  g.resize(s);
  backward(s, w, data.sample(0), data.y[0], g);
  const double h = 1e-6;
  const auto loss = [&](const PlasticWeights& ww, const double* x) { return cross_entropy(forward(s, ww, x).logits, data.y[0]); };
  const std::vector<double> x(data.sample(0), data.sample(0) + 5);
  for (std::size_t k = 0; k < 5; ++k) {
    std::vector<double> up = x, down = x;
    up[k] += h;
    down[k] -= h;
    EXPECT_NEAR(g.x[k], (loss(w, up.data()) - loss(w, down.data())) / (2 * h), 1e-6);
  }
  for (std::size_t e = 0; e < w.w_rec.size(); e += 7) {
    PlasticWeights up = w, down = w;
    up.w_rec[e] += h;
    down.w_rec[e] -= h;
    const double fd = (loss(up, x.data()) - loss(down, x.data())) / (2 * h);
    EXPECT_NEAR(g.w_rec[e], w.mask_rec[e] ? fd : 0.0, 1e-6) << e;
  }
  for (std::size_t e = 0; e < w.w_in.size(); e += 3) {
    PlasticWeights up = w, down = w;
    up.w_in[e] += h;
    down.w_in[e] -= h;
    const double fd = (loss(up, x.data()) - loss(down, x.data())) / (2 * h);
    EXPECT_NEAR(g.w_in[e], w.mask_in[e] ? fd : 0.0, 1e-6) << e;
  }
  for (std::size_t e = 0; e < w.w_out.size(); e += 5) {
    PlasticWeights up = w, down = w;
    up.w_out[e] += h;
    down.w_out[e] -= h;
    EXPECT_NEAR(g.w_out[e], (loss(up, x.data()) - loss(down, x.data())) / (2 * h), 1e-6) << e;
  }
}

class PlasticBatchParity : public ::testing::TestWithParam<std::string> {};

TEST_P(PlasticBatchParity, BatchedStepsEqualOneBrainAtATime) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  for (std::uint32_t rounds : {1u, 2u}) {
    const PlasticShape s{8, 25, 3, 10, rounds, 0.3};
    const std::int64_t brains = 5;
    PlasticBatch batch(backend, s, brains);
    std::vector<PlasticWeights> host;
    std::vector<PlasticRule> rules;
    std::vector<double> tables;
    for (std::int64_t b = 0; b < brains; ++b) {
      host.push_back(random_weights(s, 30, static_cast<std::uint32_t>(b), 1.0));
      batch.set_weights(b, host.back());
      rules.push_back(PlasticRule::random(rounds, 0.5, 40 + static_cast<std::uint64_t>(b)));
      rules.back().mode = rounds == 2 ? plasticity::RuleMode::multiplicative : plasticity::RuleMode::additive;
      tables.insert(tables.end(), rules.back().params.begin(), rules.back().params.end());
    }
    batch.set_rules(tables, rules[0].eta, rules[0].mode, true);
    const Dataset data = relu_teacher_data(8, 3, 6, 15, 30, 0);
    for (std::size_t i = 0; i < data.size(); ++i) {
      const std::vector<double> x(data.sample(i), data.sample(i) + 8);
      batch.learn(x, {data.y[i]});
      for (std::int64_t b = 0; b < brains; ++b) rule_step(s, host[static_cast<std::size_t>(b)], rules[static_cast<std::size_t>(b)], x.data(), data.y[i]);
    }
    for (std::int64_t b = 0; b < brains; ++b) {
      const PlasticWeights got = batch.weights(b);
      EXPECT_EQ(got.w_rec, host[static_cast<std::size_t>(b)].w_rec) << "brain " << b;
      EXPECT_EQ(got.w_in, host[static_cast<std::size_t>(b)].w_in) << "brain " << b;
      EXPECT_EQ(got.w_out, host[static_cast<std::size_t>(b)].w_out) << "brain " << b;
    }
    const std::vector<double> x(data.sample(0), data.sample(0) + 8);
    const std::vector<double> logits = batch.logits_for(x);
    for (std::int64_t b = 0; b < brains; ++b) {
      const Trace t = forward(s, host[static_cast<std::size_t>(b)], x.data());
      for (std::uint32_t c = 0; c < 3; ++c) EXPECT_EQ(logits[static_cast<std::size_t>(b) * 3 + c], t.logits[c]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PlasticBatchParity, ::testing::Values("cpu", "cuda"), testing::backend_name);

TEST(PlasticRuleTable, LayoutSizes) {
  EXPECT_EQ(plasticity::RuleLayout::for_rounds(1).size(), 28u);
  EXPECT_EQ(plasticity::RuleLayout::for_rounds(2).size(), 88u);
  const plasticity::RuleLayout l = plasticity::RuleLayout::for_rounds(1);
  EXPECT_EQ(l.recurrent(3, 3), 15u);
  EXPECT_EQ(l.input(0), 16u);
  EXPECT_EQ(l.output(0, 0), 20u);
  EXPECT_EQ(l.output(3, 1), 27u);
}

TEST(PlasticRuleTable, PerceptronRuleLearnsAHalfspace) {
  const PlasticShape s{20, 100, 2, 50, 1, 0.5};
  PlasticWeights w = random_weights(s, 2, 0);
  const PlasticRule rule = PlasticRule::perceptron(1);
  const Dataset test = halfspace_data(20, 500, 2, 1);
  const double before = accuracy(s, w, test);
  train_by_rule(s, w, rule, halfspace_data(20, 600, 2, 0));
  EXPECT_GT(accuracy(s, w, test), 0.75);
  EXPECT_GT(accuracy(s, w, test), before + 0.15);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_input);
    return e.what();
  }
  return "no error";
}

TEST(PlasticErrors, BadRulesAndShapesNameTheField) {
  PlasticRule r = PlasticRule::zeros(1);
  r.params.resize(27);
  EXPECT_NE(message_of([&] { r.validate(); }).find("rule.table = 27 values"), std::string::npos);
  r = PlasticRule::zeros(2);
  r.params[5] = std::nan("");
  EXPECT_NE(message_of([&] { r.validate(); }).find("rule.table[5] = nan"), std::string::npos);
  r = PlasticRule::zeros(1);
  r.eta = -1;
  EXPECT_NE(message_of([&] { r.validate(); }).find("rule.eta"), std::string::npos);

  PlasticShape s{4, 10, 2, 11, 1, 0.5};
  EXPECT_NE(message_of([&] { s.validate(); }).find("cap = 11"), std::string::npos);
  s.cap = 5;
  s.p = 0.0;
  EXPECT_NE(message_of([&] { s.validate(); }).find("p = 0"), std::string::npos);
  s.p = 0.5;
  PlasticWeights w = random_weights(s, 1, 0);
  w.w_out.pop_back();
  EXPECT_NE(message_of([&] { w.check(s); }).find("weights.w_out"), std::string::npos);

  Dataset data = halfspace_data(5, 3, 1, 0);
  EXPECT_NE(message_of([&] { data.check(s); }).find("data.features = 5"), std::string::npos);
  data = halfspace_data(4, 3, 1, 0);
  data.x[2] = std::nan("");
  EXPECT_NE(message_of([&] { data.check(s); }).find("data.x[2]"), std::string::npos);

  auto backend = make_backend("cpu");
  PlasticBatch batch(*backend, s, 3);
  EXPECT_NE(message_of([&] { batch.set_rules(std::vector<double>(28, 0.0), 0.1, plasticity::RuleMode::additive, true); })
                .find("rule.table = 28 values"),
            std::string::npos);
  std::vector<double> tables(84, 0.0);
  tables[40] = std::nan("");
  EXPECT_NE(message_of([&] { batch.set_rules(tables, 0.1, plasticity::RuleMode::additive, true); }).find("rule.table[40]"),
            std::string::npos);
  tables[40] = 0.0;
  batch.set_rules(tables, 0.1, plasticity::RuleMode::additive, true);
  EXPECT_NE(message_of([&] { batch.learn(std::vector<double>(5, 0.0), {0}); }).find("x = 5 values"), std::string::npos);
  EXPECT_NE(message_of([&] { batch.learn(std::vector<double>(4, 0.0), {2}); }).find("labels = 2"), std::string::npos);
}

TEST(PlasticData, SyntheticSetsAreKeyedAndBalancedEnough) {
  const Dataset a = halfspace_data(10, 200, 4, 0), b = halfspace_data(10, 200, 4, 0), c = halfspace_data(10, 200, 4, 1);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  EXPECT_NE(a.x, c.x);
  const double ones = std::accumulate(a.y.begin(), a.y.end(), 0.0) / 200.0;
  EXPECT_GT(ones, 0.35);
  EXPECT_LT(ones, 0.65);
  // The teacher is the same across streams: a halfspace through the origin, so y(-x) = 1 - y(x).
  const Dataset r = relu_teacher_data(6, 4, 8, 300, 4, 2);
  std::vector<int> counts(4, 0);
  for (std::uint32_t y : r.y) ++counts[y];
  std::printf("relu teacher label counts over 300 samples: %d %d %d %d\n", counts[0], counts[1], counts[2], counts[3]);
  // Every label is reachable and none swallows the set (a degenerate teacher would put all 300 in one).
  EXPECT_GE(*std::min_element(counts.begin(), counts.end()), 15) << "a label the teacher never (or barely) picks";
  EXPECT_LE(*std::max_element(counts.begin(), counts.end()), 150) << "one label dominates";
  const PlasticShape s{6, 30, 3, 10, 1, 0.4};
  const Dataset p = plastic_teacher_data(s, 50, 4, 0);
  EXPECT_EQ(p.features, 6u);
  EXPECT_EQ(p.labels, 3u);
}

TEST(PlasticData, DigitsLoadScaledAndStandardised) {
  const Dataset digits = digits_data();
  EXPECT_EQ(digits.size(), 1797u);
  EXPECT_EQ(digits.features, 64u);
  EXPECT_EQ(digits.labels, 10u);
  EXPECT_EQ(*std::max_element(digits.x.begin(), digits.x.end()), 1.0);
  Dataset train, test;
  shuffle_split(digits, 1300, 3, train, test);
  EXPECT_EQ(train.size(), 1300u);
  EXPECT_EQ(test.size(), 497u);
  standardize(train, test);
  double mean = 0.0;
  for (std::size_t i = 0; i < train.size(); ++i) mean += train.x[i * 64 + 20];
  EXPECT_NEAR(mean / 1300.0, 0.0, 1e-9);
}

}  // namespace
}  // namespace engram::plastic
