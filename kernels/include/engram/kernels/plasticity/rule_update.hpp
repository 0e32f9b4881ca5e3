#pragma once
// One rule-driven learning step of a batch of plastic networks (rule_network.hpp), after the
// forward pass of one example per brain. Work item = (brain, row): rows [0, v) are hidden neuron
// j's incoming recurrent and input edges, rows [v, v + m) are output unit c's weights; each item
// owns its row, so no two items write the same weight.
//   recurrent edge i -> j:  beta = rec[state_i, state_j]
//   input edge k -> j:      beta = in[state_j] * x_k
//   output unit c, neuron j: beta = out[state_j, 0] when c is the true label,
//                             out[state_j, 1] when c is the (wrong) prediction
// and w += eta * beta (additive) or w *= 1 + eta * beta (multiplicative). With
// only_misclassified, brains whose prediction was right change nothing.
//
//   for (i in [0, B * (v + m))) RuleUpdate{net, x, state, logits, labels, params, layout, ...}(i);
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/plasticity/rule_network.hpp"
#include "engram/kernels/plasticity/rule_table.hpp"

namespace engram::plasticity {

struct RuleUpdate {
  RuleNet net;
  const double* x;              // [B, d]
  const std::uint32_t* state;   // [B, v]
  const double* logits;         // [B, m]
  const std::uint32_t* labels;  // [B]
  const double* params;         // [B, layout.size()]: each brain its own rule
  RuleLayout layout;
  double eta;
  RuleMode mode;
  bool only_misclassified;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t rows = static_cast<std::int64_t>(net.v) + net.m;
    const std::int64_t b = item / rows;
    const std::int64_t r = item % rows;
    const std::uint32_t label = labels[b];
    const std::uint32_t predicted = rule_argmax(logits + b * net.m, net.m);
    if (only_misclassified && predicted == label) return;
    const double* beta = params + b * layout.size();
    const std::uint32_t* sb = state + b * net.v;
    if (r < net.v) {
      const std::uint32_t post = sb[r];
      const std::int64_t rec_row = (b * net.v + r) * net.v;
      for (NeuronId i = 0; i < net.v; ++i) {
        if (!net.mask_rec[rec_row + i]) continue;
        net.w_rec[rec_row + i] = apply_rule(net.w_rec[rec_row + i], eta * beta[layout.recurrent(sb[i], post)], mode);
      }
      const std::int64_t in_row = (b * net.v + r) * net.d;
      const double in_beta = eta * beta[layout.input(post)];
      const double* xb = x + b * net.d;
      for (NeuronId k = 0; k < net.d; ++k) {
        if (!net.mask_in[in_row + k]) continue;
        net.w_in[in_row + k] = apply_rule(net.w_in[in_row + k], in_beta * xb[k], mode);
      }
      return;
    }
    const auto c = static_cast<std::uint32_t>(r - net.v);
    std::uint32_t which = 0;
    if (c == label) {
      which = 0;
    } else if (c == predicted) {
      which = 1;
    } else {
      return;
    }
    double* row = net.w_out + (b * net.m + c) * net.v;
    for (NeuronId j = 0; j < net.v; ++j) {
      row[j] = apply_rule(row[j], eta * beta[layout.output(sb[j], which)], mode);
    }
  }
};

}  // namespace engram::plasticity
