#pragma once
// The forward pass of a batch of plastic k-cap networks (models/plasticity), one functor per
// stage so every stage is a flat index space over (brain, neuron) or (brain, output unit):
//   round t:  RuleDrive   z = ReLU(W_rec h + W_in x + b)       (round 0 has no recurrent term)
//             RuleSelect  h = z on the top `cap` neurons (ties to the lower index), 0 elsewhere;
//                         a neuron "fires" in round t when selected with z > 0 (bit t of state)
//   readout:  RuleReadout logits = W_out h_R
// Weights are dense per brain with an edge mask, so the rule can touch existing edges only.
//
//   RuleNet net{d, v, m, cap, w_rec, mask_rec, w_in, mask_in, bias, w_out};
//   for (i in [0, B*v)) RuleDrive{net, x, h, z, t > 0}(i);
//   for (i in [0, B*v)) RuleSelect{net, z, h, state, t}(i);
//   for (i in [0, B*m)) RuleReadout{net, h, logits}(i);
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram::plasticity {

// B brains of one shape; arrays are [B, rows, cols] row-major (row = postsynaptic neuron).
struct RuleNet {
  NeuronId d = 0, v = 0, m = 0;  // inputs, hidden neurons, output units
  std::uint32_t cap = 0;         // neurons kept by the k-cap
  double* w_rec = nullptr;       // [B, v, v]
  const std::uint8_t* mask_rec = nullptr;  // [B, v, v]: 1 where the edge exists
  double* w_in = nullptr;        // [B, v, d]
  const std::uint8_t* mask_in = nullptr;   // [B, v, d]
  const double* bias = nullptr;  // [B, v]
  double* w_out = nullptr;       // [B, m, v]
};

struct RuleDrive {
  RuleNet net;
  const double* x;       // [B, d]
  const double* h_prev;  // [B, v]
  double* z;             // [B, v]
  bool recurrent;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t b = item / net.v;
    const std::int64_t j = item % net.v;
    double a = net.bias[item];
    const double* in_row = net.w_in + (b * net.v + j) * net.d;
    const double* xb = x + b * net.d;
    for (NeuronId k = 0; k < net.d; ++k) a += in_row[k] * xb[k];
    if (recurrent) {
      const double* rec_row = net.w_rec + (b * net.v + j) * net.v;
      const double* hb = h_prev + b * net.v;
      for (NeuronId i = 0; i < net.v; ++i) a += rec_row[i] * hb[i];
    }
    z[item] = a > 0.0 ? a : 0.0;
  }
};

// Exact k-cap by rank: neuron j is kept when fewer than `cap` neurons beat it (larger z, or equal
// z and lower index). O(v) per item with no collective step; v is small for these networks.
struct RuleSelect {
  RuleNet net;
  const double* z;        // [B, v]
  double* h;              // [B, v]
  std::uint32_t* state;   // [B, v]: firing history, bit t = fired in round t
  std::uint32_t round;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t b = item / net.v;
    const std::int64_t j = item % net.v;
    const double* zb = z + b * net.v;
    const double zj = zb[j];
    std::uint32_t rank = 0;
    for (std::int64_t i = 0; i < net.v && rank < net.cap; ++i) {
      if (zb[i] > zj || (zb[i] == zj && i < j)) ++rank;
    }
    const bool fired = rank < net.cap && zj > 0.0;
    h[item] = fired ? zj : 0.0;
    const std::uint32_t bit = fired ? (1u << round) : 0u;
    state[item] = round == 0 ? bit : (state[item] | bit);
  }
};

struct RuleReadout {
  RuleNet net;
  const double* h;  // [B, v]: last round
  double* logits;   // [B, m]

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t b = item / net.m;
    const double* row = net.w_out + item * net.v;
    const double* hb = h + b * net.v;
    double s = 0.0;
    for (NeuronId j = 0; j < net.v; ++j) s += row[j] * hb[j];
    logits[item] = s;
  }
};

// The predicted label: the largest logit, ties to the lower index.
ENGRAM_HD inline std::uint32_t rule_argmax(const double* logits, NeuronId m) {
  std::uint32_t best = 0;
  for (NeuronId c = 1; c < m; ++c) {
    if (logits[c] > logits[best]) best = c;
  }
  return best;
}

}  // namespace engram::plasticity
