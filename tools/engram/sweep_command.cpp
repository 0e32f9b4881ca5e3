// `engram run SWEEP.yaml --out DIR` and `engram merge`: expands a sweep into jobs, packs them into
// batches by shape class, runs the batches one after another (OpenMP inside each batch uses the
// cores), and appends each batch's rows to DIR/results.csv with an fsync (docs/sweeps.md).
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/models/job_kinds.hpp"
#include "mpi_support.hpp"
#include "progress_bar.hpp"

namespace engram::cli {

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// The value of "key": "value" in a manifest written by write_manifest (empty when absent).
std::string manifest_field(const std::string& manifest, const std::string& key) {
  const std::string tag = "\"" + key + "\": \"";
  const auto at = manifest.find(tag);
  if (at == std::string::npos) return {};
  const auto start = at + tag.size();
  const auto end = manifest.find('"', start);
  return end == std::string::npos ? std::string{} : manifest.substr(start, end - start);
}

struct Shard {
  std::uint32_t index = 0, count = 1;
};

Shard parse_shard(const std::optional<std::string>& text) {
  Shard s;
  if (!text) return s;
  const auto slash = text->find('/');
  const auto digits = [](const std::string& t) {
    return !t.empty() && t.size() <= 6 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  if (slash == std::string::npos || !digits(text->substr(0, slash)) || !digits(text->substr(slash + 1))) {
    throw Error::bad_input("--shard", *text, "must be i/N with 0 <= i < N");
  }
  s.index = static_cast<std::uint32_t>(std::stoul(text->substr(0, slash)));
  s.count = static_cast<std::uint32_t>(std::stoul(text->substr(slash + 1)));
  if (s.count == 0 || s.index >= s.count) throw Error::bad_input("--shard", *text, "must be i/N with 0 <= i < N");
  return s;
}

// Complete rows (ending in '\n') of a results file; `complete_bytes` is where a torn tail starts.
struct ResultsFile {
  std::string header;
  std::vector<std::string> rows;
  std::size_t complete_bytes = 0;
  bool has_header = false;
};

ResultsFile read_results(const fs::path& path) {
  ResultsFile r;
  const std::string text = read_text(path);
  std::size_t at = 0;
  while (true) {
    const auto newline = text.find('\n', at);
    if (newline == std::string::npos) break;  // a torn last line: ignored
    std::string line = text.substr(at, newline - at);
    at = newline + 1;
    r.complete_bytes = at;
    if (!r.has_header) {
      r.header = std::move(line);
      r.has_header = true;
    } else {
      r.rows.push_back(std::move(line));
    }
  }
  return r;
}

std::size_t fields(const std::string& line) { return static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1; }

void write_all(int fd, const std::string& text, const fs::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) throw Error::internal("cannot write " + path.string());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw Error::internal("cannot fsync " + path.string());
}

void write_manifest(const fs::path& dir, const RunOptions& options, const std::string& config_text,
                    const std::string& config_hash, std::size_t jobs, const std::string& backend) {
  io::AtomicFile file(dir / "manifest.json");
  auto& out = file.stream();
  out << "{\n"
      << "  \"engram_version\": \"" << ENGRAM_VERSION << "\",\n"
      << "  \"config_hash\": \"" << config_hash << "\",\n"
      << "  \"config_file\": \"" << json_escape(options.config) << "\",\n"
      << "  \"jobs\": " << jobs << ",\n"
      << "  \"backend\": \"" << backend << "\",\n"
      << "  \"build\": {\"cuda\": " << (ENGRAM_HAVE_CUDA ? "true" : "false") << ", \"mpi\": " << (mpi::compiled_in() ? "true" : "false") << ", \"compiler\": \""
      << json_escape(__VERSION__) << "\", \"openmp_threads\": " << omp_get_max_threads() << "},\n"
      << "  \"config\": \"" << json_escape(config_text) << "\"\n"
      << "}\n";
  file.commit();
}

// The results files of a sweep directory: its shard files when it has any, else results.csv
// (which, after an MPI run, is the merge of the shard files beside it).
std::vector<fs::path> results_files(const fs::path& dir) {
  std::vector<fs::path> shards;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("results.shard-", 0) == 0 && entry.path().extension() == ".csv") shards.push_back(entry.path());
  }
  std::sort(shards.begin(), shards.end());
  if (!shards.empty()) return shards;
  if (fs::exists(dir / "results.csv")) return {dir / "results.csv"};
  return {};
}

// Merges the complete rows of `files` by id; identical or conflicting rows of one id are refused.
void merge_rows(const std::vector<fs::path>& files, std::string& header, std::map<std::string, std::string>& rows) {
  for (const fs::path& file : files) {
    const ResultsFile r = read_results(file);
    if (!r.has_header) continue;
    if (header.empty()) header = r.header;
    if (r.header != header) throw Error::bad_input("merge", file.string(), "has another header than " + files.front().string());
    for (const auto& row : r.rows) {
      const std::string id = row.substr(0, row.find(','));
      const auto [it, inserted] = rows.emplace(id, row);
      if (!inserted) {
        throw Error::bad_input("merge", file.string(),
                               std::string(it->second == row ? "duplicates" : "conflicts with") + " the row of job " + id +
                                   " from an earlier file");
      }
    }
  }
}

void write_merged(const fs::path& path, const std::string& header, const std::map<std::string, std::string>& rows) {
  io::AtomicFile csv(path);
  csv.stream() << header << '\n';
  for (const auto& [id, row] : rows) csv.stream() << row << '\n';
  csv.commit();
}

}  // namespace

int run_sweep_command(const RunOptions& options) {
  // Everything that can be wrong is checked before anything is written.
  const std::string config_text = read_text(options.config);
  const io::ConfigNode root(io::load_config_string(config_text, options.config).yaml(), "",
                            fs::path(options.config).parent_path().string());
  const sched::Sweep sweep = sched::parse_sweep(root, models::job_kind(root));
  Shard shard = parse_shard(options.shard);
  const mpi::World world = mpi::world();
  if (world.size > 1) {
    if (options.shard) throw Error::bad_input("--shard", *options.shard, "is set by mpirun: rank r runs shard r/N");
    shard = Shard{static_cast<std::uint32_t>(world.rank), static_cast<std::uint32_t>(world.size)};
  }
  if (!options.out) throw Error::bad_input("--out", "(missing)", "a sweep needs --out DIR for its results");
  const fs::path dir = *options.out;
  if (fs::exists(dir) && !fs::is_directory(dir)) throw Error::bad_input("--out", dir.string(), "exists and is not a directory");
  std::string backend_name = sweep.backend;
  if (options.backend) backend_name = *options.backend;
  auto backend = make_backend(backend_name);

  const std::string config_hash = sched::hash_hex(config_text);
  const std::string results_name =
      shard.count == 1 ? std::string("results.csv")
                       : "results.shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".csv";
  const fs::path results_path = dir / results_name;
  const std::string traces_name = "traces" + results_name.substr(std::string("results").size());
  const fs::path traces_path = dir / traces_name;
  const fs::path manifest_path = dir / "manifest.json";
  bool discard_all = false;
  bool discard_own = false;
  if (fs::exists(manifest_path)) {
    const std::string old_hash = manifest_field(read_text(manifest_path), "config_hash");
    if (old_hash != config_hash) {
      if (!options.force) {
        throw Error::bad_input("--out", dir.string(),
                               "holds results of a different config (manifest config_hash " + old_hash + ", this config " +
                                   config_hash + "); use another directory, or --force to discard them");
      }
      discard_all = true;
    } else if (fs::exists(results_path) && !options.resume) {
      if (!options.force) {
        throw Error::bad_input("--out", dir.string(),
                               "already holds " + results_name + " of this sweep; pass --resume to finish it or --force to start over");
      }
      discard_own = true;
    }
  } else if (fs::exists(results_path) && !options.force) {
    throw Error::bad_input("--out", dir.string(), "holds " + results_name + " without a manifest.json; use --force to discard it");
  } else if (fs::exists(results_path)) {
    discard_own = true;
  }

  std::vector<const sched::SweepJob*> mine;
  for (std::size_t j = shard.index; j < sweep.jobs.size(); j += shard.count) mine.push_back(&sweep.jobs[j]);
  const std::string header = sched::csv_header(sweep);

  std::set<std::string> done;
  std::size_t keep_bytes = 0;
  if (!discard_all && !discard_own && fs::exists(results_path)) {
    const ResultsFile existing = read_results(results_path);
    if (existing.has_header) {
      if (existing.header != header) {
        throw Error::bad_input("--out", dir.string(), results_name + " has another header than this sweep's; use --force");
      }
      std::set<std::string> wanted;
      for (const auto* job : mine) wanted.insert(job->id);
      for (const auto& row : existing.rows) {
        const std::string id = row.substr(0, row.find(','));
        if (fields(row) != fields(header) || wanted.count(id) == 0 || !done.insert(id).second) {
          throw Error::bad_input("--out", dir.string(),
                                 results_name + " holds a row that is not one of this shard's jobs: " + row.substr(0, 40));
        }
      }
      keep_bytes = existing.complete_bytes;
    }
  }

  // Writing starts here.
  fs::create_directories(dir);
  if (discard_all) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      const bool ours = name.rfind("results", 0) == 0 || name.rfind("traces", 0) == 0;
      if (ours && entry.path().extension() == ".csv") fs::remove(entry.path());
    }
  }
  if (discard_own) {
    fs::remove(results_path);
    fs::remove(traces_path);
  }
  if (world.rank == 0) write_manifest(dir, options, config_text, config_hash, sweep.jobs.size(), std::string(backend->name()));
  const int fd = ::open(results_path.c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd < 0) throw Error::internal("cannot open " + results_path.string());
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{fd};
  if (::ftruncate(fd, static_cast<off_t>(keep_bytes)) != 0 || ::lseek(fd, 0, SEEK_END) < 0) {
    throw Error::internal("cannot truncate " + results_path.string());
  }
  if (keep_bytes == 0) write_all(fd, header + "\n", results_path);

  // Traces are written before their jobs' result rows, so a crash can leave trace rows of jobs
  // without a result row; on resume only the complete rows of finished jobs are kept.
  int trace_fd = -1;
  if (options.trace) {
    if (sweep.trace_columns.empty()) {
      throw Error::bad_input("--trace", "(set)", "experiment " + std::string(sweep.kind->name()) + " has no per-step traces");
    }
    std::string trace_header = "id";
    for (const auto& c : sweep.trace_columns) trace_header += "," + c;
    std::string kept = trace_header + "\n";
    if (fs::exists(traces_path)) {
      const ResultsFile old_traces = read_results(traces_path);
      for (const auto& row : old_traces.rows) {
        if (done.count(row.substr(0, row.find(','))) != 0) kept += row + "\n";
      }
    }
    io::AtomicFile rewritten(traces_path);
    rewritten.stream() << kept;
    rewritten.commit();
    trace_fd = ::open(traces_path.c_str(), O_WRONLY | O_APPEND);
    if (trace_fd < 0) throw Error::internal("cannot open " + traces_path.string());
  }
  Closer trace_closer{trace_fd};

  // Pack: shape classes in id order, cut by --max-batch and the memory budget.
  std::vector<const sched::SweepJob*> pending;
  for (const auto* job : mine) {
    if (done.count(job->id) == 0) pending.push_back(job);
  }
  sched::PackOptions pack;
  pack.max_batch = options.max_batch;
  pack.memory_budget = options.memory_budget ? *options.memory_budget : 0;
  pack.workers = options.workers;
  const sched::BatchPlan plan = sched::plan_batches(sweep, pending, pack);
  const auto& batches = plan.batches;

  std::printf("engram %s: sweep of %zu jobs", ENGRAM_VERSION, sweep.jobs.size());
  if (shard.count > 1) std::printf(", shard %u/%u: %zu jobs", shard.index, shard.count, mine.size());
  std::printf("; %zu done, %zu to run in %zu batch(es) of %zu shape class(es), %s backend\n", done.size(),
              pending.size(), batches.size(), plan.shape_classes, std::string(backend->name()).c_str());
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  auto last_line = start;
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::uint64_t finished = 0;
  // Workers take batches in order from a shared counter, each on its own backend (its own CUDA
  // stream); on the CPU each gets cores / workers OpenMP threads, so the pool never
  // oversubscribes. A job's row does not depend on which worker or batch ran it.
  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(options.workers, batches.size()));
  const int threads_per_worker = std::max(1, omp_get_max_threads() / static_cast<int>(workers));
  std::atomic<std::size_t> next_batch{0};
  std::mutex write_mutex;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  {
    ProgressBar bar("jobs");
    auto work = [&](Backend* own) {
      try {
        std::unique_ptr<Backend> made;
        if (own == nullptr) {
          made = make_backend(backend_name);
          own = made.get();
        }
        omp_set_num_threads(threads_per_worker);
        for (std::size_t i = next_batch++; i < batches.size() && !failed; i = next_batch++) {
          const auto& batch = batches[i];
          std::vector<std::vector<std::vector<std::string>>> traces;
          const auto cells = sched::run_jobs(sweep, batch, *own, sched::RunContext{}, options.trace ? &traces : nullptr);
          std::string trace_rows;
          for (std::size_t b = 0; b < traces.size(); ++b) {
            for (const auto& t : traces[b]) {
              trace_rows += batch[b]->id;
              for (const auto& cell : t) trace_rows += "," + cell;
              trace_rows += "\n";
            }
          }
          std::string rows;
          for (std::size_t b = 0; b < batch.size(); ++b) rows += sched::csv_row(*batch[b], cells[b]) + "\n";
          const std::lock_guard<std::mutex> lock(write_mutex);
          if (options.trace) write_all(trace_fd, trace_rows, traces_path);
          write_all(fd, rows, results_path);
          finished += batch.size();
          bar.update(finished, pending.size());
          const auto now = std::chrono::steady_clock::now();
          if (!terminal && now - last_line > std::chrono::seconds(10)) {
            last_line = now;
            const double elapsed = std::chrono::duration<double>(now - start).count();
            std::fprintf(stderr, "engram: %llu/%zu jobs, %.1f jobs/s\n", static_cast<unsigned long long>(finished),
                         pending.size(), static_cast<double>(finished) / elapsed);
          }
        }
      } catch (...) {
        const std::lock_guard<std::mutex> lock(write_mutex);
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work, nullptr);
    work(backend.get());
    for (std::thread& t : pool) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("ran %llu jobs in %.2f s (%.1f jobs/s); wrote %s\n", static_cast<unsigned long long>(finished), seconds,
              seconds > 0 ? static_cast<double>(finished) / seconds : 0.0, results_path.c_str());
  if (world.size > 1) {
    // Every rank's rows are on disk (fsync'd) before rank 0 merges them into results.csv.
    ::close(closer.fd);
    closer.fd = -1;
    mpi::barrier();
    if (world.rank == 0) {
      std::vector<fs::path> files;
      for (int r = 0; r < world.size; ++r) {
        files.push_back(dir / ("results.shard-" + std::to_string(r) + "-of-" + std::to_string(world.size) + ".csv"));
      }
      std::string merged_header;
      std::map<std::string, std::string> rows;
      merge_rows(files, merged_header, rows);
      if (rows.size() != sweep.jobs.size()) {
        throw Error::internal("mpi merge: " + std::to_string(rows.size()) + " rows for " + std::to_string(sweep.jobs.size()) + " jobs");
      }
      write_merged(dir / "results.csv", merged_header, rows);
      std::printf("merged %zu ranks' rows into %s\n", static_cast<std::size_t>(world.size), (dir / "results.csv").c_str());
    }
    mpi::barrier();
  }
  return 0;
}

int merge_command(const MergeOptions& options) {
  std::string hash;
  std::string manifest;
  std::vector<fs::path> files;
  for (const std::string& d : options.dirs) {
    const fs::path dir = d;
    if (!fs::is_directory(dir)) throw Error::bad_input("merge", d, "is not a directory");
    if (fs::exists(dir / "manifest.json")) {
      const std::string m = read_text(dir / "manifest.json");
      const std::string h = manifest_field(m, "config_hash");
      if (!hash.empty() && h != hash) throw Error::bad_input("merge", d, "is a sweep of another config (config_hash " + h + " vs " + hash + ")");
      hash = h;
      manifest = m;
    }
    const auto here = results_files(dir);
    if (here.empty()) throw Error::bad_input("merge", d, "holds no results.csv or results.shard-*.csv");
    files.insert(files.end(), here.begin(), here.end());
  }
  std::string header;
  std::map<std::string, std::string> rows;
  merge_rows(files, header, rows);
  const fs::path out = options.out;
  if (fs::exists(out) && !fs::is_directory(out)) throw Error::bad_input("--out", options.out, "exists and is not a directory");
  fs::create_directories(out);
  write_merged(out / "results.csv", header, rows);
  if (!manifest.empty() && !fs::exists(out / "manifest.json")) {
    io::AtomicFile m(out / "manifest.json");
    m.stream() << manifest;
    m.commit();
  }
  std::printf("merged %zu rows from %zu file(s) into %s\n", rows.size(), files.size(), (out / "results.csv").c_str());
  return 0;
}

}  // namespace engram::cli
