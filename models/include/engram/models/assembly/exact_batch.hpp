#pragma once
// ExactBatch: the exact modes (explicit and implicit graphs) of BrainBatch. B brains of one
// BrainSpec, stepped together: one kernel launch per stage on CUDA; on the CPU one thread owns
// each brain for a stage (a batch of fewer brains than threads leaves the spare threads idle).
// Brain i's trajectory depends only on (spec, seed_i, index_i): running it alone or inside a
// batch of any size, on any thread count, gives the same bits.
//
//   auto backend = engram::make_backend("cpu");
//   engram::assembly::ExactBatch batch(*backend, spec, {{/*seed=*/7, /*index=*/0}, {7, 1}});
//   for (int t = 0; t < 25; ++t) batch.project();
//   double overlap = batch.overlap(0, "A") / double(spec.areas[0].k);
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/graph/accumulate.hpp"
#include "engram/kernels/graph/gnp.hpp"
#include "engram/models/assembly/batch_controls.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

namespace cpu {
struct Workspace;
class RowCache;
class PoolShelf;
}

// Per-brain parameters that may differ inside one batch (sweeps pack brains that differ only in
// these). Each vector is empty (the spec's value) or holds one value per fiber of the spec.
struct BrainOverrides {
  std::vector<double> fiber_p;     // edge probability of each fiber
  std::vector<double> fiber_beta;  // Hebbian rate of each fiber
};

class ExactBatch final : public BatchControls {
 public:
  ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains);
  // As above, brain i taking overrides[i] (overrides is empty or has one entry per brain). Brain
  // i's trajectory equals that of a batch built from the spec with its overrides written in.
  ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains, std::vector<BrainOverrides> overrides);
  // As above; on the CPU fast path, implicit rows are looked up in (and added to) `shared_rows`,
  // which brains of the same graph run one after another on one thread share (it outlives this
  // batch; it serves only brains whose graph seed and p match the graph it holds). With `pools`,
  // the batch takes its row storage from that shelf and puts it back when it ends, for the next
  // batch the thread builds (both outlive this batch; host memory: the CPU backend only).
  ExactBatch(Backend& backend, BrainSpec spec, std::vector<BrainId> brains, std::vector<BrainOverrides> overrides,
             cpu::RowCache* shared_rows, cpu::PoolShelf* pools = nullptr);
  ExactBatch(const ExactBatch&) = delete;
  ExactBatch& operator=(const ExactBatch&) = delete;
  ~ExactBatch() override;

  // One synchronous step: every area with at least one firing source (a stimulus, or an area
  // that fired in the previous step) reads its sources' previous winners, takes its k-cap, and
  // the fibers into it learn (Hebbian, rate beta) on edges from previous to new winners.
  void project() override;

  std::size_t size() const override { return brains_.size(); }
  const BrainSpec& spec() const override { return spec_; }
  int steps_taken() const override { return steps_; }

  // Winners of the latest step of `area` in brain `brain`, increasing; empty if it never fired.
  std::vector<NeuronId> winners(std::size_t brain, const std::string& area) const override;
  // Neurons of `area` that have ever been winners.
  std::uint64_t support(std::size_t brain, const std::string& area) const override;
  // Winners shared by the latest two steps (0 until the area has fired twice).
  std::uint32_t overlap(std::size_t brain, const std::string& area) const override;
  // Whether `area` took part in the latest step.
  bool updated(const std::string& area) const override;

  // Targets and weights of one materialised row (empty when the row was never generated).
  struct Row {
    std::vector<NeuronId> targets;
    std::vector<float> weights;
  };
  Row row(std::size_t brain, std::size_t fiber, NeuronId source) const;

  // The backend memory of one fiber's stored graph, for zero-copy views (Python's numpy arrays).
  // Row (brain b, source s) is targets/weights[row_start[b*rows_per_brain + s] + i], i < row_degree[..]
  // (row_start == kRowAbsent: never generated). Weights may be written in place: the next step
  // reads them. Pointers stay valid while `stable` (explicit mode: every row exists from
  // construction); implicit mode grows the pools as neurons first fire, moving them.
  struct FiberMemory {
    const EdgeOffset* row_start = nullptr;
    const std::uint32_t* row_degree = nullptr;
    const NeuronId* targets = nullptr;
    float* weights = nullptr;
    std::size_t rows_per_brain = 0;
    std::size_t edges = 0;
    bool stable = false;
  };
  FiberMemory fiber_memory(std::size_t fiber);
  // The latest inputs of `area` ([B, n], fixed point: value * 2^32), read-only backend memory
  // that the next step overwrites.
  const FixedInput* input_memory(const std::string& area) const;

  // Scales every neuron's in-edges of fiber f so that they sum to `total` (neurons without an in-edge
  // keep none): the per-neuron, per-fiber normalisation of Dabagia et al.'s classifier. It acts on
  // every edge only in explicit mode, which stores them all; implicit mode refuses (field `mode`),
  // since the unstored edges of never-fired sources would come back at weight 1.
  void normalise_fiber(std::size_t fiber, double total);
  // Sets the weights of row (brain, source) of fiber f: the edge to target t gets weights[t]
  // (weights has one value per target neuron; targets without an edge are skipped). The row must
  // exist (stimulus rows always do; explicit mode builds every row).
  void set_row_weights(std::size_t brain, std::size_t fiber, NeuronId source, const std::vector<float>& weights);

  // Changes fiber's Hebbian rate for one brain (brains of a batch may differ in beta).
  void set_beta(std::size_t brain, std::size_t fiber, double beta);

  // Controls (inhibit, fix, plasticity switches) come from BatchControls.

  // Makes `area` fire the given neurons (one increasing list per brain, duplicates and ids >= n
  // refused). Lists may differ in length between brains. They count as winners: support grows.
  void set_firing(const std::string& area, const std::vector<std::vector<NeuronId>>& per_brain) override;

  void clamp_next(const std::string& area, const std::vector<std::vector<NeuronId>>& per_brain) override;
  double edge_density(std::size_t brain, const std::string& from, const std::string& to,
                      const std::vector<NeuronId>& from_set, const std::vector<NeuronId>& to_set) const override;

  // The firing set of `area` for one brain (winners, or what set_firing chose).
  std::vector<NeuronId> firing(std::size_t brain, const std::string& area) const;

  // On the CPU backend, batches run host-only fast paths
  // (a thread owns whole brains; one-pass k-cap; rows generated once). `true` runs the portable
  // kernels instead, as the CUDA backend does: the parity tests compare the two bit for bit.
  void set_portable_kernels(bool portable) { portable_kernels_ = portable; }

 private:
  struct AreaState {
    Buffer<NeuronId> winners, next_winners;  // [B, k]
    Buffer<FixedInput> inputs;               // [B, n]
    Buffer<std::uint8_t> is_winner;          // [B, n]
    std::vector<NeuronId> host_winners, host_previous;  // [B, k]
    Buffer<std::uint32_t> active;                       // [B]: firing-set length per brain
    std::vector<std::uint32_t> host_active, host_previous_active;
    bool ragged = false;  // some brain fires fewer than k neurons: pass `active` to kernels
    bool clamped = false;  // next_winners already hold a teacher's lists for the next step
    Buffer<std::uint8_t> fired_mask;             // [B, n] device copy of ever_fired (normalisation)
    Buffer<FixedInput> sums_before, sums_after;  // [B, n] incoming sums of winners (normalisation)
    std::vector<std::uint8_t> ever_fired;  // [B, n], host mirror that drives materialisation
    std::vector<std::uint64_t> support;    // [B]
    std::vector<std::uint32_t> overlap;    // [B]
    bool fired = false;
    bool updated = false;
    // False after a weight change of a fiber into the area that its kept inputs did not follow.
    bool kept_valid = false;
  };
  struct FiberState {
    bool from_stimulus = false;
    std::size_t source = 0, target = 0;
    NeuronId n_source = 0;
    bool exclude_self = false;
    Buffer<double> p;          // [B]
    std::vector<double> host_p;  // [B], host copy
    Buffer<float> factor;      // [B]: 1 + beta
    std::vector<double> beta;  // [B], host copy
    Buffer<EdgeOffset> row_start;
    Buffer<std::uint32_t> row_degree;
    Buffer<NeuronId> targets;
    Buffer<float> weights;
    EdgeOffset pool_size = 0;
    // Host path (select_and_learn_owned): the fiber's share of each brain's inputs, kept from
    // step to step where that is cheaper than summing it afresh (cpu::keep_input).
    std::vector<FixedInput> kept_sums;              // [B, n of the target]
    std::vector<std::vector<NeuronId>> kept_firing;  // [B]: the sources of the latest sum
    std::vector<std::uint8_t> kept_held;            // [B]: kept_sums holds that sum
  };

  // Construction, in order.
  void init_brain_keys();
  void init_areas();
  void init_stimuli();
  void init_fibers(const std::vector<BrainOverrides>& overrides);
  void materialise_initial_rows();

  graph::RowTable table(FiberState& fiber);
  // Whether this step's stages run one brain per thread on the host (see set_portable_kernels).
  bool owns_brains() const;
  int owner_threads() const;
  // Inputs of `area` from its firing sources (and noise), then its k-cap into next_winners.
  void select_winners(std::size_t area);
  void select_winners_owned(std::size_t area);
  void select_and_learn_owned(std::size_t area);
  void owned_stages(std::size_t area, bool and_learn);
  void learn_brain(std::size_t area, std::size_t brain,
                   const std::vector<std::pair<graph::RowTable, graph::FiringSet>>& sources,
                   const std::vector<std::size_t>& fiber_ids, bool follow_kept = false);
  // Hebbian update of the fibers into `area` (winners in next_winners), with normalisation.
  void learn(std::size_t area);
  bool learns(const FiberState& fiber) const;
  graph::FiringSet firing(const FiberState& fiber) const;
  bool source_firing(const FiberState& fiber) const {
    return source_fires(static_cast<std::size_t>(&fiber - fibers_.data()));
  }
  bool area_fired(std::size_t area) const override { return areas_[area].fired; }
  const BrainId& brain_id(std::size_t brain) const override { return brains_.at(brain); }
  void materialise(std::size_t fiber, const std::vector<std::uint32_t>& brains,
                   const std::vector<NeuronId>& sources);
  void commit(std::size_t area);
  void incoming_sums(std::size_t area, Buffer<FixedInput>& sums);
  bool any_normalisation() const;
  void record_firing(std::size_t area);

  Backend& backend_;
  BrainSpec spec_;
  std::vector<BrainId> brains_;
  Buffer<std::uint64_t> graph_seed_;  // [B]
  Buffer<std::uint64_t> run_seed_;    // [B]
  Buffer<std::uint32_t> brain_index_; // [B]
  std::vector<AreaState> areas_;
  std::vector<Buffer<NeuronId>> stimulus_firing_;  // per stimulus: [B, k], neurons 0..k-1
  std::vector<FiberState> fibers_;
  std::vector<std::uint8_t> weights_exposed_;  // per fiber: fiber_memory() handed out writable weights
  void check_exposed_weights() const;
  // Weights of fibers into `area` changed where their kept inputs cannot follow.
  void sums_stale(std::size_t area) { areas_[area].kept_valid = false; }
  int steps_ = 0;
  bool portable_kernels_ = false;
  std::unique_ptr<cpu::Workspace> cpu_;
};

}  // namespace engram::assembly
