#include <cstdio>
#include <filesystem>
#include <vector>

#include "commands.hpp"
#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/models/job_kinds.hpp"
#include <memory>
#include "progress_bar.hpp"

namespace engram::cli {

namespace {
void check_out_dir(const RunOptions& options) {
  if (options.out && std::filesystem::exists(*options.out) && !std::filesystem::is_directory(*options.out)) {
    throw Error::bad_input("--out", *options.out, "exists and is not a directory");
  }
}

// Any registered kind: its tables become <name>.csv under --out, all written only after the run.
int run_job_kind_command(const RunOptions& options, const io::ConfigNode& root, const sched::JobKind& kind) {
  if (sched::is_sweep(root)) return run_sweep_command(options);
  if (options.resume || options.force || options.shard) {
    throw Error::bad_input(options.resume ? "--resume" : options.force ? "--force" : "--shard", "(set)",
                           "applies only to configs with a sweep: section");
  }
  kind.validate(root);
  check_out_dir(options);
  sched::RunContext context;
  if (options.backend) context.backend = *options.backend;
  std::printf("engram %s: %s: %s\n", ENGRAM_VERSION, std::string(kind.name()).c_str(),
              std::string(kind.description()).c_str());
  sched::Results results;
  {
    ProgressBar bar("steps");
    context.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    results = kind.run(root, context);
  }
  for (const std::string& line : results.summary) std::printf("%s\n", line.c_str());
  if (options.out) {
    for (const auto& path : sched::write_tables(*options.out, results.tables)) std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace

int run_command(const RunOptions& options) {
  // Everything that can be wrong with the input is checked before anything is created.
  const io::ConfigNode root = io::load_config_file(options.config);
  return run_job_kind_command(options, root, models::job_kind(root));
}

}  // namespace engram::cli
