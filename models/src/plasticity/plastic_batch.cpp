#include "engram/models/plasticity/plastic_batch.hpp"

#include <cmath>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/plasticity/rule_network.hpp"
#include "engram/kernels/plasticity/rule_update.hpp"

namespace engram::plastic {

namespace {
template <class T>
void copy_slot(Backend& backend, Buffer<T>& dst, std::int64_t brain, const std::vector<T>& src) {
  backend.copy_from_host(dst.data() + static_cast<std::size_t>(brain) * src.size(), src.data(), src.size() * sizeof(T));
}
template <class T>
std::vector<T> read_slot(Backend& backend, const Buffer<T>& src, std::int64_t brain, std::size_t count) {
  std::vector<T> out(count);
  backend.copy_to_host(out.data(), src.data() + static_cast<std::size_t>(brain) * count, count * sizeof(T));
  return out;
}
}  // namespace

PlasticBatch::PlasticBatch(Backend& backend, const PlasticShape& shape, std::int64_t brains)
    : backend_(&backend), shape_(shape), brains_(brains), layout_(shape.layout()) {
  shape.validate("network.");
  if (brains <= 0) throw Error::bad_input("brains", to_text(brains), "must be at least 1");
  const auto b = static_cast<std::size_t>(brains);
  const std::size_t v = shape.neurons, d = shape.inputs, m = shape.labels;
  w_rec_ = Buffer<double>(backend, b * v * v);
  mask_rec_ = Buffer<std::uint8_t>(backend, b * v * v);
  w_in_ = Buffer<double>(backend, b * v * d);
  mask_in_ = Buffer<std::uint8_t>(backend, b * v * d);
  bias_ = Buffer<double>(backend, b * v);
  w_out_ = Buffer<double>(backend, b * m * v);
  x_ = Buffer<double>(backend, b * d);
  h_a_ = Buffer<double>(backend, b * v);
  h_b_ = Buffer<double>(backend, b * v);
  z_ = Buffer<double>(backend, b * v);
  logits_ = Buffer<double>(backend, b * m);
  rules_ = Buffer<double>(backend, b * layout_.size());
  state_ = Buffer<std::uint32_t>(backend, b * v);
  labels_ = Buffer<std::uint32_t>(backend, b);
  for (auto* buf : {&w_rec_, &w_in_, &bias_, &w_out_, &h_a_, &h_b_}) buf->zero();
  mask_rec_.zero();
  mask_in_.zero();
}

void PlasticBatch::set_weights(std::int64_t brain, const PlasticWeights& w) {
  if (brain < 0 || brain >= brains_) throw Error::bad_input("brain", to_text(brain), "must be below brains = " + to_text(brains_));
  w.check(shape_);
  copy_slot(*backend_, w_rec_, brain, w.w_rec);
  copy_slot(*backend_, mask_rec_, brain, w.mask_rec);
  copy_slot(*backend_, w_in_, brain, w.w_in);
  copy_slot(*backend_, mask_in_, brain, w.mask_in);
  copy_slot(*backend_, bias_, brain, w.bias);
  copy_slot(*backend_, w_out_, brain, w.w_out);
}

void PlasticBatch::set_weights(const PlasticWeights& w) {
  for (std::int64_t b = 0; b < brains_; ++b) set_weights(b, w);
}

PlasticWeights PlasticBatch::weights(std::int64_t brain) const {
  const std::size_t v = shape_.neurons, d = shape_.inputs, m = shape_.labels;
  PlasticWeights w;
  w.w_rec = read_slot(*backend_, w_rec_, brain, v * v);
  w.mask_rec = read_slot(*backend_, mask_rec_, brain, v * v);
  w.w_in = read_slot(*backend_, w_in_, brain, v * d);
  w.mask_in = read_slot(*backend_, mask_in_, brain, v * d);
  w.bias = read_slot(*backend_, bias_, brain, v);
  w.w_out = read_slot(*backend_, w_out_, brain, m * v);
  return w;
}

void PlasticBatch::set_rules(const std::vector<double>& tables, double eta, plasticity::RuleMode mode,
                             bool only_misclassified) {
  const std::size_t expected = static_cast<std::size_t>(brains_) * layout_.size();
  if (tables.size() != expected) {
    throw Error::bad_input("rule.table", to_text(tables.size()) + " values",
                           "a batch of " + to_text(brains_) + " brains with R = " + to_text(shape_.rounds) + " needs " +
                               to_text(brains_) + " x " + to_text(layout_.size()) + " = " + to_text(expected));
  }
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (!std::isfinite(tables[i])) throw Error::bad_input("rule.table[" + to_text(i) + "]", to_text(tables[i]), "must be finite");
  }
  if (!std::isfinite(eta) || eta <= 0.0) throw Error::bad_input("rule.eta", to_text(eta), "must be finite and > 0");
  rules_.upload(tables);
  eta_ = eta;
  mode_ = mode;
  only_misclassified_ = only_misclassified;
  rules_set_ = true;
}

void PlasticBatch::upload_inputs(const std::vector<double>& x) {
  const std::size_t d = shape_.inputs, b = static_cast<std::size_t>(brains_);
  if (x.size() == d) {
    x_host_.resize(b * d);
    for (std::size_t i = 0; i < b; ++i) std::copy(x.begin(), x.end(), x_host_.begin() + static_cast<std::ptrdiff_t>(i * d));
    x_.upload(x_host_);
  } else if (x.size() == b * d) {
    x_.upload(x);
  } else {
    throw Error::bad_input("x", to_text(x.size()) + " values", "must be inputs = " + to_text(d) + " or brains x inputs = " + to_text(b * d));
  }
}

void PlasticBatch::run_forward() {
  const plasticity::RuleNet net{shape_.inputs, shape_.neurons, shape_.labels, shape_.cap, w_rec_.data(), mask_rec_.data(),
                                w_in_.data(), mask_in_.data(), bias_.data(), w_out_.data()};
  const std::int64_t items = brains_ * shape_.neurons;
  double* prev = h_a_.data();
  double* next = h_b_.data();
  for (std::uint32_t r = 0; r <= shape_.rounds; ++r) {
    launch(*backend_, items, plasticity::RuleDrive{net, x_.data(), prev, z_.data(), r > 0});
    launch(*backend_, items, plasticity::RuleSelect{net, z_.data(), next, state_.data(), r});
    std::swap(prev, next);
  }
  last_h_ = prev;
  launch(*backend_, brains_ * shape_.labels, plasticity::RuleReadout{net, prev, logits_.data()});
}

void PlasticBatch::learn(const std::vector<double>& x, const std::vector<std::uint32_t>& labels) {
  if (!rules_set_) throw Error::bad_input("rule.table", "unset", "set_rules() must come before learn()");
  const std::size_t b = static_cast<std::size_t>(brains_);
  if (labels.size() != 1 && labels.size() != b) {
    throw Error::bad_input("labels", to_text(labels.size()) + " values", "must be 1 or brains = " + to_text(b));
  }
  for (std::uint32_t y : labels) {
    if (y >= shape_.labels) throw Error::bad_input("labels", to_text(y), "must be below labels = " + to_text(shape_.labels));
  }
  upload_inputs(x);
  if (labels.size() == 1) {
    labels_host_.assign(b, labels[0]);
    labels_.upload(labels_host_);
  } else {
    labels_.upload(labels);
  }
  run_forward();
  const plasticity::RuleNet net{shape_.inputs, shape_.neurons, shape_.labels, shape_.cap, w_rec_.data(), mask_rec_.data(),
                                w_in_.data(), mask_in_.data(), bias_.data(), w_out_.data()};
  launch(*backend_, brains_ * (static_cast<std::int64_t>(shape_.neurons) + shape_.labels),
         plasticity::RuleUpdate{net, x_.data(), state_.data(), logits_.data(), labels_.data(), rules_.data(), layout_, eta_,
                                mode_, only_misclassified_});
}

std::vector<double> PlasticBatch::logits_for(const std::vector<double>& x) {
  upload_inputs(x);
  run_forward();
  return logits_.to_host();
}

}  // namespace engram::plastic
