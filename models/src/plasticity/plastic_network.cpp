#include "engram/models/plasticity/plastic_network.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/plasticity/rule_update.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

namespace {

template <class T>
std::string text(const T& value) {
  return to_text(value);
}

plasticity::RuleNet view(const PlasticShape& s, PlasticWeights& w) {
  return {s.inputs, s.neurons, s.labels, s.cap, w.w_rec.data(), w.mask_rec.data(), w.w_in.data(), w.mask_in.data(),
          w.bias.data(), w.w_out.data()};
}

// The forward functors only read weights; the view needs non-const pointers for the update.
plasticity::RuleNet view(const PlasticShape& s, const PlasticWeights& w) {
  return view(s, const_cast<PlasticWeights&>(w));
}

}  // namespace

void PlasticShape::validate(const std::string& prefix) const {
  if (inputs == 0) throw Error::bad_input(prefix + "inputs", "0", "must be at least 1");
  if (neurons < 2) throw Error::bad_input(prefix + "neurons", text(neurons), "must be at least 2");
  if (labels < 2) throw Error::bad_input(prefix + "labels", text(labels), "must be at least 2 classes");
  if (cap == 0 || cap > neurons) {
    throw Error::bad_input(prefix + "cap", text(cap), "must be in [1, neurons = " + text(neurons) + "]");
  }
  if (rounds > 6) throw Error::bad_input(prefix + "rounds", text(rounds), "must be at most 6 (tables grow as 4^(R+1))");
  if (!(p > 0.0 && p <= 1.0)) throw Error::bad_input(prefix + "p", text(p), "must be in (0, 1]");
}

void PlasticRule::validate(const std::string& field) const {
  if (rounds > 6) throw Error::bad_input(field + ".rounds", text(rounds), "must be at most 6");
  const std::size_t expected = layout().size();
  if (params.size() != expected) {
    throw Error::bad_input(field + ".table", text(params.size()) + " values",
                           "a rule for R = " + text(rounds) + " rounds has " + text(expected) + " values (" +
                               text(layout().states) + "^2 recurrent + " + text(layout().states) + " input + " +
                               text(layout().states) + "x2 output)");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!std::isfinite(params[i])) {
      throw Error::bad_input(field + ".table[" + text(i) + "]", text(params[i]), "must be finite");
    }
  }
  if (!std::isfinite(eta) || eta <= 0.0) throw Error::bad_input(field + ".eta", text(eta), "must be finite and > 0");
}

PlasticRule PlasticRule::zeros(std::uint32_t rounds) {
  PlasticRule r;
  r.rounds = rounds;
  r.params.assign(r.layout().size(), 0.0);
  return r;
}

PlasticRule PlasticRule::random(std::uint32_t rounds, double scale, std::uint64_t seed) {
  PlasticRule r = zeros(rounds);
  RngStream rng({seed, 0, purpose::plasticity_rule, 0, 0});
  for (double& v : r.params) v = scale * rng.normal();
  return r;
}

PlasticRule PlasticRule::perceptron(std::uint32_t rounds) {
  PlasticRule r = zeros(rounds);
  const plasticity::RuleLayout l = r.layout();
  const std::uint32_t last = 1u << rounds;
  for (std::uint32_t s = 0; s < l.states; ++s) {
    if ((s & last) == 0) continue;
    r.params[l.output(s, 0)] = 1.0;
    r.params[l.output(s, 1)] = -1.0;
  }
  return r;
}

void PlasticWeights::check(const PlasticShape& s, const std::string& field) const {
  const auto expect = [&](std::size_t got, std::size_t want, const char* name, const std::string& dims) {
    if (got != want) throw Error::bad_input(field + "." + name, text(got) + " values", "must have " + dims + " = " + text(want));
  };
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  expect(w_rec.size(), v * v, "w_rec", "neurons x neurons");
  expect(mask_rec.size(), v * v, "mask_rec", "neurons x neurons");
  expect(w_in.size(), v * d, "w_in", "neurons x inputs");
  expect(mask_in.size(), v * d, "mask_in", "neurons x inputs");
  expect(bias.size(), v, "bias", "neurons");
  expect(w_out.size(), m * v, "w_out", "labels x neurons");
  for (std::size_t j = 0; j < v; ++j) {
    if (mask_rec[j * v + j]) throw Error::bad_input(field + ".mask_rec[" + text(j) + "," + text(j) + "]", "1", "self-loops are not allowed");
  }
}

PlasticWeights random_weights(const PlasticShape& s, std::uint64_t seed, std::uint32_t brain, double output_scale) {
  s.validate();
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  PlasticWeights w;
  w.w_rec.assign(v * v, 0.0);
  w.mask_rec.assign(v * v, 0);
  w.w_in.assign(v * d, 0.0);
  w.mask_in.assign(v * d, 0);
  w.bias.assign(v, 0.0);
  w.w_out.assign(m * v, 0.0);
  const double rec_sd = 1.0 / std::sqrt(s.p * static_cast<double>(v));
  const double in_sd = 1.0 / std::sqrt(s.p * static_cast<double>(d));
  const double out_sd = output_scale / std::sqrt(static_cast<double>(s.cap));
  // Row j's draws are keyed by (array, j): a brain's graph does not depend on draw order.
  for (std::uint32_t j = 0; j < v; ++j) {
    RngStream rec({seed, brain, purpose::plasticity_weights, 0, j});
    for (std::size_t i = 0; i < v; ++i) {
      const bool edge = rec.uniform() < s.p && i != j;
      const double value = rec.normal();
      if (edge) {
        w.mask_rec[j * v + i] = 1;
        w.w_rec[j * v + i] = rec_sd * value;
      }
    }
    RngStream in({seed, brain, purpose::plasticity_weights, 1, j});
    for (std::size_t k = 0; k < d; ++k) {
      const bool edge = in.uniform() < s.p;
      const double value = in.normal();
      if (edge) {
        w.mask_in[j * d + k] = 1;
        w.w_in[j * d + k] = in_sd * value;
      }
    }
  }
  for (std::uint32_t c = 0; c < m; ++c) {
    RngStream out({seed, brain, purpose::plasticity_weights, 2, c});
    for (std::size_t j = 0; j < v; ++j) w.w_out[c * v + j] = out_sd * out.normal();
  }
  return w;
}

void Dataset::check(const PlasticShape& s, const std::string& field) const {
  if (features != s.inputs) {
    throw Error::bad_input(field + ".features", text(features), "must equal the network's inputs = " + text(s.inputs));
  }
  if (labels > s.labels) {
    throw Error::bad_input(field + ".labels", text(labels), "must be at most the network's labels = " + text(s.labels));
  }
  if (x.size() != y.size() * features) {
    throw Error::bad_input(field + ".x", text(x.size()) + " values",
                           "must be samples x features = " + text(y.size() * features));
  }
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] >= s.labels) throw Error::bad_input(field + ".y[" + text(i) + "]", text(y[i]), "must be below labels = " + text(s.labels));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) throw Error::bad_input(field + ".x[" + text(i) + "]", text(x[i]), "must be finite");
  }
}

Dataset Dataset::slice(std::size_t begin, std::size_t count) const {
  Dataset out;
  out.features = features;
  out.labels = labels;
  const std::size_t end = std::min(size(), begin + count);
  if (begin >= end) return out;
  out.x.assign(x.begin() + static_cast<std::ptrdiff_t>(begin * features), x.begin() + static_cast<std::ptrdiff_t>(end * features));
  out.y.assign(y.begin() + static_cast<std::ptrdiff_t>(begin), y.begin() + static_cast<std::ptrdiff_t>(end));
  return out;
}

Trace forward(const PlasticShape& s, const PlasticWeights& w, const double* x) {
  const plasticity::RuleNet net = view(s, w);
  const std::int64_t v = s.neurons;
  Trace t;
  t.h.assign(static_cast<std::size_t>(s.rounds + 1) * s.neurons, 0.0);
  t.state.assign(s.neurons, 0);
  t.logits.assign(s.labels, 0.0);
  std::vector<double> z(s.neurons);
  for (std::uint32_t r = 0; r <= s.rounds; ++r) {
    const double* prev = r == 0 ? t.h.data() : t.h.data() + (r - 1) * v;
    const plasticity::RuleDrive drive{net, x, prev, z.data(), r > 0};
    for (std::int64_t j = 0; j < v; ++j) drive(j);
    const plasticity::RuleSelect select{net, z.data(), t.h.data() + r * v, t.state.data(), r};
    for (std::int64_t j = 0; j < v; ++j) select(j);
  }
  const plasticity::RuleReadout readout{net, t.h.data() + s.rounds * v, t.logits.data()};
  for (std::int64_t c = 0; c < s.labels; ++c) readout(c);
  t.predicted = plasticity::rule_argmax(t.logits.data(), s.labels);
  return t;
}

Trace rule_step(const PlasticShape& s, PlasticWeights& w, const PlasticRule& rule, const double* x, std::uint32_t label) {
  Trace t = forward(s, w, x);
  const plasticity::RuleUpdate update{view(s, w), x, t.state.data(), t.logits.data(), &label, rule.params.data(),
                                      rule.layout(), rule.eta, rule.mode, rule.only_misclassified};
  const std::int64_t rows = static_cast<std::int64_t>(s.neurons) + s.labels;
  for (std::int64_t r = 0; r < rows; ++r) update(r);
  return t;
}

void train_by_rule(const PlasticShape& s, PlasticWeights& w, const PlasticRule& rule, const Dataset& data,
                   std::uint32_t epochs) {
  for (std::uint32_t e = 0; e < epochs; ++e) {
    for (std::size_t i = 0; i < data.size(); ++i) rule_step(s, w, rule, data.sample(i), data.y[i]);
  }
}

double accuracy(const PlasticShape& s, const PlasticWeights& w, const Dataset& data) {
  if (data.size() == 0) return 0.0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.size(); ++i) correct += forward(s, w, data.sample(i)).predicted == data.y[i];
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

double cross_entropy(const std::vector<double>& logits, std::uint32_t label, std::vector<double>* dlogits, double scale) {
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (double l : logits) sum += std::exp(l - top);
  const double lse = top + std::log(sum);
  if (dlogits != nullptr) {
    dlogits->resize(logits.size());
    for (std::size_t c = 0; c < logits.size(); ++c) {
      (*dlogits)[c] = scale * (std::exp(logits[c] - lse) - (c == label ? 1.0 : 0.0));
    }
  }
  return lse - logits[label];
}

double mean_cross_entropy(const PlasticShape& s, const PlasticWeights& w, const Dataset& data) {
  if (data.size() == 0) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < data.size(); ++i) sum += cross_entropy(forward(s, w, data.sample(i)).logits, data.y[i]);
  return sum / static_cast<double>(data.size());
}

void Gradients::resize(const PlasticShape& s) {
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  w_rec.assign(v * v, 0.0);
  w_in.assign(v * d, 0.0);
  bias.assign(v, 0.0);
  w_out.assign(m * v, 0.0);
  x.assign(d, 0.0);
}

void Gradients::zero() {
  for (auto* a : {&w_rec, &w_in, &bias, &w_out, &x}) std::fill(a->begin(), a->end(), 0.0);
}

double backward(const PlasticShape& s, const PlasticWeights& w, const double* x, std::uint32_t label, Gradients& g,
                double scale) {
  const Trace t = forward(s, w, x);
  std::vector<double> dlogits;
  const double loss = cross_entropy(t.logits, label, &dlogits, scale);
  backpropagate(s, w, x, t, dlogits, g);
  return loss;
}

void backpropagate(const PlasticShape& s, const PlasticWeights& w, const double* x, const Trace& t,
                   const std::vector<double>& dlogits, Gradients& g) {
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  const double* h_last = t.h.data() + s.rounds * v;
  std::vector<double> dh(v, 0.0), da(v), dh_prev(v);
  for (std::size_t c = 0; c < m; ++c) {
    for (std::size_t j = 0; j < v; ++j) {
      g.w_out[c * v + j] += dlogits[c] * h_last[j];
      dh[j] += w.w_out[c * v + j] * dlogits[c];
    }
  }
  for (std::uint32_t r = s.rounds + 1; r-- > 0;) {
    const double* h = t.h.data() + r * v;
    // A kept neuron passes its ReLU input through (h = z > 0); every other neuron blocks it.
    for (std::size_t j = 0; j < v; ++j) da[j] = h[j] > 0.0 ? dh[j] : 0.0;
    std::fill(dh_prev.begin(), dh_prev.end(), 0.0);
    for (std::size_t j = 0; j < v; ++j) {
      if (da[j] == 0.0) continue;
      g.bias[j] += da[j];
      for (std::size_t k = 0; k < d; ++k) {
        if (!w.mask_in[j * d + k]) continue;
        g.w_in[j * d + k] += da[j] * x[k];
        g.x[k] += w.w_in[j * d + k] * da[j];
      }
      if (r == 0) continue;
      const double* hp = t.h.data() + (r - 1) * v;
      for (std::size_t i = 0; i < v; ++i) {
        if (!w.mask_rec[j * v + i]) continue;
        g.w_rec[j * v + i] += da[j] * hp[i];
        dh_prev[i] += w.w_rec[j * v + i] * da[j];
      }
    }
    dh.swap(dh_prev);
  }
}

}  // namespace engram::plastic
