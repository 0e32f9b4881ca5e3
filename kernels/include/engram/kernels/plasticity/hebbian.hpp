#pragma once
// Hebbian plasticity: every existing edge from a neuron that fired at step t to a winner of step
// t+1 is multiplied by (1 + beta). Each work item owns one source row, so no two items touch the
// same weight and the update needs no atomics.
#include <cstdint>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"

namespace engram::plasticity {

struct HebbianScale {
  graph::RowTable table;
  graph::FiringSet presynaptic;     // fired at step t
  const std::uint8_t* is_winner;    // [B, n_target]: 1 for winners of step t+1
  const float* factor;              // [B]: 1 + beta of this fiber for brain b
  NeuronId n_target;
  float max_weight = 0.0f;          // > 0: weights are capped here (the literature's w_max);
                                    // kMaxWeight always applies

  ENGRAM_HD void operator()(std::int64_t item) const {
    if (!presynaptic.fires(item)) return;
    const std::int64_t b = item / presynaptic.count_per_brain;
    const float scale = factor[b];
    const NeuronId s = presynaptic.neurons[item];
    const FlatIndex slot = b * table.n_source + s;
    const EdgeOffset start = table.row_start[slot];
    const EdgeOffset end = start + table.row_degree[slot];
    const std::uint8_t* winners = is_winner + b * static_cast<FlatIndex>(n_target);
    for (EdgeOffset e = start; e < end; ++e) {
      if (!winners[table.targets[e]]) continue;
      const float grown = table.weights[e] * scale;
      const float ceiling = max_weight > 0.0f && max_weight < kMaxWeight ? max_weight : kMaxWeight;
      table.weights[e] = grown > ceiling ? ceiling : grown;
    }
  }
};

// Marks (value = 1) or clears (value = 0) the winner flags of a batch's winner lists.
struct MarkWinners {
  const NeuronId* winners;  // [B, k]
  std::uint32_t k;
  std::uint8_t* is_winner;  // [B, n]
  NeuronId n;
  std::uint8_t value;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t b = item / k;
    is_winner[b * static_cast<FlatIndex>(n) + winners[item]] = value;
  }
};

}  // namespace engram::plasticity
