// engram's Python module (`engram._engram`, or a sibling built for another ISA level; re-exported
// by the `engram` package): backends, brains (every Assembly Calculus control plus the composite
// operations) and projection runs.
//
//   import engram
//   brain = engram.Brain({"p": 0.01, "areas": [{"name": "A", "n": 10000, "k": 100}], ...})
//   brain.project(10); brain.winners("A")   # numpy uint32
//
// Engine errors become Python exceptions: ErrorCode::bad_input -> ValueError, anything else ->
// RuntimeError, both with the engine's message (which names the field). project(), the composite
// operations and run() release the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/io/data_dir.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_config.hpp"
#include "engram/models/assembly/operations.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "engram/models/job_kinds.hpp"
#include "py_support.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using engram::Backend;
using engram::assembly::BrainBatch;

// A config given as a dict becomes JSON text (which YAML reads; numpy values allowed); a str is YAML text, or a path
// when `allow_path` and it names no YAML mapping.
engram::io::ConfigNode load_config(const nb::handle& config, bool allow_path) {
  if (nb::isinstance<nb::dict>(config)) {
    // engram._config turns numpy scalars and arrays into plain values and names a bad field.
    nb::object to_json = nb::module_::import_("engram._config").attr("to_json");
    const std::string text = nb::cast<std::string>(to_json(config));
    return engram::io::load_config_string(text, "config");
  }
  if (nb::isinstance<nb::str>(config) || nb::hasattr(config, "__fspath__")) {
    nb::object os = nb::module_::import_("os");
    const std::string text = nb::cast<std::string>(os.attr("fspath")(config));
    if (allow_path && text.find('\n') == std::string::npos && text.find(':') == std::string::npos) {
      return engram::io::load_config_file(text);
    }
    if (allow_path && nb::cast<bool>(os.attr("path").attr("isfile")(text))) {
      return engram::io::load_config_file(text);
    }
    return engram::io::load_config_string(text, "config");
  }
  throw engram::Error::bad_input("config", nb::cast<std::string>(nb::str(config.type())),
                                 "must be a dict, a YAML string or a path");
}

using engram::py::PyBackend;
using engram::py::PythonHooks;
using engram::py::resolve_backend;
using engram::py::to_numpy;

class PyBrain {
 public:
  PyBrain(const nb::object& config, std::optional<std::uint32_t> brains, std::optional<std::uint64_t> seed,
          const std::optional<nb::object>& backend) {
    const engram::io::ConfigNode root = load_config(config, true);
    root.allow_keys({"experiment", "backend", "mode", "p", "steps", "seed", "brains", "batch_size", "areas",
                     "stimuli", "fibers"});
    const engram::assembly::BrainSection section = engram::assembly::parse_brain_section(root);
    const std::uint32_t count = brains.value_or(section.brains);
    if (count == 0) throw engram::Error::bad_input("brains", "0", "must be at least 1");
    const std::uint64_t run_seed = seed.value_or(section.seed);
    backend_ = resolve_backend(backend, section.backend);
    in_use_ = engram::py::backend_mutex(backend);
    std::vector<engram::assembly::BrainId> ids;
    ids.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) ids.push_back({run_seed, i});
    batch_ = engram::assembly::make_batch(*backend_, section.brain, std::move(ids));
  }

  // The batch for one engine call, with the backend's turn held to the end of the full
  // expression: `b.use()->project()`, `project_rounds(*b.use(), ...)`.
  class InUse {
   public:
    InUse(std::mutex& in_use, BrainBatch& batch) : turn_(in_use), batch_(batch) {}
    BrainBatch* operator->() const { return &batch_; }
    BrainBatch& operator*() const { return batch_; }

   private:
    engram::py::BackendTurn turn_;
    BrainBatch& batch_;
  };
  InUse use() const { return InUse(*in_use_, *batch_); }
  Backend& backend() { return *backend_; }

  // The exact-mode batch whose backend memory numpy may alias; explains when that is impossible.
  engram::assembly::ExactBatch& aliasable(const char* what) {
    if (backend_->kind() != engram::BackendKind::cpu) {
      throw engram::Error::bad_input("backend", std::string(backend_->name()),
                                     std::string(what) + " views alias engine memory and need the cpu backend");
    }
    auto* exact = dynamic_cast<engram::assembly::ExactBatch*>(batch_.get());
    if (exact == nullptr) {
      throw engram::Error::bad_input("mode", engram::assembly::to_string(batch_->spec().mode),
                                     std::string(what) + " views need mode explicit or implicit");
    }
    return *exact;
  }
  const BrainBatch& batch() const { return *batch_; }  // what no step changes (sizes, the spec)
  std::string backend_name() const { return std::string(backend_->name()); }

  void check_brain(std::size_t brain) const {
    if (brain >= batch_->size()) {
      throw engram::Error::bad_input("brain", std::to_string(brain),
                                     "must be below the number of brains, " + std::to_string(batch_->size()));
    }
  }

 private:
  std::shared_ptr<Backend> backend_;  // outlives batch_ (declared first, destroyed last)
  std::shared_ptr<std::mutex> in_use_;
  std::unique_ptr<BrainBatch> batch_;
};

// A table's columns as numpy arrays (text columns as lists of str; Python turns them into arrays).
nb::dict table_columns(engram::sched::Table& table) {
  nb::dict out;
  for (auto& column : table.columns) {
    const char* name = column.name.c_str();
    switch (column.type) {
      case engram::sched::Column::Type::integer:
        if (column.seed_bits) {
          // Seeds are uint64 (0 .. 2^64 - 1); the column holds their bits.
          out[name] = to_numpy(std::vector<std::uint64_t>(column.integers.begin(), column.integers.end()));
        } else {
          out[name] = to_numpy(std::move(column.integers));
        }
        break;
      case engram::sched::Column::Type::real: out[name] = to_numpy(std::move(column.reals)); break;
      case engram::sched::Column::Type::text: {
        nb::list texts;
        for (const auto& t : column.texts) texts.append(nb::str(t.c_str()));
        out[name] = texts;
        break;
      }
    }
  }
  return out;
}

// Any experiment kind, or a sweep of one, through the scheduler's one path: a list of (table
// name, columns) and the summary lines.
nb::tuple run_config(const nb::object& config, const std::optional<nb::object>& backend, const nb::object& progress,
                     std::uint32_t max_batch, std::uint64_t memory_budget, const std::optional<std::string>& out,
                     bool resume, bool force, const std::optional<std::string>& shard, std::uint32_t workers,
                     bool trace) {
  const engram::io::ConfigNode root = load_config(config, true);
  const engram::sched::JobKind& kind = engram::models::job_kind(root);
  std::string backend_name;
  if (backend && !backend->is_none()) {
    if (nb::isinstance<PyBackend>(*backend)) backend_name = nb::cast<PyBackend&>(*backend).name();
    else if (nb::isinstance<nb::str>(*backend)) backend_name = nb::cast<std::string>(*backend);
    else {
      throw engram::Error::bad_input("backend", nb::cast<std::string>(nb::str(backend->type())),
                                     "must be an engram.Backend or one of cpu, cuda, auto");
    }
  }
  engram::sched::RunOptions options;
  options.backend = backend_name;
  options.option_prefix = "";
  if (out) options.out = *out;
  options.resume = resume;
  options.force = force;
  options.trace = trace;
  if (shard) options.shard = engram::sched::parse_shard(*shard, "shard");
  if (workers == 0) throw engram::Error::bad_input("workers", "0", "must be at least 1");
  options.pack.max_batch = max_batch;
  options.pack.memory_budget = memory_budget;
  options.pack.workers = workers;
  PythonHooks hooks{progress, std::nullopt};
  const engram::Progress engine_progress = hooks.engine_progress();
  engram::sched::Results results;
  hooks.run_released([&] { results = engram::sched::run_config(root, kind, options, engine_progress); });
  nb::list tables;
  for (auto& table : results.tables) tables.append(nb::make_tuple(nb::str(table.name.c_str()), table_columns(table)));
  nb::list summary;
  for (const auto& line : results.summary) summary.append(nb::str(line.c_str()));
  return nb::make_tuple(tables, summary);
}

nb::list experiment_kinds() {
  nb::list out;
  for (const auto* kind : engram::models::job_kinds()) {
    out.append(nb::make_tuple(nb::str(std::string(kind->name()).c_str()),
                              nb::str(std::string(kind->description()).c_str())));
  }
  return out;
}

}  // namespace

// The module's name comes from the build (python/CMakeLists.txt: _engram, or _engram_<isa> for the
// extra ISA builds a wheel carries); nanobind pastes it into PyInit_<name>.
#ifndef ENGRAM_PY_MODULE_NAME
#define ENGRAM_PY_MODULE_NAME _engram
#endif
NB_MODULE(ENGRAM_PY_MODULE_NAME, m) {
  m.doc() = "engram: batched Assembly Calculus brain simulation (C++/CUDA engine)";

  // ValueError for bad input (the message names the field), RuntimeError otherwise.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const engram::Error& e) {
      if (e.code() == engram::ErrorCode::bad_input) {
        PyErr_SetString(PyExc_ValueError, e.what());
      } else if (e.code() == engram::ErrorCode::cancelled) {
        PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
      } else {
        PyErr_SetString(PyExc_RuntimeError, e.what());
      }
    }
  });

  nb::class_<PyBackend>(m, "Backend", "A compute backend: 'cpu', 'cuda' or 'auto' (cuda when a GPU is usable).")
      .def(nb::init<const std::string&>(), "name"_a = "auto")
      .def_prop_ro("name", &PyBackend::name)
      .def("__repr__", [](const PyBackend& b) { return "engram.Backend('" + b.name() + "')"; });

  nb::class_<PyBrain>(m, "Brain",
                      "B brains of one spec (the brain keys of a config: mode, p, areas, stimuli, fibers, ...), "
                      "stepped together. Brain i draws its randomness from (seed, i).")
      .def(nb::init<const nb::object&, std::optional<std::uint32_t>, std::optional<std::uint64_t>,
                    const std::optional<nb::object>&>(),
           "config"_a, "brains"_a = nb::none(), "seed"_a = nb::none(), "backend"_a = nb::none())
      .def_prop_ro("size", [](const PyBrain& b) { return b.batch().size(); })
      .def("__len__", [](const PyBrain& b) { return b.batch().size(); })
      .def_prop_ro("steps_taken", [](const PyBrain& b) { return b.use()->steps_taken(); })
      .def_prop_ro("backend", &PyBrain::backend_name)
      .def("__repr__",
           [](const PyBrain& b) {
             // engram.Brain(2 brains, mode=implicit, p=0.05, areas=[A(n=1000, k=31)], stimuli=[s(k=31)],
             //              fibers=[s->A, A->A], steps_taken=5, backend=cpu)
             const engram::assembly::BrainSpec& spec = b.batch().spec();
             std::string out = "engram.Brain(" + std::to_string(b.batch().size()) + " brain" +
                               (b.batch().size() == 1 ? "" : "s") + ", mode=" + engram::assembly::to_string(spec.mode) +
                               ", p=" + nb::cast<std::string>(nb::repr(nb::float_(spec.p))) + ", areas=[";
             for (std::size_t i = 0; i < spec.areas.size(); ++i) {
               out += (i ? ", " : "") + spec.areas[i].name + "(n=" + std::to_string(spec.areas[i].n) +
                      ", k=" + std::to_string(spec.areas[i].k) + ")";
             }
             out += "], stimuli=[";
             for (std::size_t i = 0; i < spec.stimuli.size(); ++i) {
               out += (i ? ", " : "") + spec.stimuli[i].name + "(k=" + std::to_string(spec.stimuli[i].k) + ")";
             }
             out += "], fibers=[";
             for (std::size_t i = 0; i < spec.fibers.size(); ++i) {
               out += (i ? ", " : "") + spec.fibers[i].from + "->" + spec.fibers[i].to;
             }
             return out + "], steps_taken=" + std::to_string(b.use()->steps_taken()) + ", backend=" +
                    b.backend_name() + ")";
           })
      .def(
          "project",
          [](PyBrain& b, int steps) {
            if (steps < 0) throw engram::Error::bad_input("steps", std::to_string(steps), "must be at least 0");
            nb::gil_scoped_release release;
            for (int i = 0; i < steps; ++i) b.use()->project();
          },
          "steps"_a = 1, "Runs `steps` synchronous steps (the GIL is released).")
      .def(
          "winners",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return to_numpy(b.use()->winners(brain, area));
          },
          "area"_a, "brain"_a = 0, "The latest firing set of `area` (increasing uint32; a copy).")
      .def(
          "support",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return b.use()->support(brain, area);
          },
          "area"_a, "brain"_a = 0, "Neurons of `area` in brain `brain` that have ever fired (the support).")
      .def(
          "overlap",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return b.use()->overlap(brain, area);
          },
          "area"_a, "brain"_a = 0, "Winners shared by the latest two firing sets of `area` (0 until it fired twice).")
      .def("updated", [](const PyBrain& b, const std::string& area) { return b.use()->updated(area); }, "area"_a,
           "Whether `area` took part in the latest step.")
      .def(
          "inputs",
          [](PyBrain& b, const std::string& area) {
            auto& batch = b.aliasable("inputs");
            const engram::FixedInput* memory = batch.input_memory(area);  // names the area when unknown
            const auto n = batch.spec().areas[static_cast<std::size_t>(batch.spec().area_index(area))].n;
            return nb::ndarray<nb::numpy, const std::int64_t, nb::ndim<2>>(
                memory, {batch.size(), static_cast<std::size_t>(n)}, nb::find(&b));
          },
          "area"_a,
          "The latest inputs of `area`, [brains, n] int64 in fixed point (value * 2**32): a read-only "
          "view of engine memory that the next step overwrites (cpu backend).")
      .def(
          "graph",
          [](PyBrain& b, const std::string& source, const std::string& target) {
            auto& batch = b.aliasable("graph");
            const auto memory = batch.fiber_memory(batch.fiber_index(source, target));
            if (!memory.stable) {
              throw engram::Error::bad_input("mode", engram::assembly::to_string(batch.spec().mode),
                                             "graph views need mode explicit (implicit mode moves its edge pools "
                                             "as neurons first fire)");
            }
            const nb::handle owner = nb::find(&b);
            const std::size_t rows[2] = {batch.size(), memory.rows_per_brain};
            nb::dict out;
            out["row_start"] = nb::ndarray<nb::numpy, const std::int64_t, nb::ndim<2>>(memory.row_start, 2, rows, owner);
            out["row_degree"] =
                nb::ndarray<nb::numpy, const std::uint32_t, nb::ndim<2>>(memory.row_degree, 2, rows, owner);
            out["targets"] =
                nb::ndarray<nb::numpy, const std::uint32_t, nb::ndim<1>>(memory.targets, {memory.edges}, owner);
            out["weights"] = nb::ndarray<nb::numpy, float, nb::ndim<1>>(memory.weights, {memory.edges}, owner);
            return out;
          },
          "source"_a, "target"_a,
          "The fiber source->target as CSR views of engine memory (mode explicit, cpu backend): row "
          "(brain b, neuron s) is targets/weights[row_start[b, s] : row_start[b, s] + row_degree[b, s]]. "
          "weights is writable and the next step reads what you write; the rest is read-only.")
      .def("inhibit", [](PyBrain& b, const std::string& name) { b.use()->inhibit(name); }, "name"_a,
           "An inhibited area neither fires nor is updated; an inhibited stimulus does not fire.")
      .def("disinhibit", [](PyBrain& b, const std::string& name) { b.use()->disinhibit(name); }, "name"_a,
           "Undoes inhibit(name).")
      .def("inhibited", [](const PyBrain& b, const std::string& name) { return b.use()->inhibited(name); },
           "name"_a, "Whether the area or stimulus `name` is inhibited.")
      .def("inhibit_fiber", [](PyBrain& b, const std::string& from, const std::string& to) {
        b.use()->inhibit_fiber(from, to);
      }, "source"_a, "target"_a, "Stops the fiber source->target from carrying input (both ends keep working).")
      .def("disinhibit_fiber", [](PyBrain& b, const std::string& from, const std::string& to) {
        b.use()->disinhibit_fiber(from, to);
      }, "source"_a, "target"_a, "Undoes inhibit_fiber(source, target).")
      .def(
          "set_plasticity",
          [](PyBrain& b, bool enabled, std::optional<std::string> from, std::optional<std::string> to) {
            if (from.has_value() != to.has_value()) {
              throw engram::Error::bad_input(from ? "target" : "source", "None",
                                             "give both source and target, or neither");
            }
            if (from) {
              b.use()->set_plasticity(*from, *to, enabled);
            } else {
              b.use()->set_plasticity(enabled);
            }
          },
          "enabled"_a, "source"_a = nb::none(), "target"_a = nb::none(),
          "Turns Hebbian plasticity on or off for every fiber, or for the fiber source->target.")
      .def("fix", [](PyBrain& b, const std::string& area) { b.use()->fix(area); }, "area"_a,
           "A fixed area keeps firing its current set; fibers into it still learn.")
      .def("unfix", [](PyBrain& b, const std::string& area) { b.use()->unfix(area); }, "area"_a, "Undoes fix(area).")
      .def("activate", [](PyBrain& b, const std::string& area, std::uint32_t assembly) {
        b.use()->activate(area, assembly);
      }, "area"_a, "assembly"_a = 0,
      "Makes `area` fire assembly `assembly`: neurons [assembly * k, (assembly + 1) * k).")
      .def(
          "set_firing",
          [](PyBrain& b, const std::string& area, const std::vector<std::vector<std::uint32_t>>& per_brain) {
            b.use()->set_firing(area, per_brain);
          },
          "area"_a, "per_brain"_a, "Makes `area` fire these neurons: one strictly increasing list per brain.")
      .def("fire_random_subset", [](PyBrain& b, const std::string& area, double fraction) {
        b.use()->fire_random_subset(area, fraction);
      }, "area"_a, "fraction"_a, "Each brain keeps a uniformly random round(fraction * size) subset of `area`'s firing set.")
      .def(
          "project_rounds",
          [](PyBrain& b, const std::vector<std::string>& sources, const std::vector<std::string>& targets,
             int steps) {
            nb::gil_scoped_release release;
            engram::assembly::project_rounds(*b.use(), sources, targets, steps);
          },
          "sources"_a, "targets"_a, "steps"_a,
          "`steps` steps in which only the fibers from `sources` into `targets` carry input (GIL released).")
      .def(
          "complete",
          [](PyBrain& b, const std::string& area, double fraction, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::pattern_complete(*b.use(), area, fraction, steps);
          },
          "area"_a, "fraction"_a, "steps"_a, "Pattern completion: fire a random fraction, then recurrence alone.")
      .def(
          "associate",
          [](PyBrain& b, const std::string& a, const std::string& b2, const std::string& c, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::associate(*b.use(), a, b2, c, steps);
          },
          "a"_a, "b"_a, "c"_a, "steps"_a,
          "The assemblies of a and b fire together (fixed) into c, whose recurrence is on, for `steps` steps.")
      .def(
          "merge",
          [](PyBrain& b, const std::string& a, const std::string& b2, const std::string& c, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::merge(*b.use(), a, b2, c, steps);
          },
          "a"_a, "b"_a, "c"_a, "steps"_a, "a and b fire into c and c projects back into a and b; all three are updated each step.")
      .def(
          "reciprocal_project",
          [](PyBrain& b, const std::string& a, const std::string& b2, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::reciprocal_project(*b.use(), a, b2, steps);
          },
          "a"_a, "b"_a, "steps"_a, "a keeps firing (fixed) into b while b projects back into a: both fibers learn.");

  m.def("_run", &run_config, "config"_a, "backend"_a = nb::none(), "progress"_a = nb::none(), "max_batch"_a = 256,
        "memory_budget"_a = 0, "out"_a = nb::none(), "resume"_a = false, "force"_a = false, "shard"_a = nb::none(),
        "workers"_a = 1, "trace"_a = false,
        "Runs any experiment (or a sweep of one); returns ([(table name, columns)], summary lines).");
  m.def("_experiments", &experiment_kinds, "The registered experiment kinds: [(name, description)].");
  m.def(
      "_progress_unit",
      [](const nb::object& config) { return engram::sched::is_sweep(load_config(config, true)) ? "job" : "step"; },
      "config"_a, "What a run's progress counts, as the CLI's bar: jobs for a sweep, else steps.");

  m.attr("__version__") = ENGRAM_VERSION;  // the one version source: CMakeLists.txt's project()
  m.def("_set_data_dir", &engram::io::set_bundled_data_dir, "dir"_a,
        "Registers the package's bundled data folder (engine/io/data_dir.hpp).");

  engram::py::register_ot(m);
  engram::py::register_nn(m);
  engram::py::register_select(m);
  engram::py::register_transformer(m);
  engram::py::register_ssl(m);
}
