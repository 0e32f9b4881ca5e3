#include "engram/models/assembly/script_experiment.hpp"

#include <algorithm>
#include <map>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_chunks.hpp"
#include "engram/models/assembly/brain_config.hpp"
#include "engram/models/assembly/operations.hpp"

namespace engram::assembly {

namespace {

std::vector<std::string> names(const io::ConfigNode& node, const std::string& key) {
  std::vector<std::string> out;
  for (const io::ConfigNode& item : node.list(key)) {
    out.push_back(item.text());
  }
  return out;
}

int step_count(const io::ConfigNode& node) {
  const auto steps = node.required<std::uint32_t>("steps");
  // Steps run as int; 2^31 would wrap to a negative count and run nothing.
  constexpr std::uint32_t most = 1'000'000'000;
  if (steps > most) throw Error::bad_input(node.field("steps"), std::to_string(steps), "must be at most 10^9");
  return static_cast<int>(steps);
}

void check_name(const BrainSpec& brain, const std::string& field, const std::string& name, bool stimuli_too) {
  if (brain.area_index(name) >= 0) return;
  if (stimuli_too && brain.stimulus_index(name) >= 0) return;
  throw Error::bad_input(field, name, stimuli_too ? "names no area or stimulus" : "names no area");
}

const char* const kOps[] = {"project", "reciprocal_project", "associate", "merge", "complete", "inhibit",
                            "disinhibit", "inhibit_fiber", "disinhibit_fiber", "plasticity", "fix", "unfix",
                            "activate", "record", "compare", "density"};

ScriptOp parse_op(const io::ConfigNode& item, const BrainSpec& brain, std::vector<std::string>& recorded) {
  item.allow_keys({"project", "reciprocal_project", "associate", "merge", "complete", "inhibit", "disinhibit",
                   "inhibit_fiber", "disinhibit_fiber", "plasticity", "fix", "unfix", "activate", "record",
                   "compare", "density"});
  ScriptOp op;
  int found = 0;
  for (const char* kind : kOps) {
    if (item.has(kind)) {
      op.kind = kind;
      ++found;
    }
  }
  if (found != 1) throw Error::bad_input(item.path(), to_text(found) + " operations", "each program entry names exactly one operation");
  const io::ConfigNode body = item.child(op.kind);
  const std::string& k = op.kind;
  auto fiber_of = [&](ScriptOp& o) {
    o.a = body.required<std::string>("from");
    o.b = body.required<std::string>("to");
    check_name(brain, body.field("from"), o.a, true);
    check_name(brain, body.field("to"), o.b, false);
    bool exists = false;
    for (const FiberSpec& f : brain.fibers) exists |= f.from == o.a && f.to == o.b;
    if (!exists) throw Error::bad_input(body.field("to"), o.b, "no fiber " + o.a + " -> " + o.b + " in this brain");
  };
  if (k == "project") {
    body.allow_keys({"sources", "targets", "steps"});
    op.sources = names(body, "sources");
    op.targets = names(body, "targets");
    for (const auto& s : op.sources) check_name(brain, body.field("sources"), s, true);
    for (const auto& t : op.targets) check_name(brain, body.field("targets"), t, false);
    op.steps = step_count(body);
  } else if (k == "reciprocal_project") {
    body.allow_keys({"from", "to", "steps"});
    op.a = body.required<std::string>("from");
    op.b = body.required<std::string>("to");
    check_name(brain, body.field("from"), op.a, false);
    check_name(brain, body.field("to"), op.b, false);
    op.steps = step_count(body);
  } else if (k == "associate" || k == "merge") {
    body.allow_keys({"a", "b", "into", "steps"});
    op.a = body.required<std::string>("a");
    op.b = body.required<std::string>("b");
    op.into = body.required<std::string>("into");
    check_name(brain, body.field("a"), op.a, false);
    check_name(brain, body.field("b"), op.b, false);
    check_name(brain, body.field("into"), op.into, false);
    op.steps = step_count(body);
  } else if (k == "complete") {
    body.allow_keys({"area", "fraction", "steps"});
    op.area = body.required<std::string>("area");
    check_name(brain, body.field("area"), op.area, false);
    op.fraction = body.required<double>("fraction");
    if (!(op.fraction > 0.0 && op.fraction <= 1.0)) {
      throw Error::bad_input(body.field("fraction"), to_text(op.fraction), "must be in (0, 1]");
    }
    op.steps = step_count(body);
  } else if (k == "inhibit" || k == "disinhibit") {
    op.targets = names(item, k);
    for (const auto& t : op.targets) check_name(brain, item.field(k), t, true);
  } else if (k == "inhibit_fiber" || k == "disinhibit_fiber") {
    body.allow_keys({"from", "to"});
    fiber_of(op);
  } else if (k == "plasticity") {
    body.allow_keys({"enabled", "from", "to"});
    op.enabled = body.required<bool>("enabled");
    if (body.has("from") || body.has("to")) fiber_of(op);
  } else if (k == "fix" || k == "unfix") {
    op.area = item.required<std::string>(k);
    check_name(brain, item.field(k), op.area, false);
  } else if (k == "activate") {
    body.allow_keys({"area", "assembly"});
    op.area = body.required<std::string>("area");
    check_name(brain, body.field("area"), op.area, false);
    op.assembly = body.required<std::uint32_t>("assembly");
    const AreaSpec& a = brain.areas[static_cast<std::size_t>(brain.area_index(op.area))];
    if ((static_cast<std::uint64_t>(op.assembly) + 1) * a.k > a.n) {
      throw Error::bad_input(body.field("assembly"), to_text(op.assembly), "needs (assembly + 1) * k <= n = " + to_text(a.n));
    }
  } else if (k == "record") {
    body.allow_keys({"area", "as"});
    op.area = body.required<std::string>("area");
    check_name(brain, body.field("area"), op.area, false);
    op.name = body.required<std::string>("as");
    if (brain.area_index(op.name) >= 0 || brain.stimulus_index(op.name) >= 0) {
      throw Error::bad_input(body.field("as"), op.name, "is already the name of an area or stimulus");
    }
    recorded.push_back(op.name);
  } else if (k == "compare") {
    body.allow_keys({"a", "b"});
    op.a = body.required<std::string>("a");
    op.b = body.required<std::string>("b");
    for (const auto& [field, value] : {std::pair{"a", op.a}, std::pair{"b", op.b}}) {
      if (brain.area_index(value) < 0 && std::find(recorded.begin(), recorded.end(), value) == recorded.end()) {
        throw Error::bad_input(body.field(field), value, "names no area and no earlier record");
      }
    }
  } else if (k == "density") {
    body.allow_keys({"area", "assembly"});
    op.area = body.required<std::string>("area");
    check_name(brain, body.field("area"), op.area, false);
    op.name = body.optional<std::string>("assembly", "");
    if (!op.name.empty() && std::find(recorded.begin(), recorded.end(), op.name) == recorded.end()) {
      throw Error::bad_input(body.field("assembly"), op.name, "names no earlier record");
    }
    bool recurrent = false;
    for (const FiberSpec& f : brain.fibers) recurrent |= f.from == op.area && f.to == op.area;
    if (!recurrent) throw Error::bad_input(body.field("area"), op.area, "has no recurrent fiber to measure");
  }
  return op;
}

// The areas whose per-step convergence an operation reports.
std::vector<std::string> converging_areas(const ScriptOp& op) {
  if (op.kind == "project") return op.targets;
  if (op.kind == "reciprocal_project") return {op.b};
  if (op.kind == "associate" || op.kind == "merge") return {op.into};
  if (op.kind == "complete") return {op.area};
  return {};
}

}  // namespace

ScriptExperiment parse_script(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "backend", "mode", "p", "seed", "brains", "batch_size", "areas", "stimuli",
                   "fibers", "converged_at", "trace_winners", "program"});
  ScriptExperiment e;
  BrainSection section = parse_brain_section(root);
  e.brain = std::move(section.brain);
  e.seed = section.seed;
  e.brains = section.brains;
  e.batch_size = section.batch_size;
  e.backend = section.backend;
  e.converged_at = root.optional<double>("converged_at", 0.99);
  if (!(e.converged_at > 0.0 && e.converged_at <= 1.0)) {
    throw Error::bad_input("converged_at", to_text(e.converged_at), "must be in (0, 1]");
  }
  e.trace_winners = root.optional<bool>("trace_winners", false);
  std::vector<std::string> recorded;
  for (const io::ConfigNode& item : root.list("program")) e.program.push_back(parse_op(item, e.brain, recorded));
  return e;
}

void run_script(const ScriptExperiment& e, Backend& backend, const MetricSink& sink,
                const Progress& progress, const WinnersSink& winners_sink) {
  std::uint64_t steps_per_brain = 0;
  for (const ScriptOp& op : e.program) steps_per_brain += static_cast<std::uint64_t>(op.steps);
  const std::uint64_t total = steps_per_brain * e.brains;
  std::uint64_t done = 0;
  for_each_brain_batch(backend, e.brain, e.seed, e.brains, e.batch_size,
                       [&](BrainBatch& batch, std::uint32_t first, const std::vector<BrainId>&) {
    const auto count = static_cast<std::uint32_t>(batch.size());
    std::vector<std::vector<MetricRecord>> out(count);
    std::vector<std::vector<WinnersRecord>> traces(count);
    std::map<std::string, std::vector<std::vector<NeuronId>>> records;  // name -> per brain
    auto emit = [&](std::uint32_t b, std::uint32_t op_index, const std::string& area, const std::string& metric,
                    double value) {
      out[b].push_back(MetricRecord{first + b, e.seed, static_cast<std::uint32_t>(batch.steps_taken()), op_index,
                                    e.program[op_index].kind, area, metric, value});
    };
    auto set_of = [&](std::uint32_t b, const std::string& name) {
      return records.count(name) ? records.at(name)[b] : batch.winners(b, name);
    };
    for (std::uint32_t i = 0; i < e.program.size(); ++i) {
      const ScriptOp& op = e.program[i];
      // Per-step metrics come from a step hook, so run multi-step operations one step at a time.
      std::vector<std::string> watched = converging_areas(op);
      std::map<std::pair<std::uint32_t, std::string>, int> converged;
      auto after_step = [&](int step_in_op) {
        for (const AreaSpec& a : e.brain.areas) {
          if (!batch.updated(a.name)) continue;
          for (std::uint32_t b = 0; b < count; ++b) {
            emit(b, i, a.name, "support", static_cast<double>(batch.support(b, a.name)));
            const double overlap = static_cast<double>(batch.overlap(b, a.name)) / a.k;
            emit(b, i, a.name, "overlap", overlap);
            if (overlap >= e.converged_at && !converged.count({b, a.name})) converged[{b, a.name}] = step_in_op;
            if (e.trace_winners) {
              traces[b].push_back(WinnersRecord{first + b, static_cast<std::uint32_t>(batch.steps_taken()), a.name,
                                                batch.winners(b, a.name)});
            }
          }
        }
        done += count;
        progress.step(done, total);
      };
      const int steps = op.steps;
      if (op.kind == "project") {
        for (int s = 1; s <= steps; ++s) { project_rounds(batch, op.sources, op.targets, 1); after_step(s); }
      } else if (op.kind == "reciprocal_project") {
        for (int s = 1; s <= steps; ++s) { reciprocal_project(batch, op.a, op.b, 1); after_step(s); }
      } else if (op.kind == "associate") {
        for (int s = 1; s <= steps; ++s) { associate(batch, op.a, op.b, op.into, 1); after_step(s); }
      } else if (op.kind == "merge") {
        for (int s = 1; s <= steps; ++s) { merge(batch, op.a, op.b, op.into, 1); after_step(s); }
      } else if (op.kind == "complete") {
        pattern_complete(batch, op.area, op.fraction, 0);
        for (int s = 1; s <= steps; ++s) { project_rounds(batch, {op.area}, {op.area}, 1); after_step(s); }
      } else if (op.kind == "inhibit") {
        for (const auto& t : op.targets) batch.inhibit(t);
      } else if (op.kind == "disinhibit") {
        for (const auto& t : op.targets) batch.disinhibit(t);
      } else if (op.kind == "inhibit_fiber") {
        batch.inhibit_fiber(op.a, op.b);
      } else if (op.kind == "disinhibit_fiber") {
        batch.disinhibit_fiber(op.a, op.b);
      } else if (op.kind == "plasticity") {
        if (op.a.empty()) batch.set_plasticity(op.enabled);
        else batch.set_plasticity(op.a, op.b, op.enabled);
      } else if (op.kind == "fix") {
        batch.fix(op.area);
      } else if (op.kind == "unfix") {
        batch.unfix(op.area);
      } else if (op.kind == "activate") {
        batch.activate(op.area, op.assembly);
      } else if (op.kind == "record") {
        auto& saved = records[op.name];
        saved.clear();
        for (std::uint32_t b = 0; b < count; ++b) saved.push_back(batch.winners(b, op.area));
      } else if (op.kind == "compare") {
        for (std::uint32_t b = 0; b < count; ++b) {
          const auto x = set_of(b, op.a);
          const auto y = set_of(b, op.b);
          const double denominator = static_cast<double>(std::max<std::size_t>(1, std::min(x.size(), y.size())));
          emit(b, i, op.a + "~" + op.b, "overlap", shared_neurons(x, y) / denominator);
        }
      } else if (op.kind == "density") {
        for (std::uint32_t b = 0; b < count; ++b) {
          const auto set = op.name.empty() ? batch.winners(b, op.area) : set_of(b, op.name);
          emit(b, i, op.area, "density", batch.edge_density(b, op.area, op.area, set, set));
        }
      }
      for (const std::string& area : watched) {
        for (std::uint32_t b = 0; b < count; ++b) {
          const auto it = converged.find({b, area});
          emit(b, i, area, "converged_step", it == converged.end() ? -1.0 : it->second);
        }
      }
    }
    for (const auto& brain_records : out) {
      for (const MetricRecord& r : brain_records) sink(r);
    }
    if (winners_sink) {
      for (const auto& brain_traces : traces) {
        for (const WinnersRecord& r : brain_traces) winners_sink(r);
      }
    }
  });
}

}  // namespace engram::assembly
