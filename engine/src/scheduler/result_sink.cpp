#include "engram/engine/scheduler/result_sink.hpp"

#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engram/engine/error.hpp"
#include "engram/engine/io/atomic_file.hpp"
#include "engram/engine/io/output_lock.hpp"

namespace engram::sched {

namespace fs = std::filesystem;

namespace {

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

std::size_t fields(const std::string& line) { return static_cast<std::size_t>(std::count(line.begin(), line.end(), ',')) + 1; }

std::string id_of(const std::string& row) { return row.substr(0, row.find(',')); }

void write_all(int fd, const std::string& text, const fs::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) throw Error::internal("cannot write " + path.string());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw Error::internal("cannot fsync " + path.string());
}

void write_manifest(const fs::path& dir, const FileSinkOptions& options, const std::string& config_hash,
                    std::size_t jobs, const std::string& backend) {
  io::AtomicFile file(dir / "manifest.json");
  auto& out = file.stream();
  out << "{\n"
      << "  \"engram_version\": \"" << ENGRAM_VERSION << "\",\n"
      << "  \"config_hash\": \"" << config_hash << "\",\n"
      << "  \"config_file\": \"" << json_escape(options.config_file) << "\",\n"
      << "  \"jobs\": " << jobs << ",\n"
      << "  \"backend\": \"" << backend << "\",\n"
      << "  \"build\": {\"cuda\": " << (ENGRAM_HAVE_CUDA ? "true" : "false")
      << ", \"processes\": " << options.group.size << ", \"compiler\": \"" << json_escape(__VERSION__)
      << "\", \"openmp_threads\": " << omp_get_max_threads() << "},\n"
      << "  \"config\": \"" << json_escape(options.config_text) << "\"\n"
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

bool is_results_file(const fs::path& file) {
  const std::string name = file.filename().string();
  return (name.rfind("results", 0) == 0 || name.rfind("traces", 0) == 0) && file.extension() == ".csv";
}

// Merges the complete rows of `files` by id; identical or conflicting rows of one id are refused.
void merge_rows(const std::vector<fs::path>& files, std::string& header, std::map<std::string, std::string>& rows) {
  for (const fs::path& file : files) {
    const ResultsFile r = read_results(file);
    if (!r.has_header) continue;
    if (header.empty()) header = r.header;
    if (r.header != header) throw Error::bad_input("merge", file.string(), "has another header than " + files.front().string());
    for (const auto& row : r.rows) {
      const std::string id = id_of(row);
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

// A text column whose cells are all numbers becomes integer or real, so Python sees numbers.
void narrow(Column& column) {
  std::vector<double> reals;
  bool integral = true;
  for (const std::string& t : column.texts) {
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end == nullptr || *end != '\0') return;
    integral = integral && t.find_first_not_of("-0123456789") == std::string::npos && std::abs(v) < 9e15;
    reals.push_back(v);
  }
  if (integral) {
    column.type = Column::Type::integer;
    for (const double v : reals) column.integers.push_back(static_cast<std::int64_t>(v));
  } else {
    column.type = Column::Type::real;
    column.reals = std::move(reals);
  }
  column.texts.clear();
}

Column::Type type_of(const Cell& cell) {
  if (std::holds_alternative<std::int64_t>(cell)) return Column::Type::integer;
  if (std::holds_alternative<double>(cell)) return Column::Type::real;
  return Column::Type::text;
}

// A kind's columns take the type of their cells; a column mixing integers and reals is real.
std::vector<Column::Type> cell_types(const std::map<std::string, Row>& rows, std::size_t columns) {
  std::vector<Column::Type> types(columns, Column::Type::text);
  std::vector<bool> seen(columns, false);
  for (const auto& [id, row] : rows) {
    for (std::size_t c = 0; c < columns; ++c) {
      const Column::Type t = type_of(row[c]);
      if (!seen[c]) types[c] = t;
      else if (types[c] != t) types[c] = types[c] == Column::Type::text || t == Column::Type::text ? Column::Type::text : Column::Type::real;
      seen[c] = true;
    }
  }
  return types;
}

// One CSV line split into cells (quoted cells unquoted).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

}  // namespace

// ---- MemorySink

std::set<std::string> MemorySink::prepare(const SweepStart& start) {
  sweep_ = start.sweep;
  mine_ = start.mine;
  return {};
}

void MemorySink::write(const std::vector<const SweepJob*>& batch, const std::vector<Row>& rows,
                       const std::vector<std::vector<Row>>& traces) {
  for (std::size_t b = 0; b < batch.size(); ++b) {
    rows_[batch[b]->id] = rows[b];
    if (!traces.empty()) traces_[batch[b]->id] = traces[b];
  }
}

Table MemorySink::results() const {
  Table table;
  table.name = "results";
  Column& id = table.add("id", Column::Type::text);
  Column& seed = table.add("seed", Column::Type::integer);
  Column& replicate = table.add("replicate", Column::Type::integer);
  std::vector<Column*> parameters;
  for (const auto& p : sweep_->parameters) parameters.push_back(&table.add(p, Column::Type::text));
  const auto types = cell_types(rows_, sweep_->result_columns.size());
  std::vector<Column*> cells;
  for (std::size_t c = 0; c < types.size(); ++c) cells.push_back(&table.add(sweep_->result_columns[c], types[c]));
  std::vector<const SweepJob*> jobs = mine_;
  std::sort(jobs.begin(), jobs.end(), [](const SweepJob* a, const SweepJob* b) { return a->id < b->id; });
  for (const SweepJob* job : jobs) {
    const auto found = rows_.find(job->id);
    if (found == rows_.end()) continue;
    id.texts.push_back(job->id);
    seed.integers.push_back(static_cast<std::int64_t>(job->seed));
    replicate.integers.push_back(job->replicate);
    for (std::size_t p = 0; p < parameters.size(); ++p) parameters[p]->texts.push_back(job->assignments[p].second);
    for (std::size_t c = 0; c < cells.size(); ++c) cells[c]->push(found->second[c]);
  }
  for (Column* p : parameters) narrow(*p);
  return table;
}

Table MemorySink::traces() const {
  Table table;
  table.name = "traces";
  table.add("id", Column::Type::text);
  std::map<std::string, Row> first_rows;
  for (const auto& [id, rows] : traces_) {
    if (!rows.empty()) first_rows.emplace(id, rows.front());
  }
  const auto types = cell_types(first_rows, sweep_->trace_columns.size());
  for (std::size_t c = 0; c < types.size(); ++c) table.add(sweep_->trace_columns[c], types[c]);
  for (const auto& [id, rows] : traces_) {
    for (const Row& row : rows) {
      Row full{Cell(id)};
      full.insert(full.end(), row.begin(), row.end());
      table.append(full);
    }
  }
  return table;
}

// ---- FileSink

FileSink::FileSink(FileSinkOptions options) : options_(std::move(options)) {}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
  if (trace_fd_ >= 0) ::close(trace_fd_);
}

std::set<std::string> FileSink::prepare(const SweepStart& start) {
  const Sweep& sweep = *start.sweep;
  sweep_ = start.sweep;
  total_jobs_ = sweep.jobs.size();
  const fs::path& dir = options_.dir;
  const std::string out = option("out");
  if (fs::exists(dir) && !fs::is_directory(dir)) throw Error::bad_input(out, dir.string(), "exists and is not a directory");
  if (start.traces && sweep.trace_columns.empty()) {
    throw Error::bad_input(option("trace"), "(set)", "experiment " + std::string(sweep.kind->name()) + " has no per-step traces");
  }
  // The folder is claimed before anything in it is read or written (docs/reliability.md): a
  // whole sweep holds it alone; shards of one sweep share it, each holding its own shard, and
  // take turns over the manifest, so a second config is refused rather than interleaved.
  const bool sharded = start.shard.count > 1 || options_.group.size > 1;
  using Mode = io::OutputLock::Mode;
  folder_lock_ = std::make_unique<io::OutputLock>(dir, ".engram.lock", out, sharded ? Mode::shared : Mode::exclusive);
  const io::OutputLock manifest_turn(dir, ".engram.manifest.lock", out, Mode::wait);
  const std::string& config_hash = options_.config_hash;
  const Shard shard = start.shard;
  const std::string results_name =
      shard.count == 1 ? std::string("results.csv")
                       : "results.shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".csv";
  results_path_ = dir / results_name;
  traces_path_ = dir / ("traces" + results_name.substr(std::string("results").size()));
  if (sharded) shard_lock_ = std::make_unique<io::OutputLock>(dir, "." + results_name + ".lock", out);
  const fs::path manifest_path = dir / "manifest.json";
  bool discard_all = false;
  bool discard_own = false;
  if (fs::exists(manifest_path)) {
    const std::string old_hash = manifest_field(read_text(manifest_path), "config_hash");
    if (old_hash != config_hash) {
      if (!options_.force) {
        throw Error::bad_input(out, dir.string(),
                               "holds results of a different config (manifest config_hash " + old_hash + ", this config " +
                                   config_hash + "); use another directory, or " + option("force") + " to discard them");
      }
      // --force discards what this run would overwrite, never another shard's rows or a merge.
      for (const auto& entry : fs::directory_iterator(dir)) {
        const fs::path& file = entry.path();
        if (is_results_file(file) && file != results_path_ && file != traces_path_) {
          throw Error::bad_input(out, dir.string(),
                                 "holds " + file.filename().string() + " of a different config (manifest config_hash " +
                                     old_hash + "); " + option("force") + " replaces only " + results_name +
                                     ": remove the other files yourself or use another directory");
        }
      }
      discard_all = true;
    } else if (fs::exists(results_path_) && !options_.resume) {
      if (!options_.force) {
        throw Error::bad_input(out, dir.string(),
                               "already holds " + results_name + " of this sweep; pass " + option("resume") +
                                   " to finish it or " + option("force") + " to start over");
      }
      discard_own = true;
    }
  } else if (fs::exists(results_path_) && !options_.force) {
    throw Error::bad_input(out, dir.string(),
                           "holds " + results_name + " without a manifest.json; use " + option("force") + " to discard it");
  } else if (fs::exists(results_path_)) {
    discard_own = true;
  }

  const std::string header = csv_header(sweep);
  std::set<std::string> done;
  std::size_t keep_bytes = 0;
  if (!discard_all && !discard_own && fs::exists(results_path_)) {
    const ResultsFile existing = read_results(results_path_);
    if (existing.has_header) {
      if (existing.header != header) {
        throw Error::bad_input(out, dir.string(), results_name + " has another header than this sweep's; use " + option("force"));
      }
      std::set<std::string> wanted;
      for (const auto* job : start.mine) wanted.insert(job->id);
      for (const auto& row : existing.rows) {
        const std::string id = id_of(row);
        if (fields(row) != fields(header) || wanted.count(id) == 0 || !done.insert(id).second) {
          throw Error::bad_input(out, dir.string(),
                                 results_name + " holds a row that is not one of this shard's jobs: " + row.substr(0, 40));
        }
      }
      keep_bytes = existing.complete_bytes;
    }
  }

  // Writing starts here.
  fs::create_directories(dir);
  if (discard_all || discard_own) {
    fs::remove(results_path_);
    fs::remove(traces_path_);
  }
  if (options_.group.rank == 0) write_manifest(dir, options_, config_hash, sweep.jobs.size(), start.backend);
  fd_ = ::open(results_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error::internal("cannot open " + results_path_.string());
  if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0 || ::lseek(fd_, 0, SEEK_END) < 0) {
    throw Error::internal("cannot truncate " + results_path_.string());
  }
  if (keep_bytes == 0) write_all(fd_, header + "\n", results_path_);
  if (start.traces) open_traces(done);
  folder_lock_->commit();
  if (shard_lock_) shard_lock_->commit();
  return done;
}

// Traces are written before their jobs' result rows, so a crash can leave trace rows of jobs
// without a result row; on resume only the complete rows of finished jobs are kept.
void FileSink::open_traces(const std::set<std::string>& done) {
  std::string header = "id";
  for (const auto& c : sweep_->trace_columns) header += "," + c;
  std::string kept = header + "\n";
  if (fs::exists(traces_path_)) {
    for (const auto& row : read_results(traces_path_).rows) {
      if (done.count(id_of(row)) != 0) kept += row + "\n";
    }
  }
  io::AtomicFile rewritten(traces_path_);
  rewritten.stream() << kept;
  rewritten.commit();
  trace_fd_ = ::open(traces_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (trace_fd_ < 0) throw Error::internal("cannot open " + traces_path_.string());
}

void FileSink::write(const std::vector<const SweepJob*>& batch, const std::vector<Row>& rows,
                     const std::vector<std::vector<Row>>& traces) {
  if (trace_fd_ >= 0) {
    std::string trace_rows;
    for (std::size_t b = 0; b < traces.size(); ++b) {
      for (const Row& t : traces[b]) {
        trace_rows += batch[b]->id;
        for (const Cell& cell : t) trace_rows += "," + csv_cell(cell);
        trace_rows += "\n";
      }
    }
    write_all(trace_fd_, trace_rows, traces_path_);
  }
  std::string text;
  for (std::size_t b = 0; b < batch.size(); ++b) text += csv_row(*batch[b], rows[b]) + "\n";
  write_all(fd_, text, results_path_);
}

std::vector<std::string> FileSink::finish() {
  std::vector<std::string> lines{"wrote " + results_path_.string()};
  if (options_.group.size <= 1) return lines;
  // Every rank's rows are on disk (fsync'd) before rank 0 merges them into results.csv.
  ::close(fd_);
  fd_ = -1;
  options_.group.barrier();
  if (options_.group.rank == 0) {
    std::vector<fs::path> files;
    for (int r = 0; r < options_.group.size; ++r) {
      files.push_back(options_.dir /
                      ("results.shard-" + std::to_string(r) + "-of-" + std::to_string(options_.group.size) + ".csv"));
    }
    std::string header;
    std::map<std::string, std::string> rows;
    merge_rows(files, header, rows);
    if (rows.size() != total_jobs_) {
      throw Error::internal("mpi merge: " + std::to_string(rows.size()) + " rows for " + std::to_string(total_jobs_) + " jobs");
    }
    write_merged(options_.dir / "results.csv", header, rows);
    lines.push_back("merged " + std::to_string(options_.group.size) + " ranks' rows into " +
                    (options_.dir / "results.csv").string());
  }
  options_.group.barrier();
  return lines;
}

// ---- results files

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

MergeReport merge_sweep_dirs(const std::vector<fs::path>& dirs, const fs::path& out, const MergeChecks& checks) {
  std::string hash;
  std::string manifest;
  std::vector<fs::path> files;
  for (const fs::path& dir : dirs) {
    if (!fs::is_directory(dir)) throw Error::bad_input("merge", dir.string(), "is not a directory");
    if (fs::exists(dir / "manifest.json")) {
      const std::string m = read_text(dir / "manifest.json");
      const std::string h = manifest_field(m, "config_hash");
      if (!hash.empty() && h != hash) {
        throw Error::bad_input("merge", dir.string(), "is a sweep of another config (config_hash " + h + " vs " + hash + ")");
      }
      hash = h;
      manifest = m;
    } else if (!checks.allow_unchecked) {
      throw Error::bad_input("merge", dir.string(),
                             "has no manifest.json, so nothing shows its rows are of the same config; pass "
                             "--allow-unchecked to merge it anyway");
    }
    const auto here = results_files(dir);
    if (here.empty()) throw Error::bad_input("merge", dir.string(), "holds no results.csv or results.shard-*.csv");
    files.insert(files.end(), here.begin(), here.end());
  }
  MergeReport report;
  // Shard files name their set (i-of-N): every index of every N must be there.
  std::map<unsigned long, std::set<unsigned long>> shards;
  for (const fs::path& file : files) {
    unsigned long index = 0, count = 0;
    if (std::sscanf(file.filename().c_str(), "results.shard-%lu-of-%lu.csv", &index, &count) == 2) shards[count].insert(index);
  }
  for (const auto& [count, present] : shards) {
    for (unsigned long i = 0; i < count; ++i) {
      if (present.count(i) == 0) {
        report.missing.push_back("results.shard-" + std::to_string(i) + "-of-" + std::to_string(count) + ".csv");
      }
    }
  }
  std::string header;
  std::map<std::string, std::string> rows;
  merge_rows(files, header, rows);
  const std::size_t jobs_at = manifest.find("\"jobs\": ");
  const unsigned long jobs = jobs_at == std::string::npos ? 0 : std::strtoul(manifest.c_str() + jobs_at + 8, nullptr, 10);
  if (jobs > rows.size()) {
    report.missing.push_back(std::to_string(jobs - rows.size()) + " of the manifest's " + std::to_string(jobs) + " jobs");
  }
  if (!report.missing.empty() && !checks.allow_partial) {
    std::string list;
    for (const auto& m : report.missing) list += (list.empty() ? "" : ", ") + m;
    throw Error::bad_input("merge", std::to_string(rows.size()) + " rows", "is incomplete: missing " + list +
                                                                           "; pass --allow-partial to merge what is there");
  }
  if (fs::exists(out) && !fs::is_directory(out)) throw Error::bad_input("--out", out.string(), "exists and is not a directory");
  io::OutputLock claim(out, ".engram.lock", "--out");
  write_merged(out / "results.csv", header, rows);
  if (!manifest.empty() && !fs::exists(out / "manifest.json")) {
    io::AtomicFile m(out / "manifest.json");
    m.stream() << manifest;
    m.commit();
  }
  claim.commit();
  report.rows = rows.size();
  report.files = files.size();
  return report;
}

Table results_table(const fs::path& path) {
  const ResultsFile file = read_results(path);
  Table table;
  table.name = "results";
  for (const std::string& name : split_csv(file.header)) table.add(name, Column::Type::text);
  std::vector<std::string> rows = file.rows;
  std::sort(rows.begin(), rows.end());
  for (const std::string& row : rows) {
    const auto cells = split_csv(row);
    if (cells.size() != table.columns.size()) throw Error::internal(path.string() + ": a row of another width than its header");
    for (std::size_t c = 0; c < cells.size(); ++c) table.columns[c].texts.push_back(cells[c]);
  }
  for (std::size_t c = 1; c < table.columns.size(); ++c) narrow(table.columns[c]);
  return table;
}

}  // namespace engram::sched
