#pragma once
// The one path every front end runs a config through. `engram run`, `engram.run()` (Python) and
// `engram_run_config` / `engram_run_config_ex` (C) all call run_config: a plain config runs
// through its kind on the backend the scheduler picks; a sweep runs its shard of jobs, packed by
// shape class, on a pool of workers (each with its own backend: CPU cores split between them,
// one CUDA stream each), into a result sink (result_sink.hpp): files with resume and manifest
// when `out` is given, memory otherwise.
//
//   engram::sched::RunOptions options;
//   options.out = "results/";  options.resume = true;  options.shard = {0, 4};
//   engram::sched::Results r = engram::sched::run_config(root, kind, options, progress);
//   for (const auto& line : r.summary) std::puts(line.c_str());
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engram/engine/progress.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/engine/scheduler/result_sink.hpp"
#include "engram/engine/scheduler/sweep.hpp"

namespace engram::sched {

struct SweepOptions {
  std::string backend;  // overrides the config's `backend:` when not empty
  PackOptions pack;     // pack.workers: batches in flight at once
  Shard shard;
  bool trace = false;
  std::string option_prefix = "--";  // how errors spell options
  // Each summary line as soon as it is known (the CLI prints the plan before the run starts).
  std::function<void(const std::string& line)> log;
};

// Runs `shard`'s jobs not yet in the sink into it; progress counts jobs (a sweep's jobs report
// no progress of their own). Returns the summary lines (also passed to options.log).
std::vector<std::string> run_sweep(const Sweep& sweep, ResultSink& sink, const SweepOptions& options,
                                   const Progress& progress);

struct RunOptions {
  std::string backend;  // overrides the config's `backend:` when not empty
  // Where results go: tables as <out>/<name>.csv, or a sweep's rows through a FileSink. Without
  // it nothing is written and the tables come back in Results.
  std::optional<std::filesystem::path> out;
  // Sweeps only (a plain config refuses them).
  bool resume = false;
  bool force = false;
  bool trace = false;
  std::optional<Shard> shard;
  PackOptions pack;
  // With `out`: also read this shard's rows back as the `results` table.
  bool return_rows = true;
  // The config's text and file for the manifest (empty text: the parsed config, emitted as
  // YAML). Resume recognises a sweep by the hash of the parsed config, so the CLI, Python and C
  // resume each other's runs of one config, whatever its comments or formatting.
  std::string config_text;
  std::string config_file;
  std::string option_prefix = "--";  // how errors spell options: "--out" (CLI), "out" (Python)
  ProcessGroup group;                // MPI ranks: rank r runs shard r/N; rank 0 merges
  std::function<void(const std::string& line)> log;
};

// Refuses, before anything is allocated, a run whose estimated memory exceeds `budget` (0: the
// memory available now), naming the estimate and the limit.
void check_memory(std::uint64_t estimate, std::uint64_t budget, const std::string& prefix, const std::string& what);

Results run_config(const io::ConfigNode& root, const JobKind& kind, const RunOptions& options,
                   const Progress& progress);

}  // namespace engram::sched
