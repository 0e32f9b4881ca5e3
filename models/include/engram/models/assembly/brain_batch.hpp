#pragma once
// BrainBatch: what every fidelity mode of the Assembly Calculus offers — B brains of one spec,
// stepped together. `explicit` and `implicit` modes are exact (assembly::ExactBatch); `lazy` mode is
// the literature's statistical simulation that only materialises neurons that ever fired
// (assembly::LazyBatch). Experiments are written against this interface so a config switches
// modes with one line.
//
//   auto batch = engram::assembly::make_batch(backend, spec, {{seed, 0}, {seed, 1}});
//   batch->project();
//   batch->overlap(0, "A");
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

// Identifies one brain's random streams: the run seed and the brain's index within the run.
struct BrainId {
  std::uint64_t seed = 0;
  std::uint32_t index = 0;
};

class BrainBatch {
 public:
  virtual ~BrainBatch() = default;

  // One synchronous step: every uninhibited area with at least one firing source reads its
  // sources' previous firing sets, takes its k-cap (or keeps firing, if fixed), and the plastic
  // fibers into it learn on edges from previous firing to new winners.
  virtual void project() = 0;

  virtual std::size_t size() const = 0;
  virtual const BrainSpec& spec() const = 0;
  virtual int steps_taken() const = 0;

  // The latest firing set of `area` in brain `brain`, increasing; empty if it never fired.
  virtual std::vector<NeuronId> winners(std::size_t brain, const std::string& area) const = 0;
  // Neurons of `area` that have ever fired.
  virtual std::uint64_t support(std::size_t brain, const std::string& area) const = 0;
  // Neurons shared by the latest two firing sets of `area` (0 until it has fired twice).
  virtual std::uint32_t overlap(std::size_t brain, const std::string& area) const = 0;
  // Whether `area` took part in the latest step.
  virtual bool updated(const std::string& area) const = 0;

  // Controls (all brains alike). An inhibited area neither fires nor is updated; an inhibited
  // stimulus does not fire; both keep their winners and fire them again once disinhibited.
  virtual void inhibit(const std::string& area_or_stimulus) = 0;
  virtual void disinhibit(const std::string& area_or_stimulus) = 0;
  virtual bool inhibited(const std::string& area_or_stimulus) const = 0;
  virtual void inhibit_fiber(const std::string& from, const std::string& to) = 0;
  virtual void disinhibit_fiber(const std::string& from, const std::string& to) = 0;
  virtual void set_plasticity(const std::string& from, const std::string& to, bool enabled) = 0;
  virtual void set_plasticity(bool enabled) = 0;
  // A fixed area keeps firing its current set; fibers into it still learn.
  virtual void fix(const std::string& area) = 0;
  virtual void unfix(const std::string& area) = 0;

  // Makes `area` fire the given neurons (one strictly increasing list per brain, 1..k long).
  virtual void set_firing(const std::string& area, const std::vector<std::vector<NeuronId>>& per_brain) = 0;
  // Fires assembly i of `area`: neurons [i*k, (i+1)*k).
  virtual void activate(const std::string& area, std::uint32_t assembly) = 0;
  // Each brain keeps a uniformly random round(fraction * size) subset of its firing set.
  virtual void fire_random_subset(const std::string& area, double fraction) = 0;

  // Teaching: the next project() sets `area`'s winners to these k-neuron lists (one per brain)
  // instead of taking its k-cap; fibers into it learn from the sources' firing to them.
  virtual void clamp_next(const std::string& area, const std::vector<std::vector<NeuronId>>& per_brain);

  // Fraction of the pairs (i in from_set, j in to_set) joined by an edge of fiber from -> to:
  // the "synaptic density" of an assembly (p for random sets; higher inside an assembly, whose
  // neurons were selected for their connections). Modes that cannot enumerate edges throw.
  virtual double edge_density(std::size_t brain, const std::string& from, const std::string& to,
                              const std::vector<NeuronId>& from_set, const std::vector<NeuronId>& to_set) const;
};

// A ExactBatch for spec.mode: exact (explicit / implicit) or lazy.
std::unique_ptr<BrainBatch> make_batch(Backend& backend, const BrainSpec& spec, std::vector<BrainId> brains);

}  // namespace engram::assembly
