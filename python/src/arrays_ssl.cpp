// engram.nn.SwapVAE and engram.nn.MYOW: the self-supervised reach models (models/ssl) as Python
// objects on arrays. One object is one run: fit trains it on every trial given (a fresh
// optimiser, starting from the current parameters once there are any), encode applies its
// eval-mode encoder to new counts, and its state (parameters, running statistics, MYOW's target
// and standardisation) crosses to Python as flat vectors with a named layout that engram/_ssl.py
// turns into torch-style state dicts and NPZ files.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/ssl/model_state.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/reach_runs.hpp"
#include "engram/models/ssl/ssl_kinds.hpp"
#include "engram/models/ssl/swap_vae.hpp"
#include "py_support.hpp"

namespace engram::py {

namespace {

using namespace nb::literals;
namespace ssl = engram::ssl;

using Counts = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using TrialIds = nb::ndarray<const std::int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Flat = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// The `model:` and `train:` sections as JSON text (engram._config.to_json), read by the job
// kinds' own parsers so keys, ranges and error messages are the YAML ones.
io::ConfigNode section(const std::string& json, const char* name) {
  return io::ConfigNode(io::load_config_string(json, name).yaml(), name);
}

std::vector<float> flat_of(const Flat& a) { return {a.data(), a.data() + a.size()}; }

class PySslModel {
 public:
  PySslModel(const std::string& kind, const std::string& model_json, const std::optional<nb::object>& backend)
      : backend_(resolve_backend(backend, "cpu")), kind_(kind), model_json_(model_json) {
    if (kind_ != "swap_vae" && kind_ != "myow") throw Error::internal("PySslModel: unknown kind " + kind_);
    defaults_ = parse("{}");  // the model keys, checked now rather than at the first fit
  }

  nb::dict fit(const Counts& counts, const TrialIds& trial, const std::string& train_json, std::uint64_t seed,
               const nb::object& progress) {
    ssl::ReachData data;
    data.bins = static_cast<std::int64_t>(counts.shape(0));
    data.neurons = static_cast<std::int64_t>(counts.shape(1));
    if (static_cast<std::int64_t>(trial.shape(0)) != data.bins) {
      throw Error::bad_input("trial.size", std::to_string(trial.shape(0)),
                             "must equal the number of bins, counts.shape[0] = " + std::to_string(data.bins));
    }
    if (neurons_ > 0 && data.neurons != neurons_) {
      throw Error::bad_input("counts.shape[1]", std::to_string(data.neurons),
                             "must equal the model's neurons, " + std::to_string(neurons_));
    }
    data.counts.assign(counts.data(), counts.data() + counts.size());
    data.trial.assign(trial.data(), trial.data() + trial.size());
    data.direction.assign(static_cast<std::size_t>(data.bins), 0);  // fit is unsupervised
    ssl::finish_reach_data(data, "data");
    const Parsed cfg = parse(train_json);
    const ssl::ReachRuns runs(data, {seed}, 0.0);
    if (runs.split(0).train_trials.size() < 2 && kind_ == "myow") {
      throw Error::bad_input("trial", std::to_string(data.trials) + " trial(s)",
                             "MYOW mines views across trials: it needs at least 2");
    }
    PythonHooks hooks{progress, std::nullopt};
    const Progress engine_progress = hooks.engine_progress();
    const auto report = [&engine_progress](std::int64_t done, std::int64_t total) {
      engine_progress.report(static_cast<std::uint64_t>(done), static_cast<std::uint64_t>(total));
    };
    const auto keep_going = [&engine_progress] { return !engine_progress.cancelled(); };
    ssl::SslRecord record;
    hooks.run_released([&] {
      if (kind_ == "swap_vae") {
        ssl::SwapVaeModel<float> model(cfg.swap, runs, *backend_);
        if (!state_.params.empty()) model.load_run(0, state_);
        record = ssl::train_swap_vae(model, report, keep_going);
        state_ = model.save_run(0);
      } else {
        ssl::MyowModel<float> model(cfg.myow, runs, *backend_);
        if (!state_.params.empty()) model.load_run(0, state_);
        record = ssl::train_myow(model, report, keep_going);
        state_ = model.save_run(0);
      }
      neurons_ = data.neurons;
    });
    const auto& curves = record.curves.front();
    std::vector<double> flat;
    for (const auto& epoch : curves) flat.insert(flat.end(), epoch.begin(), epoch.end());
    nb::list names;
    for (const auto& n : record.curve_names) names.append(nb::str(n.c_str()));
    nb::dict out;
    out["curves"] = owning_array(std::move(flat), {curves.size(), record.curve_names.size()});
    out["curve_names"] = names;
    return out;
  }

  // The encoder's whole eval-mode output per bin: Swap-VAE's [content, style mean, style
  // log-variance], MYOW's representation.
  nb::ndarray<nb::numpy, float> encode(const Counts& counts) {
    require_state("encode");
    if (static_cast<std::int64_t>(counts.shape(1)) != neurons_) {
      throw Error::bad_input("counts.shape[1]", std::to_string(counts.shape(1)),
                             "must equal the model's neurons, " + std::to_string(neurons_));
    }
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (!std::isfinite(counts.data()[i])) {
        throw Error::bad_input("counts[" + std::to_string(i / static_cast<std::size_t>(neurons_)) + ", " +
                                   std::to_string(i % static_cast<std::size_t>(neurons_)) + "]",
                               to_text(counts.data()[i]), "must be finite");
      }
    }
    const auto rows = static_cast<std::int64_t>(counts.shape(0));
    const ssl::MlpSpec spec = encoder_spec();
    std::vector<float> out;
    {
      nb::gil_scoped_release release;
      out = ssl::encode_rows(*backend_, spec, state_, counts.data(), rows, kind_ == "myow");
    }
    return owning_array(std::move(out), {static_cast<std::size_t>(rows), static_cast<std::size_t>(spec.dims.back())});
  }

  // [(name, shape, store, offset)] for a model on `neurons` inputs.
  nb::list layout(std::int64_t neurons) const {
    nb::list out;
    for (const auto& t : tensors(neurons)) {
      nb::list shape;
      for (std::int64_t s : t.shape) shape.append(s);
      const char* store = t.store == ssl::StateStore::params ? "params" : t.store == ssl::StateStore::stats ? "stats" : "target";
      out.append(nb::make_tuple(nb::str(t.name.c_str()), nb::tuple(shape), nb::str(store), t.offset));
    }
    return out;
  }

  std::int64_t neurons() const { return neurons_; }
  std::int64_t encoder_width() const { return encoder_spec().dims.back(); }

  nb::dict state() const {
    require_state("state");
    nb::dict d;
    d["params"] = to_numpy(state_.params);
    d["stats"] = to_numpy(state_.stats);
    d["target"] = to_numpy(state_.target);
    d["mean"] = to_numpy(state_.mean);
    d["inv_std"] = to_numpy(state_.inv_std);
    return d;
  }

  // Sizes are checked here against a model of this config on `neurons` inputs, so a later fit
  // or encode cannot meet a state of another shape.
  void set_state(std::int64_t neurons, const Flat& params, const Flat& stats, const Flat& target, const Flat& mean,
                 const Flat& inv_std) {
    std::int64_t want_params = 0, want_stats = 0;
    for (const auto& t : tensors(neurons)) {
      std::int64_t size = 1;
      for (std::int64_t extent : t.shape) size *= extent;
      const std::int64_t end = t.offset + size;
      if (t.store == ssl::StateStore::params) want_params = std::max(want_params, end);
      if (t.store == ssl::StateStore::stats) want_stats = std::max(want_stats, end);
    }
    const auto check = [](const char* what, std::size_t got, std::int64_t want) {
      if (static_cast<std::int64_t>(got) != want) {
        throw Error::bad_input(what, std::to_string(got) + " values", "the model needs " + std::to_string(want));
      }
    };
    check("state.params", params.size(), want_params);
    check("state.stats", stats.size(), want_stats);
    check("state.target", target.size(), kind_ == "myow" ? want_params : 0);
    check("state.mean", mean.size(), neurons);
    check("state.inv_std", inv_std.size(), neurons);
    state_ = {flat_of(params), flat_of(stats), flat_of(target), flat_of(mean), flat_of(inv_std)};
    neurons_ = neurons;
  }

 private:
  struct Parsed {
    ssl::SwapVaeConfig swap;
    ssl::MyowConfig myow;
  };

  Parsed parse(const std::string& train_json) const {
    const io::ConfigNode model = section(model_json_, "model"), train = section(train_json, "train");
    Parsed p;
    if (kind_ == "swap_vae") p.swap = ssl::swap_vae_config(model, train);
    else p.myow = ssl::myow_config(model, train);
    return p;
  }

  ssl::MlpSpec encoder_spec() const {
    return kind_ == "swap_vae" ? ssl::SwapVaeModel<float>::encoder_spec(defaults_.swap, neurons_)
                               : ssl::MyowModel<float>::encoder_spec(defaults_.myow, neurons_);
  }

  std::vector<ssl::NamedTensor> tensors(std::int64_t neurons) const {
    if (neurons < 1) throw Error::bad_input("neurons", std::to_string(neurons), "must be >= 1");
    return kind_ == "swap_vae" ? ssl::SwapVaeModel<float>::tensors(defaults_.swap, neurons, *backend_)
                               : ssl::MyowModel<float>::tensors(defaults_.myow, neurons, *backend_);
  }

  void require_state(const char* call) const {
    if (state_.params.empty()) {
      throw Error::bad_input(call, "an untrained model", "fit the model or load a state first");
    }
  }

  std::shared_ptr<Backend> backend_;
  std::string kind_, model_json_;
  Parsed defaults_;  // the model keys with the train section's defaults (encoder and layout read only model keys)
  std::int64_t neurons_ = 0;
  ssl::RunState state_;
};

}  // namespace

void register_ssl(nb::module_& m) {
  nb::class_<PySslModel>(m, "_SslModel")
      .def(nb::init<const std::string&, const std::string&, const std::optional<nb::object>&>(), "kind"_a,
           "model_json"_a, "backend"_a = nb::none())
      .def("fit", &PySslModel::fit, "counts"_a, "trial"_a, "train_json"_a, "seed"_a, "progress"_a.none())
      .def("encode", &PySslModel::encode, "counts"_a)
      .def("layout", &PySslModel::layout, "neurons"_a)
      .def("neurons", &PySslModel::neurons)
      .def("encoder_width", &PySslModel::encoder_width)
      .def("state", &PySslModel::state)
      .def("set_state", &PySslModel::set_state, "neurons"_a, "params"_a, "stats"_a, "target"_a, "mean"_a,
           "inv_std"_a);
}

}  // namespace engram::py
