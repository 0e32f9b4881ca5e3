// engram.nn.Transformer: the separable population transformer (models/transformer) as a Python
// object on arrays — train on counts and labels (or behaviour), predict, evaluate, and read or
// replace its parameters as one flat vector whose named slices (torch-style names and shapes,
// `layout`) the Python side turns into a state dict and NPZ files (engram/nn.py).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/data/neural_data.hpp"
#include "engram/models/transformer/separable_transformer.hpp"
#include "engram/models/transformer/training.hpp"
#include "py_support.hpp"

namespace engram::py {

namespace {

using namespace nb::literals;
namespace tf = engram::models::transformer;

using Counts = nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Labels = nb::ndarray<const std::int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Behaviour = nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Flat = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

tf::TransformerConfig config_of(const nb::dict& given) {
  tf::TransformerConfig c;
  for (const auto& [key_handle, value] : given) {
    const std::string key = nb::cast<std::string>(key_handle);
    const std::string field = "model." + key;
    const auto integer = [&] { return nb::cast<std::int64_t>(value); };
    if (key == "width") c.width = integer();
    else if (key == "heads") c.heads = integer();
    else if (key == "head_dim") c.head_dim = integer();
    else if (key == "ff_hidden") c.ff_hidden = integer();
    else if (key == "individual_layers") c.individual_layers = integer();
    else if (key == "population_layers") c.population_layers = integer();
    else if (key == "neurons") c.neurons = integer();
    else if (key == "outputs") c.outputs = integer();
    else if (key == "dropout") c.dropout = nb::cast<double>(value);
    else if (key == "neuron_embedding") c.neuron_embedding = nb::cast<bool>(value);
    else if (key == "task") {
      const std::string task = nb::cast<std::string>(value);
      if (task != "classify" && task != "regress") throw Error::bad_input(field, task, "must be classify or regress");
      c.task = task == "classify" ? tf::Task::classify : tf::Task::regress;
    } else {
      throw Error::bad_input(field, "(set)",
                             "unknown; the model keys are width, heads, head_dim, ff_hidden, individual_layers, "
                             "population_layers, dropout, neuron_embedding, neurons, outputs, task");
    }
  }
  return c;
}

engram::data::NeuralData data_of(const Counts& counts, const std::optional<Labels>& labels,
                                 const std::optional<Behaviour>& behaviour, const tf::TransformerConfig& c,
                                 const char* what) {
  engram::data::NeuralData d;
  d.trials = static_cast<std::int64_t>(counts.shape(0));
  d.time = static_cast<std::int64_t>(counts.shape(1));
  d.neurons = static_cast<std::int64_t>(counts.shape(2));
  if (d.trials < 1 || d.time < 1 || d.neurons < 1) {
    throw Error::bad_input(std::string(what) + ".counts.shape",
                           std::to_string(d.trials) + "x" + std::to_string(d.time) + "x" + std::to_string(d.neurons),
                           "must be [trials, time, neurons], each >= 1");
  }
  d.counts.assign(counts.data(), counts.data() + counts.size());
  if (c.task == tf::Task::classify) {
    if (!labels) throw Error::bad_input(std::string(what) + ".labels", "None", "a classify model needs labels [trials]");
    if (static_cast<std::int64_t>(labels->shape(0)) != d.trials) {
      throw Error::bad_input(std::string(what) + ".labels.size", std::to_string(labels->shape(0)),
                             "must equal the number of trials, " + std::to_string(d.trials));
    }
    d.labels.assign(labels->data(), labels->data() + labels->size());
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      if (d.labels[i] < 0 || d.labels[i] >= c.outputs) {
        throw Error::bad_input(std::string(what) + ".labels[" + std::to_string(i) + "]", std::to_string(d.labels[i]),
                               "must be in [0, outputs = " + std::to_string(c.outputs) + ")");
      }
    }
    d.classes = c.outputs;
  } else {
    if (!behaviour) {
      throw Error::bad_input(std::string(what) + ".targets", "None", "a regress model needs targets [trials, time, outputs]");
    }
    if (static_cast<std::int64_t>(behaviour->shape(0)) != d.trials ||
        static_cast<std::int64_t>(behaviour->shape(1)) != d.time) {
      throw Error::bad_input(std::string(what) + ".targets.shape",
                             std::to_string(behaviour->shape(0)) + "x" + std::to_string(behaviour->shape(1)),
                             "must start with counts' [trials, time]");
    }
    d.behaviour_dim = static_cast<std::int64_t>(behaviour->shape(2));
    d.behaviour.assign(behaviour->data(), behaviour->data() + behaviour->size());
  }
  return d;
}

class PyTransformer {
 public:
  PyTransformer(const nb::dict& config, std::uint64_t seed, const std::optional<nb::object>& backend)
      : backend_(resolve_backend(backend, "cpu")), config_(config_of(config)) {
    net_ = std::make_unique<tf::SeparableTransformer>(config_, *backend_, seed);
  }

  nb::dict fit(const Counts& counts, const std::optional<Labels>& labels, const std::optional<Behaviour>& targets,
               std::int64_t steps, std::int64_t batch, double lr, double weight_decay, double clip,
               bool freeze_individual, std::uint64_t seed, const nb::object& progress) {
    const engram::data::NeuralData train = data_of(counts, labels, targets, config_, "train");
    check_neurons(train.neurons);
    tf::TrainSpec spec;
    spec.steps = steps;
    spec.batch = batch;
    spec.adam.lr = lr;
    spec.adam.weight_decay = weight_decay;
    spec.clip = clip;
    spec.freeze_individual = freeze_individual;
    PythonHooks hooks{progress, std::nullopt};
    const Progress engine_progress = hooks.engine_progress();
    tf::TrainReport report;
    hooks.run_released([&] {
      report = tf::train_model(
          *net_, train, train, spec, seed,
          [&engine_progress](std::int64_t done, std::int64_t total) {
            engine_progress.report(static_cast<std::uint64_t>(done), static_cast<std::uint64_t>(total));
          },
          [&engine_progress] { return !engine_progress.cancelled(); });
    });
    nb::dict out;
    out["losses"] = to_numpy(std::move(report.losses));
    out["train_metric"] = report.train_metric;
    return out;
  }

  nb::ndarray<nb::numpy, float> predict(const Counts& counts, std::int64_t batch) {
    const auto trials = static_cast<std::int64_t>(counts.shape(0)), time = static_cast<std::int64_t>(counts.shape(1)),
               neurons = static_cast<std::int64_t>(counts.shape(2));
    check_neurons(neurons);
    if (batch < 1) throw Error::bad_input("batch", std::to_string(batch), "must be >= 1");
    const bool classify = config_.task == tf::Task::classify;
    const std::int64_t per_trial = classify ? config_.outputs : time * config_.outputs;
    std::vector<float> all(static_cast<std::size_t>(trials * per_trial)), part;
    {
      nb::gil_scoped_release release;
      for (std::int64_t first = 0; first < trials; first += batch) {
        const std::int64_t n = std::min(batch, trials - first);
        net_->predict(counts.data() + first * time * neurons, n, time, part);
        std::copy(part.begin(), part.begin() + n * per_trial, all.begin() + first * per_trial);
      }
    }
    const auto t = static_cast<std::size_t>(trials), o = static_cast<std::size_t>(config_.outputs);
    if (classify) return owning_array(std::move(all), {t, o});
    return owning_array(std::move(all), {t, static_cast<std::size_t>(time), o});
  }

  double evaluate(const Counts& counts, const std::optional<Labels>& labels, const std::optional<Behaviour>& targets,
                  std::int64_t batch) {
    const engram::data::NeuralData data = data_of(counts, labels, targets, config_, "data");
    check_neurons(data.neurons);
    nb::gil_scoped_release release;
    return tf::evaluate(*net_, data, batch);
  }

  nb::ndarray<nb::numpy, float, nb::ndim<1>> params() const { return to_numpy(net_->params()); }

  void set_params(const Flat& values) {
    const auto total = net_->layout().total;
    if (static_cast<std::int64_t>(values.shape(0)) != total) {
      throw Error::bad_input("params.size", std::to_string(values.shape(0)),
                             "must equal the model's parameter count, " + std::to_string(total));
    }
    net_->set_params(std::vector<float>(values.data(), values.data() + values.size()));
  }

  // [(name, shape, offset)] of every tensor, in the flat vector's order.
  nb::list layout() const {
    nb::list out;
    for (const auto& t : net_->layout().tensors) {
      nb::list shape;
      for (std::int64_t s : t.shape) shape.append(s);
      out.append(nb::make_tuple(nb::str(t.name.c_str()), nb::tuple(shape), t.slice.offset));
    }
    return out;
  }

  nb::dict config() const {
    nb::dict d;
    d["width"] = config_.width;
    d["heads"] = config_.heads;
    d["head_dim"] = config_.head_dim;
    d["ff_hidden"] = config_.ff_hidden;
    d["individual_layers"] = config_.individual_layers;
    d["population_layers"] = config_.population_layers;
    d["dropout"] = config_.dropout;
    d["neuron_embedding"] = config_.neuron_embedding;
    d["neurons"] = config_.neurons;
    d["outputs"] = config_.outputs;
    d["task"] = config_.task == tf::Task::classify ? "classify" : "regress";
    return d;
  }

 private:
  void check_neurons(std::int64_t neurons) const {
    if (config_.neuron_embedding && neurons != config_.neurons) {
      throw Error::bad_input("counts.shape[2]", std::to_string(neurons),
                             "must equal model.neurons, " + std::to_string(config_.neurons) +
                                 " (the neuron embedding has one row per neuron)");
    }
  }

  std::shared_ptr<Backend> backend_;  // outlives net_
  tf::TransformerConfig config_;
  std::unique_ptr<tf::SeparableTransformer> net_;
};

}  // namespace

void register_transformer(nb::module_& m) {
  nb::class_<PyTransformer>(m, "_Transformer")
      .def(nb::init<const nb::dict&, std::uint64_t, const std::optional<nb::object>&>(), "config"_a, "seed"_a,
           "backend"_a = nb::none())
      .def("fit", &PyTransformer::fit, "counts"_a, "labels"_a.none(), "targets"_a.none(), "steps"_a, "batch"_a,
           "lr"_a, "weight_decay"_a, "clip"_a, "freeze_individual"_a, "seed"_a, "progress"_a.none())
      .def("predict", &PyTransformer::predict, "counts"_a, "batch"_a)
      .def("evaluate", &PyTransformer::evaluate, "counts"_a, "labels"_a.none(), "targets"_a.none(), "batch"_a)
      .def("params", &PyTransformer::params)
      .def("set_params", &PyTransformer::set_params, "values"_a)
      .def("layout", &PyTransformer::layout)
      .def("config", &PyTransformer::config);
}

}  // namespace engram::py
