#pragma once
// CPU fast paths of the exact modes, host-only. One thread owns each brain for a whole stage (a
// batch of fewer brains than threads leaves the spare threads idle): its input row, winner flags
// and rows stay in that core's cache and no add needs an atomic. The portable functors of
// kernels/ (graph::AccumulateInputs, plasticity::HebbianScale, the radix k-cap, GnpRowDegree/Fill)
// stay the CUDA path and the tested reference: the parity tests run both and compare bits.
#include <cstdint>
#include <utility>
#include <vector>

#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/core/fixed_point.hpp"
#include "engram/kernels/core/types.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/kernels/select/cpu_kcap.hpp"

namespace engram::assembly::cpu {

// The firing neurons of brain b in a batch-wide firing set.
struct BrainFiring {
  const NeuronId* neurons;
  std::uint32_t count;
};
inline BrainFiring brain_firing(const graph::FiringSet& fs, std::size_t b) {
  return {fs.neurons + b * fs.count_per_brain, fs.active ? fs.active[b] : fs.count_per_brain};
}

// inputs[t] += weight of every out-edge (s, t) of every firing s of brain b (inputs: b's row).
void accumulate(const graph::RowTable& table, std::size_t b, BrainFiring firing, FixedInput* inputs);

// The same sum, split: an edge of weight exactly 1 (the initial weight; Hebbian growth touches
// only edges into winners, about k/n of them) adds 1 to `unit_counts[t]` and every other edge
// adds its fixed-point weight to inputs[t]. The 16-bit counts of a row of n stay in L1 where the
// 64-bit inputs would not, so the common edge is an L1 increment. fold_unit_counts() then adds
// count * to_fixed(1.0f) (= count << 32) to each input and clears the counts: integer sums, so
// the bits equal accumulate()'s. A count never exceeds the number of firing sources (a row holds
// a target at most once), so callers use this while that number is below 2^16.
void accumulate_counted(const graph::RowTable& table, std::size_t b, BrainFiring firing, FixedInput* inputs,
                        std::uint16_t* unit_counts);
void fold_unit_counts(std::uint16_t* unit_counts, NeuronId n, FixedInput* inputs);
// The calling thread's zeroed count array of at least n entries, kept for the thread's lifetime.
std::uint16_t* thread_unit_counts(NeuronId n);

// One fiber's share of brain b's inputs, kept from step to step where that is cheaper than
// summing it afresh: `kept_firing` (sorted) lists the sources of the fiber's latest sum, and
// while `held`, `sums` (n entries) holds the input from their rows. keep_input() brings it to the
// rows of `firing`: it subtracts the rows of sources that stopped firing and adds those of
// sources that started, or, when `sums` was not held, sums every row of `firing` into it. The sums
// are integers, so the result has the bits of accumulate() over every row of `firing`, at the
// cost of the rows that changed only: a stimulus fires the same neurons every step and an
// assembly, once it forms, mostly the same ones. Where more than two thirds of the rows changed
// (an assembly still forming), it returns false and lets `sums` go: the caller sums the rows
// afresh into the step's inputs (accumulate_counted), as it would without keeping. Valid while
// every weight change of the fiber's rows reaches `sums` (hebbian() with sums).
bool keep_input(const graph::RowTable& table, std::size_t b, BrainFiring firing, NeuronId n,
                std::vector<NeuronId>& kept_firing, bool& held, FixedInput* sums, std::uint16_t* unit_counts);

// Every out-edge of a firing s of brain b that ends on a winner is scaled by `factor`, capped as
// plasticity::HebbianScale caps it. With `sums`, each changed edge's weight difference (in fixed
// point) is added to sums[target], so move_sums()' sums follow the new weights.
void hebbian(const graph::RowTable& table, std::size_t b, BrainFiring firing, const std::uint32_t* winner_bits,
             float factor, float max_weight, FixedInput* sums = nullptr);
// The calling thread's scratch list (move_sums), kept for the thread's lifetime.
std::vector<NeuronId>& thread_firing_list();
// A zeroed bitmap of at least n bits for the calling thread (kept for its lifetime): bit t of
// word t / 32 marks target t a winner. Callers clear the bits they set.
std::uint32_t* thread_winner_bits(NeuronId n);

// Rows of implicit graphs kept for brains that share a graph (same graph seed and p of a fiber:
// sweeps over other parameters, such as the Hebbian rate, at one seed) and run one after another
// on one thread: a row one brain generated is copied, not regenerated, when another brain's
// neuron of the same index first fires. A row's targets are a pure function of (graph seed, fiber,
// source, n, p, exclusion), so a copy is the same bits. Not thread-safe: one cache per thread.
class RowCache {
 public:
  // The cached row of `source` in `fiber` for a brain of graph (graph_seed, p), made by `make`
  // (which appends the targets to the vector it is given) the first time. nullptr when this
  // cache holds another graph for the fiber: the caller generates the row itself.
  template <class Make>
  const std::vector<NeuronId>* row(std::uint32_t fiber, std::uint64_t graph_seed, double p, NeuronId n_target,
                                   bool exclude_self, NeuronId source, Make&& make) {
    if (fibers_.size() <= fiber) fibers_.resize(fiber + 1);
    FiberRows& f = fibers_[fiber];
    if (!f.bound) {
      f = FiberRows{true, graph_seed, p, n_target, exclude_self, {}};
    } else if (f.graph_seed != graph_seed || f.p != p || f.n_target != n_target || f.exclude_self != exclude_self) {
      return nullptr;
    }
    if (f.rows.size() <= source) f.rows.resize(static_cast<std::size_t>(source) + 1);
    Slot& slot = f.rows[source];
    if (!slot.made) {
      make(slot.targets);
      slot.made = true;
    }
    return &slot.targets;
  }

 private:
  struct Slot {
    bool made = false;
    std::vector<NeuronId> targets;
  };
  struct FiberRows {
    bool bound = false;
    std::uint64_t graph_seed = 0;
    double p = 0;
    NeuronId n_target = 0;
    bool exclude_self = false;
    std::vector<Slot> rows;  // by source neuron
  };
  std::vector<FiberRows> fibers_;
};

// Rows of a G(n, p) fiber generated once each (the portable path generates every row twice: to
// count it, then to fill it), in parallel over requests, into per-thread buffers kept between
// calls. degree[r] and the rows' targets come out exactly as GnpRowDegree/GnpRowFill give them.
class RowGenerator {
 public:
  // Generates every requested row (taking those `shared` holds from it; with a cache, on the
  // calling thread alone); returns their total degree.
  EdgeOffset generate(const graph::FiberGraph& graph, const graph::RowRequests& requests, RowCache* shared = nullptr);
  // Writes the generated rows at pool positions base, base + degree[0], ... (request order, as
  // the portable path places them), weight `initial_weight`, and their row_start/row_degree.
  void write(const graph::RowRequests& requests, EdgeOffset base, const graph::RowTable& table,
             float initial_weight) const;

 private:
  struct Part {
    std::int64_t first = 0, last = 0;     // requests [first, last) of this thread
    std::vector<NeuronId> targets;        // their rows, back to back (those not found in a cache)
    std::vector<std::uint32_t> degree;    // per request
    // With a cache, per request: the cached row's targets, or nullptr for a row in `targets`. A
    // cached row's data stays put while the cache grows (its vector is moved, not copied).
    std::vector<const NeuronId*> cached;
    std::size_t edges = 0;                // all rows of the part
  };
  std::vector<Part> parts_;
};

// A fiber's row storage, handed from a finished batch to the next one a thread builds
// (run_projection_batch runs a batch's brains one after another on each thread). The next brain
// writes its rows into memory already mapped and about large enough, where fresh buffers grown by
// doubling cost page faults and copies (about a tenth of a sweep's time). Contents are never
// read: a batch taking pools starts them empty. Not thread-safe: one shelf per thread.
class PoolShelf {
 public:
  struct Pools {
    Buffer<EdgeOffset> row_start;
    Buffer<std::uint32_t> row_degree;
    Buffer<NeuronId> targets;
    Buffer<float> weights;
  };
  void put(std::size_t fiber, Pools pools) {
    if (fibers_.size() <= fiber) fibers_.resize(fiber + 1);
    fibers_[fiber] = std::move(pools);
  }
  // The pools last put for `fiber`, or empty buffers (no backend) when there are none.
  Pools take(std::size_t fiber) { return fiber < fibers_.size() ? std::move(fibers_[fiber]) : Pools{}; }

 private:
  std::vector<Pools> fibers_;
};

// What the CPU paths of one batch keep between steps, so a step allocates nothing once warm.
struct Workspace {
  RowGenerator rows;
  RowCache* shared_rows = nullptr;  // not owned
  PoolShelf* pools = nullptr;       // not owned: takes this batch's row storage when it ends
};

}  // namespace engram::assembly::cpu
