#pragma once
// LazyBatch: the lazy (statistical) mode of BrainBatch, the literature's sparse simulation
// (Papadimitriou et al., brain.py "sparse" mode). Only neurons that ever fired are materialised;
// their ids are support-local (0, 1, 2, ... in order of first firing), and winners() returns
// these ids. Memory grows with the support and the edges among it, never with n, so an area can
// have n = 10^9 neurons.
//
// One step, for each updated target area T with K_f firing source neurons on each active fiber f:
//   1. inputs of materialised T-neurons: sum of stored edge weights from firing sources;
//   2. the n - support never-fired neurons each receive an input whose law is carried from the
//      area's last update (select/tail_memory.hpp): their last input, given that they lost,
//      thinned to the sources that fire again, plus Binomial(K'_f, p_f) from the K'_f sources
//      new to the area; the largest of those n - support i.i.d. inputs are drawn exactly by
//      inverse-CDF order statistics (select/tail_topk.hpp), whatever n - support is, largest
//      first, up to k of them;
//   3. k-cap over materialised inputs followed by the candidates (ties: lower index, so
//      materialised neurons first). The candidates are drawn only until one loses: every later
//      one is no larger and would lose too (the portable path draws all k and keeps the same
//      prefix). The law of the losers, given the candidates drawn, is kept for the next step;
//   4. each new winner t becomes neuron `support` (the next local id); its input x is split over
//      the active fibers by its exact conditional distribution (hypergeometric when the fibers
//      share p) and over each fiber's firing neurons uniformly without replacement; those edges
//      get weight 1. Every other materialised neuron of every source of T gets an edge to t with
//      probability p_f, and t gets out-edges with probability p_f to every materialised neuron
//      of each target of its fibers (pairs of neurons new in the same step are drawn here, once);
//   5. Hebbian: plastic active fibers scale edges from the previous firing set to the new winners
//      by (1 + beta).
// Fixed, inhibited and ragged firing sets behave as BrainBatch documents. set_firing() ids that
// are not yet materialised (>= support) are materialised in increasing order as support,
// support + 1, ...; so activate(area, i) on a fresh area fires exactly [i*k, (i+1)*k) when those
// are the next ids. Their edges are drawn with probability p (no input to condition on).
//
// Statistical, not exact: the never-fired neurons are exchangeable draws of one remembered law
// (no correlations between them, the composition of a remembered input over its sources taken
// as uniform, and sources that fired into the area before the last update treated as new).
// Measured against the exact mode at n = 10^5, k = 317, beta = 0.05, 25 steps, 64 seeds: support
// -1.0% at p = 0.01 and -2.3% at p = 0.05 (redrawing every step, as the reference implementation
// does: +11% and +4%). Every draw is keyed by (per-area seed of the brain, brain index, purpose,
// step or fiber, neuron), so a brain's trajectory is the same bits alone or in a batch, on any
// thread count.
//
//   auto backend = engram::make_backend("cpu");
//   spec.mode = engram::assembly::GraphMode::lazy;
//   engram::assembly::LazyBatch batch(*backend, spec, {{/*seed=*/7, /*index=*/0}});
//   for (int t = 0; t < 25; ++t) batch.project();
#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/graph/sparse_edges.hpp"
#include "engram/kernels/select/tail_topk.hpp"
#include "engram/models/assembly/batch_controls.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

class LazyBatch final : public BatchControls {
 public:
  LazyBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains);
  LazyBatch(const LazyBatch&) = delete;
  LazyBatch& operator=(const LazyBatch&) = delete;

  void project() override;

  std::size_t size() const override { return brains_.size(); }
  const BrainSpec& spec() const override { return spec_; }
  int steps_taken() const override { return steps_; }

  std::vector<NeuronId> winners(std::size_t brain, const std::string& area) const override;
  std::uint64_t support(std::size_t brain, const std::string& area) const override;
  std::uint32_t overlap(std::size_t brain, const std::string& area) const override;
  bool updated(const std::string& area) const override;


  void set_firing(const std::string& area, const std::vector<std::vector<NeuronId>>& per_brain) override;
  // Fraction of pairs (i in from_set, j in to_set) joined by a stored edge (support-local ids).
  double edge_density(std::size_t brain, const std::string& from, const std::string& to,
                      const std::vector<NeuronId>& from_set, const std::vector<NeuronId>& to_set) const override;

  // --- Inspection (tests, diagnostics) ---
  // Stored edges of one fiber of one brain.
  std::uint64_t edge_count(std::size_t brain, std::size_t fiber) const;
  struct Edge {
    NeuronId source, target;
    float weight;
  };
  std::vector<Edge> edges(std::size_t brain, std::size_t fiber) const;
  // Bytes of backend memory held (edge lists, flags, inputs): grows with support, not with n.
  std::size_t memory_bytes() const;

  // Takes over the storage of `spent` (a batch of the same spec and number of brains that is
  // done with), emptied: its edge lists, source indexes and per-step scratch. A batch built after
  // another on the same thread then grows into memory that is already allocated and mapped
  // instead of allocating, faulting in and copying it again (run_projection_batch's brains, one
  // after another per thread). Call before the first step; results are the same bits as without.
  void reuse_storage(LazyBatch& spent);

  // On the CPU backend a step runs host-only: each brain's inputs, k-cap (one pass) and Hebbian
  // update on the thread that owns the brain, no atomics, no device mirrors. `true` runs the
  // portable kernels instead, as the CUDA backend does: the parity tests compare the two.
  void set_portable_kernels(bool portable) { portable_kernels_ = portable; }

 private:
  // A probability table over [lo, lo + mass.size()).
  struct Pmf {
    std::int64_t lo = 0;
    std::vector<double> mass;
  };
  // Splits a count of edges over the fibers into an area by the conditional law of independent
  // per-fiber Binomial(sources_i, p_i) counts (select::split_first).
  struct Split {
    std::vector<Pmf> part, suffix;  // suffix[i]: the sum of parts i..
    std::vector<std::int64_t> sources;
    void add(Pmf law, std::size_t count);
    void build();
    void draw(std::int64_t x, RngStream& rng, std::vector<std::int64_t>& shares) const;
  };
  struct AreaBrain {
    std::uint64_t seed = 0;  // keys every draw of this area in this brain
    std::uint32_t support = 0;
    std::vector<NeuronId> firing, previous;  // increasing support-local ids
    std::vector<std::uint8_t> fires;         // [support]: 1 for the current firing set
    std::uint32_t overlap = 0;
    Buffer<std::uint8_t> fires_device;       // copy of `fires`
    Buffer<std::uint8_t> wins_device;        // winner flags for Hebbian
    // Per-step plan.
    std::vector<std::size_t> active;         // fibers that carry input this step
    // Never-fired neurons (select/tail_memory.hpp): the law of their input at the area's last
    // update given that they lost (a point mass at 0 before any input), and this step's law.
    Pmf last_input{0, {1.0}};
    Pmf step_input;
    Split firing_split;  // a new winner's input over the active fibers
    std::vector<double> scratch;
    std::vector<std::int64_t> potentials;    // the best never-fired inputs, descending
    double level = 0.0;                      // 1 - U_(count) of the lowest potential
    std::vector<NeuronId> next;              // the new firing set
    std::vector<std::int64_t> fresh_input;   // input (edge count) of each new winner
    // Host path scratch, kept between steps: this brain's inputs and winner flags.
    std::vector<FixedInput> host_inputs;
    std::vector<std::uint8_t> host_wins;
  };
  struct AreaState {
    std::vector<AreaBrain> brains;
    Buffer<FixedInput> inputs;  // [B, stride]
    Buffer<NeuronId> winners;   // [B, k]
    bool fired = false, updated = false;
  };
  struct FiberBrain {
    Buffer<NeuronId> source, target;
    Buffer<float> weight;
    std::size_t count = 0;
    std::vector<NeuronId> new_source, new_target;  // staged by materialise()
    // Host path, area sources: edges [0, indexed) grouped by source (a CSR of edge ids, their
    // targets and their weights), so a step visits only the firing neurons' edges (about
    // k / support of the list) and reads and scales their weights in order; edges
    // [indexed, count), appended since, are scanned whole. While indexed, an edge's weight lives
    // in by_source.weight (the list's entry is stale until unindex() writes it back, before a
    // step on the portable kernels; edges() reads both). Rebuilt once the tail outgrows an eighth
    // of the index, by a merge of the index and the tail in sequential passes (no write-back),
    // so the cost stays linear in the edges added. Fixed-point sums and per-edge Hebbian factors
    // do not depend on the visiting order.
    struct SourceIndex {
      std::vector<std::uint32_t> offset, edge;  // offset: [sources + 1]; edge: list position
      std::vector<NeuronId> target;
      std::vector<float> weight;
    };
    std::size_t indexed = 0;
    SourceIndex by_source;
    SourceIndex rebuilt;  // scratch of the next rebuild, kept so that rebuilds allocate nothing
    std::vector<std::uint32_t> rebuild_cursor;
    // Source neurons that fired into the target at its last update (increasing ids): the
    // sources behind the target's remembered never-fired input.
    std::vector<NeuronId> seen;
    // Stimulus fibers. Every stimulus neuron fires together, so a target's input from the fiber is
    // the sum of all its in-edges: the host path keeps that sum per target (`target_input`,
    // fixed point, updated exactly as edges are added and scaled; integer sums do not depend on
    // the order of the terms, so it equals a fresh pass), valid while `target_input_valid`
    // (steps on the portable kernels scale weights without it). A new neuron's in-edges are
    // appended together, so the list is grouped by target: target t's edges start at
    // target_begin[t] (and end at the next entry, or at `count`), which lets Hebbian learning
    // visit only the winners' edges. `by_target` turns false for good if an append ever breaks
    // that grouping; the whole list is then scanned instead.
    std::vector<FixedInput> target_input;
    bool target_input_valid = true;
    std::vector<std::uint32_t> target_begin;
    bool by_target = true;
  };
  struct FiberState {
    bool from_stimulus = false;
    std::size_t source = 0, target = 0;
    double p = 0.0;
    double beta = 0.0;
    bool exclude_self = false;
    std::vector<FiberBrain> brains;
  };

  bool source_firing(const FiberState& fiber) const {
    return source_fires(static_cast<std::size_t>(&fiber - fibers_.data()));
  }
  bool plastic(const FiberState& fiber) const {
    return fiber_plastic(static_cast<std::size_t>(&fiber - fibers_.data()));
  }
  bool area_fired(std::size_t area) const override { return areas_[area].fired; }
  const BrainId& brain_id(std::size_t brain) const override { return brains_.at(brain); }
  // Defined here so that the per-neuron loops of plan() and materialise() inline them.
  std::uint32_t source_support(const FiberState& fiber, std::size_t brain) const {
    if (fiber.from_stimulus) return spec_.stimuli[fiber.source].k;
    return areas_[fiber.source].brains[brain].support;
  }
  std::uint32_t firing_count(const FiberState& fiber, std::size_t brain) const {
    if (fiber.from_stimulus) return spec_.stimuli[fiber.source].k;
    return static_cast<std::uint32_t>(areas_[fiber.source].brains[brain].firing.size());
  }
  NeuronId firing_neuron(const FiberState& fiber, std::size_t brain, std::uint32_t i) const {
    if (fiber.from_stimulus) return i;
    return areas_[fiber.source].brains[brain].firing[i];
  }
  bool neuron_fires(const FiberState& fiber, std::size_t brain, NeuronId neuron) const {
    if (fiber.from_stimulus) return true;
    return areas_[fiber.source].brains[brain].fires[neuron] != 0;
  }
  const std::uint8_t* fires_device(const FiberState& fiber, std::size_t brain) const;
  graph::SparseEdges sparse(FiberBrain& fb) const;
  // Brings fb.target_input up to date (a pass over the list if steps ran without it).
  static void refresh_target_input(FiberBrain& fb);
  // Rebuilds fb's by-source index when the unindexed tail has grown past an eighth of it.
  static void index_by_source(FiberBrain& fb);
  // Writes the indexed weights back to the list and drops the index.
  static void unindex(FiberBrain& fb);
  // Calls visit(weight of the edge, target) for every edge whose source fires (`firing`: the ids,
  // `fires`: the mask).
  template <class Visit>
  static void for_firing_edges(FiberBrain& fb, const std::vector<NeuronId>& firing, const std::uint8_t* fires,
                               Visit&& visit);

  static Pmf binomial(std::uint32_t trials, double p);
  static Pmf sum(const Pmf& a, const Pmf& b);
  static Pmf trimmed(Pmf pmf);
  void plan(std::size_t area, std::size_t brain, bool draw_all);
  // This step's never-fired candidates of `area` in `brain`, largest first (after plan()).
  select::TopOrderStream candidate_stream(std::size_t area, std::size_t brain) const;
  // Host path of step 3: the k-cap over host_inputs and the candidates, into `next`.
  void cap_with_candidates(std::size_t area, std::size_t brain);
  bool host_path() const;
  // Host path of steps 1-3 for one brain: inputs of its materialised neurons, then the k-cap over
  // them and its candidates, into `next`.
  void select_on_host(std::size_t area, std::size_t brain);
  // Host path of step 5 for one brain: Hebbian on the plastic active fibers into `area`.
  void learn_on_host(std::size_t area, std::size_t brain);
  // The new winners' inputs (fresh_input) from the k-cap's picks among the candidates.
  void take_fresh_inputs(std::size_t area, std::size_t brain);
  void materialise(std::size_t brain, const std::vector<std::uint32_t>& old_support,
                   const std::vector<std::uint32_t>& new_support, bool in_step);
  // Appends brain b's staged edges to its lists (and, on the host path, re-indexes them).
  void upload_brain_edges(std::size_t b);
  void upload_new_edges();
  // Whether some plastic fiber with a firing source learns into area t this step.
  bool learns(std::size_t t) const;
  // The host path's whole step for one brain (stages 1-5), on the calling thread.
  void step_on_host(std::size_t b);
  void sync_fires(std::size_t area);
  void record_firing(std::size_t area, std::size_t brain, std::vector<NeuronId> firing);

  Backend& backend_;
  BrainSpec spec_;
  std::vector<BrainId> brains_;
  std::vector<AreaState> areas_;
  std::vector<Buffer<std::uint8_t>> stimulus_fires_;  // per stimulus: k ones
  std::vector<FiberState> fibers_;
  struct BrainScratch {
    std::vector<std::uint32_t> old_support, new_support;
    // materialise(): a new neuron's share of its input per fiber, the firing positions picked
    // for it, and flags over those positions (all clear between picks).
    std::vector<std::int64_t> shares;
    std::vector<std::uint64_t> chosen;
    std::vector<std::uint8_t> taken;
  };
  std::vector<BrainScratch> brain_scratch_;  // per brain: kept between steps
  int steps_ = 0;
  bool portable_kernels_ = false;
};

}  // namespace engram::assembly
