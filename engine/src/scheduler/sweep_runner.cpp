#include "engram/engine/scheduler/sweep_runner.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "engram/engine/error.hpp"
#include "engram/engine/io/output_lock.hpp"

namespace engram::sched {

namespace {

std::string plan_line(const Sweep& sweep, const SweepOptions& options, std::size_t mine, std::size_t done,
                      std::size_t pending, const BatchPlan& plan, const std::string& backend) {
  char line[512];
  int n = std::snprintf(line, sizeof line, "engram %s: sweep of %zu jobs", ENGRAM_VERSION, sweep.jobs.size());
  if (options.shard.count > 1) {
    n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ", shard %u/%u: %zu jobs",
                       options.shard.index, options.shard.count, mine);
  }
  std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n),
                "; %zu done, %zu to run in %zu batch(es) of %zu shape class(es), %s backend", done, pending,
                plan.batches.size(), plan.shape_classes, backend.c_str());
  return line;
}

// Workers take batches in order from a shared counter, each on its own backend (its own CUDA
// stream); on the CPU each gets cores / workers OpenMP threads, so the pool never
// oversubscribes. A job's row does not depend on which worker or batch ran it.
std::uint64_t run_batches(const Sweep& sweep, const BatchPlan& plan, std::size_t pending, ResultSink& sink,
                          const SweepOptions& options, Backend& first_backend, const Progress& progress) {
  const auto& batches = plan.batches;
  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(options.pack.workers, batches.size()));
  const int threads_per_worker = std::max(1, omp_get_max_threads() / static_cast<int>(workers));
  const std::string backend_name(first_backend.name());
  const Progress jobs_progress = progress.silent();
  std::atomic<std::size_t> next_batch{0};
  std::mutex write_mutex;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  std::uint64_t finished = 0;
  auto work = [&](Backend* own) {
    try {
      std::unique_ptr<Backend> made;
      if (own == nullptr) {
        made = make_backend(backend_name);
        own = made.get();
      }
      omp_set_num_threads(threads_per_worker);
      for (std::size_t i = next_batch++; i < batches.size() && !failed; i = next_batch++) {
        progress.check_cancelled();
        const auto& batch = batches[i];
        std::vector<std::vector<Row>> traces;
        const auto rows = run_jobs(sweep, batch, *own, jobs_progress, options.trace ? &traces : nullptr);
        const std::lock_guard<std::mutex> lock(write_mutex);
        if (failed) return;
        sink.write(batch, rows, traces);
        finished += batch.size();
        progress.report(finished, pending);
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(write_mutex);
      if (!failed.exchange(true)) failure = std::current_exception();
    }
  };
  const int threads_before = omp_get_max_threads();
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work, nullptr);
  work(&first_backend);
  for (std::thread& t : pool) t.join();
  omp_set_num_threads(threads_before);
  if (failure) std::rethrow_exception(failure);
  return finished;
}

std::string yaml_text(const io::ConfigNode& root) {
  YAML::Emitter out;
  out << root.yaml();
  return out.c_str();
}

// The config's content independent of its spelling: mappings by sorted key, every scalar as
// its text. A YAML file and the same config as a Python dict (JSON) read alike.
void canonical(const YAML::Node& node, std::string& out) {
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> sorted;
    for (auto it = node.begin(); it != node.end(); ++it) sorted.emplace(it->first.Scalar(), it->second);
    out += '{';
    for (const auto& [key, value] : sorted) {
      out += key + ':';
      canonical(value, out);
      out += ';';
    }
    out += '}';
  } else if (node.IsSequence()) {
    out += '[';
    for (std::size_t i = 0; i < node.size(); ++i) {
      canonical(node[i], out);
      out += ';';
    }
    out += ']';
  } else if (node.IsScalar()) {
    out += std::to_string(node.Scalar().size()) + '"' + node.Scalar();
  } else {
    out += '~';
  }
}

std::string gib(std::uint64_t bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%llu bytes (%.2f GiB)", static_cast<unsigned long long>(bytes),
                static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return text;
}

}  // namespace

void check_memory(std::uint64_t estimate, std::uint64_t budget, const std::string& prefix, const std::string& what) {
  const bool given = budget != 0;
  if (!given) budget = available_memory();
  if (estimate <= budget) return;
  throw Error::bad_input(prefix + "memory-budget", gib(budget),
                         what + " needs an estimated " + gib(estimate) + " (from its config), more than the budget" +
                             (given ? "" : " (default: the memory available now)") +
                             "; shrink the config or raise " + prefix + "memory-budget");
}

std::vector<std::string> run_sweep(const Sweep& sweep, ResultSink& sink, const SweepOptions& options,
                                   const Progress& progress) {
  std::vector<std::string> summary;
  const auto say = [&](std::string line) {
    if (options.log) options.log(line);
    summary.push_back(std::move(line));
  };
  auto backend = make_job_backend(*sweep.kind, sweep.base(), options.backend);
  SweepStart start;
  start.sweep = &sweep;
  start.shard = options.shard;
  start.mine = shard_jobs(sweep, options.shard);
  start.traces = options.trace;
  start.backend = std::string(backend->name());
  // Every job must fit its worker's share of the budget before the sink touches the output.
  std::uint64_t largest = 0;
  for (const auto* job : start.mine) largest = std::max(largest, job->traits.estimate_bytes);
  const std::uint64_t budget = options.pack.memory_budget ? options.pack.memory_budget : available_memory();
  check_memory(largest, budget / std::max<std::uint32_t>(1, options.pack.workers), options.option_prefix,
               "the largest job of this sweep");
  const std::set<std::string> done = sink.prepare(start);

  std::vector<const SweepJob*> pending;
  for (const auto* job : start.mine) {
    if (done.count(job->id) == 0) pending.push_back(job);
  }
  const BatchPlan plan = plan_batches(pending, options.pack);
  say(plan_line(sweep, options, start.mine.size(), done.size(), pending.size(), plan, start.backend));

  const auto began = std::chrono::steady_clock::now();
  const std::uint64_t finished = run_batches(sweep, plan, pending.size(), sink, options, *backend, progress);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::vector<std::string> closing = sink.finish();
  char line[256];
  std::snprintf(line, sizeof line, "ran %llu jobs in %.2f s (%.1f jobs/s)", static_cast<unsigned long long>(finished),
                seconds, seconds > 0 ? static_cast<double>(finished) / seconds : 0.0);
  std::string ran = line;
  if (!closing.empty()) {
    ran += "; " + closing.front();
    closing.erase(closing.begin());
  }
  say(ran);
  for (auto& l : closing) say(std::move(l));
  return summary;
}

Results run_config(const io::ConfigNode& root, const JobKind& kind, const RunOptions& options,
                   const Progress& progress) {
  const std::string& prefix = options.option_prefix;
  if (options.out && std::filesystem::exists(*options.out) && !std::filesystem::is_directory(*options.out)) {
    throw Error::bad_input(prefix + "out", options.out->string(), "exists and is not a directory");
  }
  if (!is_sweep(root)) {
    if (options.resume || options.force || options.shard) {
      throw Error::bad_input(prefix + (options.resume ? "resume" : options.force ? "force" : "shard"), "(set)",
                             "applies only to configs with a sweep: section");
    }
    kind.validate(root);
    check_memory(kind.estimate_run_bytes(root), options.pack.memory_budget, prefix, "this run");
    auto backend = make_job_backend(kind, root, options.backend);
    // The folder is claimed (created, writable, ours alone) before the run, not found
    // unwritable after it.
    std::optional<io::OutputLock> claim;
    if (options.out) {
      claim.emplace(*options.out, ".engram.lock", prefix + "out");
      if (std::filesystem::exists(*options.out / "manifest.json")) {
        throw Error::bad_input(prefix + "out", options.out->string(),
                               "holds a sweep's results (manifest.json); a single run writes its tables into another directory");
      }
    }
    Results results = kind.run(root, *backend, progress);
    if (options.out) {
      for (const auto& path : write_tables(*options.out, results.tables)) results.summary.push_back("wrote " + path.string());
      claim->commit();
    }
    return results;
  }

  const Sweep sweep = parse_sweep(root, kind);
  SweepOptions sweep_options;
  sweep_options.backend = options.backend;
  sweep_options.pack = options.pack;
  sweep_options.trace = options.trace;
  sweep_options.log = options.log;
  sweep_options.option_prefix = prefix;
  if (options.shard) sweep_options.shard = *options.shard;
  if (options.group.size > 1) {
    if (options.shard) {
      throw Error::bad_input(prefix + "shard", std::to_string(options.shard->index) + "/" + std::to_string(options.shard->count),
                             "is set by mpirun: rank r runs shard r/N");
    }
    sweep_options.shard = Shard{static_cast<std::uint32_t>(options.group.rank), static_cast<std::uint32_t>(options.group.size)};
  }
  Results results;
  if (!options.out) {
    if (options.resume || options.force) {
      throw Error::bad_input(prefix + (options.resume ? "resume" : "force"), "(set)", "needs " + prefix + "out, the results to resume");
    }
    MemorySink sink;
    results.summary = run_sweep(sweep, sink, sweep_options, progress);
    results.tables.push_back(sink.results());
    if (options.trace) results.tables.push_back(sink.traces());
    return results;
  }
  FileSinkOptions file;
  file.dir = *options.out;
  file.resume = options.resume;
  file.force = options.force;
  std::string content;
  canonical(root.yaml(), content);
  file.config_hash = hash_hex(content);
  file.config_text = options.config_text.empty() ? yaml_text(root) : options.config_text;
  file.config_file = options.config_file;
  file.option_prefix = prefix;
  file.group = options.group;
  FileSink sink(file);
  results.summary = run_sweep(sweep, sink, sweep_options, progress);
  if (options.return_rows) results.tables.push_back(results_table(sink.results_path()));
  return results;
}

}  // namespace engram::sched
