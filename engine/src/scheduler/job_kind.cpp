#include "engram/engine/scheduler/job_kind.hpp"

#include <memory>

#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"

namespace engram::sched {

namespace {

std::string quoted_if_needed(const std::string& t) {
  // CSV quoting only when needed, so plain names stay greppable.
  if (t.find_first_of(",\"\n") == std::string::npos) return t;
  std::string quoted = "\"";
  for (char c : t) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

const char* type_name(Column::Type type) {
  switch (type) {
    case Column::Type::integer: return "integer";
    case Column::Type::real: return "real";
    case Column::Type::text: return "text";
  }
  return "?";
}

}  // namespace

std::string csv_cell(const Cell& cell) {
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return std::to_string(*i);
  if (const auto* r = std::get_if<double>(&cell)) return to_text(*r);
  return quoted_if_needed(std::get<std::string>(cell));
}

std::size_t Column::size() const {
  switch (type) {
    case Type::integer: return integers.size();
    case Type::real: return reals.size();
    case Type::text: return texts.size();
  }
  return 0;
}

std::string Column::cell(std::size_t row) const {
  switch (type) {
    case Type::integer:
      return seed_bits ? std::to_string(static_cast<std::uint64_t>(integers.at(row))) : csv_cell(integers.at(row));
    case Type::real: return csv_cell(reals.at(row));
    case Type::text: return csv_cell(texts.at(row));
  }
  return {};
}

void Column::push(const Cell& cell) {
  const auto* i = std::get_if<std::int64_t>(&cell);
  const auto* r = std::get_if<double>(&cell);
  const auto* t = std::get_if<std::string>(&cell);
  if (type == Type::integer && i) {
    integers.push_back(*i);
  } else if (type == Type::real && (r || i)) {
    reals.push_back(r ? *r : static_cast<double>(*i));
  } else if (type == Type::text && t) {
    texts.push_back(*t);
  } else {
    throw Error::internal("column " + name + " holds " + type_name(type) + " cells; got " + csv_cell(cell));
  }
}

Column& Table::add(std::string column_name, Column::Type type) {
  Column c;
  c.name = std::move(column_name);
  c.type = type;
  // Seeds span 0 .. 2^64 - 1: a seed column keeps their bits in int64 cells and prints them
  // unsigned (seed 2^63 is not -2^63).
  c.seed_bits = type == Column::Type::integer && c.name == "seed";
  columns.push_back(std::move(c));
  return columns.back();
}

void Table::append(const Row& row) {
  if (row.size() != columns.size()) {
    throw Error::internal("table " + name + ": a row of " + std::to_string(row.size()) + " cells for " +
                          std::to_string(columns.size()) + " columns");
  }
  for (std::size_t c = 0; c < row.size(); ++c) columns[c].push(row[c]);
}

std::size_t Table::rows() const {
  if (columns.empty()) return 0;
  const std::size_t n = columns.front().size();
  for (const Column& c : columns) {
    if (c.size() != n) {
      throw Error::internal("table " + name + ": column " + c.name + " has " + std::to_string(c.size()) +
                            " rows, column " + columns.front().name + " has " + std::to_string(n));
    }
  }
  return n;
}

std::string Table::csv() const {
  std::string out;
  for (std::size_t c = 0; c < columns.size(); ++c) out += (c ? "," : "") + columns[c].name;
  out += '\n';
  const std::size_t n = rows();
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) out += (c ? "," : "") + columns[c].cell(r);
    out += '\n';
  }
  return out;
}

std::vector<std::filesystem::path> write_tables(const std::filesystem::path& dir, const std::vector<Table>& tables) {
  std::filesystem::create_directories(dir);
  std::vector<std::filesystem::path> paths;
  std::vector<std::unique_ptr<io::AtomicFile>> files;
  for (const Table& table : tables) {
    paths.push_back(dir / (table.name + ".csv"));
    files.push_back(std::make_unique<io::AtomicFile>(paths.back()));
    files.back()->stream() << table.csv();
  }
  for (auto& file : files) file->commit();
  return paths;
}

std::vector<std::string> JobKind::trace_columns(const io::ConfigNode&) const { return {}; }

std::vector<Row> JobKind::run_batch_traced(const std::vector<JobInput>& jobs, Backend& backend, const Progress& progress,
                                           std::vector<std::vector<Row>>* traces) const {
  if (traces) traces->assign(jobs.size(), {});
  return run_batch(jobs, backend, progress);
}

std::vector<Row> run_each(const std::vector<JobInput>& jobs, const Progress& progress,
                          const std::function<Row(const JobInput& job)>& run_job) {
  std::vector<Row> rows;
  rows.reserve(jobs.size());
  for (const JobInput& job : jobs) {
    progress.check_cancelled();
    rows.push_back(run_job(job));
  }
  return rows;
}

std::unique_ptr<Backend> make_job_backend(const JobKind& kind, const io::ConfigNode& config,
                                          std::string_view requested) {
  const std::string name = !requested.empty() ? std::string(requested)
                                              : config.optional<std::string>("backend", std::string(kind.default_backend()));
  const auto supported = kind.backends();
  const auto supports = [&](BackendKind k) {
    for (BackendKind s : supported) {
      if (s == k) return true;
    }
    return false;
  };
  std::string list;
  for (BackendKind s : supported) list += (list.empty() ? "" : ", ") + std::string(s == BackendKind::cpu ? "cpu" : "cuda");
  const auto refuse = [&](const std::string& what) {
    return Error::unavailable("experiment " + std::string(kind.name()) + " runs on " + list + " only; " + what);
  };
  if (name == "cuda" && !supports(BackendKind::cuda)) throw refuse("backend = cuda was asked for");
  if (name == "cpu" && !supports(BackendKind::cpu)) throw refuse("backend = cpu was asked for");
  std::unique_ptr<Backend> backend =
      make_backend(name == "auto" && !supports(BackendKind::cuda) ? std::string_view("cpu") : std::string_view(name));
  if (!supports(backend->kind())) throw refuse("backend = " + name + " resolved to " + std::string(backend->name()));
  return backend;
}

}  // namespace engram::sched
