#pragma once
// Parameter sweeps over any experiment kind. A config with a `sweep:` section expands into jobs:
// a cartesian `grid`, `zip` groups varied together, numeric ranges, and `seeds: N` replicates.
// Each job has a stable id, a hash of its canonical parameter assignments and seed, so reordering
// the config does not change ids. The job's config is the base config with the assignments
// written in and `seed:` set to the job's seed; its JobKind validates it before anything runs.
// Jobs of one shape class are packed into batches (plan_batches); a job's row is the same in
// any batch (docs/sweeps.md).
//
//   engram::sched::Sweep sweep = engram::sched::parse_sweep(root, kind);   // kind: any JobKind
//   for (const auto& batch : engram::sched::plan_batches(pending, {}).batches) {
//     auto rows = engram::sched::run_jobs(sweep, batch, *backend, progress);
//   }
// Front ends do not loop themselves: sweep_runner.hpp runs a sweep into a result sink.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::sched {

struct SweepJob {
  std::string id;  // 16 hex digits
  std::vector<std::pair<std::string, std::string>> assignments;  // (path, canonical value), by path
  std::uint32_t replicate = 0;
  std::uint64_t seed = 0;  // base seed + replicate
  // The job's whole config. Held by pointer: YAML::Node assignment rebinds the shared node in
  // place, so sorting jobs that held nodes by value would scramble their configs.
  std::shared_ptr<const YAML::Node> yaml;
  std::string base_dir;  // the sweep file's folder: relative data paths resolve there
  JobTraits traits;      // the kind's describe() of the config, made when the sweep expands

  io::ConfigNode config() const { return io::ConfigNode(*yaml, "", base_dir); }
  JobInput input() const { return JobInput{config(), seed, traits.parsed}; }
};

struct Sweep {
  const JobKind* kind = nullptr;
  // The config without its `sweep:` section (it picks the backend), and the sweep file's folder.
  std::shared_ptr<const YAML::Node> base_yaml;
  std::string base_dir;
  std::vector<std::string> parameters;  // swept paths, sorted
  std::uint32_t seeds = 1;
  std::vector<SweepJob> jobs;  // sorted by id
  std::vector<std::string> result_columns;
  std::vector<std::string> trace_columns;

  io::ConfigNode base() const { return io::ConfigNode(*base_yaml, "", base_dir); }
};

// Whether a config has a `sweep:` section.
bool is_sweep(const io::ConfigNode& root);
// Expands the sweep and validates every job; throws Error (bad_input) naming the bad field.
Sweep parse_sweep(const io::ConfigNode& root, const JobKind& kind);

// Shard i of N takes jobs i, i+N, i+2N, ... of the id-sorted list (`--shard i/N`, MPI rank r of N).
struct Shard {
  std::uint32_t index = 0, count = 1;
};
// "i/N" with 0 <= i < N; bad text is Error::bad_input naming `field`.
Shard parse_shard(const std::string& text, const std::string& field);
std::vector<const SweepJob*> shard_jobs(const Sweep& sweep, Shard shard);

struct PackOptions {
  std::uint32_t max_batch = 256;
  std::uint64_t memory_budget = 0;  // bytes; 0: a quarter of available memory
  std::uint32_t workers = 1;        // batches held at once share the budget
};
// Groups `pending` by shape class (in the classes' sort order), places jobs of equal affinity
// side by side and cuts each class by max_batch and the memory budget, all from the jobs' traits.
struct BatchPlan {
  std::vector<std::vector<const SweepJob*>> batches;
  std::size_t shape_classes = 0;
};
BatchPlan plan_batches(const std::vector<const SweepJob*>& pending, const PackOptions& options);
std::uint64_t available_memory();

// One batch through its kind: rows (and, with traces, per-job trace rows) in job order.
std::vector<Row> run_jobs(const Sweep& sweep, const std::vector<const SweepJob*>& batch, Backend& backend,
                          const Progress& progress, std::vector<std::vector<Row>>* traces = nullptr);

// The results file: a header and one line per job (no trailing newline in either).
std::string csv_header(const Sweep& sweep);
std::string csv_row(const SweepJob& job, const Row& cells);

// 64-bit FNV-1a of the bytes, as 16 hex digits (job ids, config hashes).
std::string hash_hex(std::string_view bytes);

}  // namespace engram::sched
