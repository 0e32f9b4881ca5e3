#include "engram/models/assembly/brain_spec.hpp"

#include <cmath>
#include <set>
#include <utility>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/fixed_point.hpp"

namespace engram::assembly {

namespace {
std::string indexed(const char* list, std::size_t i, const char* field) {
  return std::string(list) + "[" + std::to_string(i) + "]." + field;
}

void check_probability(const std::string& field, double p) {
  if (!(p > 0.0 && p <= 1.0)) {
    throw Error::bad_input(field, to_text(p), "must be in (0, 1]");
  }
}
}  // namespace

int BrainSpec::area_index(const std::string& name) const {
  for (std::size_t i = 0; i < areas.size(); ++i) {
    if (areas[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int BrainSpec::stimulus_index(const std::string& name) const {
  for (std::size_t i = 0; i < stimuli.size(); ++i) {
    if (stimuli[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void BrainSpec::validate() const {
  if (areas.empty()) throw Error::bad_input("areas", "[]", "a brain needs at least one area");
  std::set<std::string> names;
  for (std::size_t i = 0; i < areas.size(); ++i) {
    const AreaSpec& a = areas[i];
    if (a.name.empty()) throw Error::bad_input(indexed("areas", i, "name"), "\"\"", "must not be empty");
    if (!names.insert(a.name).second) {
      throw Error::bad_input(indexed("areas", i, "name"), a.name, "duplicates another area or stimulus");
    }
    if (a.n == 0) throw Error::bad_input(indexed("areas", i, "n"), "0", "must be at least 1");
    if (a.k == 0) throw Error::bad_input(indexed("areas", i, "k"), "0", "must be at least 1");
    if (!(a.noise >= 0.0) || !std::isfinite(a.noise)) {
      throw Error::bad_input(indexed("areas", i, "noise"), to_text(a.noise), "must be a finite number >= 0");
    }
    if (a.k > a.n) {
      throw Error::bad_input(indexed("areas", i, "k"), to_text(a.k),
                             "must be at most n = " + to_text(a.n));
    }
  }
  for (std::size_t i = 0; i < stimuli.size(); ++i) {
    const StimulusSpec& s = stimuli[i];
    if (s.name.empty()) throw Error::bad_input(indexed("stimuli", i, "name"), "\"\"", "must not be empty");
    if (!names.insert(s.name).second) {
      throw Error::bad_input(indexed("stimuli", i, "name"), s.name, "duplicates another area or stimulus");
    }
    if (s.k == 0) throw Error::bad_input(indexed("stimuli", i, "k"), "0", "must be at least 1");
  }
  check_probability("p", p);
  std::set<std::pair<std::string, std::string>> edges;
  for (std::size_t i = 0; i < fibers.size(); ++i) {
    const FiberSpec& f = fibers[i];
    if (area_index(f.from) < 0 && stimulus_index(f.from) < 0) {
      throw Error::bad_input(indexed("fibers", i, "from"), f.from, "names no area or stimulus");
    }
    if (area_index(f.to) < 0) {
      throw Error::bad_input(indexed("fibers", i, "to"), f.to,
                             stimulus_index(f.to) >= 0 ? "is a stimulus; fibers end in an area"
                                                       : "names no area");
    }
    if (!(f.beta >= 0.0) || !std::isfinite(f.beta)) {
      throw Error::bad_input(indexed("fibers", i, "beta"), to_text(f.beta),
                             "must be a finite number >= 0");
    }
    if (f.p) check_probability(indexed("fibers", i, "p"), *f.p);
    if (!(f.max_weight == 0.0 || (f.max_weight >= 1.0 && f.max_weight <= kMaxWeight))) {
      throw Error::bad_input(indexed("fibers", i, "max_weight"), to_text(f.max_weight),
                             "must be 0 (only the engine's ceiling 65536) or a weight in [1, 65536]");
    }
    if (!edges.insert({f.from, f.to}).second) {
      throw Error::bad_input(indexed("fibers", i, "to"), f.to, "fiber " + f.from + " -> " + f.to + " is listed twice");
    }
  }
}

const char* to_string(GraphMode mode) {
  switch (mode) {
    case GraphMode::explicit_graph: return "explicit";
    case GraphMode::implicit_graph: return "implicit";
    case GraphMode::lazy: return "lazy";
  }
  return "unknown";
}

}  // namespace engram::assembly
