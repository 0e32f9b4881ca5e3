#include "engram/models/transformer/train_job.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "engram/engine/error.hpp"
#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/models/data/neural_data.hpp"
#include "engram/models/data/synthetic.hpp"
#include "engram/models/transformer/training.hpp"

namespace engram::models::transformer {

namespace {

std::int64_t count_field(const io::ConfigNode& n, const char* key, std::int64_t fallback) {
  const std::uint64_t v = n.optional<std::uint64_t>(key, static_cast<std::uint64_t>(fallback));
  if (v == 0 || v > (1ULL << 40)) throw Error::bad_input(n.field(key), std::to_string(v), "must be a positive count");
  return static_cast<std::int64_t>(v);
}

struct DataSpec {
  std::string source = "angle";  // angle | gravity | file
  std::string path;
  data::AngleSpec angle;
  data::GravitySpec gravity;
  std::int64_t classes = 0;
  double test_fraction = 0.25;
  std::uint64_t seed_offset = 0;
};

DataSpec parse_data(const io::ConfigNode& n) {
  n.allow_keys({"source", "path", "trials", "time", "neurons", "classes", "population_seed", "test_fraction", "baseline",
                "gain", "kappa", "sector_fill", "bodies", "dt", "seed_offset"});
  DataSpec d;
  d.source = n.optional<std::string>("source", "angle");
  if (d.source != "angle" && d.source != "gravity" && d.source != "file") {
    throw Error::bad_input(n.field("source"), d.source, "must be angle, gravity or file");
  }
  d.test_fraction = n.optional<double>("test_fraction", 0.25);
  if (!(d.test_fraction > 0 && d.test_fraction < 1)) {
    throw Error::bad_input(n.field("test_fraction"), to_text(d.test_fraction), "must lie in (0, 1)");
  }
  d.seed_offset = n.optional<std::uint64_t>("seed_offset", 0);
  if (d.source == "file") {
    d.path = n.file_path("path");
    if (n.has("classes")) d.classes = count_field(n, "classes", 1);
    return d;
  }
  auto& a = d.angle;
  auto& g = d.gravity;
  a.trials = g.trials = count_field(n, "trials", d.source == "angle" ? a.trials : g.trials);
  a.time = g.time = count_field(n, "time", d.source == "angle" ? a.time : g.time);
  a.neurons = g.neurons = count_field(n, "neurons", d.source == "angle" ? a.neurons : g.neurons);
  a.population_seed = g.population_seed = n.optional<std::uint64_t>("population_seed", 1);
  a.classes = count_field(n, "classes", a.classes);
  d.classes = d.source == "angle" ? a.classes : 0;
  a.baseline = n.optional<double>("baseline", a.baseline);
  a.gain = n.optional<double>("gain", a.gain);
  a.kappa = n.optional<double>("kappa", a.kappa);
  a.sector_fill = n.optional<double>("sector_fill", a.sector_fill);
  for (const char* key : {"baseline", "gain", "kappa"}) {
    if (n.has(key) && !(n.required<double>(key) >= 0)) throw Error::bad_input(n.field(key), to_text(n.required<double>(key)), "must be >= 0");
  }
  if (!(a.sector_fill > 0 && a.sector_fill <= 1)) throw Error::bad_input(n.field("sector_fill"), to_text(a.sector_fill), "must lie in (0, 1]");
  g.bodies = count_field(n, "bodies", g.bodies);
  g.dt = n.optional<double>("dt", g.dt);
  if (!(g.dt > 0)) throw Error::bad_input(n.field("dt"), to_text(g.dt), "must be > 0");
  return d;
}

data::NeuralData make_data(const DataSpec& d, std::uint64_t seed) {
  if (d.source == "angle") return data::angle_population(d.angle, seed + d.seed_offset);
  if (d.source == "gravity") return data::gravity_bodies(d.gravity, seed + d.seed_offset);
  return data::load_neural_data(d.path, d.classes);
}

struct Job {
  std::uint64_t seed = 0;
  DataSpec data;
  TransformerConfig model;
  bool task_given = false;
  TrainSpec train;
  bool transfer = false;
  DataSpec transfer_data;
  TrainSpec transfer_train;
  bool compare_scratch = true;
};

TrainSpec parse_train(const io::ConfigNode& n, const TrainSpec& defaults) {
  n.allow_keys({"steps", "batch", "lr", "weight_decay", "clip", "data", "compare_scratch"});
  TrainSpec t = defaults;
  t.steps = count_field(n, "steps", defaults.steps);
  t.batch = count_field(n, "batch", defaults.batch);
  t.adam.lr = n.optional<double>("lr", defaults.adam.lr);
  if (!(t.adam.lr > 0 && t.adam.lr < 10)) throw Error::bad_input(n.field("lr"), to_text(t.adam.lr), "must lie in (0, 10)");
  t.adam.weight_decay = n.optional<double>("weight_decay", defaults.adam.weight_decay);
  if (!(t.adam.weight_decay >= 0)) throw Error::bad_input(n.field("weight_decay"), to_text(t.adam.weight_decay), "must be >= 0");
  t.clip = n.optional<double>("clip", defaults.clip);
  if (!(t.clip >= 0)) throw Error::bad_input(n.field("clip"), to_text(t.clip), "must be >= 0 (0 disables clipping)");
  return t;
}

Job parse(const io::ConfigNode& root) {
  root.allow_keys({"experiment", "seed", "backend", "data", "model", "train", "transfer", "sweep", "replicates", "name"});
  Job j;
  j.seed = root.optional<std::uint64_t>("seed", 1);
  j.data = parse_data(root.child("data"));
  if (root.has("model")) {
    const io::ConfigNode m = root.child("model");
    m.allow_keys({"task", "width", "heads", "head_dim", "ff_hidden", "individual_layers", "population_layers", "dropout",
                  "neuron_embedding"});
    auto& c = j.model;
    if (m.has("task")) {
      const std::string task = m.required<std::string>("task");
      if (task != "classify" && task != "regress") throw Error::bad_input(m.field("task"), task, "must be classify or regress");
      c.task = task == "classify" ? Task::classify : Task::regress;
      j.task_given = true;
    }
    c.width = count_field(m, "width", c.width);
    c.heads = count_field(m, "heads", c.heads);
    c.head_dim = count_field(m, "head_dim", c.head_dim);
    c.ff_hidden = count_field(m, "ff_hidden", 4 * c.width);
    c.individual_layers = static_cast<std::int64_t>(m.optional<std::uint64_t>("individual_layers", 2));
    c.population_layers = static_cast<std::int64_t>(m.optional<std::uint64_t>("population_layers", 2));
    c.dropout = m.optional<double>("dropout", c.dropout);
    c.neuron_embedding = m.optional<bool>("neuron_embedding", false);
    if (c.head_dim < attention::kMinHeadDim || c.head_dim > attention::kMaxHeadDim) {
      throw Error::bad_input(m.field("head_dim"), std::to_string(c.head_dim), "must lie in [16, 128]");
    }
    if (!(c.dropout >= 0 && c.dropout < 1)) throw Error::bad_input(m.field("dropout"), to_text(c.dropout), "must lie in [0, 1)");
  }
  if (!j.task_given) j.model.task = j.data.source == "gravity" ? Task::regress : Task::classify;
  if (j.data.source == "gravity" && j.model.task == Task::classify) {
    throw Error::bad_input("model.task", "classify", "gravity data has behaviour, not labels: use regress");
  }
  if (root.has("train")) j.train = parse_train(root.child("train"), TrainSpec{});
  if (root.has("transfer")) {
    const io::ConfigNode t = root.child("transfer");
    j.transfer = true;
    j.transfer_train = parse_train(t, j.train);
    j.transfer_train.freeze_individual = true;
    j.transfer_data = parse_data(t.child("data"));
    j.compare_scratch = t.optional<bool>("compare_scratch", true);
  }
  return j;
}

std::string metric_name(Task task) { return task == Task::classify ? "accuracy" : "mse"; }

struct Outcome {
  std::vector<std::string> phases;
  std::vector<std::int64_t> neurons;
  std::vector<TrainReport> reports;
};

// Everything of a job but its seed and learning rates: jobs with equal keys train as one batch.
std::string batch_key(const Job& j) {
  std::string key;
  auto add = [&key](const auto& v) {
    key += to_text(v);
    key += ',';
  };
  auto add_data = [&](const DataSpec& d) {
    add(d.source), add(d.path), add(d.classes), add(d.test_fraction), add(d.seed_offset);
    const auto& a = d.angle;
    add(a.trials), add(a.time), add(a.neurons), add(a.population_seed), add(a.classes), add(a.baseline), add(a.gain),
        add(a.kappa), add(a.sector_fill);
    add(d.gravity.bodies), add(d.gravity.dt);
  };
  auto add_train = [&](const TrainSpec& t) {
    add(t.steps), add(t.batch), add(t.adam.beta1), add(t.adam.beta2), add(t.adam.eps), add(t.adam.weight_decay), add(t.clip),
        add(t.freeze_individual);
  };
  const auto& m = j.model;
  add_data(j.data);
  add(m.width), add(m.heads), add(m.head_dim), add(m.ff_hidden), add(m.individual_layers), add(m.population_layers),
      add(m.dropout), add(m.neuron_embedding), add(static_cast<int>(m.task));
  add_train(j.train);
  add(j.transfer);
  if (j.transfer) {
    add_data(j.transfer_data);
    add_train(j.transfer_train);
    add(j.compare_scratch);
  }
  return key;
}

// One data set per run, split into train and test.
struct RunSets {
  std::vector<data::NeuralData> train, test;
  std::vector<RunData> runs(const std::vector<std::uint64_t>& seeds, const std::vector<double>& lrs) const {
    std::vector<RunData> out;
    for (std::size_t r = 0; r < seeds.size(); ++r) out.push_back({&train[r], &test[r], seeds[r], lrs[r]});
    return out;
  }
};

RunSets make_sets(const DataSpec& spec, const std::vector<std::uint64_t>& seeds, std::uint64_t seed_shift, bool classify) {
  RunSets sets;
  for (std::uint64_t seed : seeds) {
    const data::NeuralData all = make_data(spec, seed + seed_shift);
    if (classify && all.labels.empty()) {
      throw Error::bad_input("data", spec.source == "file" ? spec.path : spec.source, "classification needs labels");
    }
    if (!classify && all.behaviour.empty()) {
      throw Error::bad_input("data", spec.source == "file" ? spec.path : spec.source, "regression needs behaviour");
    }
    auto [train, test] = split_trials(all, spec.test_fraction, seed + seed_shift);
    sets.train.push_back(std::move(train));
    sets.test.push_back(std::move(test));
  }
  return sets;
}

// Trains jobs[0..R) (equal batch keys) as one batch of R runs; outcome r depends only on jobs[r].
std::vector<Outcome> run_jobs(const std::vector<Job>& jobs, Backend& backend, const Progress& progress) {
  const Job& job = jobs.front();
  const bool classify = job.model.task == Task::classify;
  std::vector<std::uint64_t> seeds;
  std::vector<double> lrs, transfer_lrs;
  for (const Job& j : jobs) {
    seeds.push_back(j.seed);
    lrs.push_back(j.train.adam.lr);
    transfer_lrs.push_back(j.transfer_train.adam.lr);
  }
  auto with_offset = [&](std::uint64_t add) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s : seeds) out.push_back(s + add);
    return out;
  };
  const RunSets first = make_sets(job.data, seeds, 0, classify);
  TransformerConfig cfg = job.model;
  cfg.neurons = first.train[0].neurons;
  std::int64_t classes = 1;
  for (const auto& t : first.train) classes = std::max(classes, t.classes);
  cfg.outputs = classify ? classes : first.train[0].behaviour_dim;
  const std::int64_t total_steps =
      job.train.steps + (job.transfer ? job.transfer_train.steps * (job.compare_scratch ? 2 : 1) : 0);
  std::int64_t done = 0;
  auto step = [&](std::int64_t, std::int64_t) {
    progress.report(static_cast<std::uint64_t>(++done), static_cast<std::uint64_t>(total_steps));
  };
  auto keep_going = [&] { return !progress.cancelled(); };
  std::vector<Outcome> out(jobs.size());
  auto record = [&](const std::vector<TrainReport>& reports, const char* phase, std::int64_t neurons) {
    for (std::size_t r = 0; r < jobs.size(); ++r) {
      out[r].reports.push_back(reports[r]);
      out[r].phases.push_back(phase);
      out[r].neurons.push_back(neurons);
    }
  };
  SeparableTransformer net(cfg, backend, seeds);
  record(train_runs(net, first.runs(seeds, lrs), job.train, step, keep_going), "train", cfg.neurons);
  if (!job.transfer) return out;
  const RunSets second = make_sets(job.transfer_data, seeds, 1, classify);
  const std::int64_t neurons2 = second.train[0].neurons;
  for (const auto& t : second.train) {
    if (classify && t.classes > cfg.outputs) {
      throw Error::bad_input("transfer.data.classes", std::to_string(t.classes), "must not exceed the first population's");
    }
  }
  net.reset_population(neurons2, with_offset(2));
  record(train_runs(net, second.runs(with_offset(1), transfer_lrs), job.transfer_train, step, keep_going), "transfer",
         neurons2);
  if (job.compare_scratch) {
    TransformerConfig cfg2 = cfg;
    cfg2.neurons = neurons2;
    SeparableTransformer scratch(cfg2, backend, with_offset(3));
    TrainSpec spec = job.transfer_train;
    spec.freeze_individual = false;
    record(train_runs(scratch, second.runs(with_offset(1), transfer_lrs), spec, step, keep_going), "scratch", neurons2);
  }
  return out;
}

class TrainTransformerKind final : public sched::JobKind {
 public:
  std::string_view name() const override { return "train_transformer"; }
  std::string_view description() const override { return "separable population transformer, trained with AdamW"; }
  // Every layer runs through launch() and gemm_batched(): cpu and cuda (cuBLAS GEMMs, so CUDA
  // and CPU agree to float rounding); a config without `backend:` trains on the cpu.
  std::string_view default_backend() const override { return "cpu"; }
  void validate(const io::ConfigNode& config) const override { parse(config); }
  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const Job job = parse(config);
    const Outcome o = run_jobs({job}, backend, progress).front();
    sched::Results results;
    using Type = sched::Column::Type;
    sched::Table metrics{"metrics", {}};
    for (const auto& [name, type] : {std::pair{"phase", Type::text}, std::pair{"neurons", Type::integer},
                                     std::pair{"steps", Type::integer}, std::pair{"metric", Type::text},
                                     std::pair{"train", Type::real}, std::pair{"test", Type::real},
                                     std::pair{"final_loss", Type::real}}) {
      metrics.add(name, type);
    }
    sched::Table losses{"losses", {}};
    losses.add("phase", Type::text);
    losses.add("step", Type::integer);
    losses.add("loss", Type::real);
    for (std::size_t i = 0; i < o.reports.size(); ++i) {
      const TrainReport& r = o.reports[i];
      metrics.append({o.phases[i], o.neurons[i], static_cast<std::int64_t>(r.losses.size()), metric_name(job.model.task),
                      r.train_metric, r.test_metric, r.losses.back()});
      for (std::size_t s = 0; s < r.losses.size(); ++s) {
        losses.append({o.phases[i], static_cast<std::int64_t>(s + 1), r.losses[s]});
      }
      results.summary.push_back(o.phases[i] + ": " + std::to_string(o.neurons[i]) + " neurons, test " +
                                metric_name(job.model.task) + " " + to_text(r.test_metric) + ", train " +
                                to_text(r.train_metric));
    }
    if (o.reports.size() == 3 && job.model.task == Task::classify) {
      results.summary.push_back("transfer reaches " + to_text(o.reports[1].test_metric / o.reports[2].test_metric) +
                                " of the from-scratch test accuracy");
    }
    results.tables.push_back(std::move(metrics));
    results.tables.push_back(std::move(losses));
    return results;
  }
  std::string shape_class(const io::ConfigNode& config) const override {
    const Job j = parse(config);
    const auto& m = j.model;
    return "train_transformer:" + j.data.source + ":" + std::to_string(m.width) + "x" + std::to_string(m.heads) + "x" +
           std::to_string(m.head_dim) + ":" + std::to_string(std::hash<std::string>{}(batch_key(j)));
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    const Job j = parse(config);
    const auto& m = j.model;
    const std::int64_t tokens = j.train.batch * j.data.angle.time * j.data.angle.neurons;
    const std::int64_t per_token = 4 * m.heads * m.head_dim + 2 * m.ff_hidden + 8 * m.width;
    return static_cast<std::uint64_t>(tokens * per_token * (m.individual_layers + m.population_layers + 2) * 4);
  }
  std::vector<std::string> result_columns(const io::ConfigNode& config) const override {
    const Job j = parse(config);
    std::vector<std::string> cols = {"metric", "train", "test", "final_loss"};
    if (j.transfer) {
      cols.push_back("transfer_test");
      if (j.compare_scratch) {
        cols.push_back("scratch_test");
        cols.push_back("transfer_ratio");
      }
    }
    return cols;
  }
  // Jobs with equal batch keys (all but seed and learning rates) train as one batch of runs; a
  // run is the same bits alone or batched, so row i depends only on jobs[i].
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    std::vector<Job> parsed;
    for (const sched::JobInput& input : jobs) {
      parsed.push_back(parse(input.config));
      parsed.back().seed = input.seed;
    }
    std::vector<sched::Row> rows(jobs.size());
    std::vector<bool> done(jobs.size(), false);
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (done[i]) continue;
      progress.check_cancelled();
      const std::string key = batch_key(parsed[i]);
      std::vector<std::size_t> members;
      for (std::size_t k = i; k < parsed.size(); ++k) {
        if (!done[k] && batch_key(parsed[k]) == key) members.push_back(k);
      }
      std::vector<Job> group;
      for (std::size_t k : members) group.push_back(parsed[k]);
      const std::vector<Outcome> outcomes = run_jobs(group, backend, progress);
      for (std::size_t g = 0; g < members.size(); ++g) {
        const Job& job = group[g];
        const Outcome& o = outcomes[g];
        sched::Row row = {metric_name(job.model.task), o.reports[0].train_metric, o.reports[0].test_metric,
                          o.reports[0].losses.back()};
        if (job.transfer) {
          row.emplace_back(o.reports[1].test_metric);
          if (job.compare_scratch) {
            row.emplace_back(o.reports[2].test_metric);
            row.emplace_back(o.reports[1].test_metric / o.reports[2].test_metric);
          }
        }
        rows[members[g]] = std::move(row);
        done[members[g]] = true;
      }
    }
    return rows;
  }
};

}  // namespace

const sched::JobKind& train_transformer_kind() {
  static const TrainTransformerKind kind;
  return kind;
}

}  // namespace engram::models::transformer
