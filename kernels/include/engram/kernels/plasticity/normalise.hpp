#pragma once
// Weight normalisation options of the literature, applied after a Hebbian update:
//  * a maximum weight (HebbianScale clamps w * (1 + beta) at w_max);
//  * incoming-sum normalisation: for every winner j, the total weight of j's in-edges from
//    neurons that have ever fired is rescaled to what it was before the update, so learning
//    redistributes a neuron's synaptic budget instead of growing it. Edges from never-fired
//    neurons are excluded on purpose: they are not stored in implicit mode, and excluding them in
//    explicit mode too keeps both modes bit-identical.
#include <cstdint>

#include "engram/kernels/core/atomic.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/gnp.hpp"

namespace engram::plasticity {

// Adds each stored edge from an ever-fired source into a winner to sums[b, target].
// One work item per (brain, source neuron) slot of the row table.
struct IncomingSums {
  graph::RowTable table;
  const std::uint8_t* source_fired;  // [B, n_source], nullptr: every stored row counts (stimuli)
  const std::uint8_t* is_winner;     // [B, n_target]
  FixedInput* sums;                  // [B, n_target]
  NeuronId n_target;

  ENGRAM_HD void operator()(std::int64_t slot) const {
    const EdgeOffset start = table.row_start[slot];
    if (start == kRowAbsent) return;
    if (source_fired != nullptr && !source_fired[slot]) return;
    const std::int64_t b = slot / table.n_source;
    const std::uint8_t* winners = is_winner + b * static_cast<FlatIndex>(n_target);
    FixedInput* row_sums = sums + b * static_cast<FlatIndex>(n_target);
    const EdgeOffset end = start + table.row_degree[slot];
    for (EdgeOffset e = start; e < end; ++e) {
      const NeuronId t = table.targets[e];
      if (winners[t]) atomic_add(row_sums + t, to_fixed(table.weights[e]));
    }
  }
};

// Multiplies each such edge by before[b, t] / after[b, t].
struct RescaleIncoming {
  graph::RowTable table;
  const std::uint8_t* source_fired;
  const std::uint8_t* is_winner;
  const FixedInput* before;
  const FixedInput* after;
  NeuronId n_target;

  ENGRAM_HD void operator()(std::int64_t slot) const {
    const EdgeOffset start = table.row_start[slot];
    if (start == kRowAbsent) return;
    if (source_fired != nullptr && !source_fired[slot]) return;
    const std::int64_t b = slot / table.n_source;
    const FlatIndex base = b * static_cast<FlatIndex>(n_target);
    const EdgeOffset end = start + table.row_degree[slot];
    for (EdgeOffset e = start; e < end; ++e) {
      const FlatIndex t = base + table.targets[e];
      if (is_winner[t] && after[t] > 0 && after[t] != before[t]) {
        table.weights[e] = static_cast<float>(static_cast<double>(table.weights[e]) *
                                              (static_cast<double>(before[t]) / static_cast<double>(after[t])));
      }
    }
  }
};

}  // namespace engram::plasticity
