#include "engram/models/assembly/batch_controls.hpp"

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/assembly/firing_sets.hpp"
#include "engram/models/assembly/purposes.hpp"

namespace engram::assembly {

BatchControls::BatchControls(const BrainSpec& spec) {
  spec.validate();
  area_inhibited_.assign(spec.areas.size(), false);
  area_fixed_.assign(spec.areas.size(), false);
  stimulus_inhibited_.assign(spec.stimuli.size(), false);
  fiber_inhibited_.assign(spec.fibers.size(), false);
  fiber_plastic_.assign(spec.fibers.size(), true);
  for (const FiberSpec& f : spec.fibers) {
    fiber_source_stimulus_.push_back(spec.stimulus_index(f.from));
    fiber_source_area_.push_back(spec.area_index(f.from));
  }
}

std::size_t BatchControls::area_at(const std::string& name) const {
  const int index = spec().area_index(name);
  if (index < 0) throw Error::bad_input("area", name, "names no area of this brain");
  return static_cast<std::size_t>(index);
}

std::size_t BatchControls::stimulus_at(const std::string& name) const {
  const int index = spec().stimulus_index(name);
  if (index < 0) throw Error::bad_input("stimulus", name, "names no stimulus of this brain");
  return static_cast<std::size_t>(index);
}

std::size_t BatchControls::fiber_index(const std::string& from, const std::string& to) const {
  const auto& fibers = spec().fibers;
  for (std::size_t f = 0; f < fibers.size(); ++f) {
    if (fibers[f].from == from && fibers[f].to == to) return f;
  }
  throw Error::bad_input("fiber", from + " -> " + to, "is not a fiber of this brain");
}

bool BatchControls::source_fires(std::size_t fiber) const {
  if (fiber_inhibited_[fiber]) return false;
  if (fiber_source_stimulus_[fiber] >= 0) {
    return !stimulus_inhibited_[static_cast<std::size_t>(fiber_source_stimulus_[fiber])];
  }
  const auto source = static_cast<std::size_t>(fiber_source_area_[fiber]);
  return area_fired(source) && !area_inhibited_[source];
}

void BatchControls::inhibit(const std::string& name) {
  if (spec().stimulus_index(name) >= 0) stimulus_inhibited_[stimulus_at(name)] = true;
  else area_inhibited_[area_at(name)] = true;
}

void BatchControls::disinhibit(const std::string& name) {
  if (spec().stimulus_index(name) >= 0) stimulus_inhibited_[stimulus_at(name)] = false;
  else area_inhibited_[area_at(name)] = false;
}

bool BatchControls::inhibited(const std::string& name) const {
  if (spec().stimulus_index(name) >= 0) return stimulus_inhibited_[stimulus_at(name)];
  return area_inhibited_[area_at(name)];
}

void BatchControls::inhibit_fiber(const std::string& from, const std::string& to) {
  fiber_inhibited_[fiber_index(from, to)] = true;
}

void BatchControls::disinhibit_fiber(const std::string& from, const std::string& to) {
  fiber_inhibited_[fiber_index(from, to)] = false;
}

void BatchControls::set_plasticity(const std::string& from, const std::string& to, bool enabled) {
  fiber_plastic_[fiber_index(from, to)] = enabled;
}

void BatchControls::set_plasticity(bool enabled) { fiber_plastic_.assign(fiber_plastic_.size(), enabled); }

void BatchControls::fix(const std::string& name) {
  const std::size_t area = area_at(name);
  if (!area_fired(area)) throw Error::bad_input("fix", name, "the area has no assembly to fix yet");
  area_fixed_[area] = true;
}

void BatchControls::unfix(const std::string& name) { area_fixed_[area_at(name)] = false; }

void BatchControls::activate(const std::string& name, std::uint32_t assembly) {
  const std::vector<NeuronId> neurons = assembly_block(spec().areas[area_at(name)], assembly);
  set_firing(name, std::vector<std::vector<NeuronId>>(size(), neurons));
}

void BatchControls::fire_random_subset(const std::string& name, double fraction) {
  const std::size_t t = area_at(name);
  if (!area_fired(t)) throw Error::bad_input("area", name, "has no firing set to take a subset of");
  std::vector<std::vector<NeuronId>> chosen(size());
  for (std::size_t b = 0; b < size(); ++b) {
    const BrainId& id = brain_id(b);
    RngStream rng(RngKey{id.seed, id.index, purpose::firing_subset, static_cast<std::uint32_t>(steps_taken()),
                         static_cast<std::uint32_t>(t)});
    chosen[b] = random_subset(winners(b, name), fraction, rng);
  }
  set_firing(name, chosen);
}

}  // namespace engram::assembly
