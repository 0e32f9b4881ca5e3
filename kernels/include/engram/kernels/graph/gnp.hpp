#pragma once
// Implicit random graphs G(n, p), one per fiber. The out-neighbours of source neuron s of fiber f
// are a pure function of (graph seed, f, s): they are produced on demand by geometric skipping
// on s's own Philox stream, so a neuron that never fires costs no memory, and the explicit (CSR)
// mode materialises exactly the same edges by running the same generator for every row.
//
//   GnpRow row(graph_seed, fiber, source, n_target, p, /*excluded_target=*/kNoExclusion);
//   for (NeuronId t; row.next(t);) visit(t);   // strictly increasing targets
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/purposes.hpp"

namespace engram::graph {

inline constexpr NeuronId kNoExclusion = 0xFFFFFFFFu;

class GnpRow {
 public:
  ENGRAM_HD GnpRow(std::uint64_t graph_seed, std::uint32_t fiber, NeuronId source,
                   NeuronId n_target, double p, NeuronId excluded_target)
      : rng_(RngKey{graph_seed, 0, purpose::graph_edges, fiber, source}),
        n_target_(n_target),
        excluded_(excluded_target),
        dense_(p >= 1.0),
        inv_log_q_(p >= 1.0 ? 0.0 : 1.0 / ::log1p(-p)) {}

  // Writes the next out-neighbour to `target`; false once the row is exhausted.
  ENGRAM_HD bool next(NeuronId& target) {
    for (;;) {
      std::int64_t candidate = cursor_;
      if (!dense_) {
        // Number of failures before the next success of Bernoulli(p) trials.
        const double skip = ::floor(::log(rng_.uniform()) * inv_log_q_);
        if (skip >= static_cast<double>(n_target_)) {
          cursor_ = n_target_;
          return false;
        }
        candidate += static_cast<std::int64_t>(skip);
      }
      if (candidate >= static_cast<std::int64_t>(n_target_)) {
        cursor_ = n_target_;
        return false;
      }
      cursor_ = candidate + 1;
      if (static_cast<NeuronId>(candidate) == excluded_) continue;
      target = static_cast<NeuronId>(candidate);
      return true;
    }
  }

 private:
  RngStream rng_;
  NeuronId n_target_;
  NeuronId excluded_;
  bool dense_;
  double inv_log_q_;
  std::int64_t cursor_ = 0;
};

// Describes one fiber's graph for a whole batch: brain b uses graph_seed[b] and p[b].
struct FiberGraph {
  const std::uint64_t* graph_seed;  // [B]
  const double* p;                  // [B]
  std::uint32_t fiber;
  NeuronId n_target;
  bool exclude_self;  // recurrent fibers of areas without self-loops
};

// Per-fiber storage of materialised rows: row_start/row_degree are [B * n_source]; a row's
// targets (increasing) and weights live in the pool at [row_start, row_start + row_degree).
struct RowTable {
  EdgeOffset* row_start;
  std::uint32_t* row_degree;
  NeuronId* targets;
  float* weights;
  NeuronId n_source;
};

// A list of rows to materialise: (brain, source) pairs.
struct RowRequests {
  const std::uint32_t* brain;
  const NeuronId* source;
  std::int64_t count;
};

struct GnpRowDegree {
  FiberGraph graph;
  RowRequests requests;
  EdgeOffset* degree;  // [count]

  ENGRAM_HD void operator()(std::int64_t r) const {
    const std::uint32_t b = requests.brain[r];
    const NeuronId s = requests.source[r];
    GnpRow row(graph.graph_seed[b], graph.fiber, s, graph.n_target, graph.p[b],
               graph.exclude_self ? s : kNoExclusion);
    EdgeOffset count = 0;
    for (NeuronId t; row.next(t);) ++count;
    degree[r] = count;
  }
};

struct GnpRowFill {
  FiberGraph graph;
  RowRequests requests;
  const EdgeOffset* offset;  // [count] exclusive scan of the degrees
  EdgeOffset base;           // pool position of the first new row
  RowTable table;
  float initial_weight;

  ENGRAM_HD void operator()(std::int64_t r) const {
    const std::uint32_t b = requests.brain[r];
    const NeuronId s = requests.source[r];
    GnpRow row(graph.graph_seed[b], graph.fiber, s, graph.n_target, graph.p[b],
               graph.exclude_self ? s : kNoExclusion);
    const EdgeOffset start = base + offset[r];
    EdgeOffset e = start;
    for (NeuronId t; row.next(t); ++e) {
      table.targets[e] = t;
      table.weights[e] = initial_weight;
    }
    const FlatIndex slot = static_cast<FlatIndex>(b) * table.n_source + s;
    table.row_start[slot] = start;
    table.row_degree[slot] = static_cast<std::uint32_t>(e - start);
  }
};

}  // namespace engram::graph
