#pragma once
// The projection experiment as a JobKind (`experiment: project`, the default): single runs give
// per-step support and overlap of every brain; sweep jobs are one brain each, and jobs whose
// brains differ only in per-brain parameters (fiber p and beta) share a shape class and run as
// one batch. Brain keys depend on the job alone (BrainId{job seed, 0}), so a job's row is the
// same in any batch.
//
//   const engram::sched::JobKind& kind = engram::assembly::projection_kind();
//   auto sweep = engram::sched::parse_sweep(engram::io::load_config_file("examples/sweep.yaml"), kind);
#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/models/assembly/projection_experiment.hpp"

namespace engram::assembly {

const sched::JobKind& projection_kind();

// Jobs with equal shape classes may share a batch.
std::string shape_class(const ProjectionExperiment& experiment);
// An upper estimate of one brain's memory in a batch (bytes).
std::uint64_t estimate_brain_bytes(const ProjectionExperiment& experiment);

struct AreaSummary {
  std::uint64_t support = 0;   // neurons that ever fired, after the last step
  std::uint32_t overlap = 0;   // winners shared by the last two steps
  std::uint32_t k = 0;
  std::uint32_t converged_step = 0;  // first step from which support stopped growing; 0 if it grew at the end
};

// One step of one area of one job, for per-step traces.
struct TraceRow {
  std::uint32_t step = 0;
  std::uint32_t area = 0;  // index into the spec's areas
  std::uint64_t support = 0;
  std::uint32_t overlap = 0;
};

// Runs one-brain experiments of one shape class as one batch (brain i keyed by
// BrainId{experiments[i].seed, 0}); result i (one summary per area) belongs to experiments[i].
std::vector<std::vector<AreaSummary>> run_projection_batch(const std::vector<ProjectionExperiment>& experiments,
                                                           Backend& backend,
                                                           std::vector<std::vector<TraceRow>>* traces = nullptr);

}  // namespace engram::assembly
