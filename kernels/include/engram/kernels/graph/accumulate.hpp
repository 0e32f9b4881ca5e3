#pragma once
// Input accumulation: for every brain b of a batch and every firing source neuron s of a fiber,
// add the weights of s's out-edges into the target area's input row of brain b. Sums are
// fixed-point integers (core/fixed_point.hpp), so the integer atomics used to scatter them give
// the same bits whatever the thread count or the order of the adds.
#include <cstdint>

#include "engram/kernels/core/atomic.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/gnp.hpp"

namespace engram::graph {

// The firing source neurons of one fiber for a whole batch: [B, count_per_brain]. When
// `active` is set, brain b fires only its first active[b] entries (ragged firing sets, e.g. a
// partial assembly or a sample's active features); the rest of its row is padding.
struct FiringSet {
  const NeuronId* neurons;
  std::uint32_t count_per_brain;
  const std::uint32_t* active = nullptr;  // [B] or nullptr: all count_per_brain fire

  ENGRAM_HD bool fires(std::int64_t item) const {
    return active == nullptr ||
           static_cast<std::uint32_t>(item % count_per_brain) < active[item / count_per_brain];
  }
};

struct AccumulateInputs {
  RowTable table;
  FiringSet firing;
  FixedInput* inputs;  // [B, n_target]
  NeuronId n_target;

  ENGRAM_HD void operator()(std::int64_t item) const {
    if (!firing.fires(item)) return;
    const std::int64_t b = item / firing.count_per_brain;
    const NeuronId s = firing.neurons[item];
    const FlatIndex slot = b * table.n_source + s;
    const EdgeOffset start = table.row_start[slot];
    const EdgeOffset end = start + table.row_degree[slot];
    FixedInput* row_inputs = inputs + b * static_cast<FlatIndex>(n_target);
    for (EdgeOffset e = start; e < end; ++e) {
      atomic_add(row_inputs + table.targets[e], to_fixed(table.weights[e]));
    }
  }
};

}  // namespace engram::graph
