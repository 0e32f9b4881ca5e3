// engram's Python module (`engram._engram`, re-exported by the `engram` package): backends,
// brains (every Assembly Calculus control plus the composite operations) and projection runs.
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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/brain_config.hpp"
#include "engram/models/assembly/operations.hpp"
#include "engram/models/assembly/projection_experiment.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using engram::Backend;
using engram::assembly::BrainBatch;

// A config given as a dict becomes JSON text (which YAML reads); a str is YAML text, or a path
// when `allow_path` and it names no YAML mapping.
engram::io::ConfigNode load_config(const nb::handle& config, bool allow_path) {
  if (nb::isinstance<nb::dict>(config)) {
    nb::object json = nb::module_::import_("json");
    const std::string text = nb::cast<std::string>(json.attr("dumps")(config));
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

// A numpy array that owns a copy of `values`.
template <class T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T> values) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

struct PyBackend {
  std::shared_ptr<Backend> backend;
  explicit PyBackend(const std::string& name) : backend(engram::make_backend(name)) {}
  std::string name() const { return std::string(backend->name()); }
};

std::shared_ptr<Backend> resolve_backend(const std::optional<nb::object>& given, const std::string& fallback) {
  if (!given || given->is_none()) return std::shared_ptr<Backend>(engram::make_backend(fallback));
  if (nb::isinstance<PyBackend>(*given)) return nb::cast<PyBackend&>(*given).backend;
  if (nb::isinstance<nb::str>(*given)) {
    return std::shared_ptr<Backend>(engram::make_backend(nb::cast<std::string>(*given)));
  }
  throw engram::Error::bad_input("backend", nb::cast<std::string>(nb::str(given->type())),
                                 "must be an engram.Backend or one of cpu, cuda, auto");
}

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
    std::vector<engram::assembly::BrainId> ids;
    ids.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) ids.push_back({run_seed, i});
    batch_ = engram::assembly::make_batch(*backend_, section.brain, std::move(ids));
  }

  BrainBatch& batch() { return *batch_; }
  const BrainBatch& batch() const { return *batch_; }
  std::string backend_name() const { return std::string(backend_->name()); }

  void check_brain(std::size_t brain) const {
    if (brain >= batch_->size()) {
      throw engram::Error::bad_input("brain", std::to_string(brain),
                                     "must be below the number of brains, " + std::to_string(batch_->size()));
    }
  }

 private:
  std::shared_ptr<Backend> backend_;  // outlives batch_ (declared first, destroyed last)
  std::unique_ptr<BrainBatch> batch_;
};

nb::dict run_projection_columns(const nb::object& config, const std::optional<nb::object>& backend) {
  const engram::io::ConfigNode root = load_config(config, true);
  const std::string kind = root.optional<std::string>("experiment", "project");
  if (kind != "project") {
    throw engram::Error::bad_input("experiment", kind, "engram.run supports only experiment: project so far");
  }
  const engram::assembly::ProjectionExperiment experiment = engram::assembly::parse_projection(root);
  std::shared_ptr<Backend> chosen = resolve_backend(backend, experiment.backend);
  std::vector<engram::assembly::ProjectionRecord> records;
  {
    nb::gil_scoped_release release;
    engram::assembly::run_projection(experiment, *chosen,
                                     [&](const engram::assembly::ProjectionRecord& r) { records.push_back(r); });
  }
  std::vector<std::uint32_t> brain, step, k, overlap;
  std::vector<std::uint64_t> seed, support;
  std::vector<double> fraction;
  nb::list area;
  for (const auto& r : records) {
    brain.push_back(r.brain);
    seed.push_back(r.seed);
    step.push_back(r.step);
    area.append(nb::str(r.area.c_str()));
    k.push_back(r.k);
    support.push_back(r.support);
    overlap.push_back(r.overlap);
    fraction.push_back(static_cast<double>(r.overlap) / r.k);
  }
  nb::dict out;
  out["brain"] = to_numpy(std::move(brain));
  out["seed"] = to_numpy(std::move(seed));
  out["step"] = to_numpy(std::move(step));
  out["area"] = area;
  out["k"] = to_numpy(std::move(k));
  out["support"] = to_numpy(std::move(support));
  out["overlap"] = to_numpy(std::move(overlap));
  out["overlap_fraction"] = to_numpy(std::move(fraction));
  return out;
}

}  // namespace

NB_MODULE(_engram, m) {
  m.doc() = "engram: batched Assembly Calculus brain simulation (C++/CUDA engine)";

  // ValueError for bad input (the message names the field), RuntimeError otherwise.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const engram::Error& e) {
      if (e.code() == engram::ErrorCode::bad_input) {
        PyErr_SetString(PyExc_ValueError, e.what());
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
      .def_prop_ro("steps_taken", [](const PyBrain& b) { return b.batch().steps_taken(); })
      .def_prop_ro("backend", &PyBrain::backend_name)
      .def(
          "project",
          [](PyBrain& b, int steps) {
            if (steps < 0) throw engram::Error::bad_input("steps", std::to_string(steps), "must be at least 0");
            nb::gil_scoped_release release;
            for (int i = 0; i < steps; ++i) b.batch().project();
          },
          "steps"_a = 1, "Runs `steps` synchronous steps (the GIL is released).")
      .def(
          "winners",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return to_numpy(b.batch().winners(brain, area));
          },
          "area"_a, "brain"_a = 0, "The latest firing set of `area` (increasing uint32; a copy).")
      .def(
          "support",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return b.batch().support(brain, area);
          },
          "area"_a, "brain"_a = 0)
      .def(
          "overlap",
          [](const PyBrain& b, const std::string& area, std::size_t brain) {
            b.check_brain(brain);
            return b.batch().overlap(brain, area);
          },
          "area"_a, "brain"_a = 0)
      .def("updated", [](const PyBrain& b, const std::string& area) { return b.batch().updated(area); }, "area"_a)
      .def("inhibit", [](PyBrain& b, const std::string& name) { b.batch().inhibit(name); }, "name"_a)
      .def("disinhibit", [](PyBrain& b, const std::string& name) { b.batch().disinhibit(name); }, "name"_a)
      .def("inhibited", [](const PyBrain& b, const std::string& name) { return b.batch().inhibited(name); },
           "name"_a)
      .def("inhibit_fiber", [](PyBrain& b, const std::string& from, const std::string& to) {
        b.batch().inhibit_fiber(from, to);
      }, "source"_a, "target"_a)
      .def("disinhibit_fiber", [](PyBrain& b, const std::string& from, const std::string& to) {
        b.batch().disinhibit_fiber(from, to);
      }, "source"_a, "target"_a)
      .def(
          "set_plasticity",
          [](PyBrain& b, bool enabled, std::optional<std::string> from, std::optional<std::string> to) {
            if (from.has_value() != to.has_value()) {
              throw engram::Error::bad_input(from ? "target" : "source", "None",
                                             "give both source and target, or neither");
            }
            if (from) {
              b.batch().set_plasticity(*from, *to, enabled);
            } else {
              b.batch().set_plasticity(enabled);
            }
          },
          "enabled"_a, "source"_a = nb::none(), "target"_a = nb::none())
      .def("fix", [](PyBrain& b, const std::string& area) { b.batch().fix(area); }, "area"_a)
      .def("unfix", [](PyBrain& b, const std::string& area) { b.batch().unfix(area); }, "area"_a)
      .def("activate", [](PyBrain& b, const std::string& area, std::uint32_t assembly) {
        b.batch().activate(area, assembly);
      }, "area"_a, "assembly"_a = 0)
      .def(
          "set_firing",
          [](PyBrain& b, const std::string& area, const std::vector<std::vector<std::uint32_t>>& per_brain) {
            b.batch().set_firing(area, per_brain);
          },
          "area"_a, "per_brain"_a, "Makes `area` fire these neurons: one strictly increasing list per brain.")
      .def("fire_random_subset", [](PyBrain& b, const std::string& area, double fraction) {
        b.batch().fire_random_subset(area, fraction);
      }, "area"_a, "fraction"_a)
      .def(
          "project_rounds",
          [](PyBrain& b, const std::vector<std::string>& sources, const std::vector<std::string>& targets,
             int steps) {
            nb::gil_scoped_release release;
            engram::assembly::project_rounds(b.batch(), sources, targets, steps);
          },
          "sources"_a, "targets"_a, "steps"_a)
      .def(
          "complete",
          [](PyBrain& b, const std::string& area, double fraction, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::pattern_complete(b.batch(), area, fraction, steps);
          },
          "area"_a, "fraction"_a, "steps"_a, "Pattern completion: fire a random fraction, then recurrence alone.")
      .def(
          "associate",
          [](PyBrain& b, const std::string& a, const std::string& b2, const std::string& c, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::associate(b.batch(), a, b2, c, steps);
          },
          "a"_a, "b"_a, "c"_a, "steps"_a)
      .def(
          "merge",
          [](PyBrain& b, const std::string& a, const std::string& b2, const std::string& c, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::merge(b.batch(), a, b2, c, steps);
          },
          "a"_a, "b"_a, "c"_a, "steps"_a)
      .def(
          "reciprocal_project",
          [](PyBrain& b, const std::string& a, const std::string& b2, int steps) {
            nb::gil_scoped_release release;
            engram::assembly::reciprocal_project(b.batch(), a, b2, steps);
          },
          "a"_a, "b"_a, "steps"_a);

  m.def("_run_columns", &run_projection_columns, "config"_a, "backend"_a = nb::none(),
        "Runs a projection experiment; returns a dict of numpy columns (as projection.csv).");
}
