// engram: command-line entry point.
//   engram run CONFIG.yaml [--backend cpu|cuda|auto] [--out DIR]     (any experiment kind)
//   engram run SWEEP.yaml --out DIR [--resume] [--force] [--shard i/N] [--max-batch B]
//                                   [--memory-budget BYTES] [--workers W] [--trace]
//   engram merge DIR... --out DIR
//   engram info
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <set>
#include <string>

#include "commands.hpp"
#include "mpi_support.hpp"
#include "engram/engine/error.hpp"

namespace {
int run_main(int argc, char** argv);

void print_mapped_libraries() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libraries;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find(".so", slash) != std::string::npos) libraries.insert(line.substr(slash));
  }
  for (const auto& library : libraries) std::fprintf(stderr, "mapped: %s\n", library.c_str());
}
}

int main(int argc, char** argv) {
  engram::cli::mpi::init(&argc, &argv);
  const int code = run_main(argc, argv);
  // A failing rank takes the others down with it rather than leave them waiting at a barrier.
  if (code != 0 && engram::cli::mpi::world().size > 1) engram::cli::mpi::abort(code);
  engram::cli::mpi::finalize();
  return code;
}

namespace {
int run_main(int argc, char** argv) {
  CLI::App app{"engram: batched simulation and training of brain models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("engram ") + ENGRAM_VERSION);
  engram::cli::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run an experiment described by a YAML config");
  run_cmd->add_option("config", run.config, "Experiment config (YAML)")->required();
  run_cmd->add_option("--backend", run.backend, "cpu, cuda or auto (overrides the config)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  run_cmd->add_option("--out", run.out, "Directory to write results into");
  run_cmd->add_flag("--resume", run.resume, "Sweeps: skip jobs whose rows are already in --out");
  run_cmd->add_flag("--force", run.force, "Sweeps: discard results in --out from another config (or rerun)");
  run_cmd->add_flag("--trace", run.trace, "Sweeps: also write each job's per-step trace (traces*.csv)");
  run_cmd->add_option("--shard", run.shard, "Sweeps: run shard i of N (i/N, 0 <= i < N)");
  run_cmd->add_option("--workers", run.workers,
                      "Sweeps: batches run at once, each on its own backend (CUDA: its own stream); default 1")
      ->check(CLI::Range(1, 64));
  run_cmd->add_option("--max-batch", run.max_batch, "Sweeps: most brains per batch (default 256)")
      ->check(CLI::Range(1u, 1u << 20));
  run_cmd->add_option("--memory-budget", run.memory_budget,
                      "Sweeps: bytes a batch may use (default: a quarter of available memory)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50));
  // Hidden: lists the shared libraries mapped at the end of the run (tests check that a CPU run
  // maps no CUDA library).
  bool print_mapped = false;
  run_cmd->add_flag("--print-mapped-libraries", print_mapped)->group("");
  engram::cli::MergeOptions merge;
  auto* merge_cmd = app.add_subcommand("merge", "Merge the results of sweep shards into one file");
  merge_cmd->add_option("dirs", merge.dirs, "Sweep output directories")->required();
  merge_cmd->add_option("--out", merge.out, "Directory for the merged results.csv")->required();
  app.add_subcommand("info", "Print the version, compiled backends and devices");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (run_cmd->parsed()) {
      const int code = engram::cli::run_command(run);
      if (print_mapped) print_mapped_libraries();
      return code;
    }
    if (merge_cmd->parsed()) return engram::cli::merge_command(merge);
    return engram::cli::info_command();
  } catch (const engram::Error& e) {
    std::fprintf(stderr, "engram: error: %s\n", e.what());
    if (e.code() == engram::ErrorCode::cancelled) return 130;
    return e.code() == engram::ErrorCode::internal ? 1 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram: internal error: %s\n", e.what());
    return 1;
  }
}
}  // namespace
