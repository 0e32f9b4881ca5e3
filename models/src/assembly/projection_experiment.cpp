#include "engram/models/assembly/projection_experiment.hpp"

#include <algorithm>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/batch.hpp"

namespace engram::assembly {

namespace {
std::uint32_t at_least_one(const io::ConfigNode& node, const std::string& key, std::uint32_t fallback) {
  const auto value = node.optional<std::uint32_t>(key, fallback);
  if (value == 0) throw Error::bad_input(node.field(key), "0", "must be at least 1");
  return value;
}
}  // namespace

ProjectionExperiment parse_projection(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "backend", "mode", "p", "steps", "seed", "brains", "batch_size",
                   "areas", "stimuli", "fibers"});
  ProjectionExperiment e;
  const std::string kind = root.optional<std::string>("experiment", "project");
  if (kind != "project") throw Error::bad_input("experiment", kind, "must be project");
  e.backend = root.optional<std::string>("backend", "auto");
  if (e.backend != "cpu" && e.backend != "cuda" && e.backend != "auto") {
    throw Error::bad_input("backend", e.backend, "must be one of cpu, cuda, auto");
  }
  const std::string mode = root.optional<std::string>("mode", "implicit");
  if (mode == "implicit") e.brain.mode = GraphMode::implicit_graph;
  else if (mode == "explicit") e.brain.mode = GraphMode::explicit_graph;
  else if (mode == "lazy") e.brain.mode = GraphMode::lazy;
  else throw Error::bad_input("mode", mode, "must be implicit, explicit or lazy");
  e.brain.p = root.required<double>("p");
  root.child("steps");  // required: a run without a step count is almost surely a typo
  e.steps = at_least_one(root, "steps", 0);
  e.seed = root.optional<std::uint64_t>("seed", 0);
  e.brains = at_least_one(root, "brains", 1);
  e.batch_size = std::min(at_least_one(root, "batch_size", e.brains), e.brains);

  for (const io::ConfigNode& a : root.list("areas")) {
    a.allow_keys({"name", "n", "k", "self_loops", "noise", "normalise"});
    const std::string normalise = a.optional<std::string>("normalise", "none");
    if (normalise != "none" && normalise != "incoming_sum") {
      throw Error::bad_input(a.field("normalise"), normalise, "must be none or incoming_sum");
    }
    e.brain.areas.push_back(AreaSpec{a.required<std::string>("name"), a.required<std::uint32_t>("n"),
                                     a.required<std::uint32_t>("k"), a.optional<bool>("self_loops", true), a.optional<double>("noise", 0.0), normalise == "incoming_sum"});
  }
  for (const io::ConfigNode& s : root.optional_list("stimuli")) {
    s.allow_keys({"name", "k"});
    e.brain.stimuli.push_back(StimulusSpec{s.required<std::string>("name"), s.required<std::uint32_t>("k")});
  }
  for (const io::ConfigNode& f : root.list("fibers")) {
    f.allow_keys({"from", "to", "beta", "p", "max_weight"});
    e.brain.fibers.push_back(FiberSpec{f.required<std::string>("from"), f.required<std::string>("to"),
                                       f.required<double>("beta"), f.maybe<double>("p"), f.optional<double>("max_weight", 0.0)});
  }
  e.brain.validate();
  return e;
}

void run_projection(const ProjectionExperiment& experiment, Backend& backend, const RecordSink& sink,
                    const ProgressSink& progress) {
  experiment.brain.validate();
  const std::uint64_t total = static_cast<std::uint64_t>(experiment.brains) * experiment.steps;
  std::uint64_t done = 0;
  for (std::uint32_t first = 0; first < experiment.brains; first += experiment.batch_size) {
    const std::uint32_t count = std::min(experiment.batch_size, experiment.brains - first);
    std::vector<BrainId> ids;
    for (std::uint32_t i = 0; i < count; ++i) ids.push_back(BrainId{experiment.seed, first + i});
    const std::unique_ptr<BrainBatch> made = make_batch(backend, experiment.brain, ids);
    BrainBatch& batch = *made;
    std::vector<std::vector<ProjectionRecord>> per_brain(count);
    for (std::uint32_t step = 1; step <= experiment.steps; ++step) {
      batch.project();
      for (const AreaSpec& area : experiment.brain.areas) {
        if (!batch.updated(area.name)) continue;
        for (std::uint32_t b = 0; b < count; ++b) {
          per_brain[b].push_back(ProjectionRecord{first + b, experiment.seed, step, area.name, area.k,
                                                  batch.support(b, area.name), batch.overlap(b, area.name)});
        }
      }
      done += count;
      if (progress) progress(done, total);
    }
    for (const auto& records : per_brain) {
      for (const ProjectionRecord& r : records) sink(r);
    }
  }
}

}  // namespace engram::assembly
