#pragma once
// Hebbian plasticity over a sparse (COO) edge list: an edge from a neuron that fired at step t to
// a winner of step t+1 is multiplied by (1 + beta). One work item per edge; each item owns its
// weight, so no atomics are needed and the result is independent of the thread count.
#include <cstdint>

#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/graph/sparse_edges.hpp"

namespace engram::plasticity {

struct SparseHebbian {
  graph::SparseEdges edges;
  const std::uint8_t* source_fired;  // [source support]: fired at step t
  const std::uint8_t* target_wins;   // [target support]: winners of step t+1
  float factor;                      // 1 + beta

  ENGRAM_HD void operator()(std::int64_t e) const {
    if (source_fired[edges.source[e]] && target_wins[edges.target[e]]) {
      const float grown = edges.weight[e] * factor;
      edges.weight[e] = grown > kMaxWeight ? kMaxWeight : grown;
    }
  }
};

}  // namespace engram::plasticity
