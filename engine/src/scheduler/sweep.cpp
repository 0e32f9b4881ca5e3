#include "engram/engine/scheduler/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sys/resource.h>

#include <limits>
#include <map>
#include <set>

#include "engram/engine/error.hpp"

namespace engram::sched {

namespace {

// A parameter path: `key`, `a.b` (nested mappings) or `list[i].key`, as segments.
struct Segment {
  std::string key;  // empty for an index
  std::size_t index = 0;
};
using Path = std::vector<Segment>;

Path parse_path(const std::string& field, const std::string& path) {
  const auto malformed = [&](const std::string& why) {
    return Error::bad_input(field, path, "malformed parameter path (" + why + "); write key, a.b or list[i].key");
  };
  Path p;
  std::size_t at = 0;
  while (at < path.size()) {
    const std::size_t stop = path.find_first_of(".[", at);
    const std::string key = path.substr(at, stop == std::string::npos ? std::string::npos : stop - at);
    if (key.empty()) throw malformed("empty key");
    p.push_back(Segment{key, 0});
    if (stop == std::string::npos) break;
    at = stop;
    while (at < path.size() && path[at] == '[') {
      const auto close = path.find(']', at);
      if (close == std::string::npos) throw malformed("unclosed [");
      const std::string index = path.substr(at + 1, close - at - 1);
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 6) {
        throw malformed("bad index");
      }
      p.push_back(Segment{"", std::stoul(index)});
      at = close + 1;
    }
    if (at < path.size()) {
      if (path[at] != '.') throw malformed("expected . after ]");
      ++at;
      if (at == path.size()) throw malformed("ends with .");
    }
  }
  if (p.empty() || p.back().key.empty()) throw malformed("must end in a key");
  return p;
}

// Where the path leads in `root` (every step but the last must exist); returns the parent.
YAML::Node parent_of(const YAML::Node& root, const Path& p, const std::string& field, const std::string& path) {
  YAML::Node node = root;
  for (std::size_t s = 0; s + 1 < p.size(); ++s) {
    const Segment& seg = p[s];
    if (seg.key.empty()) {
      if (!node.IsSequence() || seg.index >= node.size()) {
        throw Error::bad_input(field, path, "no such list entry in the config");
      }
      node.reset(node[seg.index]);
    } else {
      if (!node.IsMap() || !node[seg.key]) throw Error::bad_input(field, path, "no " + seg.key + " in the config");
      node.reset(node[seg.key]);
    }
  }
  if (!node.IsMap()) throw Error::bad_input(field, path, "does not name a key of a mapping in the config");
  return node;
}

void assign(YAML::Node& root, const Path& p, const std::string& value) {
  YAML::Node parent = parent_of(root, p, "sweep", "(path)");
  parent[p.back().key] = value;
}

// Numbers in their shortest round-trip form (so 1e-2 and 0.010 are the same value); other
// scalars (mode names, booleans) as written.
std::string canonical(const std::string& field, const YAML::Node& node) {
  if (!node.IsScalar()) throw Error::bad_input(field, "(a list or mapping)", "values must be scalars");
  const std::string text = node.Scalar();
  if (text.empty()) throw Error::bad_input(field, "(empty)", "values must not be empty");
  if (text.find_first_of(",\"\n\r") != std::string::npos) {
    throw Error::bad_input(field, text, "values must not contain commas, quotes or newlines");
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != nullptr && *end == '\0' && std::isfinite(v)) return to_text(v);
  return text;
}

std::string round_text(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.12g", v);
  const double rounded = std::strtod(buffer, nullptr);
  return to_text(rounded == 0.0 ? 0.0 : rounded);
}

double range_number(const std::string& field, const YAML::Node& node, const std::string& key) {
  const YAML::Node v = node[key];
  if (!v || !v.IsScalar()) throw Error::bad_input(field + "." + key, "(missing)", "a range needs a number");
  char* end = nullptr;
  const double d = std::strtod(v.Scalar().c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(d) || v.Scalar().empty()) {
    throw Error::bad_input(field + "." + key, v.Scalar(), "must be a finite number");
  }
  return d;
}

// A values list, or a range {start, stop, step} (stop excluded) / {start, stop, num} (stop included).
std::vector<std::string> parse_values(const std::string& field, const YAML::Node& node) {
  std::vector<std::string> values;
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) values.push_back(canonical(field + "[" + std::to_string(i) + "]", node[i]));
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (key != "start" && key != "stop" && key != "step" && key != "num") {
        throw Error::bad_input(field + "." + key, "(key)", "a range takes start, stop and one of step or num");
      }
    }
    const double start = range_number(field, node, "start");
    const double stop = range_number(field, node, "stop");
    if (node["step"] && node["num"]) throw Error::bad_input(field, "{step, num}", "give step or num, not both");
    if (node["step"]) {
      const double step = range_number(field, node, "step");
      if (step == 0.0) throw Error::bad_input(field + ".step", "0", "must not be 0");
      const double count = std::ceil((stop - start) / step - 1e-9);
      if (!(count >= 1.0)) throw Error::bad_input(field, "{start, stop, step}", "the range is empty");
      if (count > 1e6) throw Error::bad_input(field, "{start, stop, step}", "more than 10^6 values");
      for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(count); ++i) {
        values.push_back(round_text(start + static_cast<double>(i) * step));
      }
    } else if (node["num"]) {
      const double num = range_number(field, node, "num");
      if (!(num >= 1.0) || num != std::floor(num) || num > 1e6) {
        throw Error::bad_input(field + ".num", node["num"].Scalar(), "must be a whole number in [1, 10^6]");
      }
      const auto count = static_cast<std::uint64_t>(num);
      for (std::uint64_t i = 0; i < count; ++i) {
        const double t = count == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(count - 1);
        values.push_back(round_text(i + 1 == count && count > 1 ? stop : start + t * (stop - start)));
      }
    } else {
      throw Error::bad_input(field, "{start, stop}", "a range needs step or num");
    }
  } else {
    throw Error::bad_input(field, node.IsScalar() ? node.Scalar() : "(null)", "must be a list of values or a range");
  }
  if (values.empty()) throw Error::bad_input(field, "[]", "must not be empty");
  std::set<std::string> seen;
  for (const auto& v : values) {
    if (!seen.insert(v).second) throw Error::bad_input(field, v, "value listed twice");
  }
  return values;
}

// One factor of the product: parameters whose values vary together (a grid entry is a factor of
// one parameter; a zip group, one of several).
struct Factor {
  std::vector<std::string> paths;
  std::vector<std::vector<std::string>> values;  // [path][i]
  std::size_t size() const { return values.front().size(); }
};

std::string job_key(const std::vector<std::pair<std::string, std::string>>& assignments, std::uint64_t seed) {
  std::string key;
  for (const auto& [path, value] : assignments) key += path + "=" + value + ";";
  return key + "seed=" + std::to_string(seed);
}

std::string describe(const std::map<std::string, std::string>& values) {
  std::string text;
  for (const auto& [path, value] : values) text += (text.empty() ? "" : ", ") + path + "=" + value;
  return text;
}

}  // namespace

std::string hash_hex(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(h));
  return buffer;
}

bool is_sweep(const io::ConfigNode& root) { return root.has("sweep"); }

namespace {

void check_section_keys(const YAML::Node& section) {
  if (!section.IsMap()) throw Error::bad_input("sweep", "(not a mapping)", "must be a mapping with grid, zip or seeds");
  std::set<std::string> keys;
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string key = it->first.as<std::string>();
    if (key != "grid" && key != "zip" && key != "seeds") {
      throw Error::bad_input("sweep." + key, "(key)", "unknown key; allowed: grid, zip, seeds");
    }
    if (!keys.insert(key).second) throw Error::bad_input("sweep." + key, "(key)", "duplicate key");
  }
}

std::uint32_t parse_seeds(const YAML::Node& section) {
  if (!section["seeds"]) return 1;
  const YAML::Node s = section["seeds"];
  const std::string text = s.IsScalar() ? s.Scalar() : "(not a number)";
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9) {
    throw Error::bad_input("sweep.seeds", text, "must be a whole number >= 1");
  }
  const auto seeds = static_cast<std::uint32_t>(std::stoul(text));
  if (seeds == 0) throw Error::bad_input("sweep.seeds", "0", "must be at least 1");
  return seeds;
}

// The factors of a sweep's product (`grid` entries and `zip` groups), each path checked against
// the base config and the experiment.
class FactorReader {
 public:
  FactorReader(const YAML::Node& base, const std::string& base_dir, const JobKind& kind)
      : base_(base), base_dir_(base_dir), kind_(kind) {}

  void read_grid(const YAML::Node& grid) {
    if (!grid.IsMap() || grid.size() == 0) throw Error::bad_input("sweep.grid", "{}", "must be a non-empty mapping");
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      const std::string path = it->first.as<std::string>();
      const std::string field = "sweep.grid." + path;
      auto values = parse_values(field, it->second);
      add_path(field, path, values.front());
      factors.push_back(Factor{{path}, {std::move(values)}});
    }
  }

  void read_zip(const YAML::Node& zip) {
    std::vector<std::pair<std::string, YAML::Node>> groups;
    if (zip.IsMap()) {
      groups.emplace_back("sweep.zip", zip);
    } else if (zip.IsSequence() && zip.size() > 0) {
      for (std::size_t g = 0; g < zip.size(); ++g) groups.emplace_back("sweep.zip[" + std::to_string(g) + "]", zip[g]);
    } else {
      throw Error::bad_input("sweep.zip", "[]", "must be a non-empty mapping (or a list of them)");
    }
    for (const auto& [name, group] : groups) {
      if (!group.IsMap() || group.size() == 0) throw Error::bad_input(name, "{}", "must be a non-empty mapping");
      Factor factor;
      for (auto it = group.begin(); it != group.end(); ++it) {
        const std::string path = it->first.as<std::string>();
        const std::string field = name + "." + path;
        factor.paths.push_back(path);
        factor.values.push_back(parse_values(field, it->second));
        add_path(field, path, factor.values.back().front());
        if (factor.values.back().size() != factor.values.front().size()) {
          throw Error::bad_input(field, std::to_string(factor.values.back().size()) + " values",
                                 "zipped lists must have equal length (" + factor.paths.front() + " has " +
                                     std::to_string(factor.values.front().size()) + ")");
        }
      }
      factors.push_back(std::move(factor));
    }
  }

  std::vector<Factor> factors;
  std::set<std::string> swept;
  std::map<std::string, Path> paths;

 private:
  void add_path(const std::string& field, const std::string& path, const std::string& first_value) {
    // A job's seed is the base seed + its replicate and is written over `seed:`, so sweeping
    // `seed` would change nothing but add a second seed column.
    if (path == "seed") {
      throw Error::bad_input(field, path, "seeds are not swept as a parameter: use sweep.seeds: N for N replicates (seeds seed .. seed + N - 1)");
    }
    Path p = parse_path(field, path);
    YAML::Node parent = parent_of(base_, p, field, path);
    if (!parent[p.back().key]) {
      // A key the base config leaves out: it must be one the experiment accepts.
      YAML::Node probe = YAML::Clone(base_);
      assign(probe, p, first_value);
      try {
        kind_.validate_sweep_job(io::ConfigNode(probe, "", base_dir_));
      } catch (const Error& e) {
        throw Error::bad_input(field, path, "not a parameter this experiment accepts (" + std::string(e.what()) + ")");
      }
    }
    paths.emplace(path, std::move(p));
    if (!swept.insert(path).second) throw Error::bad_input(field, path, "duplicate key: parameter swept twice");
  }

  const YAML::Node& base_;
  const std::string& base_dir_;
  const JobKind& kind_;
};

// Every combination of the factors' values times the replicates, each job validated; sorted by id.
std::vector<SweepJob> expand_jobs(const FactorReader& reader, const YAML::Node& base_yaml, const std::string& base_dir,
                                  const JobKind& kind, std::uint64_t base_seed, std::uint32_t seeds) {
  const std::vector<Factor>& factors = reader.factors;
  std::uint64_t combinations = 1;
  for (const Factor& f : factors) {
    combinations *= f.size();
    if (combinations * seeds > 10'000'000) throw Error::bad_input("sweep", "(size)", "more than 10^7 jobs");
  }
  std::vector<SweepJob> jobs;
  std::set<std::string> ids;
  std::vector<std::size_t> digit(factors.size(), 0);
  for (std::uint64_t c = 0; c < combinations; ++c) {
    std::map<std::string, std::string> values;
    for (std::size_t f = 0; f < factors.size(); ++f) {
      for (std::size_t q = 0; q < factors[f].paths.size(); ++q) values[factors[f].paths[q]] = factors[f].values[q][digit[f]];
    }
    YAML::Node job_yaml = YAML::Clone(base_yaml);
    for (const auto& [path, value] : values) assign(job_yaml, reader.paths.at(path), value);
    try {
      kind.validate_sweep_job(io::ConfigNode(job_yaml, "", base_dir));
    } catch (const Error& e) {
      throw Error(e.code(), "sweep job (" + describe(values) + "): " + e.what());
    }
    for (std::uint32_t r = 0; r < seeds; ++r) {
      SweepJob job;
      job.assignments.assign(values.begin(), values.end());
      job.replicate = r;
      job.seed = base_seed + r;
      auto yaml = std::make_shared<YAML::Node>(YAML::Clone(job_yaml));
      (*yaml)["seed"] = job.seed;
      job.yaml = std::move(yaml);
      job.base_dir = base_dir;
      job.traits = kind.describe(job.config());
      job.id = hash_hex(job_key(job.assignments, job.seed));
      if (!ids.insert(job.id).second) throw Error::bad_input("sweep", job.id, "two jobs have the same parameters and seed");
      jobs.push_back(std::move(job));
    }
    for (std::size_t f = factors.size(); f-- > 0;) {
      if (++digit[f] < factors[f].size()) break;
      digit[f] = 0;
    }
  }
  std::sort(jobs.begin(), jobs.end(), [](const SweepJob& a, const SweepJob& b) { return a.id < b.id; });
  return jobs;
}

}  // namespace

Sweep parse_sweep(const io::ConfigNode& root, const JobKind& kind) {
  auto base_yaml = std::make_shared<YAML::Node>(YAML::Clone(root.yaml()));
  base_yaml->remove("sweep");
  Sweep sweep;
  sweep.kind = &kind;
  sweep.base_yaml = base_yaml;
  sweep.base_dir = root.base_dir();
  kind.validate_sweep_job(sweep.base());
  const std::uint64_t base_seed = sweep.base().optional<std::uint64_t>("seed", 0);

  const YAML::Node section = root.yaml()["sweep"];
  check_section_keys(section);
  sweep.seeds = parse_seeds(section);
  if (sweep.seeds - 1 > std::numeric_limits<std::uint64_t>::max() - base_seed) {
    throw Error::bad_input("sweep.seeds", std::to_string(sweep.seeds),
                           "takes seeds past 2^64 - 1 from seed = " + std::to_string(base_seed) + "; lower the seed");
  }
  FactorReader reader(*base_yaml, sweep.base_dir, kind);
  if (section["grid"]) reader.read_grid(section["grid"]);
  if (section["zip"]) reader.read_zip(section["zip"]);
  sweep.parameters.assign(reader.swept.begin(), reader.swept.end());
  sweep.jobs = expand_jobs(reader, *base_yaml, sweep.base_dir, kind, base_seed, sweep.seeds);
  const io::ConfigNode first = sweep.jobs.front().config();
  sweep.result_columns = kind.result_columns(first);
  sweep.trace_columns = kind.trace_columns(first);
  return sweep;
}

Shard parse_shard(const std::string& text, const std::string& field) {
  const auto slash = text.find('/');
  const auto digits = [](const std::string& t) {
    return !t.empty() && t.size() <= 6 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  if (slash == std::string::npos || !digits(text.substr(0, slash)) || !digits(text.substr(slash + 1))) {
    throw Error::bad_input(field, text, "must be i/N with 0 <= i < N");
  }
  Shard s;
  s.index = static_cast<std::uint32_t>(std::stoul(text.substr(0, slash)));
  s.count = static_cast<std::uint32_t>(std::stoul(text.substr(slash + 1)));
  if (s.count == 0 || s.index >= s.count) throw Error::bad_input(field, text, "must be i/N with 0 <= i < N");
  return s;
}

std::vector<const SweepJob*> shard_jobs(const Sweep& sweep, Shard shard) {
  std::vector<const SweepJob*> mine;
  for (std::size_t j = shard.index; j < sweep.jobs.size(); j += shard.count) mine.push_back(&sweep.jobs[j]);
  return mine;
}

// MemAvailable, capped by what this process may actually use: its address-space limit
// (ulimit -v) and its cgroup's memory.max (containers, Slurm).
std::uint64_t available_memory() {
  std::uint64_t available = std::uint64_t{4} << 30;
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::uint64_t kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit) {
      if (key == "MemAvailable:") {
        available = kib * 1024;
        break;
      }
    }
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    available = std::min<std::uint64_t>(available, limit.rlim_cur);
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::uint64_t cgroup_max = 0;
  if (cgroup >> cgroup_max && cgroup_max > 0) available = std::min(available, cgroup_max);
  return available;
}

BatchPlan plan_batches(const std::vector<const SweepJob*>& pending, const PackOptions& options) {
  const std::uint64_t budget = options.memory_budget ? options.memory_budget : available_memory() / 4;
  std::map<std::string, std::vector<const SweepJob*>> classes;
  for (const SweepJob* job : pending) classes[job->traits.shape_class].push_back(job);
  BatchPlan plan;
  plan.shape_classes = classes.size();
  for (auto& [shape, jobs] : classes) {
    std::vector<std::pair<std::string, const SweepJob*>> keyed;
    for (const SweepJob* job : jobs) keyed.emplace_back(job->traits.affinity, job);
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i] = keyed[i].second;
    std::uint64_t per_job = 1;
    for (const SweepJob* job : jobs) per_job = std::max(per_job, job->traits.estimate_bytes);
    // Every worker holds a batch at once, so each gets its share of the budget.
    const std::uint64_t fit = std::max<std::uint64_t>(1, budget / std::max<std::uint32_t>(1, options.workers) / per_job);
    const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint32_t>(1, options.max_batch), fit));
    for (std::size_t first = 0; first < jobs.size(); first += cap) {
      plan.batches.emplace_back(jobs.begin() + static_cast<std::ptrdiff_t>(first),
                                jobs.begin() + static_cast<std::ptrdiff_t>(std::min(jobs.size(), first + cap)));
    }
  }
  return plan;
}

std::vector<Row> run_jobs(const Sweep& sweep, const std::vector<const SweepJob*>& batch, Backend& backend,
                          const Progress& progress, std::vector<std::vector<Row>>* traces) {
  std::vector<JobInput> inputs;
  inputs.reserve(batch.size());
  for (const SweepJob* job : batch) inputs.push_back(job->input());
  auto rows = sweep.kind->run_batch_traced(inputs, backend, progress, traces);
  if (rows.size() != batch.size()) {
    throw Error::internal(std::string(sweep.kind->name()) + ": run_batch returned " + std::to_string(rows.size()) +
                          " rows for " + std::to_string(batch.size()) + " jobs");
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != sweep.result_columns.size()) {
      throw Error::internal(std::string(sweep.kind->name()) + ": job " + batch[i]->id + " has " +
                            std::to_string(rows[i].size()) + " cells for " + std::to_string(sweep.result_columns.size()) +
                            " columns");
    }
  }
  return rows;
}

std::string csv_header(const Sweep& sweep) {
  std::string h = "id,seed,replicate";
  for (const auto& p : sweep.parameters) h += "," + p;
  for (const auto& c : sweep.result_columns) h += "," + c;
  return h;
}

std::string csv_row(const SweepJob& job, const Row& cells) {
  std::string row = job.id + "," + std::to_string(job.seed) + "," + std::to_string(job.replicate);
  for (const auto& [path, value] : job.assignments) row += "," + value;
  for (const auto& cell : cells) row += "," + csv_cell(cell);
  return row;
}

}  // namespace engram::sched
