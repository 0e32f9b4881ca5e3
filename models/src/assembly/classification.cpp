#include "engram/models/assembly/classification.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/brain_chunks.hpp"
#include "engram/models/assembly/brain_config.hpp"
#include "engram/models/assembly/exact_batch.hpp"

namespace engram::assembly {

namespace {
const char* const kInput = "input";
const char* const kClass = "class";
const char* const kBias = "bias";

std::uint32_t shared(const std::vector<NeuronId>& a, const std::vector<NeuronId>& b) {
  std::uint32_t count = 0;
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i < *j) ++i;
    else if (*j < *i) ++j;
    else { ++count; ++i; ++j; }
  }
  return count;
}

std::string indexed(const char* name, std::size_t i) {
  std::string s(name);
  s.append("[").append(to_text(i)).append("]");
  return s;
}
}  // namespace

// ---- ClassifierConfig ----

void ClassifierConfig::validate() const {
  if (features == 0) throw Error::bad_input("features", "0", "the input area needs at least 1 neuron");
  if (n == 0) throw Error::bad_input("n", "0", "must be at least 1");
  if (k == 0 || k > n) throw Error::bad_input("k", to_text(k), "must be in [1, n = " + to_text(n) + "]");
  if (!(p > 0.0 && p <= 1.0)) throw Error::bad_input("p", to_text(p), "must be in (0, 1]");
  if (!(beta >= 0.0) || !std::isfinite(beta)) throw Error::bad_input("beta", to_text(beta), "must be a finite number >= 0");
  if (rounds == 0) throw Error::bad_input("train.rounds", "0", "must be at least 1");
  if (classify_steps == 0) throw Error::bad_input("test.steps", "0", "must be at least 1");
  if (mode == GraphMode::lazy) {
    throw Error::bad_input("mode", "lazy", "classification runs the exact modes (implicit, explicit)");
  }
  if (normalise && mode != GraphMode::explicit_graph) {
    throw Error::bad_input("normalise", "true", "needs mode: explicit (normalising a neuron's in-edges needs every edge stored)");
  }
  if (!std::isfinite(formed_bias) || std::abs(formed_bias) > 1000.0) {
    throw Error::bad_input("train.bias", to_text(formed_bias), "must be a finite number in [-1000, 1000]");
  }
}

BrainSpec ClassifierConfig::brain_spec() const {
  validate();
  BrainSpec spec;
  spec.areas = {AreaSpec{kInput, features, features}, AreaSpec{kClass, n, k, self_loops}};
  spec.fibers = {FiberSpec{kInput, kClass, beta}};
  if (recurrence) spec.fibers.emplace_back(kClass, kClass, beta);
  if (formed_bias != 0.0) {
    spec.stimuli = {StimulusSpec{kBias, 1}};
    spec.fibers.emplace_back(kBias, kClass, 0.0, 1.0);
  }
  spec.p = p;
  spec.mode = mode;
  return spec;
}

// ---- Classifier ----

Classifier::Classifier(Backend& backend, ClassifierConfig config, std::vector<BrainId> brains)
    : config_(std::move(config)), batch_(make_batch(backend, config_.brain_spec(), std::move(brains))) {
  if (config_.normalise) normalise_fibers();
  if (config_.formed_bias != 0.0) {
    // No bias until a class assembly has formed.
    bias_.assign(batch_->size(), std::vector<float>(config_.n, 0.0f));
    for (std::size_t b = 0; b < batch_->size(); ++b) upload_bias(b);
  }
}

void Classifier::normalise_fibers() {
  auto& exact = dynamic_cast<ExactBatch&>(*batch_);
  exact.normalise_fiber(exact.fiber_index(kInput, kClass), 1.0);
  if (config_.recurrence) exact.normalise_fiber(exact.fiber_index(kClass, kClass), 1.0);
}

void Classifier::upload_bias(std::size_t brain) {
  auto& exact = dynamic_cast<ExactBatch&>(*batch_);
  exact.set_row_weights(brain, exact.fiber_index(kBias, kClass), 0, bias_[brain]);
}

void Classifier::frequent_assemblies(const std::vector<std::vector<std::vector<Sample>>>& samples) {
  const std::size_t B = batch_->size();
  std::vector<const Sample*> step(B);
  std::vector<std::vector<std::uint32_t>> fired(B);
  std::vector<NeuronId> order(config_.n);
  for (std::uint32_t c = 0; c < classes_; ++c) {
    for (auto& f : fired) f.assign(config_.n, 0);
    for (std::size_t i = 0; i < samples[0][c].size(); ++i) {
      for (std::size_t b = 0; b < B; ++b) step[b] = &samples[b][c][i];
      for (std::uint32_t s = 0; s < config_.classify_steps; ++s) present(step, s == 0);
      for (std::size_t b = 0; b < B; ++b) {
        for (const NeuronId j : batch_->winners(b, kClass)) ++fired[b][j];
      }
    }
    for (std::size_t b = 0; b < B; ++b) {
      std::iota(order.begin(), order.end(), NeuronId{0});
      const std::vector<std::uint32_t>& count = fired[b];
      std::partial_sort(order.begin(), order.begin() + config_.k, order.end(),
                        [&](NeuronId x, NeuronId y) { return count[x] != count[y] ? count[x] > count[y] : x < y; });
      std::vector<NeuronId> assembly(order.begin(), order.begin() + config_.k);
      std::sort(assembly.begin(), assembly.end());
      assemblies_[b][c] = std::move(assembly);
    }
  }
}

void Classifier::present(const std::vector<const Sample*>& per_brain, bool first_step) {
  std::vector<std::vector<NeuronId>> firing;
  firing.reserve(per_brain.size());
  for (const Sample* s : per_brain) firing.push_back(*s);
  batch_->set_firing(kInput, firing);
  // A new sample's first step is driven by the input alone; the class area's previous winners
  // (another class's assembly, or the previous test sample's) must not vote.
  if (config_.recurrence) {
    if (first_step) batch_->inhibit_fiber(kClass, kClass);
    else batch_->disinhibit_fiber(kClass, kClass);
  }
  batch_->project();
}

void Classifier::train(const std::vector<std::vector<std::vector<Sample>>>& samples) {
  const std::size_t B = batch_->size();
  if (samples.size() != B) {
    throw Error::bad_input("samples", to_text(samples.size()) + " brains", "needs one entry per brain (" + to_text(B) + ")");
  }
  const std::size_t classes = samples[0].size();
  if (classes < 2) throw Error::bad_input("samples[0]", to_text(classes) + " classes", "needs at least 2 classes");
  for (std::size_t b = 0; b < B; ++b) {
    if (samples[b].size() != classes) {
      throw Error::bad_input(indexed("samples", b), to_text(samples[b].size()) + " classes",
                             "every brain needs the same number of classes (" + to_text(classes) + ")");
    }
    for (std::size_t c = 0; c < classes; ++c) {
      if (samples[b][c].empty() || samples[b][c].size() != samples[0][c].size()) {
        throw Error::bad_input(indexed("samples", b) + indexed("", c), to_text(samples[b][c].size()) + " samples",
                               "every brain needs the same, non-zero number of samples of a class (brain 0 has " +
                                   to_text(samples[0][c].size()) + ")");
      }
    }
  }
  classes_ = static_cast<std::uint32_t>(classes);
  assemblies_.assign(B, std::vector<std::vector<NeuronId>>(classes));
  batch_->set_plasticity(true);
  std::vector<const Sample*> step(B);
  const bool designated = config_.assemblies == ClassifierConfig::Assemblies::designated;
  if (designated && classes * config_.k > config_.n) {
    throw Error::bad_input("train.assemblies", "designated",
                           "needs classes * k = " + to_text(classes * config_.k) + " <= n = " + to_text(config_.n));
  }
  for (std::size_t c = 0; c < classes; ++c) {
    if (designated) {
      batch_->activate(kClass, static_cast<std::uint32_t>(c));
      batch_->fix(kClass);
    }
    bool first = true;
    for (std::uint32_t round = 0; round < config_.rounds; ++round) {
      for (std::size_t i = 0; i < samples[0][c].size(); ++i) {
        for (std::size_t b = 0; b < B; ++b) step[b] = &samples[b][c][i];
        present(step, first);
        first = false;
      }
    }
    if (designated) batch_->unfix(kClass);
    for (std::size_t b = 0; b < B; ++b) assemblies_[b][c] = batch_->winners(b, kClass);
    if (config_.formed_bias != 0.0) {
      for (std::size_t b = 0; b < B; ++b) {
        for (const NeuronId j : assemblies_[b][c]) bias_[b][j] += static_cast<float>(config_.formed_bias);
        upload_bias(b);
      }
    }
    if (config_.normalise) normalise_fibers();
  }
  // The bias shapes training only; test samples see the learned weights alone.
  if (config_.formed_bias != 0.0) batch_->inhibit(kBias);
  if (config_.readout == ClassifierConfig::Readout::frequent) {
    batch_->set_plasticity(false);
    frequent_assemblies(samples);
  }
}

std::vector<Prediction> Classifier::classify(const std::vector<Sample>& per_brain) {
  if (classes_ == 0) throw Error::bad_input("classify", "(untrained)", "call train() first");
  const std::size_t B = batch_->size();
  if (per_brain.size() != B) {
    throw Error::bad_input("samples", to_text(per_brain.size()) + " samples", "needs one sample per brain (" + to_text(B) + ")");
  }
  batch_->set_plasticity(false);
  std::vector<const Sample*> step(B);
  for (std::size_t b = 0; b < B; ++b) step[b] = &per_brain[b];
  for (std::uint32_t s = 0; s < config_.classify_steps; ++s) present(step, s == 0);
  std::vector<Prediction> predictions(B);
  for (std::size_t b = 0; b < B; ++b) {
    const std::vector<NeuronId> winners = batch_->winners(b, kClass);
    Prediction& p = predictions[b];
    p.overlap.resize(classes_);
    for (std::uint32_t c = 0; c < classes_; ++c) {
      p.overlap[c] = shared(winners, assemblies_[b][c]);
      if (p.overlap[c] > p.overlap[p.label]) p.label = c;
    }
  }
  return predictions;
}

const std::vector<NeuronId>& Classifier::assembly(std::size_t brain, std::uint32_t cls) const {
  if (brain >= assemblies_.size() || cls >= classes_) {
    throw Error::bad_input("assembly", to_text(brain) + ", " + to_text(cls), "no such brain or class (train first)");
  }
  return assemblies_[brain][cls];
}

// ---- Experiment ----

namespace {

double probability(const io::ConfigNode& node, const std::string& key, double fallback, bool zero_ok) {
  const double v = node.optional<double>(key, fallback);
  if (!(zero_ok ? v >= 0.0 : v > 0.0) || !(v <= 1.0)) {
    throw Error::bad_input(node.field(key), to_text(v), zero_ok ? "must be in [0, 1]" : "must be in (0, 1]");
  }
  return v;
}
}  // namespace

ClassificationExperiment parse_classification(const io::ConfigNode& config, const std::filesystem::path& config_dir) {
  const io::ConfigNode root = config_dir.empty() ? config : config.with_base_dir(config_dir.string());
  root.allow_keys({"experiment", "backend", "mode", "seed", "brains", "batch_size", "n", "k", "p", "beta",
                   "recurrence", "self_loops", "normalise", "train", "test", "data"});
  ClassificationExperiment e;
  const std::string kind = root.required<std::string>("experiment");
  if (kind != "classify") throw Error::bad_input("experiment", kind, "must be classify");
  e.backend = root.optional<std::string>("backend", "auto");
  if (e.backend != "cpu" && e.backend != "cuda" && e.backend != "auto") {
    throw Error::bad_input("backend", e.backend, "must be one of cpu, cuda, auto");
  }
  ClassifierConfig& c = e.classifier;
  const std::string mode = root.optional<std::string>("mode", "implicit");
  if (mode == "implicit") c.mode = GraphMode::implicit_graph;
  else if (mode == "explicit") c.mode = GraphMode::explicit_graph;
  else throw Error::bad_input("mode", mode, "must be implicit or explicit (classification runs the exact modes)");
  e.seed = root.optional<std::uint64_t>("seed", 0);
  e.brains = positive_count(root, "brains", 1);
  e.batch_size = std::min(positive_count(root, "batch_size", e.brains), e.brains);

  c.n = root.required<std::uint32_t>("n");
  c.k = root.required<std::uint32_t>("k");
  if (c.n == 0) throw Error::bad_input("n", "0", "must be at least 1");
  if (c.k == 0 || c.k > c.n) throw Error::bad_input("k", to_text(c.k), "must be in [1, n = " + to_text(c.n) + "]");
  root.child("p");  // required
  c.p = probability(root, "p", 0.0, false);
  c.beta = root.required<double>("beta");
  if (!(c.beta >= 0.0) || !std::isfinite(c.beta)) throw Error::bad_input("beta", to_text(c.beta), "must be a finite number >= 0");
  c.recurrence = root.optional<bool>("recurrence", true);
  c.self_loops = root.optional<bool>("self_loops", true);
  c.normalise = root.optional<bool>("normalise", false);
  if (c.normalise && c.mode != GraphMode::explicit_graph) {
    throw Error::bad_input("normalise", "true", "needs mode: explicit (normalising a neuron's in-edges needs every edge stored)");
  }

  const io::ConfigNode train = root.child("train");
  train.allow_keys({"samples_per_class", "rounds", "assemblies", "bias", "readout"});
  train.child("samples_per_class");
  e.train_per_class = positive_count(train, "samples_per_class", 0);
  c.rounds = positive_count(train, "rounds", 1);
  const std::string assemblies = train.optional<std::string>("assemblies", "formed");
  if (assemblies == "formed") c.assemblies = ClassifierConfig::Assemblies::formed;
  else if (assemblies == "designated") c.assemblies = ClassifierConfig::Assemblies::designated;
  else throw Error::bad_input(train.field("assemblies"), assemblies, "must be formed or designated");
  c.formed_bias = train.optional<double>("bias", 0.0);
  if (!std::isfinite(c.formed_bias) || std::abs(c.formed_bias) > 1000.0) {
    throw Error::bad_input(train.field("bias"), to_text(c.formed_bias), "must be a finite number in [-1000, 1000]");
  }
  const std::string readout = train.optional<std::string>("readout", "winners");
  if (readout == "winners") c.readout = ClassifierConfig::Readout::winners;
  else if (readout == "frequent") c.readout = ClassifierConfig::Readout::frequent;
  else throw Error::bad_input(train.field("readout"), readout, "must be winners or frequent");
  const io::ConfigNode test = root.child("test");
  test.allow_keys({"samples_per_class", "steps"});
  test.child("samples_per_class");
  e.test_per_class = positive_count(test, "samples_per_class", 0);
  c.classify_steps = positive_count(test, "steps", 1);

  const io::ConfigNode data = root.child("data");
  const std::string data_kind = data.required<std::string>("kind");
  if (data_kind == "synthetic") {
    data.allow_keys({"kind", "features", "classes", "core", "r", "q"});
    e.data.kind = ClassificationData::Kind::synthetic;
    SyntheticClasses& s = e.data.synthetic;
    s.features = data.required<std::uint32_t>("features");
    s.classes = data.optional<std::uint32_t>("classes", 2);
    s.core = data.required<std::uint32_t>("core");
    data.child("r");  // required
    s.r = probability(data, "r", 0.0, false);
    data.child("q");  // required
    s.q = probability(data, "q", 0.0, true);
    s.validate(data.path() + ".");
    c.features = s.features;
  } else if (data_kind == "idx") {
    data.allow_keys({"kind", "images", "labels", "threshold", "replicas", "off_features", "classes", "blur", "top"});
    e.data.kind = ClassificationData::Kind::idx;
    e.data.images = data.existing_file("images");
    e.data.labels = data.existing_file("labels");
    const auto threshold = data.optional<std::uint32_t>("threshold", 128);
    if (threshold == 0 || threshold > 255) {
      throw Error::bad_input(data.field("threshold"), to_text(threshold), "must be in [1, 255] (a pixel fires when >= threshold)");
    }
    e.data.encoding.threshold = threshold;
    e.data.encoding.replicas = positive_count(data, "replicas", 1);
    e.data.encoding.off_features = data.optional<bool>("off_features", false);
    e.data.encoding.blur = data.optional<bool>("blur", false);
    e.data.encoding.top = data.optional<std::uint32_t>("top", 0);
    if (e.data.encoding.top > 0 && data.has("threshold")) {
      throw Error::bad_input(data.field("threshold"), to_text(threshold), "conflicts with data.top (top fires the brightest pixels instead)");
    }
    e.data.classes = data.optional<std::uint32_t>("classes", 0);
    if (e.data.classes == 1) throw Error::bad_input(data.field("classes"), "1", "must be at least 2 (0: every label)");
    c.features = 1;  // known once the images are read; checked again then
  } else {
    throw Error::bad_input(data.field("kind"), data_kind, "must be synthetic or idx");
  }
  c.validate();
  return e;
}

void run_classification(const ClassificationExperiment& experiment, Backend& backend, const ClassificationSink& sink,
                        const Progress& progress) {
  const ClassificationData& data = experiment.data;
  const bool synthetic = data.kind == ClassificationData::Kind::synthetic;
  ClassifierConfig config = experiment.classifier;
  std::optional<FeatureSamples> images;
  std::uint32_t classes = 0;
  if (synthetic) {
    data.synthetic.validate("data.");
    classes = data.synthetic.classes;
    config.features = data.synthetic.features;
  } else {
    images = encode_images(load_idx(data.images, data.labels), data.encoding);
    classes = data.classes == 0 ? images->classes : data.classes;
    if (classes < 2) throw Error::bad_input("data.labels", data.labels, "holds fewer than 2 classes");
    config.features = images->features;
  }
  config.validate();

  const std::uint32_t train = experiment.train_per_class, test = experiment.test_per_class;
  const std::uint64_t per_brain = std::uint64_t{classes} * (std::uint64_t{train} * config.rounds + std::uint64_t{test} * config.classify_steps);
  const std::uint64_t total = per_brain * experiment.brains;
  std::uint64_t done = 0;
  for_each_brain_chunk(experiment.seed, experiment.brains, experiment.batch_size, [&](std::uint32_t first, const std::vector<BrainId>& ids) {
    const auto count = static_cast<std::uint32_t>(ids.size());

    // Per brain: the class cores (synthetic) or the train/test split (images).
    std::vector<std::vector<std::vector<NeuronId>>> cores(count);
    std::vector<Split> splits(count);
    std::vector<std::vector<std::vector<Sample>>> training(count, std::vector<std::vector<Sample>>(classes));
    for (std::uint32_t b = 0; b < count; ++b) {
      for (std::uint32_t c = 0; c < classes; ++c) {
        if (synthetic) {
          cores[b].push_back(synthetic_core(data.synthetic, ids[b], c));
          for (std::uint32_t i = 0; i < train; ++i) {
            training[b][c].push_back(synthetic_sample(data.synthetic, cores[b][c], ids[b], c, SampleSplit::train, i));
          }
        }
      }
      if (!synthetic) {
        splits[b] = split_per_class(images->labels, classes, train, test, ids[b]);
        for (std::uint32_t c = 0; c < classes; ++c) {
          for (const std::uint32_t i : splits[b].train[c]) training[b][c].push_back(images->samples[i]);
        }
      }
    }

    Classifier classifier(backend, config, ids);
    classifier.train(training);
    done += count * std::uint64_t{classes} * train * config.rounds;
    progress.step(done, total);

    std::vector<std::uint32_t> correct(count, 0);
    std::vector<Sample> step(count);
    for (std::uint32_t j = 0; j < test; ++j) {
      for (std::uint32_t c = 0; c < classes; ++c) {
        for (std::uint32_t b = 0; b < count; ++b) {
          step[b] = synthetic ? synthetic_sample(data.synthetic, cores[b][c], ids[b], c, SampleSplit::test, j)
                              : images->samples[splits[b].test[c][j]];
        }
        const std::vector<Prediction> predictions = classifier.classify(step);
        for (std::uint32_t b = 0; b < count; ++b) correct[b] += predictions[b].label == c ? 1u : 0u;
        done += std::uint64_t{count} * config.classify_steps;
        progress.step(done, total);
      }
    }

    for (std::uint32_t b = 0; b < count; ++b) {
      ClassificationRecord r;
      r.brain = first + b;
      r.seed = experiment.seed;
      r.classes = classes;
      r.train_per_class = train;
      r.tested = classes * test;
      r.correct = correct[b];
      r.accuracy = static_cast<double>(correct[b]) / static_cast<double>(r.tested);
      double pairs = 0, overlap = 0;
      for (std::uint32_t i = 0; i < classes; ++i) {
        for (std::uint32_t j = i + 1; j < classes; ++j) {
          overlap += static_cast<double>(shared(classifier.assembly(b, i), classifier.assembly(b, j))) / config.k;
          pairs += 1;
        }
      }
      r.assembly_overlap = overlap / pairs;
      sink(r);
    }
  });
}

}  // namespace engram::assembly
