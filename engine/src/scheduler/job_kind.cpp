#include "engram/engine/scheduler/job_kind.hpp"

#include <memory>

#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"

namespace engram::sched {

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
    case Type::integer: return std::to_string(integers.at(row));
    case Type::real: return to_text(reals.at(row));
    case Type::text: {
      const std::string& t = texts.at(row);
      // CSV quoting only when needed, so plain names stay greppable.
      if (t.find_first_of(",\"\n") == std::string::npos) return t;
      std::string quoted = "\"";
      for (char c : t) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      return quoted + "\"";
    }
  }
  return {};
}

Column& Table::add(std::string column_name, Column::Type type) {
  Column c;
  c.name = std::move(column_name);
  c.type = type;
  columns.push_back(std::move(c));
  return columns.back();
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

void RunContext::check_cancelled() const {
  if (should_continue && !should_continue()) throw Error::cancelled("stopped at the caller's request");
}

std::vector<std::string> JobKind::trace_columns(const io::ConfigNode&) const { return {}; }

std::vector<std::vector<std::string>> JobKind::run_batch_traced(
    const std::vector<JobInput>& jobs, Backend& backend, const RunContext& context,
    std::vector<std::vector<std::vector<std::string>>>* traces) const {
  if (traces) traces->assign(jobs.size(), {});
  return run_batch(jobs, backend, context);
}

}  // namespace engram::sched
