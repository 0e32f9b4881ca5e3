#include "engram/models/assembly/operations.hpp"

#include <algorithm>
#include <set>

#include "engram/engine/error.hpp"

namespace engram::assembly {

namespace {

// Saves inhibition and fixing of every area and stimulus; restores them when it goes out of scope.
class ControlScope {
 public:
  explicit ControlScope(BrainBatch& batch) : batch_(batch) {
    for (const AreaSpec& a : batch.spec().areas) inhibited_.push_back(batch.inhibited(a.name));
    for (const StimulusSpec& s : batch.spec().stimuli) inhibited_.push_back(batch.inhibited(s.name));
  }
  ~ControlScope() {
    std::size_t i = 0;
    for (const AreaSpec& a : batch_.spec().areas) set(a.name, inhibited_[i++]);
    for (const StimulusSpec& s : batch_.spec().stimuli) set(s.name, inhibited_[i++]);
    for (const std::string& name : fixed_) batch_.unfix(name);
  }
  ControlScope(const ControlScope&) = delete;
  ControlScope& operator=(const ControlScope&) = delete;

  // Only `firing` may fire or be updated; everything else is silenced for the scope.
  void only(const std::vector<std::string>& firing) {
    const std::set<std::string> keep(firing.begin(), firing.end());
    for (const AreaSpec& a : batch_.spec().areas) set(a.name, !keep.count(a.name));
    for (const StimulusSpec& s : batch_.spec().stimuli) set(s.name, !keep.count(s.name));
  }
  void fix(const std::string& area) {
    batch_.fix(area);
    fixed_.push_back(area);
  }

 private:
  void set(const std::string& name, bool inhibit) {
    if (inhibit) batch_.inhibit(name);
    else batch_.disinhibit(name);
  }
  BrainBatch& batch_;
  std::vector<bool> inhibited_;
  std::vector<std::string> fixed_;
};

void check_steps(int steps) {
  if (steps < 0) throw Error::bad_input("steps", to_text(steps), "must be >= 0");
}

void check_area(const BrainBatch& batch, const std::string& name) {
  if (batch.spec().area_index(name) < 0) throw Error::bad_input("area", name, "names no area of this brain");
}

}  // namespace

std::uint32_t shared_neurons(const std::vector<NeuronId>& a, const std::vector<NeuronId>& b) {
  std::uint32_t shared = 0;
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i < *j) ++i;
    else if (*j < *i) ++j;
    else { ++shared; ++i; ++j; }
  }
  return shared;
}

void project_rounds(BrainBatch& batch, const std::vector<std::string>& sources,
                    const std::vector<std::string>& targets, int steps) {
  check_steps(steps);
  for (const std::string& t : targets) check_area(batch, t);
  ControlScope scope(batch);
  std::vector<std::string> active = sources;
  active.insert(active.end(), targets.begin(), targets.end());
  scope.only(active);
  // A source that is not a target keeps firing its current set instead of being recomputed.
  for (const std::string& s : sources) {
    if (batch.spec().area_index(s) >= 0 && std::find(targets.begin(), targets.end(), s) == targets.end()) {
      scope.fix(s);
    }
  }
  for (int i = 0; i < steps; ++i) batch.project();
}

void reciprocal_project(BrainBatch& batch, const std::string& a, const std::string& b, int steps) {
  check_steps(steps);
  check_area(batch, a);
  check_area(batch, b);
  ControlScope scope(batch);
  scope.only({a, b});
  scope.fix(a);
  for (int i = 0; i < steps; ++i) batch.project();
}

void associate(BrainBatch& batch, const std::string& a, const std::string& b, const std::string& c, int steps) {
  check_steps(steps);
  for (const auto& name : {a, b, c}) check_area(batch, name);
  ControlScope scope(batch);
  scope.only({a, b, c});
  scope.fix(a);
  scope.fix(b);
  for (int i = 0; i < steps; ++i) batch.project();
}

void merge(BrainBatch& batch, const std::string& a, const std::string& b, const std::string& c, int steps) {
  check_steps(steps);
  for (const auto& name : {a, b, c}) check_area(batch, name);
  // The parents stay driven by their (uninhibited) stimuli, so the merged assembly in C links to
  // the parents' stimulus-driven assemblies rather than to whatever feedback alone would leave.
  std::vector<std::string> active = {a, b, c};
  for (const FiberSpec& f : batch.spec().fibers) {
    if ((f.to == a || f.to == b) && batch.spec().stimulus_index(f.from) >= 0 && !batch.inhibited(f.from)) {
      active.push_back(f.from);
    }
  }
  ControlScope scope(batch);
  scope.only(active);
  for (int i = 0; i < steps; ++i) batch.project();
}

void pattern_complete(BrainBatch& batch, const std::string& area, double fraction, int steps) {
  check_steps(steps);
  check_area(batch, area);
  ControlScope scope(batch);
  scope.only({area});
  batch.fire_random_subset(area, fraction);
  for (int i = 0; i < steps; ++i) batch.project();
}

}  // namespace engram::assembly
