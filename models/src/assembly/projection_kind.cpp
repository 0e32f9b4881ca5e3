#include "engram/models/assembly/projection_kind.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include <omp.h>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/parallel_guard.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "engram/models/assembly/lazy_batch.hpp"
#include "cpu_exact_step.hpp"

namespace engram::assembly {

std::string shape_class(const ProjectionExperiment& e) {
  std::ostringstream key;
  const BrainSpec& s = e.brain;
  const bool per_brain_parameters = s.mode != GraphMode::lazy;  // ExactBatch takes per-brain p and beta
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
  // Lazy mode holds only neurons that ever fired (at most k per step), never n-sized arrays.
  const bool lazy = s.mode == GraphMode::lazy;
  const auto held = [&](const AreaSpec& a) {
    return lazy ? std::min(static_cast<double>(a.n), a.k * (e.steps + 2.0)) : static_cast<double>(a.n);
  };
  for (const AreaSpec& a : s.areas) {
    bytes += held(a) * (sizeof(FixedInput) + 3 + (a.normalise_incoming ? 2 * sizeof(FixedInput) : 0));
    bytes += static_cast<double>(a.k) * 4 * sizeof(NeuronId);
  }
  for (std::size_t f = 0; f < s.fibers.size(); ++f) {
    const FiberSpec& fs = s.fibers[f];
    const int stimulus = s.stimulus_index(fs.from);
    const double n_source = stimulus >= 0 ? s.stimuli[static_cast<std::size_t>(stimulus)].k
                                          : held(s.areas[static_cast<std::size_t>(s.area_index(fs.from))]);
    const double k_source = stimulus >= 0 ? n_source : s.areas[static_cast<std::size_t>(s.area_index(fs.from))].k;
    const double n_target = held(s.areas[static_cast<std::size_t>(s.area_index(fs.to))]);
    // Explicit graphs hold every row; implicit ones at most the rows of neurons that fired.
    const double rows = s.mode == GraphMode::explicit_graph ? n_source
                                                            : std::min(n_source, k_source * (e.steps + 1.0));
    const double degree = n_target * s.fiber_p(f);
    bytes += n_source * 12.0 + rows * (degree + 4.0 * std::sqrt(degree + 1.0)) * 1.25 * (sizeof(NeuronId) + sizeof(float));
    // Exact modes keep each fiber's share of its target's inputs from step to step (ExactBatch).
    if (!lazy) bytes += n_target * sizeof(FixedInput) + k_source * sizeof(NeuronId);
  }
  return static_cast<std::uint64_t>(bytes);
}

namespace {

// Steps `batch` (brain i of it is job first + i) and records each brain's summaries and traces.
void step_batch(BrainBatch& batch, const BrainSpec& spec, std::uint32_t steps, std::size_t first,
                std::vector<std::vector<AreaSummary>>& out, std::vector<std::vector<TraceRow>>* traces) {
  const std::size_t B = batch.size();
  for (std::uint32_t step = 1; step <= steps; ++step) {
    batch.project();
    for (std::size_t a = 0; a < spec.areas.size(); ++a) {
      const std::string& name = spec.areas[a].name;
      if (!batch.updated(name)) continue;
      for (std::size_t b = 0; b < B; ++b) {
        AreaSummary& s = out[first + b][a];
        const std::uint64_t support = batch.support(b, name);
        if (support != s.support || step == 1) s.converged_step = 0;
        else if (s.converged_step == 0) s.converged_step = step;
        s.support = support;
        s.overlap = batch.overlap(b, name);
        if (traces) (*traces)[first + b].push_back(TraceRow{step, static_cast<std::uint32_t>(a), s.support, s.overlap});
      }
    }
  }
}

}  // namespace

std::vector<std::vector<AreaSummary>> run_projection_batch(const std::vector<ProjectionExperiment>& jobs,
                                                           Backend& backend, std::vector<std::vector<TraceRow>>* traces) {
  if (jobs.empty()) return {};
  if (traces) traces->assign(jobs.size(), {});
  const ProjectionExperiment& first = jobs.front();
  const BrainSpec& spec = first.brain;
  std::vector<BrainId> ids;
  std::vector<BrainOverrides> overrides;
  const std::string first_class = shape_class(first);
  for (const ProjectionExperiment& job : jobs) {
    if (shape_class(job) != first_class) {
      throw Error::internal("run_projection_batch: job of seed " + std::to_string(job.seed) +
                            " is of another shape class than the first");
    }
    ids.push_back(BrainId{job.seed, 0});
    BrainOverrides o;
    for (std::size_t f = 0; f < spec.fibers.size(); ++f) {
      o.fiber_p.push_back(job.brain.fiber_p(f));
      o.fiber_beta.push_back(job.brain.fibers[f].beta);
    }
    overrides.push_back(std::move(o));
  }
  const std::size_t B = jobs.size();
  std::vector<std::vector<AreaSummary>> out(B, std::vector<AreaSummary>(spec.areas.size()));
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t a = 0; a < spec.areas.size(); ++a) out[b][a].k = spec.areas[a].k;
  }
  if (backend.kind() == BackendKind::cpu) {
    // Brain-major on the CPU: a thread owns a brain for all its steps, as a batch of one on that
    // thread alone, so the brain's rows (lazy mode: edge lists), inputs and flags stay in the
    // core's cache from step to step and only `threads` brains are in memory at once. A batch of
    // brains advanced step by step would stream every brain's rows through memory each step. Bits
    // are the same either way (a brain's draws are keyed by its id, never by its slot). A batch of
    // one runs on one thread: the one-brain fast paths beat splitting a small brain's stages over
    // threads.
    // Exact modes: brains of one graph (same seed and p: a sweep over beta) run on one thread in
    // turn and share the rows they generate. Lazy brains share nothing: one group each.
    const bool lazy = spec.mode == GraphMode::lazy;
    std::vector<std::vector<std::size_t>> groups;
    if (lazy) {
      for (std::size_t b = 0; b < B; ++b) groups.push_back({b});
    } else {
      std::map<std::pair<std::uint64_t, std::vector<double>>, std::vector<std::size_t>> by_graph;
      for (std::size_t b = 0; b < B; ++b) by_graph[{ids[b].seed, overrides[b].fiber_p}].push_back(b);
      for (auto& entry : by_graph) groups.push_back(std::move(entry.second));
    }
    // No more threads than groups: a spare thread would only spin at the region's end.
    const int threads = std::max(1, std::min(omp_get_max_threads(), static_cast<int>(groups.size())));
    // Each thread's brains reuse the row storage of the brain it ran before (exact modes).
    std::vector<cpu::PoolShelf> shelves(static_cast<std::size_t>(threads));
    // Lazy mode: each thread's last brain, whose storage the thread's next brain takes over.
    std::vector<std::unique_ptr<LazyBatch>> spent(static_cast<std::size_t>(threads));
    ParallelGuard guard;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::int64_t g = 0; g < static_cast<std::int64_t>(groups.size()); ++g) guard.run([&] {
      omp_set_num_threads(1);  // this thread's ICV only: the brains' stages stay on this thread
      cpu::PoolShelf& pools = shelves[static_cast<std::size_t>(omp_get_thread_num())];
      cpu::RowCache rows;
      for (const std::size_t i : groups[static_cast<std::size_t>(g)]) {
        if (lazy) {
          std::unique_ptr<LazyBatch>& last = spent[static_cast<std::size_t>(omp_get_thread_num())];
          auto one = std::make_unique<LazyBatch>(backend, spec, std::vector<BrainId>{ids[i]});
          if (last) one->reuse_storage(*last);
          step_batch(*one, spec, first.steps, i, out, traces);
          last = std::move(one);
        } else {
          ExactBatch one(backend, spec, {ids[i]}, {overrides[i]}, &rows, &pools);
          step_batch(one, spec, first.steps, i, out, traces);
        }
      }
    });
    guard.rethrow();
    return out;
  }
  std::unique_ptr<BrainBatch> made;
  if (spec.mode == GraphMode::lazy) made = make_batch(backend, spec, ids);
  else made = std::make_unique<ExactBatch>(backend, spec, ids, overrides);
  step_batch(*made, spec, first.steps, 0, out, traces);
  return out;
}

namespace {

// A sweep job's experiment as describe() parsed it.
struct ParsedProjection final : sched::ParsedJob {
  explicit ParsedProjection(ProjectionExperiment e) : experiment(std::move(e)) {}
  ProjectionExperiment experiment;
};

// A brain's random graph is a function of its seed and its fibers' p (run_projection_batch
// lets brains of one graph share its rows).
std::string graph_affinity(const ProjectionExperiment& e) {
  std::string key = "seed=" + std::to_string(e.seed);
  for (std::size_t f = 0; f < e.brain.fibers.size(); ++f) key += "|p=" + to_text(e.brain.fiber_p(f));
  return key;
}

ProjectionExperiment sweep_job(const sched::JobInput& job) {
  const auto* parsed = dynamic_cast<const ParsedProjection*>(job.parsed.get());
  ProjectionExperiment e = parsed != nullptr ? parsed->experiment : parse_projection(job.config);
  e.seed = job.seed;
  return e;
}

class ProjectionKind final : public sched::JobKind {
 public:
  std::string_view name() const override { return "project"; }
  std::string_view description() const override { return "Assembly Calculus projection: support and overlap per step"; }
  void validate(const io::ConfigNode& config) const override { parse_projection(config).brain.validate(); }
  void validate_sweep_job(const io::ConfigNode& config) const override {
    for (const char* key : {"brains", "batch_size"}) {
      if (config.has(key)) {
        throw Error::bad_input(key, "(set)",
                               "a sweep job is one brain; use sweep.seeds for replicates and --max-batch for packing");
      }
    }
    validate(config);
  }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const ProjectionExperiment e = parse_projection(config);
    sched::Table table;
    table.name = "projection";
    for (const char* c : {"brain", "seed", "step"}) table.add(c, sched::Column::Type::integer);
    table.add("area", sched::Column::Type::text);
    for (const char* c : {"k", "support", "overlap"}) table.add(c, sched::Column::Type::integer);
    table.add("overlap_fraction", sched::Column::Type::real);
    struct Summary {
      double support = 0, overlap = 0, min_overlap = 1;
      std::uint32_t brains = 0;
    };
    std::map<std::pair<std::uint32_t, std::string>, Summary> by_step;
    run_projection(
        e, backend,
        [&](const ProjectionRecord& r) {
          const double fraction = static_cast<double>(r.overlap) / r.k;
          table.append({std::int64_t{r.brain}, static_cast<std::int64_t>(r.seed), std::int64_t{r.step}, r.area,
                        std::int64_t{r.k}, static_cast<std::int64_t>(r.support), std::int64_t{r.overlap}, fraction});
          Summary& s = by_step[{r.step, r.area}];
          s.support += static_cast<double>(r.support);
          s.overlap += fraction;
          s.min_overlap = std::min(s.min_overlap, fraction);
          ++s.brains;
        },
        progress);
    sched::Results results;
    const auto batches = (e.brains + e.batch_size - 1) / e.batch_size;
    char line[256];
    std::snprintf(line, sizeof line, "%s backend, %s graph, %u brain(s) in %u batch(es), %u steps",
                  std::string(backend.name()).c_str(), to_string(e.brain.mode), e.brains, batches, e.steps);
    results.summary.push_back(line);
    const bool many = e.brains > 1;
    std::snprintf(line, sizeof line, many ? "%5s  %-8s %12s %10s %10s" : "%5s  %-8s %12s %10s", "step", "area",
                  many ? "support(avg)" : "support", "overlap", "min");
    results.summary.push_back(line);
    for (const auto& [key, s] : by_step) {
      if (many) {
        std::snprintf(line, sizeof line, "%5u  %-8s %12.1f %10.4f %10.4f", key.first, key.second.c_str(),
                      s.support / s.brains, s.overlap / s.brains, s.min_overlap);
      } else {
        std::snprintf(line, sizeof line, "%5u  %-8s %12.0f %10.4f", key.first, key.second.c_str(), s.support, s.overlap);
      }
      results.summary.push_back(line);
    }
    results.tables.push_back(std::move(table));
    return results;
  }

  std::string shape_class(const io::ConfigNode& config) const override {
    return assembly::shape_class(parse_projection(config));
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    return estimate_brain_bytes(parse_projection(config));
  }
  std::string affinity(const io::ConfigNode& config) const override { return graph_affinity(parse_projection(config)); }
  sched::JobTraits describe(const io::ConfigNode& config) const override {
    auto parsed = std::make_shared<const ParsedProjection>(parse_projection(config));
    const ProjectionExperiment& e = parsed->experiment;
    return sched::JobTraits{assembly::shape_class(e), estimate_brain_bytes(e), graph_affinity(e), std::move(parsed)};
  }
  std::uint64_t estimate_run_bytes(const io::ConfigNode& config) const override {
    const ProjectionExperiment e = parse_projection(config);
    return estimate_brain_bytes(e) * std::max<std::uint32_t>(1, std::min(e.brains, e.batch_size));
  }
  std::vector<std::string> result_columns(const io::ConfigNode& config) const override {
    std::vector<std::string> columns;
    for (const AreaSpec& a : parse_projection(config).brain.areas) {
      for (const char* c : {".support", ".overlap", ".overlap_fraction", ".converged_step"}) columns.push_back(a.name + c);
    }
    return columns;
  }
  std::vector<std::string> trace_columns(const io::ConfigNode&) const override {
    return {"step", "area", "support", "overlap"};
  }
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    return run_batch_traced(jobs, backend, progress, nullptr);
  }
  std::vector<sched::Row> run_batch_traced(const std::vector<sched::JobInput>& jobs, Backend& backend, const Progress&,
                                           std::vector<std::vector<sched::Row>>* traces) const override {
    std::vector<ProjectionExperiment> experiments;
    for (const auto& job : jobs) experiments.push_back(sweep_job(job));
    std::vector<std::vector<TraceRow>> trace_rows;
    const auto summaries = run_projection_batch(experiments, backend, traces ? &trace_rows : nullptr);
    std::vector<sched::Row> rows;
    for (const auto& areas : summaries) {
      sched::Row cells;
      for (const AreaSummary& s : areas) {
        cells.emplace_back(static_cast<std::int64_t>(s.support));
        cells.emplace_back(std::int64_t{s.overlap});
        cells.emplace_back(s.k ? static_cast<double>(s.overlap) / s.k : 0.0);
        cells.emplace_back(std::int64_t{s.converged_step});
      }
      rows.push_back(std::move(cells));
    }
    if (traces) {
      traces->assign(jobs.size(), {});
      const auto& areas = experiments.front().brain.areas;
      for (std::size_t b = 0; b < trace_rows.size(); ++b) {
        for (const TraceRow& t : trace_rows[b]) {
          (*traces)[b].push_back({std::int64_t{t.step}, areas[t.area].name, static_cast<std::int64_t>(t.support),
                                  std::int64_t{t.overlap}});
        }
      }
    }
    return rows;
  }
};

}  // namespace

const sched::JobKind& projection_kind() {
  static const ProjectionKind kind;
  return kind;
}

}  // namespace engram::assembly
