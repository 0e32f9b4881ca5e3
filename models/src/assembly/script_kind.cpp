#include "engram/models/assembly/script_kind.hpp"

#include <cstdio>
#include <map>
#include <tuple>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/script_experiment.hpp"

namespace engram::assembly {
namespace {

using sched::Column;

std::vector<std::string> summary(const ScriptExperiment& e, const std::vector<MetricRecord>& records) {
  std::map<std::tuple<std::uint32_t, std::string, std::string>, std::map<std::uint32_t, double>> last;
  for (const auto& r : records) last[{r.op, r.area, r.metric}][r.brain] = r.value;
  std::vector<std::string> lines;
  char line[256];
  std::snprintf(line, sizeof line, "%3s  %-18s %-12s %-15s %10s", "op", "operation", "area", "metric",
                e.brains > 1 ? "mean" : "value");
  lines.push_back(line);
  for (const auto& [key, per_brain] : last) {
    const auto& [op, area, metric] = key;
    double sum = 0;
    for (const auto& [brain, value] : per_brain) sum += value;
    std::snprintf(line, sizeof line, "%3u  %-18s %-12s %-15s %10.4f", op, e.program[op].kind.c_str(), area.c_str(),
                  metric.c_str(), sum / static_cast<double>(per_brain.size()));
    lines.push_back(line);
  }
  return lines;
}

class ScriptKind final : public sched::JobKind {
 public:
  std::string_view name() const override { return "script"; }
  std::string_view description() const override {
    return "a program of Assembly Calculus operations (project, associate, merge, complete, ...) with metrics";
  }
  void validate(const io::ConfigNode& config) const override { parse_script(config); }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const ScriptExperiment e = parse_script(config);
    sched::Table metrics;
    metrics.name = "metrics";
    for (const char* c : {"brain", "seed", "step", "op"}) metrics.add(c, Column::Type::integer);
    for (const char* c : {"op_kind", "area", "metric"}) metrics.add(c, Column::Type::text);
    metrics.add("value", Column::Type::real);
    sched::Table winners;
    winners.name = "winners";
    for (const char* c : {"brain", "step"}) winners.add(c, Column::Type::integer);
    for (const char* c : {"area", "winners"}) winners.add(c, Column::Type::text);
    std::vector<MetricRecord> records;
    run_script(
        e, backend,
        [&](const MetricRecord& r) {
          metrics.append({std::int64_t{r.brain}, static_cast<std::int64_t>(r.seed), std::int64_t{r.step},
                          std::int64_t{r.op}, r.op_kind, r.area, r.metric, r.value});
          records.push_back(r);
        },
        progress,
        [&](const WinnersRecord& r) {
          std::string list;
          for (std::size_t i = 0; i < r.winners.size(); ++i) list += (i ? " " : "") + std::to_string(r.winners[i]);
          winners.append({std::int64_t{r.brain}, std::int64_t{r.step}, r.area, std::move(list)});
        });
    sched::Results results;
    char line[256];
    std::snprintf(line, sizeof line, "script of %zu operations, %s backend, %s mode, %u brain(s)", e.program.size(),
                  std::string(backend.name()).c_str(), to_string(e.brain.mode), e.brains);
    results.summary.push_back(line);
    for (auto& l : summary(e, records)) results.summary.push_back(std::move(l));
    results.tables.push_back(std::move(metrics));
    if (e.trace_winners) results.tables.push_back(std::move(winners));
    return results;
  }

  // A script's metrics depend on its program; sweeping them needs a column per (entry, area,
  // metric), which only a run reveals. Refused with a pointer to what sweeps.
  std::string shape_class(const io::ConfigNode&) const override { throw no_sweeps(); }
  std::uint64_t estimate_bytes(const io::ConfigNode&) const override { throw no_sweeps(); }
  std::uint64_t estimate_run_bytes(const io::ConfigNode&) const override { return 0; }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override { throw no_sweeps(); }
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>&, Backend&, const Progress&) const override {
    throw no_sweeps();
  }

 private:
  static Error no_sweeps() {
    return Error::bad_input("sweep", "(with experiment: script)",
                            "script experiments do not sweep yet; sweep experiment: project, or run one script "
                            "per parameter set");
  }
};

}  // namespace

const sched::JobKind& script_kind() {
  static const ScriptKind kind;
  return kind;
}

}  // namespace engram::assembly
