#pragma once
// A plastic k-cap network (one brain, host side): d inputs feed a random recurrent graph of v
// neurons (edges with probability p, no self-loops; input -> neuron edges with probability p);
// round 0 computes ReLU(W_in x + b) and rounds 1..R compute ReLU(W_rec h + W_in x + b), each
// keeping the top `cap` neurons; a dense readout W_out h_R gives m logits (softmax).
// A learned rule (PlasticRule, layout in kernels/plasticity/rule_table.hpp) changes the weights
// example by example from firing-history states only: no backpropagation.
//
// The host functions below run the same functors as the batched backend path
// (plastic_batch.hpp) with a batch of one, so both agree bit for bit.
//
//   PlasticShape shape{.inputs = 20, .neurons = 100, .labels = 2, .cap = 50, .rounds = 1, .p = 0.1};
//   PlasticWeights w = random_weights(shape, /*seed=*/1, /*brain=*/0);
//   PlasticRule rule = PlasticRule::perceptron(1);
//   train_by_rule(shape, w, rule, train, /*epochs=*/1);
//   double acc = accuracy(shape, w, test);
#include <cstdint>
#include <string>
#include <vector>

#include "engram/kernels/plasticity/rule_network.hpp"
#include "engram/kernels/plasticity/rule_table.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

struct PlasticShape {
  std::uint32_t inputs = 20;   // d
  std::uint32_t neurons = 100; // v
  std::uint32_t labels = 2;    // m
  std::uint32_t cap = 50;
  std::uint32_t rounds = 1;    // R recurrent rounds after the input-only round 0
  double p = 0.1;              // edge probability (recurrent and input -> neuron)
  // Throws Error::bad_input naming `prefix` + field.
  void validate(const std::string& prefix = "") const;
  plasticity::RuleLayout layout() const { return plasticity::RuleLayout::for_rounds(rounds); }
};

struct PlasticRule {
  std::uint32_t rounds = 1;
  std::vector<double> params;  // layout().size() values
  double eta = 0.1;
  plasticity::RuleMode mode = plasticity::RuleMode::additive;
  bool only_misclassified = true;

  plasticity::RuleLayout layout() const { return plasticity::RuleLayout::for_rounds(rounds); }
  // Wrong table size, a non-finite entry or eta, or rounds out of range: Error::bad_input naming `field`.
  void validate(const std::string& field = "rule") const;

  static PlasticRule zeros(std::uint32_t rounds);
  // Independent N(0, scale^2) entries keyed by (seed, purpose::plasticity_rule).
  static PlasticRule random(std::uint32_t rounds, double scale, std::uint64_t seed);
  // The closed-form output rule for the last-layer-only case (see docs/plasticity.md): a neuron
  // that fired in the last round moves the true label's weight up by 1 and the wrongly predicted
  // label's weight down by 1; recurrent and input entries are 0.
  static PlasticRule perceptron(std::uint32_t rounds);
};

// One brain's weights, dense with edge masks (non-edges hold 0 and never change).
struct PlasticWeights {
  std::vector<double> w_rec;          // [v, v], row = postsynaptic neuron
  std::vector<std::uint8_t> mask_rec; // [v, v]
  std::vector<double> w_in;           // [v, d]
  std::vector<std::uint8_t> mask_in;  // [v, d]
  std::vector<double> bias;           // [v]
  std::vector<double> w_out;          // [m, v]
  // Array sizes against the shape, masks against non-edges; Error::bad_input naming `field`.
  void check(const PlasticShape& shape, const std::string& field = "weights") const;
};

// Graph and initial weights of brain `brain`: N(0, 1/(p d)) on input edges, N(0, 1/(p v)) on
// recurrent edges, N(0, output_scale^2 / cap) on the readout, zero bias.
PlasticWeights random_weights(const PlasticShape& shape, std::uint64_t seed, std::uint32_t brain,
                              double output_scale = 0.1);

// Labelled real-valued samples.
struct Dataset {
  std::uint32_t features = 0;
  std::uint32_t labels = 0;      // classes
  std::vector<double> x;         // [n, features]
  std::vector<std::uint32_t> y;  // [n]
  std::size_t size() const { return y.size(); }
  const double* sample(std::size_t i) const { return x.data() + i * features; }
  // Sizes, finite values, labels below `labels`, and agreement with the network's inputs and
  // labels; Error::bad_input naming `field`.
  void check(const PlasticShape& shape, const std::string& field = "data") const;
  Dataset slice(std::size_t begin, std::size_t count) const;
};

// Everything the backward pass and the rule need from one forward pass.
struct Trace {
  std::vector<double> h;             // [rounds + 1, v]: kept activations per round
  std::vector<std::uint32_t> state;  // [v]
  std::vector<double> logits;        // [m]
  std::uint32_t predicted = 0;
};

Trace forward(const PlasticShape& shape, const PlasticWeights& w, const double* x);
// One rule-driven step: forward, then the rule (kernels/plasticity/rule_update.hpp). Returns the trace.
Trace rule_step(const PlasticShape& shape, PlasticWeights& w, const PlasticRule& rule, const double* x,
                std::uint32_t label);
void train_by_rule(const PlasticShape& shape, PlasticWeights& w, const PlasticRule& rule, const Dataset& data,
                   std::uint32_t epochs = 1);
double accuracy(const PlasticShape& shape, const PlasticWeights& w, const Dataset& data);
double mean_cross_entropy(const PlasticShape& shape, const PlasticWeights& w, const Dataset& data);
// log-sum-exp(logits) - logits[label], and its gradient softmax - onehot (times scale) into dlogits.
double cross_entropy(const std::vector<double>& logits, std::uint32_t label, std::vector<double>* dlogits = nullptr,
                     double scale = 1.0);

// Gradients of the cross-entropy with respect to every weight and the input, with the k-cap
// selections of the forward pass held fixed (they are piecewise constant in the weights).
struct Gradients {
  std::vector<double> w_rec, w_in, bias, w_out;  // shaped as PlasticWeights, zero on non-edges
  std::vector<double> x;                          // [d]
  void resize(const PlasticShape& shape);
  void zero();
};
// Adds scale * d CE(x, label) / d(weights, x) to `grads` (sized by resize()); returns the CE.
double backward(const PlasticShape& shape, const PlasticWeights& w, const double* x, std::uint32_t label,
                Gradients& grads, double scale = 1.0);
// Adds d L / d(weights, x) to `grads` for any loss L of the logits, given dlogits = d L / d logits
// at the forward pass `trace` of x (selections held fixed, as in backward()).
void backpropagate(const PlasticShape& shape, const PlasticWeights& w, const double* x, const Trace& trace,
                   const std::vector<double>& dlogits, Gradients& grads);

}  // namespace engram::plastic
