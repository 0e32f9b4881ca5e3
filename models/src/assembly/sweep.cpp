#include "engram/models/assembly/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/batch.hpp"

namespace engram::assembly {

namespace {

constexpr const char* kSweepable =
    "p, steps, mode, areas[i].{n, k, self_loops, noise}, stimuli[i].k, fibers[i].{beta, p, max_weight}";

// A parsed parameter path: `name` (top level) or `list[index].name`.
struct Path {
  std::string list;  // empty for a top-level key
  std::size_t index = 0;
  std::string key;
};

Path parse_path(const std::string& field, const std::string& path, const YAML::Node& base) {
  const auto unknown = [&](const std::string& why) {
    return Error::bad_input(field, path, "unknown parameter (" + why + "); sweepable: " + kSweepable);
  };
  Path p;
  const auto bracket = path.find('[');
  if (bracket == std::string::npos) {
    p.key = path;
    if (p.key != "p" && p.key != "steps" && p.key != "mode") throw unknown("not a sweepable key");
    return p;
  }
  const auto close = path.find(']', bracket);
  if (close == std::string::npos || close + 1 >= path.size() || path[close + 1] != '.') throw unknown("malformed path");
  p.list = path.substr(0, bracket);
  const std::string index = path.substr(bracket + 1, close - bracket - 1);
  if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 6) {
    throw unknown("malformed index");
  }
  p.index = std::stoul(index);
  p.key = path.substr(close + 2);
  static const std::map<std::string, std::set<std::string>> allowed = {
      {"areas", {"n", "k", "self_loops", "noise"}}, {"stimuli", {"k"}}, {"fibers", {"beta", "p", "max_weight"}}};
  const auto it = allowed.find(p.list);
  if (it == allowed.end() || it->second.count(p.key) == 0) throw unknown("not a sweepable key");
  const YAML::Node list = base[p.list];
  if (!list || !list.IsSequence() || p.index >= list.size()) throw unknown("no such list entry in the config");
  return p;
}

void assign(YAML::Node& root, const Path& p, const std::string& value) {
  if (p.list.empty()) {
    root[p.key] = value;
  } else {
    YAML::Node entry = root[p.list][p.index];
    entry[p.key] = value;
  }
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

Sweep parse_sweep(const io::ConfigNode& root) {
  const YAML::Node original = root.yaml();
  YAML::Node base_yaml = YAML::Clone(original);
  base_yaml.remove("sweep");
  if (base_yaml["brains"] || base_yaml["batch_size"]) {
    throw Error::bad_input(base_yaml["brains"] ? "brains" : "batch_size", "(set)",
                           "a sweep job is one brain; use sweep.seeds for replicates and --max-batch for packing");
  }
  Sweep sweep;
  sweep.base = parse_projection(io::ConfigNode(base_yaml, ""));

  const YAML::Node section = original["sweep"];
  if (!section.IsMap()) throw Error::bad_input("sweep", "(not a mapping)", "must be a mapping with grid, zip or seeds");
  std::set<std::string> keys;
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string key = it->first.as<std::string>();
    if (key != "grid" && key != "zip" && key != "seeds") {
      throw Error::bad_input("sweep." + key, "(key)", "unknown key; allowed: grid, zip, seeds");
    }
    if (!keys.insert(key).second) throw Error::bad_input("sweep." + key, "(key)", "duplicate key");
  }
  if (section["seeds"]) {
    const YAML::Node s = section["seeds"];
    const std::string text = s.IsScalar() ? s.Scalar() : "(not a number)";
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9) {
      throw Error::bad_input("sweep.seeds", text, "must be a whole number >= 1");
    }
    sweep.seeds = static_cast<std::uint32_t>(std::stoul(text));
    if (sweep.seeds == 0) throw Error::bad_input("sweep.seeds", "0", "must be at least 1");
  }

  std::vector<Factor> factors;
  std::set<std::string> swept;
  std::map<std::string, Path> paths;
  const auto add_path = [&](const std::string& field, const std::string& path) {
    paths.emplace(path, parse_path(field, path, base_yaml));
    if (!swept.insert(path).second) throw Error::bad_input(field, path, "duplicate key: parameter swept twice");
  };
  if (section["grid"]) {
    const YAML::Node grid = section["grid"];
    if (!grid.IsMap() || grid.size() == 0) throw Error::bad_input("sweep.grid", "{}", "must be a non-empty mapping");
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      const std::string path = it->first.as<std::string>();
      const std::string field = "sweep.grid." + path;
      add_path(field, path);
      factors.push_back(Factor{{path}, {parse_values(field, it->second)}});
    }
  }
  if (section["zip"]) {
    const YAML::Node zip = section["zip"];
    std::vector<std::pair<std::string, YAML::Node>> groups;
    if (zip.IsMap()) groups.emplace_back("sweep.zip", zip);
    else if (zip.IsSequence() && zip.size() > 0) {
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
        add_path(field, path);
        factor.paths.push_back(path);
        factor.values.push_back(parse_values(field, it->second));
        if (factor.values.back().size() != factor.values.front().size()) {
          throw Error::bad_input(field, std::to_string(factor.values.back().size()) + " values",
                                 "zipped lists must have equal length (" + factor.paths.front() + " has " +
                                     std::to_string(factor.values.front().size()) + ")");
        }
      }
      factors.push_back(std::move(factor));
    }
  }
  sweep.parameters.assign(swept.begin(), swept.end());

  std::uint64_t combinations = 1;
  for (const Factor& f : factors) {
    combinations *= f.size();
    if (combinations * sweep.seeds > 10'000'000) throw Error::bad_input("sweep", "(size)", "more than 10^7 jobs");
  }
  std::set<std::string> ids;
  std::vector<std::size_t> digit(factors.size(), 0);
  for (std::uint64_t c = 0; c < combinations; ++c) {
    std::map<std::string, std::string> values;
    for (std::size_t f = 0; f < factors.size(); ++f) {
      for (std::size_t q = 0; q < factors[f].paths.size(); ++q) values[factors[f].paths[q]] = factors[f].values[q][digit[f]];
    }
    YAML::Node job_yaml = YAML::Clone(base_yaml);
    for (const auto& [path, value] : values) assign(job_yaml, paths.at(path), value);
    ProjectionExperiment experiment = parse_projection(io::ConfigNode(job_yaml, ""));
    for (std::uint32_t r = 0; r < sweep.seeds; ++r) {
      SweepJob job;
      job.assignments.assign(values.begin(), values.end());
      job.replicate = r;
      job.seed = sweep.base.seed + r;
      job.experiment = experiment;
      job.experiment.seed = job.seed;
      job.id = hash_hex(job_key(job.assignments, job.seed));
      if (!ids.insert(job.id).second) throw Error::bad_input("sweep", job.id, "two jobs have the same parameters and seed");
      sweep.jobs.push_back(std::move(job));
    }
    for (std::size_t f = factors.size(); f-- > 0;) {
      if (++digit[f] < factors[f].size()) break;
      digit[f] = 0;
    }
  }
  std::sort(sweep.jobs.begin(), sweep.jobs.end(), [](const SweepJob& a, const SweepJob& b) { return a.id < b.id; });
  return sweep;
}

std::string shape_class(const ProjectionExperiment& e) {
  std::ostringstream key;
  const BrainSpec& s = e.brain;
  const bool per_brain_parameters = s.mode != GraphMode::lazy;  // Batch takes per-brain p and beta
  key << to_string(s.mode) << "|steps=" << e.steps << "|backend=" << e.backend;
  for (const AreaSpec& a : s.areas) {
    key << "|area " << a.name << ' ' << a.n << ' ' << a.k << ' ' << a.self_loops << ' ' << to_text(a.noise) << ' '
        << a.normalise_incoming;
  }
  for (const StimulusSpec& st : s.stimuli) key << "|stimulus " << st.name << ' ' << st.k;
  for (std::size_t f = 0; f < s.fibers.size(); ++f) {
    const FiberSpec& fs = s.fibers[f];
    key << "|fiber " << fs.from << ' ' << fs.to << ' ' << to_text(fs.max_weight);
    if (!per_brain_parameters) key << ' ' << to_text(fs.beta) << ' ' << to_text(s.fiber_p(f));
  }
  return key.str();
}

std::uint64_t estimate_brain_bytes(const ProjectionExperiment& e) {
  const BrainSpec& s = e.brain;
  double bytes = 64.0 * 1024;
  for (const AreaSpec& a : s.areas) {
    bytes += static_cast<double>(a.n) * (sizeof(FixedInput) + 3 + (a.normalise_incoming ? 2 * sizeof(FixedInput) : 0));
    bytes += static_cast<double>(a.k) * 4 * sizeof(NeuronId);
  }
  for (std::size_t f = 0; f < s.fibers.size(); ++f) {
    const FiberSpec& fs = s.fibers[f];
    const int stimulus = s.stimulus_index(fs.from);
    const double n_source = stimulus >= 0 ? s.stimuli[static_cast<std::size_t>(stimulus)].k
                                          : s.areas[static_cast<std::size_t>(s.area_index(fs.from))].n;
    const double k_source = stimulus >= 0 ? n_source : s.areas[static_cast<std::size_t>(s.area_index(fs.from))].k;
    const double n_target = s.areas[static_cast<std::size_t>(s.area_index(fs.to))].n;
    // Explicit graphs hold every row; implicit ones at most the rows of neurons that fired.
    const double rows = s.mode == GraphMode::explicit_graph ? n_source
                                                            : std::min(n_source, k_source * (e.steps + 1.0));
    const double degree = n_target * s.fiber_p(f);
    bytes += n_source * 12.0 + rows * (degree + 4.0 * std::sqrt(degree + 1.0)) * 1.25 * (sizeof(NeuronId) + sizeof(float));
  }
  return static_cast<std::uint64_t>(bytes);
}

std::vector<std::vector<AreaSummary>> run_sweep_batch(const std::vector<const SweepJob*>& jobs, Backend& backend,
                                                      std::vector<std::vector<TraceRow>>* traces) {
  if (jobs.empty()) return {};
  if (traces) traces->assign(jobs.size(), {});
  const ProjectionExperiment& first = jobs.front()->experiment;
  const BrainSpec& spec = first.brain;
  std::vector<BrainId> ids;
  std::vector<BrainOverrides> overrides;
  for (const SweepJob* job : jobs) {
    if (shape_class(job->experiment) != shape_class(first)) {
      throw Error::internal("run_sweep_batch: job " + job->id + " is of another shape class than job " + jobs.front()->id);
    }
    ids.push_back(BrainId{job->seed, 0});
    BrainOverrides o;
    for (std::size_t f = 0; f < spec.fibers.size(); ++f) {
      o.fiber_p.push_back(job->experiment.brain.fiber_p(f));
      o.fiber_beta.push_back(job->experiment.brain.fibers[f].beta);
    }
    overrides.push_back(std::move(o));
  }
  std::unique_ptr<BrainBatch> made;
  if (spec.mode == GraphMode::lazy) made = make_batch(backend, spec, ids);
  else made = std::make_unique<Batch>(backend, spec, ids, overrides);
  BrainBatch& batch = *made;

  const std::size_t B = jobs.size();
  std::vector<std::vector<AreaSummary>> out(B, std::vector<AreaSummary>(spec.areas.size()));
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t a = 0; a < spec.areas.size(); ++a) out[b][a].k = spec.areas[a].k;
  }
  for (std::uint32_t step = 1; step <= first.steps; ++step) {
    batch.project();
    for (std::size_t a = 0; a < spec.areas.size(); ++a) {
      const std::string& name = spec.areas[a].name;
      if (!batch.updated(name)) continue;
      for (std::size_t b = 0; b < B; ++b) {
        AreaSummary& s = out[b][a];
        const std::uint64_t support = batch.support(b, name);
        if (support != s.support || step == 1) s.converged_step = 0;
        else if (s.converged_step == 0) s.converged_step = step;
        s.support = support;
        s.overlap = batch.overlap(b, name);
        if (traces) (*traces)[b].push_back(TraceRow{step, static_cast<std::uint32_t>(a), s.support, s.overlap});
      }
    }
  }
  return out;
}

std::string sweep_csv_header(const Sweep& sweep) {
  std::string h = "id,seed,replicate";
  for (const auto& p : sweep.parameters) h += "," + p;
  for (const AreaSpec& a : sweep.base.brain.areas) {
    h += "," + a.name + ".support," + a.name + ".overlap," + a.name + ".overlap_fraction," + a.name + ".converged_step";
  }
  return h;
}

std::string sweep_csv_row(const Sweep& sweep, const SweepJob& job, const std::vector<AreaSummary>& areas) {
  std::string row = job.id + "," + std::to_string(job.seed) + "," + std::to_string(job.replicate);
  for (const auto& [path, value] : job.assignments) row += "," + value;
  (void)sweep;
  for (const AreaSummary& s : areas) {
    row += "," + std::to_string(s.support) + "," + std::to_string(s.overlap) + "," +
           to_text(s.k ? static_cast<double>(s.overlap) / s.k : 0.0) + "," + std::to_string(s.converged_step);
  }
  return row;
}

}  // namespace engram::assembly
