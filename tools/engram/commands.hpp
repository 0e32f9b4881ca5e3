#pragma once
// The engram CLI's subcommands: `run` (any experiment kind, or a sweep of one), `merge` (sweep
// shards) and `info`. Each returns the process exit code; engram::Error escapes to main(),
// which maps bad input to 2 and internal failures to 1.
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

namespace engram::cli {

struct RunOptions {
  std::string config;
  std::optional<std::string> backend;  // overrides the config's backend
  std::optional<std::string> out;      // directory for the run's tables (<name>.csv) or a sweep's results.csv
  // Sweeps (configs with a `sweep:` section; docs/sweeps.md).
  bool resume = false;
  bool force = false;
  bool trace = false;  // sweeps: also write every job's per-step support and overlap
  std::optional<std::string> shard;  // "i/N"
  std::uint32_t max_batch = 256;
  std::uint32_t workers = 1;  // sweeps: batches in flight at once (CUDA: one stream each)
  std::optional<std::uint64_t> memory_budget;  // bytes
};

struct MergeOptions {
  std::vector<std::string> dirs;
  std::string out;
  bool allow_partial = false;    // merge even with shards or jobs missing (each is reported)
  bool allow_unchecked = false;  // merge dirs that have no manifest.json
};

int run_command(const RunOptions& options);
int merge_command(const MergeOptions& options);
int info_command();

}  // namespace engram::cli
