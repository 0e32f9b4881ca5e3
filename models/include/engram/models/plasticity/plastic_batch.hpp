#pragma once
// PlasticBatch: B plastic networks of one shape on a backend, each with its own weights and its
// own rule table, stepped together: one launch per stage covers every brain (the functors of
// kernels/plasticity/rule_network.hpp and rule_update.hpp). An evolution-strategies population
// is one PlasticBatch whose brains share initial weights and differ in their rules.
//
//   PlasticBatch batch(backend, shape, /*brains=*/1024);
//   batch.set_weights(w0);                    // every brain starts from w0
//   batch.set_rules(tables, eta, mode, true); // [B, layout.size()]
//   for (example) batch.learn(x, label);      // the same example for every brain
//   std::vector<double> logits = batch.logits_for(x);  // [B, m]
#include <cstdint>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/models/plasticity/plastic_network.hpp"

namespace engram::plastic {

class PlasticBatch {
 public:
  PlasticBatch(Backend& backend, const PlasticShape& shape, std::int64_t brains);

  std::int64_t brains() const { return brains_; }
  const PlasticShape& shape() const { return shape_; }

  void set_weights(const PlasticWeights& w);                      // every brain
  void set_weights(std::int64_t brain, const PlasticWeights& w);   // one brain
  PlasticWeights weights(std::int64_t brain) const;
  // tables: [brains, layout.size()], finite (Error::bad_input "rule.table" otherwise).
  void set_rules(const std::vector<double>& tables, double eta, plasticity::RuleMode mode, bool only_misclassified);

  // One rule-driven step per brain: x is [d] (shared) or [B, d]; labels [1] (shared) or [B].
  void learn(const std::vector<double>& x, const std::vector<std::uint32_t>& labels);
  // Forward only; returns logits [B, m].
  std::vector<double> logits_for(const std::vector<double>& x);

 private:
  void upload_inputs(const std::vector<double>& x);
  void run_forward();

  Backend* backend_;
  PlasticShape shape_;
  std::int64_t brains_;
  plasticity::RuleLayout layout_;
  double eta_ = 0.1;
  plasticity::RuleMode mode_ = plasticity::RuleMode::additive;
  bool only_misclassified_ = true;
  bool rules_set_ = false;
  Buffer<double> w_rec_, w_in_, bias_, w_out_, x_, h_a_, h_b_, z_, logits_, rules_;
  Buffer<std::uint8_t> mask_rec_, mask_in_;
  Buffer<std::uint32_t> state_, labels_;
  std::vector<double> x_host_;
  std::vector<std::uint32_t> labels_host_;
  const double* last_h_ = nullptr;
};

}  // namespace engram::plastic
