#pragma once
// JobKind: one kind of experiment (`experiment: <name>` in YAML) as the scheduler, the CLI and
// the Python module see it. Every model plugs in through this one interface, so `engram run`,
// sweeps (`sweep:` sections, packing, --resume, --shard, MPI) and `engram.run()` in Python treat
// an Assembly Calculus projection, an OT problem and a training run alike.
//
//   const engram::sched::JobKind& kind = engram::sched::job_kind_for(root);  // reads `experiment:`
//   kind.validate(root);                                                     // bad_input names the field
//   engram::sched::Results results = kind.run(root, context);               // tables, written as CSV
//
// Contract for run_batch: row i depends only on jobs[i] (its config and seed), never on which
// other jobs share the batch or on the thread count: same seed, same bits.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"

namespace engram::sched {

// A column of a result table: integers, reals or text (exactly one vector is used).
struct Column {
  enum class Type { integer, real, text };
  std::string name;
  Type type = Type::real;
  std::vector<std::int64_t> integers;
  std::vector<double> reals;
  std::vector<std::string> texts;

  std::size_t size() const;
  std::string cell(std::size_t row) const;  // shortest round-trip text for reals
};

// A named table; the CLI writes it as <name>.csv, Python returns it as a dict of numpy arrays
// (or a pandas DataFrame).
struct Table {
  std::string name;
  std::vector<Column> columns;

  Column& add(std::string column_name, Column::Type type);
  std::size_t rows() const;  // throws internal when columns differ in length
  std::string csv() const;   // header and rows, '\n'-terminated
};

struct Results {
  std::vector<Table> tables;
  std::vector<std::string> summary;  // lines the CLI prints after a run
};

// Writes each table as <dir>/<name>.csv (creating dir). Every file is written in full before any
// is renamed into place, so a failure leaves no partial set. Returns the paths, in table order.
std::vector<std::filesystem::path> write_tables(const std::filesystem::path& dir, const std::vector<Table>& tables);

// Progress in work units of the kind's choosing; return false from should_continue to stop early
// (Ctrl-C): the kind then throws engram::Error with code cancelled.
struct RunContext {
  std::string backend;  // overrides the config's `backend:` when not empty
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  std::function<bool()> should_continue;

  void report(std::uint64_t done, std::uint64_t total) const {
    if (progress) progress(done, total);
  }
  // Throws Error::cancelled when the caller asked to stop.
  void check_cancelled() const;
  // Both at once, as the (done, total) callback the models' run functions take.
  std::function<void(std::uint64_t, std::uint64_t)> checkpoint() const {
    return [this](std::uint64_t done, std::uint64_t total) {
      check_cancelled();
      report(done, total);
    };
  }
};

// One job of a sweep: the whole job config (sweep assignments written in, `sweep:` removed) and
// the job's seed (which replaces the config's `seed:`).
struct JobInput {
  io::ConfigNode config;
  std::uint64_t seed = 0;
};

class JobKind {
 public:
  virtual ~JobKind() = default;
  virtual std::string_view name() const = 0;  // the `experiment:` value
  virtual std::string_view description() const = 0;

  // Parses and checks a config; throws Error::bad_input naming the field and value. No backend,
  // no output: a sweep validates all its jobs before running any.
  virtual void validate(const io::ConfigNode& config) const = 0;

  // A single `engram run` / `engram.run()`.
  virtual Results run(const io::ConfigNode& config, const RunContext& context) const = 0;

  // A sweep job's config (by default, validate); kinds whose sweep jobs are narrower than a run
  // (one brain per job) refuse more here.
  virtual void validate_sweep_job(const io::ConfigNode& config) const { validate(config); }

  // Sweeps. Jobs whose shape classes are equal may share run_batch; the estimate bounds one
  // job's memory so the packer can respect --memory-budget.
  virtual std::string shape_class(const io::ConfigNode& config) const = 0;
  virtual std::uint64_t estimate_bytes(const io::ConfigNode& config) const = 0;
  // The result columns of one job, after id, seed, replicate and the swept parameters.
  virtual std::vector<std::string> result_columns(const io::ConfigNode& config) const = 0;
  // Row i (cells in result_columns order) belongs to jobs[i].
  virtual std::vector<std::vector<std::string>> run_batch(const std::vector<JobInput>& jobs, Backend& backend,
                                                          const RunContext& context) const = 0;

  // Optional per-step traces of sweep jobs (`--trace`): the columns after `id`, and run_batch that
  // also fills (*traces)[i] with job i's trace rows. Kinds without traces keep the defaults.
  virtual std::vector<std::string> trace_columns(const io::ConfigNode& config) const;
  virtual std::vector<std::vector<std::string>> run_batch_traced(
      const std::vector<JobInput>& jobs, Backend& backend, const RunContext& context,
      std::vector<std::vector<std::vector<std::string>>>* traces) const;
};

}  // namespace engram::sched
