#pragma once
// JobKind: one kind of experiment (`experiment: <name>` in YAML) as the scheduler sees it. Every
// model plugs in through this one interface, and every front end (`engram run`, `engram.run()`
// in Python, `engram_run_config` in C) reaches it through one scheduler path (sweep_runner.hpp),
// so a simulation, a solver and a training run are run, swept, packed,
// resumed and sharded alike.
//
//   const engram::sched::JobKind& kind = engram::models::job_kind(root);  // reads `experiment:`
//   kind.validate(root);                                // bad_input names the field
//   auto backend = engram::sched::make_job_backend(kind, root, "");   // the scheduler's pick
//   engram::sched::Results results = kind.run(root, *backend, progress);   // tables, as CSV
//
// Contract for run_batch: row i depends only on jobs[i] (its config and seed), never on which
// other jobs share the batch or on the thread count: same seed, same bits.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/progress.hpp"

namespace engram::sched {

// One result cell: an integer, a real or a text. Typed from the kind to the sink, so the memory
// sink (Python, C) builds numeric columns without re-parsing text.
using Cell = std::variant<std::int64_t, double, std::string>;
using Row = std::vector<Cell>;
// CSV text of a cell: integers in full, reals in shortest round-trip form, text quoted only
// when it holds a comma, quote or newline.
std::string csv_cell(const Cell& cell);

// A column of a result table: integers, reals or text (exactly one vector is used).
struct Column {
  enum class Type { integer, real, text };
  std::string name;
  Type type = Type::real;
  std::vector<std::int64_t> integers;
  std::vector<double> reals;
  std::vector<std::string> texts;
  bool seed_bits = false;  // integers are uint64 seeds stored bit for bit (Table::add sets it for "seed")

  std::size_t size() const;
  std::string cell(std::size_t row) const;  // csv_cell of the row's value
  void push(const Cell& cell);              // bad cell type: Error::internal naming the column
};

// A named table; the CLI writes it as <name>.csv, Python returns it as a dict of numpy arrays
// (or a pandas DataFrame). Columns live in a deque, so the reference add() returns stays valid
// however many columns are added after it.
struct Table {
  std::string name;
  std::deque<Column> columns;

  Column& add(std::string column_name, Column::Type type);
  void append(const Row& row);  // one cell per column, in column order
  std::size_t rows() const;     // throws internal when columns differ in length
  std::string csv() const;      // header and rows, '\n'-terminated
};

struct Results {
  std::vector<Table> tables;
  std::vector<std::string> summary;  // lines the front ends print (CLI) or return (Python)
};

// Writes each table as <dir>/<name>.csv (creating dir). Every file is written in full before any
// is renamed into place, so a failure leaves no partial set. Returns the paths, in table order.
std::vector<std::filesystem::path> write_tables(const std::filesystem::path& dir, const std::vector<Table>& tables);

// A kind's own reading of one sweep job's config (a subclass the kind defines), made once when
// the sweep expands (JobKind::describe) and handed back to run_batch in JobInput::parsed: a sweep
// reads each job's config once, not once per question the scheduler asks.
struct ParsedJob {
  virtual ~ParsedJob() = default;
};

// What the scheduler knows of a sweep job before running it, from one reading of its config:
// the answers of shape_class, estimate_bytes and affinity, and the kind's parsed config (or null).
struct JobTraits {
  std::string shape_class;
  std::uint64_t estimate_bytes = 0;
  std::string affinity;
  std::shared_ptr<const ParsedJob> parsed;
};

// One job of a sweep: the whole job config (sweep assignments written in, `sweep:` removed) and
// the job's seed (which replaces the config's `seed:`); `parsed`, when set, is what the kind's
// describe() made of this config (run_batch may use it instead of reading the config again).
struct JobInput {
  io::ConfigNode config;
  std::uint64_t seed = 0;
  std::shared_ptr<const ParsedJob> parsed = nullptr;
};

class JobKind {
 public:
  virtual ~JobKind() = default;
  virtual std::string_view name() const = 0;  // the `experiment:` value
  virtual std::string_view description() const = 0;

  // The backends this kind runs on, and the one a config without `backend:` asks for ("cpu",
  // "cuda" or "auto"). The scheduler resolves `auto` within the supported ones and refuses an
  // unsupported request before anything runs (make_job_backend).
  virtual std::vector<BackendKind> backends() const { return {BackendKind::cpu, BackendKind::cuda}; }
  virtual std::string_view default_backend() const { return "auto"; }

  // Parses and checks a config; throws Error::bad_input naming the field and value. No backend,
  // no output: a sweep validates all its jobs before running any.
  virtual void validate(const io::ConfigNode& config) const = 0;

  // A single `engram run` / `engram.run()` on the backend the scheduler picked.
  virtual Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const = 0;

  // A sweep job's config (by default, validate); kinds whose sweep jobs are narrower than a run
  // (one brain per job) refuse more here.
  virtual void validate_sweep_job(const io::ConfigNode& config) const { validate(config); }

  // Sweeps. Jobs whose shape classes are equal may share run_batch; the estimate bounds one
  // job's memory so the packer can respect --memory-budget.
  virtual std::string shape_class(const io::ConfigNode& config) const = 0;
  virtual std::uint64_t estimate_bytes(const io::ConfigNode& config) const = 0;
  // Jobs of one shape class with equal affinity share work inside a batch (e.g. brains of one
  // random graph share its rows), so the packer places them next to each other. Results never
  // depend on it; empty (the default) keeps the id order.
  virtual std::string affinity(const io::ConfigNode&) const { return {}; }
  // The memory a plain run of `config` needs, checked against the memory budget before anything
  // is allocated (run_config); 0 where the kind cannot tell. By default one sweep job's estimate.
  virtual std::uint64_t estimate_run_bytes(const io::ConfigNode& config) const { return estimate_bytes(config); }
  // shape_class, estimate_bytes and affinity of a validated sweep job at once, with the kind's
  // parsed config for run_batch. The scheduler asks this once per job and nothing else of the
  // three; by default it asks them one by one (kinds whose parse is dear override it).
  virtual JobTraits describe(const io::ConfigNode& config) const {
    return JobTraits{shape_class(config), estimate_bytes(config), affinity(config), nullptr};
  }
  // The result columns of one job, after id, seed, replicate and the swept parameters.
  virtual std::vector<std::string> result_columns(const io::ConfigNode& config) const = 0;
  // Row i (cells in result_columns order) belongs to jobs[i]. Kinds that run their jobs one by
  // one implement it with run_each.
  virtual std::vector<Row> run_batch(const std::vector<JobInput>& jobs, Backend& backend,
                                     const Progress& progress) const = 0;

  // Optional per-step traces of sweep jobs (`--trace`): the columns after `id`, and run_batch that
  // also fills (*traces)[i] with job i's trace rows. Kinds without traces keep the defaults.
  virtual std::vector<std::string> trace_columns(const io::ConfigNode& config) const;
  virtual std::vector<Row> run_batch_traced(const std::vector<JobInput>& jobs, Backend& backend,
                                            const Progress& progress, std::vector<std::vector<Row>>* traces) const;
};

// run_batch for kinds whose jobs share nothing: each job alone, in order, on the batch's backend,
// with a cancellation check before each (job progress stays silent: the sweep counts jobs).
std::vector<Row> run_each(const std::vector<JobInput>& jobs, const Progress& progress,
                          const std::function<Row(const JobInput& job)>& run_job);

// The backend for running `config` with `kind`: `requested` (a front end's --backend) when not
// empty, else the config's `backend:`, else the kind's default; `auto` picks cuda only where the
// kind supports it and a GPU is usable. An unsupported request is Error::unavailable naming the
// kind and the backends it runs on.
std::unique_ptr<Backend> make_job_backend(const JobKind& kind, const io::ConfigNode& config,
                                          std::string_view requested);

}  // namespace engram::sched
