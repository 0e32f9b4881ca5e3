#include "engram/models/assembly/projection_experiment.hpp"

#include <algorithm>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/brain_chunks.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "engram/models/assembly/brain_config.hpp"

namespace engram::assembly {


ProjectionExperiment parse_projection(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "backend", "mode", "p", "steps", "seed", "brains", "batch_size",
                   "areas", "stimuli", "fibers"});
  ProjectionExperiment e;
  const std::string kind = root.optional<std::string>("experiment", "project");
  if (kind != "project") throw Error::bad_input("experiment", kind, "must be project");
  BrainSection section = parse_brain_section(root);
  e.brain = std::move(section.brain);
  e.seed = section.seed;
  e.brains = section.brains;
  e.batch_size = section.batch_size;
  e.backend = section.backend;
  root.child("steps");  // required: a run without a step count is almost surely a typo
  e.steps = positive_count(root, "steps", 0);
  return e;
}

void run_projection(const ProjectionExperiment& experiment, Backend& backend, const RecordSink& sink,
                    const Progress& progress) {
  experiment.brain.validate();
  const std::uint64_t total = static_cast<std::uint64_t>(experiment.brains) * experiment.steps;
  std::uint64_t done = 0;
  for_each_brain_batch(backend, experiment.brain, experiment.seed, experiment.brains, experiment.batch_size,
                       [&](BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>&) {
    const auto count = static_cast<std::uint32_t>(batch.size());
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
      progress.step(done, total);
    }
    for (const auto& records : per_brain) {
      for (const ProjectionRecord& r : records) sink(r);
    }
  });
}

}  // namespace engram::assembly
