#pragma once
// Where a sweep's rows go. The runner (sweep_runner.hpp) hands every finished batch to one
// ResultSink; the sink decides what "done" means for --resume.
//
//   FileSink: DIR/results.csv (or results.shard-i-of-N.csv), one fsync'd append per batch, a
//     manifest.json naming the config, resume by job id (a torn last line is ignored), and the
//     merge of MPI ranks' shard files (docs/sweeps.md). The CLI, and Python and C with `out`.
//   MemorySink: the rows as a typed Table (Python, the C API without `out`).
//
//   engram::sched::FileSink sink({.dir = "out", .resume = true, .config_hash = hash});
//   engram::sched::run_sweep(sweep, sink, options, progress);
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engram/engine/io/output_lock.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/engine/scheduler/sweep.hpp"

namespace engram::sched {

// What a sink learns before any job runs.
struct SweepStart {
  const Sweep* sweep = nullptr;
  Shard shard;
  std::vector<const SweepJob*> mine;  // this shard's jobs
  bool traces = false;
  std::string backend;  // the resolved backend's name
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Checks everything that could be wrong (an output directory of another sweep, ...) and
  // returns the ids of `start.mine` already done, which the runner skips. Nothing may be written
  // before every check has passed.
  virtual std::set<std::string> prepare(const SweepStart& start) = 0;
  // One finished batch: rows[i] (and traces[i], when tracing) belong to batch[i]. The runner
  // calls it from one worker at a time.
  virtual void write(const std::vector<const SweepJob*>& batch, const std::vector<Row>& rows,
                     const std::vector<std::vector<Row>>& traces) = 0;
  // After the last batch; returns lines for the run's summary.
  virtual std::vector<std::string> finish() { return {}; }
};

// The rows in memory, returned as tables sorted by job id: `results` (id, seed, replicate, the
// swept parameters as numbers where they all are, then the kind's typed cells) and, when
// tracing, `traces` (id, then the trace columns).
class MemorySink final : public ResultSink {
 public:
  std::set<std::string> prepare(const SweepStart& start) override;
  void write(const std::vector<const SweepJob*>& batch, const std::vector<Row>& rows,
             const std::vector<std::vector<Row>>& traces) override;
  Table results() const;
  Table traces() const;

 private:
  const Sweep* sweep_ = nullptr;
  std::vector<const SweepJob*> mine_;
  std::map<std::string, Row> rows_;                 // by job id
  std::map<std::string, std::vector<Row>> traces_;  // by job id
};

// Ranks of one MPI job (or a single process): after its own rows are on disk, every rank waits
// at `barrier`; rank 0 then merges the ranks' shard files into results.csv.
struct ProcessGroup {
  int rank = 0;
  int size = 1;
  std::function<void()> barrier;
};

struct FileSinkOptions {
  std::filesystem::path dir;
  bool resume = false;  // keep rows already in dir; else refuse a dir that has them
  bool force = false;   // discard rows of another config (or of this one, without resume)
  std::string config_hash;  // recognises the sweep on resume (run_config: of the parsed config)
  std::string config_text;  // written to the manifest
  std::string config_file;  // the manifest's note of where the config came from
  std::string option_prefix = "--";  // error messages name options as the front end spells them
  ProcessGroup group;
};

class FileSink final : public ResultSink {
 public:
  explicit FileSink(FileSinkOptions options);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  std::set<std::string> prepare(const SweepStart& start) override;
  void write(const std::vector<const SweepJob*>& batch, const std::vector<Row>& rows,
             const std::vector<std::vector<Row>>& traces) override;
  std::vector<std::string> finish() override;

  // This shard's results file (DIR/results.csv or DIR/results.shard-i-of-N.csv).
  const std::filesystem::path& results_path() const { return results_path_; }

 private:
  std::string option(const char* name) const { return options_.option_prefix + name; }
  void open_traces(const std::set<std::string>& done);

  FileSinkOptions options_;
  std::unique_ptr<io::OutputLock> folder_lock_, shard_lock_;  // held until the sink is destroyed
  const Sweep* sweep_ = nullptr;
  std::size_t total_jobs_ = 0;
  std::filesystem::path results_path_, traces_path_;
  int fd_ = -1, trace_fd_ = -1;
};

// The complete rows of a results file (a torn last line is dropped), and the merge of several
// files by job id: identical or conflicting rows of one id are refused naming the file.
struct ResultsFile {
  std::string header;
  std::vector<std::string> rows;
  std::size_t complete_bytes = 0;  // where a torn tail starts
  bool has_header = false;
};
ResultsFile read_results(const std::filesystem::path& path);
// `engram merge DIR... --out OUT`: every results file of the dirs (shard files when a dir has
// any) into OUT/results.csv sorted by id, with the manifest of the dirs (which must agree).
// Refused unless told otherwise: dirs without a manifest.json (nothing says their rows belong
// to one config), and an incomplete set (a shard i-of-N missing, or fewer rows than the
// manifest's jobs). Dirs of different configs are always refused.
struct MergeChecks {
  bool allow_partial = false;    // merge what is there; `missing` says what is not
  bool allow_unchecked = false;  // merge dirs without a manifest.json
};
struct MergeReport {
  std::size_t rows = 0, files = 0;
  std::vector<std::string> missing;  // with allow_partial: the shards or jobs not merged
};
MergeReport merge_sweep_dirs(const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& out,
                             const MergeChecks& checks = {});
// A results file read back as a table of text cells narrowed to numbers (Python with `out`).
Table results_table(const std::filesystem::path& path);

}  // namespace engram::sched
