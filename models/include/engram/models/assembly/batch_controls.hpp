#pragma once
// The control state every fidelity mode shares: which areas and stimuli are inhibited, which
// areas are fixed, which fibers are inhibited or plastic, and the name lookups behind them.
// ExactBatch and LazyBatch derive from it, so the controls of BrainBatch are implemented once.
#include <cstddef>
#include <string>
#include <vector>

#include "engram/models/assembly/brain_batch.hpp"

namespace engram::assembly {

class BatchControls : public BrainBatch {
 public:
  void inhibit(const std::string& area_or_stimulus) final;
  void disinhibit(const std::string& area_or_stimulus) final;
  bool inhibited(const std::string& area_or_stimulus) const final;
  void inhibit_fiber(const std::string& from, const std::string& to) final;
  void disinhibit_fiber(const std::string& from, const std::string& to) final;
  void set_plasticity(const std::string& from, const std::string& to, bool enabled) final;
  void set_plasticity(bool enabled) final;
  void fix(const std::string& area) final;
  void unfix(const std::string& area) final;

  // Fires assembly i of `area` in every brain: neurons [i*k, (i+1)*k).
  void activate(const std::string& area, std::uint32_t assembly) final;
  // Each brain keeps a uniformly random round(fraction * size) subset of the area's current
  // firing set (pattern completion's cue). Draws are keyed by (brain, step, area).
  void fire_random_subset(const std::string& area, double fraction) final;

  std::size_t fiber_index(const std::string& from, const std::string& to) const;

 protected:
  // Validates `spec` (throws engram::Error naming the field) and sizes the control state.
  explicit BatchControls(const BrainSpec& spec);

  std::size_t area_at(const std::string& name) const;
  std::size_t stimulus_at(const std::string& name) const;
  bool area_inhibited(std::size_t area) const { return area_inhibited_[area]; }
  bool area_fixed(std::size_t area) const { return area_fixed_[area]; }
  bool fiber_plastic(std::size_t fiber) const { return fiber_plastic_[fiber]; }
  // Whether fiber f carries input this step: it is not inhibited and its source fires (a
  // stimulus not inhibited, or an area that has fired and is not inhibited).
  bool source_fires(std::size_t fiber) const;
  // Whether the area has a firing set yet (the mode's own state).
  virtual bool area_fired(std::size_t area) const = 0;
  // The random streams of brain `brain` of the batch.
  virtual const BrainId& brain_id(std::size_t brain) const = 0;

 private:
  std::vector<bool> area_inhibited_, area_fixed_, stimulus_inhibited_, fiber_inhibited_, fiber_plastic_;
  std::vector<int> fiber_source_stimulus_;  // stimulus index of each fiber's source, or -1
  std::vector<int> fiber_source_area_;      // area index of each fiber's source, or -1
};

}  // namespace engram::assembly
