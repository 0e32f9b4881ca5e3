#pragma once
// A projection experiment: `brains` brains of one spec (brain i keyed by (seed, i)) run `steps`
// synchronous project() steps, packed `batch_size` to a BrainBatch. Each step of each updated area
// yields a record: the area's support (neurons that ever fired) and the overlap of its winners
// with the previous step's — the numbers that show an assembly forming.
//
//   auto experiment = engram::assembly::parse_projection(engram::io::load_config_file(path));
//   engram::assembly::run_projection(experiment, *backend, [](const auto& r) { ... });
#include <cstdint>
#include <functional>
#include <string>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/progress.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

struct ProjectionExperiment {
  BrainSpec brain;
  std::uint32_t steps = 1;
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
};

struct ProjectionRecord {
  std::uint32_t brain = 0;  // index within the run
  std::uint64_t seed = 0;
  std::uint32_t step = 0;   // 1-based
  std::string area;
  std::uint32_t k = 0;
  std::uint64_t support = 0;
  std::uint32_t overlap = 0;  // winners shared with the previous step (0 on an area's first step)
};

// Reads and fully validates a config; throws engram::Error naming the bad field.
ProjectionExperiment parse_projection(const io::ConfigNode& root);

using RecordSink = std::function<void(const ProjectionRecord&)>;

// Records arrive ordered by (brain, step, area). Progress counts brain-steps.
void run_projection(const ProjectionExperiment& experiment, Backend& backend, const RecordSink& sink,
                    const Progress& progress = {});

}  // namespace engram::assembly
