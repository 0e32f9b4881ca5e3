#include "engram/models/plasticity/plasticity_jobs.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <optional>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/plasticity/adversarial.hpp"
#include "engram/models/plasticity/gradient_training.hpp"
#include "engram/models/plasticity/meta_learning.hpp"
#include "engram/models/plasticity/plastic_data.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

namespace {

// The brain every evaluation (rule-trained and gradient-trained) starts from; meta-learning
// problem i uses brain i, so evaluation never reuses a meta-training brain's graph.
constexpr std::uint32_t kEvalBrain = 0xFFFF0000u;
// Data streams of synthetic sets: meta-learning problem i draws stream i.
constexpr std::uint32_t kTrainStream = 0xF0000000u, kTestStream = 0xF0000001u;
// With meta.score: fresh, problem i is scored on stream kScoreStreams + i.
constexpr std::uint32_t kScoreStreams = 0x40000000u;

struct DataSpec {
  std::string field;
  std::string kind = "halfspace";
  std::uint32_t inputs = 20, labels = 2, hidden = 16;
  std::string images, label_file, test_images, test_label_file;
  std::uint32_t train_examples = 0, test_examples = 0;  // 0: the kind's default
  // Image sets: standardize (per-pixel z-scores of the training part) or unit (pixels / the
  // brightest pixel, in [0, 1]: the MNIST scaling of Cristian et al.).
  bool standardize = true;
};

struct Config {
  std::uint64_t seed = 1;
  PlasticShape net;
  // rule
  double eta = 0.1;
  plasticity::RuleMode mode = plasticity::RuleMode::additive;
  bool only_misclassified = true;
  std::string init = "random";
  double init_scale = 0.1;
  std::vector<double> table;
  // meta
  std::string method = "exact";
  MetaTraining meta;
  std::uint32_t meta_batch = 100;
  bool score_fresh = false;
  bool learn[3] = {true, true, true};  // recurrent, input, output
  SelectionOptions selection;         // method: selection
  // evaluation
  DataSpec data;
  std::vector<DataSpec> transfer;
  std::uint32_t epochs = 1;
  bool baseline = true;
  GradientTraining gradient;
  // robustness
  std::vector<Attack> attacks{Attack::fgsm, Attack::pgd};
  std::vector<double> epsilons{0.0, 0.05, 0.1, 0.2, 0.3, 0.5};
  std::uint32_t pgd_steps = 10;
  std::uint32_t targeted_steps = 100;
  std::uint32_t attack_examples = 200;
  Norm attack_norm = Norm::linf;
  double clip_lower = -std::numeric_limits<double>::infinity(), clip_upper = std::numeric_limits<double>::infinity();
  // Attack only the test examples that every model classifies correctly (Cristian et al.'s
  // protocol): each curve then starts at 100% and measures robustness apart from clean accuracy.
  bool only_correct = false;
};

std::vector<double> numbers(const io::ConfigNode& node, const std::string& key) {
  std::vector<double> out;
  for (const io::ConfigNode& e : node.list(key)) out.push_back(e.number());
  return out;
}

DataSpec parse_data(const io::ConfigNode& node) {
  DataSpec d;
  d.field = node.path();
  node.allow_keys({"kind", "inputs", "labels", "hidden", "images", "label_file", "test_images", "test_label_file",
                   "train_examples", "test_examples", "scale"});
  d.kind = node.optional<std::string>("kind", "halfspace");
  if (d.kind != "halfspace" && d.kind != "relu_teacher" && d.kind != "plastic_teacher" && d.kind != "digits" && d.kind != "idx") {
    throw Error::bad_input(node.field("kind"), d.kind, "must be halfspace, relu_teacher, plastic_teacher, digits or idx");
  }
  d.inputs = node.optional<std::uint32_t>("inputs", 20);
  d.labels = node.optional<std::uint32_t>("labels", 2);
  d.hidden = node.optional<std::uint32_t>("hidden", 16);
  if (d.kind == "idx") {
    d.images = node.file_path("images");
    d.label_file = node.file_path("label_file");
    d.test_images = node.has("test_images") ? node.file_path("test_images") : "";
    d.test_label_file = node.has("test_label_file") ? node.file_path("test_label_file") : "";
    if (d.test_images.empty() != d.test_label_file.empty()) {
      throw Error::bad_input(node.field("test_images"), d.test_images, "test_images and test_label_file go together");
    }
  }
  const std::string scale = node.optional<std::string>("scale", "standardize");
  if (scale != "standardize" && scale != "unit") throw Error::bad_input(node.field("scale"), scale, "must be standardize or unit");
  if (scale == "unit" && d.kind != "digits" && d.kind != "idx") {
    throw Error::bad_input(node.field("scale"), scale, "applies to image sets (digits, idx) only");
  }
  d.standardize = scale == "standardize";
  d.train_examples = node.optional<std::uint32_t>("train_examples", 0);
  d.test_examples = node.optional<std::uint32_t>("test_examples", 0);
  if (d.kind == "halfspace" && d.labels != 2) throw Error::bad_input(node.field("labels"), to_text(d.labels), "a halfspace has 2 labels");
  if (d.inputs == 0) throw Error::bad_input(node.field("inputs"), "0", "must be at least 1");
  return d;
}

void parse_network(const io::ConfigNode& n, Config& c) {
  n.allow_keys({"neurons", "cap", "rounds", "p"});
  c.net.neurons = n.optional<std::uint32_t>("neurons", 100);
  c.net.cap = n.optional<std::uint32_t>("cap", 50);
  c.net.rounds = n.optional<std::uint32_t>("rounds", 1);
  c.net.p = n.optional<double>("p", 0.5);
  c.net.validate("network.");
}

void parse_rule(const io::ConfigNode& r, Config& c) {
  r.allow_keys({"eta", "mode", "updates", "init", "init_scale", "table"});
  c.eta = r.optional<double>("eta", 0.1);
  const std::string mode = r.optional<std::string>("mode", "additive");
  if (mode == "additive") {
    c.mode = plasticity::RuleMode::additive;
  } else if (mode == "multiplicative") {
    c.mode = plasticity::RuleMode::multiplicative;
  } else {
    throw Error::bad_input(r.field("mode"), mode, "must be additive or multiplicative");
  }
  const std::string updates = r.optional<std::string>("updates", "misclassified");
  if (updates != "misclassified" && updates != "all") throw Error::bad_input(r.field("updates"), updates, "must be misclassified or all");
  c.only_misclassified = updates == "misclassified";
  c.init = r.optional<std::string>("init", r.has("table") ? "table" : "random");
  if (c.init != "random" && c.init != "zeros" && c.init != "perceptron" && c.init != "table") {
    throw Error::bad_input(r.field("init"), c.init, "must be random, zeros, perceptron or table");
  }
  c.init_scale = r.optional<double>("init_scale", 0.1);
  if (c.init == "table") c.table = numbers(r, "table");
}

void parse_meta(const io::ConfigNode& m, Config& c) {
  m.allow_keys({"method", "steps", "batch", "score", "problems_per_step", "lr", "weight_decay", "population", "sigma", "learn",
                "entry", "mutation"});
  c.method = m.optional<std::string>("method", "exact");
  if (c.method != "exact" && c.method != "es" && c.method != "selection" && c.method != "none") {
    throw Error::bad_input(m.field("method"), c.method, "must be exact, es, selection or none");
  }
  c.meta.steps = m.optional<std::uint32_t>("steps", 100);
  c.meta_batch = m.optional<std::uint32_t>("batch", 100);
  const std::string score = m.optional<std::string>("score", "batch");
  if (score != "batch" && score != "fresh") throw Error::bad_input(m.field("score"), score, "must be batch or fresh");
  c.score_fresh = score == "fresh";
  c.meta.problems_per_step = m.optional<std::uint32_t>("problems_per_step", 1);
  c.meta.adam.lr = m.optional<double>("lr", 0.02);
  c.meta.adam.weight_decay = m.optional<double>("weight_decay", 0.0);
  c.meta.es.population = m.optional<std::uint32_t>("population", 64);
  c.meta.es.sigma = m.optional<double>("sigma", 0.02);
  c.selection.population = c.meta.es.population;
  c.selection.generations = c.meta.steps;
  c.selection.mutation = m.optional<double>("mutation", 0.1);
  const plasticity::RuleLayout l = c.net.layout();
  // Default: the true-label entry of neurons that fired in every round.
  c.selection.index = m.optional<std::uint32_t>("entry", l.output(l.states - 1, 0));
  if (c.method == "selection") {
    if (c.selection.index >= l.size()) {
      throw Error::bad_input(m.field("entry"), to_text(c.selection.index), "must be below the rule's size " + to_text(l.size()));
    }
    if (c.selection.population < 2 || c.selection.population % 2 != 0) {
      throw Error::bad_input(m.field("population"), to_text(c.selection.population), "must be an even number of at least 2");
    }
    if (!(c.selection.mutation > 0.0) || !std::isfinite(c.selection.mutation)) {
      throw Error::bad_input(m.field("mutation"), to_text(c.selection.mutation), "must be finite and > 0");
    }
  }
  if (m.has("learn")) {
    std::fill(std::begin(c.learn), std::end(c.learn), false);
    for (const io::ConfigNode& e : m.list("learn")) {
      const std::string t = e.text();
      if (t == "recurrent") {
        c.learn[0] = true;
      } else if (t == "input") {
        c.learn[1] = true;
      } else if (t == "output") {
        c.learn[2] = true;
      } else {
        throw Error::bad_input(m.field("learn"), t, "entries must be recurrent, input or output");
      }
    }
  }
  if (c.meta_batch == 0) throw Error::bad_input(m.field("batch"), "0", "must be at least 1");
  if (c.meta.problems_per_step == 0) throw Error::bad_input(m.field("problems_per_step"), "0", "must be at least 1");
  if (!(c.meta.adam.lr > 0.0) || !std::isfinite(c.meta.adam.lr)) throw Error::bad_input(m.field("lr"), to_text(c.meta.adam.lr), "must be finite and > 0");
  if (c.method == "es" && (c.meta.es.population < 2 || c.meta.es.population % 2 != 0)) {
    throw Error::bad_input(m.field("population"), to_text(c.meta.es.population), "must be an even number of at least 2 (antithetic pairs)");
  }
  if (!(c.meta.es.sigma > 0.0) || !std::isfinite(c.meta.es.sigma)) throw Error::bad_input(m.field("sigma"), to_text(c.meta.es.sigma), "must be finite and > 0");
}

void parse_evaluation(const io::ConfigNode& e, Config& c) {
  e.allow_keys({"epochs", "transfer"});
  c.epochs = e.optional<std::uint32_t>("epochs", 1);
  for (const io::ConfigNode& t : e.optional_list("transfer")) c.transfer.push_back(parse_data(t));
}

void parse_baseline(const io::ConfigNode& b, Config& c) {
  b.allow_keys({"enabled", "epochs", "lr", "batch", "train"});
  c.baseline = b.optional<bool>("enabled", true);
  const std::string train = b.optional<std::string>("train", "all");
  if (train != "all" && train != "readout") throw Error::bad_input(b.field("train"), train, "must be all or readout");
  c.gradient.readout_only = train == "readout";
  c.gradient.epochs = b.optional<std::uint32_t>("epochs", 20);
  c.gradient.adam.lr = b.optional<double>("lr", 0.01);
  c.gradient.batch = b.optional<std::uint32_t>("batch", 32);
  if (c.gradient.batch == 0) throw Error::bad_input(b.field("batch"), "0", "must be at least 1");
}

void parse_attack_section(const io::ConfigNode& a, Config& c) {
  a.allow_keys({"kinds", "epsilons", "steps", "targeted_steps", "examples", "norm", "clip", "only_correct"});
  c.targeted_steps = a.optional<std::uint32_t>("targeted_steps", 100);
  if (c.targeted_steps == 0) throw Error::bad_input(a.field("targeted_steps"), "0", "the targeted attack needs at least one step");
  c.attack_norm = parse_norm(a.optional<std::string>("norm", "linf"), a.field("norm"));
  if (a.has("clip")) {
    const std::vector<double> box = numbers(a, "clip");
    if (box.size() != 2 || !(box[0] < box[1])) {
      throw Error::bad_input(a.field("clip"), box.size() == 2 ? to_text(box[0]) + ".." + to_text(box[1]) : to_text(box.size()) + " numbers",
                             "must be [lower, upper] with lower < upper");
    }
    c.clip_lower = box[0];
    c.clip_upper = box[1];
  }
  c.only_correct = a.optional<bool>("only_correct", false);
  if (a.has("kinds")) {
    c.attacks.clear();
    for (const io::ConfigNode& k : a.list("kinds")) c.attacks.push_back(parse_attack(k.text(), a.field("kinds")));
  }
  if (a.has("epsilons")) c.epsilons = numbers(a, "epsilons");
  for (double e : c.epsilons) {
    if (!std::isfinite(e) || e < 0.0) throw Error::bad_input(a.field("epsilons"), to_text(e), "must be finite and >= 0");
  }
  c.pgd_steps = a.optional<std::uint32_t>("steps", 10);
  if (c.pgd_steps == 0) throw Error::bad_input(a.field("steps"), "0", "PGD needs at least one step");
  c.attack_examples = a.optional<std::uint32_t>("examples", 200);
}

Config parse(const io::ConfigNode& root, std::optional<std::uint64_t> seed_override = std::nullopt) {
  root.allow_keys({"experiment", "seed", "backend", "network", "rule", "meta", "data", "evaluate", "baseline", "attack"});
  Config c;
  c.seed = seed_override ? *seed_override : root.optional<std::uint64_t>("seed", 1);
  if (root.has("network")) {
    parse_network(root.child("network"), c);
  } else {
    c.net.p = 0.5;
  }
  if (root.has("rule")) parse_rule(root.child("rule"), c);
  if (root.has("meta")) parse_meta(root.child("meta"), c);
  c.meta.method = c.method == "es" ? MetaMethod::es : MetaMethod::exact;
  c.meta.es.seed = c.seed;
  if (root.has("data")) c.data = parse_data(root.child("data"));
  if (root.has("evaluate")) parse_evaluation(root.child("evaluate"), c);
  if (root.has("baseline")) parse_baseline(root.child("baseline"), c);
  c.gradient.seed = c.seed;
  if (root.has("attack")) parse_attack_section(root.child("attack"), c);
  return c;
}

// A data set made concrete: the network shape it implies, a train and a test part, and the
// meta-learning batches.
struct Prepared {
  PlasticShape shape;
  Dataset train, test;
  bool synthetic = true;
};

Prepared prepare(const DataSpec& d, const Config& c) {
  Prepared p;
  p.shape = c.net;
  if (d.kind == "halfspace" || d.kind == "relu_teacher" || d.kind == "plastic_teacher") {
    p.shape.inputs = d.inputs;
    p.shape.labels = d.kind == "halfspace" ? 2 : d.labels;
    p.shape.validate("network.");
    const std::size_t n_train = d.train_examples ? d.train_examples : 1000;
    const std::size_t n_test = d.test_examples ? d.test_examples : 1000;
    const auto make = [&](std::size_t n, std::uint32_t stream) {
      if (d.kind == "halfspace") return halfspace_data(d.inputs, n, c.seed, stream);
      if (d.kind == "relu_teacher") return relu_teacher_data(d.inputs, d.labels, d.hidden, n, c.seed, stream);
      return plastic_teacher_data(p.shape, n, c.seed, stream);
    };
    p.train = make(n_train, kTrainStream);
    p.test = make(n_test, kTestStream);
    return p;
  }
  p.synthetic = false;
  Dataset all;
  if (d.kind == "digits") {
    all = digits_data();
  } else {
    all = image_data(assembly::load_idx(d.images, d.label_file));
  }
  if (d.kind == "idx" && !d.test_images.empty()) {
    p.train = all;
    p.test = image_data(assembly::load_idx(d.test_images, d.test_label_file));
    if (p.test.features != p.train.features) {
      throw Error::bad_input(d.field + ".test_images", d.test_images, "image size differs from the training images");
    }
    if (d.train_examples) p.train = p.train.slice(0, d.train_examples);
  } else {
    const std::size_t n_train = d.train_examples ? d.train_examples : all.size() * 3 / 4;
    shuffle_split(all, n_train, c.seed, p.train, p.test);
  }
  if (d.test_examples) p.test = p.test.slice(0, d.test_examples);
  p.train.labels = p.test.labels = std::max(p.train.labels, p.test.labels);
  if (d.standardize) standardize(p.train, p.test);
  p.shape.inputs = p.train.features;
  p.shape.labels = p.train.labels;
  p.shape.validate("network.");
  return p;
}

// 0 recurrent, 1 input, 2 output.
int table_of(const plasticity::RuleLayout& l, std::uint32_t index) {
  if (index < l.states * l.states) return 0;
  return index < l.states * l.states + l.states ? 1 : 2;
}

PlasticRule initial_rule(const Config& c) {
  PlasticRule r;
  if (c.init == "zeros") {
    r = PlasticRule::zeros(c.net.rounds);
  } else if (c.init == "perceptron") {
    r = PlasticRule::perceptron(c.net.rounds);
  } else if (c.init == "random") {
    r = PlasticRule::random(c.net.rounds, c.init_scale, c.seed);
  } else {
    r.rounds = c.net.rounds;
    r.params = c.table;
  }
  r.eta = c.eta;
  r.mode = c.mode;
  r.only_misclassified = c.only_misclassified;
  const plasticity::RuleLayout l = r.layout();
  if (r.params.size() == l.size()) {
    for (std::uint32_t i = 0; i < l.size(); ++i) {
      if (!c.learn[table_of(l, i)]) r.params[i] = 0.0;
    }
  }
  r.validate("rule");
  return r;
}

struct Outcome {
  PlasticShape shape;
  PlasticRule initial, learned;
  std::vector<MetaStep> log;
  sched::Table metrics{"metrics", {}};
  double initial_accuracy = 0, learned_accuracy = 0, perceptron_accuracy = 0, gradient_accuracy = 0;
  Prepared primary;
  // Evaluation sets: the primary set's kind (its data is `primary`), then every transfer set.
  std::vector<std::pair<std::string, Prepared>> sets;
  PlasticWeights rule_trained, gradient_trained;
};

PlasticWeights trained_by_rule(const Prepared& p, const PlasticRule& rule, const Config& c) {
  PlasticWeights w = random_weights(p.shape, c.seed, kEvalBrain);
  train_by_rule(p.shape, w, rule, p.train, c.epochs);
  return w;
}

// Meta-learning problem i of a job: its own brain (initial weights) and a keyed batch of its data.
std::function<MetaProblem(std::uint32_t)> problems_of(const Outcome& o, const Config& config) {
  const Prepared* p = &o.primary;
  const Config* cp = &config;
  const auto make_batch = [p, cp](std::uint32_t stream) {
    const Config& c = *cp;
    if (p->synthetic) {
      const DataSpec& d = c.data;
      if (d.kind == "halfspace") return halfspace_data(d.inputs, c.meta_batch, c.seed, stream);
      if (d.kind == "relu_teacher") return relu_teacher_data(d.inputs, d.labels, d.hidden, c.meta_batch, c.seed, stream);
      return plastic_teacher_data(p->shape, c.meta_batch, c.seed, stream);
    }
    // Image sets: a keyed random batch of the training part.
    Dataset batch;
    batch.features = p->train.features;
    batch.labels = p->train.labels;
    for (std::uint32_t i = 0; i < c.meta_batch; ++i) {
      RngStream rng({c.seed, 0, purpose::plasticity_data, stream, i});
      const std::size_t pick = static_cast<std::size_t>(rng.next_u64() % p->train.size());
      batch.x.insert(batch.x.end(), p->train.sample(pick), p->train.sample(pick) + p->train.features);
      batch.y.push_back(p->train.y[pick]);
    }
    return batch;
  };
  return [p, cp, make_batch](std::uint32_t index) {
    const Config& c = *cp;
    MetaProblem prob;
    prob.shape = p->shape;
    prob.initial = random_weights(p->shape, c.seed, index);
    prob.eta = c.eta;
    prob.mode = c.mode;
    prob.only_misclassified = c.only_misclassified;
    prob.batch = make_batch(index);
    if (c.score_fresh) prob.score = make_batch(kScoreStreams + index);
    return prob;
  };
}

MetaTraining meta_options(const Outcome& o, const Config& c) {
  const plasticity::RuleLayout l = o.initial.layout();
  MetaTraining meta = c.meta;
  meta.learn.resize(l.size());
  for (std::uint32_t k = 0; k < l.size(); ++k) meta.learn[k] = c.learn[table_of(l, k)] ? 1 : 0;
  return meta;
}

// Accuracy of the initial, learned, perceptron and (baseline) gradient-trained networks on the
// primary set and every transfer set. Host code, single-threaded: jobs evaluate side by side.
void evaluate(Outcome& o, const Config& c) {
  o.metrics.add("dataset", sched::Column::Type::text);
  o.metrics.add("model", sched::Column::Type::text);
  o.metrics.add("accuracy", sched::Column::Type::real);
  const auto row = [&](const std::string& set, const std::string& name, double a) { o.metrics.append({set, name, a}); };
  for (std::size_t s = 0; s < o.sets.size(); ++s) {
    const Prepared& set = s == 0 ? o.primary : o.sets[s].second;
    const std::string& kind = o.sets[s].first;
    PlasticRule perceptron = PlasticRule::perceptron(c.net.rounds);
    perceptron.eta = c.eta;
    perceptron.mode = plasticity::RuleMode::additive;
    const double a_init = accuracy(set.shape, trained_by_rule(set, o.initial, c), set.test);
    PlasticWeights learned_w = trained_by_rule(set, o.learned, c);
    const double a_learned = accuracy(set.shape, learned_w, set.test);
    const double a_perc = accuracy(set.shape, trained_by_rule(set, perceptron, c), set.test);
    row(kind, "initial_rule", a_init);
    row(kind, "learned_rule", a_learned);
    row(kind, "perceptron_rule", a_perc);
    double a_grad = std::nan("");
    if (c.baseline) {
      PlasticWeights w = random_weights(set.shape, c.seed, kEvalBrain);
      train_by_gradient(set.shape, w, set.train, c.gradient);
      a_grad = accuracy(set.shape, w, set.test);
      row(kind, "gradient", a_grad);
      if (s == 0) o.gradient_trained = std::move(w);
    }
    if (s == 0) {
      o.initial_accuracy = a_init;
      o.learned_accuracy = a_learned;
      o.perceptron_accuracy = a_perc;
      o.gradient_accuracy = a_grad;
      o.rule_trained = std::move(learned_w);
    }
  }
}

// Jobs (configs) run as one batch: data prepared one job after another, exact meta-training of
// all jobs in lockstep (meta_train_runs: rule tables [R, P], gradients in a parallel loop over
// runs), then evaluation in a parallel loop over jobs. Each job's work is single-threaded host
// code in a fixed order, so outcome i is the same bits whatever the batch and thread count. ES
// and natural selection take the backend, one job after another.
std::vector<Outcome> run_metas(const std::vector<Config>& configs, Backend& backend, const Progress& progress) {
  const std::size_t R = configs.size();
  std::vector<Outcome> outcomes(R);
  for (std::size_t r = 0; r < R; ++r) {
    const Config& c = configs[r];
    Outcome& o = outcomes[r];
    o.primary = prepare(c.data, c);
    o.shape = o.primary.shape;
    o.initial = initial_rule(c);
    o.learned = o.initial;
    o.sets.emplace_back(c.data.kind, Prepared{});
    for (const DataSpec& t : c.transfer) o.sets.emplace_back(t.kind, prepare(t, c));
  }
  const auto lockstep = [](const Config& c) { return c.method == "exact" || c.method == "es"; };
  std::vector<std::size_t> trained;  // jobs meta-trained together, in lockstep
  for (std::size_t r = 0; r < R; ++r) {
    const Config& c = configs[r];
    Outcome& o = outcomes[r];
    if (c.method == "selection") {
      SelectionOptions selection = c.selection;
      selection.seed = c.seed;
      const auto problem = problems_of(o, c);
      const SelectionResult result = natural_selection(
          [&](std::uint32_t generation) {
            progress.step(generation, selection.generations);
            return problem(generation);
          },
          o.initial.params, selection, backend);
      o.learned.params[selection.index] = result.best_value;
      for (std::uint32_t g = 0; g < result.best_loss.size(); ++g) o.log.push_back({g, result.best_loss[g], 0.0});
    } else if (lockstep(c)) {
      trained.push_back(r);
    }
  }
  if (!trained.empty()) {
    std::vector<MetaRun> runs;
    std::vector<double> tables;
    for (std::size_t r : trained) {
      runs.push_back({problems_of(outcomes[r], configs[r]), meta_options(outcomes[r], configs[r])});
      tables.insert(tables.end(), outcomes[r].initial.params.begin(), outcomes[r].initial.params.end());
    }
    const std::uint32_t steps = runs.front().options.steps;
    std::vector<std::vector<MetaStep>> logs =
        meta_train_runs(runs, tables, &backend, [&](std::uint32_t done) { progress.step(done, steps); });
    const std::size_t P = tables.size() / trained.size();
    for (std::size_t i = 0; i < trained.size(); ++i) {
      Outcome& o = outcomes[trained[i]];
      o.learned.params.assign(tables.begin() + static_cast<std::ptrdiff_t>(i * P),
                              tables.begin() + static_cast<std::ptrdiff_t>((i + 1) * P));
      o.log = std::move(logs[i]);
    }
  }
  std::vector<std::exception_ptr> errors(R);
  const auto jobs = static_cast<std::int64_t>(R);
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
  for (std::int64_t r = 0; r < jobs; ++r) {
    try {
      evaluate(outcomes[static_cast<std::size_t>(r)], configs[static_cast<std::size_t>(r)]);
    } catch (...) {
      errors[static_cast<std::size_t>(r)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return outcomes;
}

// Jobs that can share one lockstep batch: the same method, step count and problems per step.
std::string lockstep_key(const Config& c) {
  return c.method + ":" + to_text(c.meta.steps) + ":" + to_text(c.meta.problems_per_step);
}

sched::Table rule_table(const Outcome& o) {
  sched::Table t{"rule", {}};
  sched::Column& index = t.add("index", sched::Column::Type::integer);
  sched::Column& table = t.add("table", sched::Column::Type::text);
  sched::Column& a = t.add("row", sched::Column::Type::integer);
  sched::Column& b = t.add("column", sched::Column::Type::integer);
  sched::Column& init = t.add("initial", sched::Column::Type::real);
  sched::Column& learned = t.add("learned", sched::Column::Type::real);
  const plasticity::RuleLayout l = o.initial.layout();
  for (std::uint32_t i = 0; i < l.size(); ++i) {
    index.integers.push_back(i);
    if (i < l.states * l.states) {
      table.texts.emplace_back("recurrent");  // row = pre state, column = post state
      a.integers.push_back(i / l.states);
      b.integers.push_back(i % l.states);
    } else if (i < l.states * l.states + l.states) {
      table.texts.emplace_back("input");  // row = post state
      a.integers.push_back(i - l.states * l.states);
      b.integers.push_back(0);
    } else {
      const std::uint32_t k = i - l.states * l.states - l.states;
      table.texts.emplace_back("output");  // row = hidden state, column = 0 true label / 1 predicted
      a.integers.push_back(k / 2);
      b.integers.push_back(k % 2);
    }
    init.reals.push_back(o.initial.params[i]);
    learned.reals.push_back(o.learned.params[i]);
  }
  return t;
}

sched::Table training_table(const Outcome& o) {
  sched::Table t{"training", {}};
  t.add("step", sched::Column::Type::integer);
  t.add("meta_loss", sched::Column::Type::real);
  t.add("gradient_norm", sched::Column::Type::real);
  for (const MetaStep& s : o.log) t.append({std::int64_t{s.step}, s.loss, s.gradient_norm});
  return t;
}

struct Curve {
  sched::Table table{"robustness", {}};
  double rule_worst = 0, gradient_worst = 0;
  std::vector<double> rule, gradient;  // per (attack, epsilon), attacks outer: the sweep row's curve
  std::size_t attacked = 0;
};

// The test examples every model classifies correctly, in order.
Dataset correct_by_all(const Dataset& test, const PlasticShape& shape, const std::vector<const PlasticWeights*>& models) {
  Dataset kept;
  kept.features = test.features;
  kept.labels = test.labels;
  for (std::size_t i = 0; i < test.size(); ++i) {
    bool all = true;
    for (const PlasticWeights* w : models) all = all && forward(shape, *w, test.sample(i)).predicted == test.y[i];
    if (!all) continue;
    kept.x.insert(kept.x.end(), test.sample(i), test.sample(i) + test.features);
    kept.y.push_back(test.y[i]);
  }
  return kept;
}

Curve robustness(const Outcome& o, const Config& c) {
  Curve curve;
  curve.table.add("model", sched::Column::Type::text);
  curve.table.add("attack", sched::Column::Type::text);
  curve.table.add("epsilon", sched::Column::Type::real);
  curve.table.add("accuracy", sched::Column::Type::real);
  std::vector<std::pair<std::string, const PlasticWeights*>> models{{"rule", &o.rule_trained}};
  if (c.baseline) models.emplace_back("gradient", &o.gradient_trained);
  std::vector<const PlasticWeights*> weights;
  for (const auto& m : models) weights.push_back(m.second);
  // only_correct filters the whole test part first, so `examples` counts attacked examples.
  const Dataset test = (c.only_correct ? correct_by_all(o.primary.test, o.shape, weights) : o.primary.test).slice(0, c.attack_examples);
  if (test.size() == 0) throw Error::bad_input("attack.only_correct", "true", "no test example is classified correctly by every model");
  curve.attacked = test.size();
  for (const auto& [name, w] : models) {
    for (Attack a : c.attacks) {
      for (double e : c.epsilons) {
        AttackOptions opt;
        opt.attack = a;
        opt.epsilon = e;
        opt.steps = a == Attack::targeted ? c.targeted_steps : c.pgd_steps;
        opt.seed = c.seed;
        opt.norm = c.attack_norm;
        opt.lower = c.clip_lower;
        opt.upper = c.clip_upper;
        const double r = adversarial_accuracy(o.shape, *w, test, opt);
        curve.table.append({name, std::string(attack_name(a)), e, r});
        (name == "rule" ? curve.rule_worst : curve.gradient_worst) = r;
        (name == "rule" ? curve.rule : curve.gradient).push_back(r);
      }
    }
  }
  if (!c.baseline) curve.gradient.assign(curve.rule.size(), std::nan(""));
  return curve;
}

std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}

class MetaKind : public sched::JobKind {
 public:
  explicit MetaKind(bool robust) : robust_(robust) {}
  std::string_view name() const override { return robust_ ? "plasticity_robustness" : "plasticity_meta"; }
  std::string_view description() const override {
    return robust_ ? "FGSM/PGD accuracy-versus-epsilon of rule-trained and gradient-trained plastic k-cap networks"
                   : "meta-learn a local plasticity rule for a k-cap network (exact meta-gradient or ES)";
  }
  void validate(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    c.net.validate("network.");
    initial_rule(c);
    if (c.data.kind == "idx") {
      // The files must exist and be IDX before anything runs.
      assembly::read_idx(c.data.images);
    }
  }
  std::string_view default_backend() const override { return "cpu"; }
  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const std::vector<Config> configs{parse(config)};
    const Config& c = configs.front();
    Outcome o = std::move(run_metas(configs, backend, progress).front());
    sched::Results r;
    if (robust_) {
      Curve curve = robustness(o, c);
      r.tables.push_back(std::move(curve.table));
    }
    r.tables.push_back(std::move(o.metrics));
    r.tables.push_back(rule_table(o));
    r.tables.push_back(training_table(o));
    r.summary.push_back("accuracy on fresh " + c.data.kind + " data: initial rule " + fmt(o.initial_accuracy) +
                        ", learned rule " + fmt(o.learned_accuracy) + ", perceptron rule " + fmt(o.perceptron_accuracy) +
                        (c.baseline ? ", gradient-trained " + fmt(o.gradient_accuracy) : std::string()));
    return r;
  }
  std::string shape_class(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    return std::string(name()) + ":" + to_text(c.net.neurons) + "," + to_text(c.net.cap) + "," + to_text(c.net.rounds);
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    const std::uint64_t v = c.net.neurons, d = std::max<std::uint32_t>(c.data.inputs, 784), m = 10;
    const std::uint64_t weights = v * v + v * d + m * v;
    const std::uint64_t tangents = weights * c.net.layout().size();
    const std::uint64_t population = c.method == "es" ? c.meta.es.population * weights * 9 : 0;
    return 8 * (tangents + weights * 4) + population;
  }
  std::vector<std::string> result_columns(const io::ConfigNode& config) const override {
    if (robust_) {
      // Then the whole curve, one column per (model, attack, epsilon index): rule_pgd_0, ...
      const Config c = parse(config);
      std::vector<std::string> columns{"rule_accuracy", "gradient_accuracy", "rule_worst", "gradient_worst", "attacked"};
      for (const char* model : {"rule", "gradient"}) {
        for (Attack a : c.attacks) {
          for (std::size_t e = 0; e < c.epsilons.size(); ++e) columns.push_back(std::string(model) + "_" + attack_name(a) + "_" + to_text(e));
        }
      }
      return columns;
    }
    return {"initial_accuracy", "learned_accuracy", "perceptron_accuracy", "gradient_accuracy", "final_meta_loss"};
  }
  // Jobs of a batch with one lockstep key meta-train as one batch of runs (run_metas); a run is
  // the same bits alone or batched, so row i depends only on jobs[i].
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    std::vector<Config> parsed;
    for (const sched::JobInput& job : jobs) parsed.push_back(parse(job.config, job.seed));
    std::vector<sched::Row> rows(jobs.size());
    std::vector<bool> done(jobs.size(), false);
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (done[i]) continue;
      progress.check_cancelled();
      const std::string key = lockstep_key(parsed[i]);
      std::vector<std::size_t> members;
      std::vector<Config> group;
      for (std::size_t k = i; k < parsed.size(); ++k) {
        if (done[k] || lockstep_key(parsed[k]) != key) continue;
        members.push_back(k);
        group.push_back(parsed[k]);
      }
      const std::vector<Outcome> outcomes = run_metas(group, backend, progress.silent());
      for (std::size_t g = 0; g < members.size(); ++g) {
        const Outcome& o = outcomes[g];
        const Config& c = group[g];
        if (robust_) {
          const Curve curve = robustness(o, c);
          sched::Row row{o.learned_accuracy, o.gradient_accuracy, curve.rule_worst, curve.gradient_worst,
                         static_cast<std::int64_t>(curve.attacked)};
          for (double v : curve.rule) row.push_back(v);
          for (double v : curve.gradient) row.push_back(v);
          rows[members[g]] = std::move(row);
        } else {
          rows[members[g]] = {o.initial_accuracy, o.learned_accuracy, o.perceptron_accuracy, o.gradient_accuracy,
                              o.log.empty() ? std::nan("") : o.log.back().loss};
        }
        done[members[g]] = true;
      }
    }
    return rows;
  }

 private:
  bool robust_;
};

}  // namespace

const sched::JobKind& plasticity_meta_kind() {
  static const MetaKind kind(false);
  return kind;
}

const sched::JobKind& plasticity_robustness_kind() {
  static const MetaKind kind(true);
  return kind;
}

}  // namespace engram::plastic
