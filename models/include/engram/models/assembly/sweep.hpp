#pragma once
// Parameter sweeps over the projection experiment. A config with a `sweep:` section expands into
// jobs (one brain each): a cartesian `grid`, `zip` groups varied together, numeric ranges, and
// `seeds: N` replicates. Each job has a stable id, a hash of its canonical parameter assignments
// and seed, so reordering the config does not change ids. Jobs whose brains differ only in
// per-brain parameters (fiber p and beta) share a shape class and are packed into one Batch;
// brain keys depend on the job alone, so a job's row is the same in any batch (docs/sweeps.md).
//
//   auto sweep = engram::assembly::parse_sweep(engram::io::load_config_file("examples/sweep.yaml"));
//   auto rows = engram::assembly::run_sweep_batch({&sweep.jobs[0], &sweep.jobs[1]}, *backend);
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/projection_experiment.hpp"

namespace engram::assembly {

struct SweepJob {
  std::string id;  // 16 hex digits
  std::vector<std::pair<std::string, std::string>> assignments;  // (path, canonical value), by path
  std::uint32_t replicate = 0;
  std::uint64_t seed = 0;           // base seed + replicate; the brain is keyed BrainId{seed, 0}
  ProjectionExperiment experiment;  // the base config with the assignments written in, one brain
};

struct Sweep {
  ProjectionExperiment base;
  std::vector<std::string> parameters;  // swept paths, sorted
  std::uint32_t seeds = 1;
  std::vector<SweepJob> jobs;  // sorted by id
};

// Whether a config has a `sweep:` section.
bool is_sweep(const io::ConfigNode& root);
// Expands and validates a sweep config; throws engram::Error (bad_input) naming the bad field.
Sweep parse_sweep(const io::ConfigNode& root);

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

// Runs jobs of one shape class as one batch; result i (one summary per area) belongs to jobs[i].
// With `traces`, (*traces)[i] receives job i's per-step rows.
std::vector<std::vector<AreaSummary>> run_sweep_batch(const std::vector<const SweepJob*>& jobs, Backend& backend,
                                                      std::vector<std::vector<TraceRow>>* traces = nullptr);

// The results file: a header and one line per job (no trailing newline in either).
std::string sweep_csv_header(const Sweep& sweep);
std::string sweep_csv_row(const Sweep& sweep, const SweepJob& job, const std::vector<AreaSummary>& areas);

// 64-bit FNV-1a of the bytes, as 16 hex digits (job ids, config hashes).
std::string hash_hex(std::string_view bytes);

}  // namespace engram::assembly
