// `engram run CONFIG.yaml`: any experiment kind, or a sweep of one, through the scheduler's one
// path (sched::run_config); this file only turns flags into RunOptions and draws progress.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/models/job_kinds.hpp"
#include "mpi_support.hpp"
#include "progress_bar.hpp"

namespace engram::cli {

namespace {

std::string read_config_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error::bad_input("config", path, "cannot be opened for reading");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

sched::RunOptions run_options(const RunOptions& options, const std::string& config_text) {
  sched::RunOptions run;
  if (options.backend) run.backend = *options.backend;
  if (options.out) run.out = *options.out;
  run.resume = options.resume;
  run.force = options.force;
  run.trace = options.trace;
  if (options.shard) run.shard = sched::parse_shard(*options.shard, "--shard");
  run.pack.max_batch = options.max_batch;
  run.pack.memory_budget = options.memory_budget ? *options.memory_budget : 0;
  run.pack.workers = options.workers;
  run.return_rows = false;
  run.config_text = config_text;
  run.config_file = options.config;
  const mpi::World world = mpi::world();
  run.group = sched::ProcessGroup{world.rank, world.size, [] { mpi::barrier(); }};
  run.log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  return run;
}

}  // namespace

int run_command(const RunOptions& options) {
  // Everything that can be wrong with the input is checked before anything is created; the
  // file is read and parsed once.
  const std::string text = read_config_text(options.config);
  const io::ConfigNode root(io::load_config_string(text, options.config).yaml(), "",
                            std::filesystem::path(options.config).parent_path().string());
  const sched::JobKind& kind = models::job_kind(root);
  const bool sweep = sched::is_sweep(root);
  if (sweep && !options.out) throw Error::bad_input("--out", "(missing)", "a sweep needs --out DIR for its results");
  if (!sweep) {
    std::printf("engram %s: %s: %s\n", ENGRAM_VERSION, std::string(kind.name()).c_str(),
                std::string(kind.description()).c_str());
  }
  const sched::RunOptions run = run_options(options, text);
  ProgressBar bar(sweep ? "jobs" : "steps");
  // Logs and pipes get a line every 10 s instead of the bar.
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto last_line = start;
  const Progress progress([&](std::uint64_t done, std::uint64_t total) {
    bar.update(done, total);
    const auto now = std::chrono::steady_clock::now();
    if (sweep && !terminal && now - last_line > std::chrono::seconds(10)) {
      last_line = now;
      const double elapsed = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "engram: %llu/%llu jobs, %.1f jobs/s\n", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), static_cast<double>(done) / elapsed);
    }
  });
  sched::Results results = sched::run_config(root, kind, run, progress);
  bar.finish();
  if (!sweep) {
    for (const std::string& line : results.summary) std::printf("%s\n", line.c_str());
  }
  // Without --out the tables exist only in memory: say so, and how to keep them.
  if (options.out) {
    std::printf("results written to %s\n", options.out->c_str());
  } else {
    std::printf("no files written (the summary above is all this run keeps); add --out DIR to write its %zu "
                "table(s) as CSV\n",
                results.tables.size());
  }
  return 0;
}

}  // namespace engram::cli
