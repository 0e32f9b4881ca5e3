#pragma once
// The end-to-end baseline: the same plastic network (same graph, same k-cap) trained by
// backpropagation (k-cap selections held fixed per example, as in backward()) with AdamW on every
// existing weight and bias (or on the readout only), in minibatches of the mean cross-entropy.
//
//   PlasticWeights w = random_weights(shape, seed, 0);
//   train_by_gradient(shape, w, train, {.epochs = 20, .batch = 32});
#include <cstdint>

#include "engram/kernels/nn/adamw.hpp"
#include "engram/models/plasticity/plastic_network.hpp"

namespace engram::plastic {

struct GradientTraining {
  std::uint32_t epochs = 20;
  std::uint32_t batch = 32;
  nn::AdamWConfig adam{0.01, 0.9, 0.999, 1e-8, 0.0};
  std::uint64_t seed = 1;  // keys the per-epoch shuffles
  // Train the readout W_out only, the graph and bias kept at their random start: the same
  // trainable part as an output-table rule, so a comparison isolates the learning rule from
  // feature learning (docs/plasticity.md, robustness).
  bool readout_only = false;
};

// Returns the mean training cross-entropy of the last epoch.
double train_by_gradient(const PlasticShape& shape, PlasticWeights& w, const Dataset& data, const GradientTraining& options);

}  // namespace engram::plastic
