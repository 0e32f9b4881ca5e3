#pragma once
// Sparse edge lists for the lazy mode: a fiber's stored edges are a growing COO list
// (source, target, weight) over support-local neuron ids, so storage scales with the edges among
// neurons that ever fired and never with n. Input accumulation scans the list once: an edge
// whose source fires adds its weight to its target's fixed-point input (integer atomics, so the
// sum is the same bits for any thread count or launch shape).
//
//   graph::SparseEdges edges{src, tgt, w};
//   engram::launch(backend, edge_count, graph::SparseAccumulate{edges, firing_flags, inputs});
//
// BernoulliSkip visits the successes of `count` Bernoulli(p) trials on one keyed stream by
// geometric skipping: O(count * p) work, used to draw a new neuron's edges to a support.
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/atomic.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/core/types.hpp"

namespace engram::graph {

struct SparseEdges {
  const NeuronId* source;  // [edges], support-local ids of the source area (or stimulus)
  const NeuronId* target;  // [edges], support-local ids of the target area
  float* weight;           // [edges]
};

// One work item per edge: inputs[target] += weight when the source fires.
struct SparseAccumulate {
  SparseEdges edges;
  const std::uint8_t* source_fires;  // [source support]: 1 for neurons of the firing set
  FixedInput* inputs;                // [target support]

  ENGRAM_HD void operator()(std::int64_t e) const {
    if (source_fires[edges.source[e]]) atomic_add(inputs + edges.target[e], to_fixed(edges.weight[e]));
  }
};

// Successes of `count` Bernoulli(p) trials, in increasing order, keyed by `key`.
class BernoulliSkip {
 public:
  ENGRAM_HD BernoulliSkip(const RngKey& key, std::int64_t count, double p)
      : rng_(key),
        count_(count),
        dense_(p >= 1.0),
        empty_(p <= 0.0),
        inv_log_q_(p >= 1.0 || p <= 0.0 ? 0.0 : 1.0 / ::log1p(-p)) {}

  ENGRAM_HD bool next(std::int64_t& index) {
    if (empty_ || cursor_ >= count_) return false;
    std::int64_t candidate = cursor_;
    if (!dense_) {
      const double skip = ::floor(::log(rng_.uniform()) * inv_log_q_);
      if (skip >= static_cast<double>(count_ - cursor_)) {
        cursor_ = count_;
        return false;
      }
      candidate += static_cast<std::int64_t>(skip);
    }
    cursor_ = candidate + 1;
    index = candidate;
    return true;
  }

 private:
  RngStream rng_;
  std::int64_t count_;
  bool dense_;
  bool empty_;
  double inv_log_q_;
  std::int64_t cursor_ = 0;
};

}  // namespace engram::graph
