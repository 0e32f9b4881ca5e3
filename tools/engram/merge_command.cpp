// `engram merge DIR... --out DIR`: the shard files of a sweep (from --shard runs or Slurm array
// tasks) merged into one results.csv sorted by job id.
#include <cstdio>
#include <filesystem>
#include <vector>

#include "commands.hpp"
#include "engram/engine/scheduler/result_sink.hpp"

namespace engram::cli {

int merge_command(const MergeOptions& options) {
  const std::vector<std::filesystem::path> dirs(options.dirs.begin(), options.dirs.end());
  sched::MergeChecks checks;
  checks.allow_partial = options.allow_partial;
  checks.allow_unchecked = options.allow_unchecked;
  const sched::MergeReport report = sched::merge_sweep_dirs(dirs, options.out, checks);
  for (const std::string& missing : report.missing) std::fprintf(stderr, "engram: warning: merge is missing %s\n", missing.c_str());
  std::printf("merged %zu rows from %zu file(s) into %s\n", report.rows, report.files,
              (std::filesystem::path(options.out) / "results.csv").c_str());
  return 0;
}

}  // namespace engram::cli
