#include "engram/models/ssl/ssl_kinds.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/models/ssl/angle_decoding.hpp"
#include "engram/models/ssl/myow.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/swap_vae.hpp"

namespace engram::ssl {

namespace {

enum class Model { swap_vae, myow };

std::int64_t positive(const io::ConfigNode& n, const char* key, std::int64_t fallback, std::int64_t limit = 1LL << 30) {
  const auto v = static_cast<std::int64_t>(std::min<std::uint64_t>(n.optional<std::uint64_t>(key, static_cast<std::uint64_t>(fallback)), 1ULL << 40));
  if (v <= 0 || v > limit) throw Error::bad_input(n.field(key), std::to_string(v), "must lie in [1, " + std::to_string(limit) + "]");
  return v;
}

std::int64_t non_negative(const io::ConfigNode& n, const char* key, std::int64_t fallback) {
  const auto v = static_cast<std::int64_t>(std::min<std::uint64_t>(n.optional<std::uint64_t>(key, static_cast<std::uint64_t>(fallback)), 1ULL << 40));
  if (v > (1LL << 30)) throw Error::bad_input(n.field(key), std::to_string(v), "must be >= 0");
  return v;
}

double in_range(const io::ConfigNode& n, const char* key, double fallback, double lo, double hi) {
  const double v = n.optional<double>(key, fallback);
  if (!(v >= lo && v <= hi)) throw Error::bad_input(n.field(key), to_text(v), "must lie in [" + to_text(lo) + ", " + to_text(hi) + "]");
  return v;
}

std::vector<std::int64_t> widths(const io::ConfigNode& n, const char* key, std::vector<std::int64_t> fallback) {
  if (!n.has(key)) return fallback;
  std::vector<std::int64_t> out;
  for (const io::ConfigNode& e : n.list(key)) {
    const double v = e.number();
    if (!(v >= 1 && v <= 65536) || v != std::floor(v)) throw Error::bad_input(e.path(), to_text(v), "layer widths are integers in [1, 65536]");
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

}  // namespace

SwapVaeConfig swap_vae_config(const io::ConfigNode& m, const io::ConfigNode& t) {
  SwapVaeConfig c;
  m.allow_keys({"hidden", "content", "style", "alpha", "beta", "swap", "batch_norm"});
  c.hidden = widths(m, "hidden", c.hidden);
  c.content = non_negative(m, "content", c.content);
  c.style = positive(m, "style", c.style, 65536);
  c.alpha = in_range(m, "alpha", c.alpha, 0, 1e6);
  c.beta = in_range(m, "beta", c.beta, 0, 1e6);
  c.swap = m.optional<bool>("swap", c.swap);
  c.batch_norm = m.optional<bool>("batch_norm", c.batch_norm);
  if (c.swap && c.content == 0) throw Error::bad_input(m.field("content"), "0", "swap needs a content block (or set swap: false)");
  t.allow_keys({"epochs", "batch", "lr", "weight_decay", "max_offset", "max_dropout", "dropout_apply"});
  c.epochs = positive(t, "epochs", c.epochs, 1000000);
  c.batch = positive(t, "batch", c.batch, 65536);
  c.lr = in_range(t, "lr", c.lr, 1e-9, 10);
  c.weight_decay = in_range(t, "weight_decay", c.weight_decay, 0, 10);
  c.max_offset = non_negative(t, "max_offset", c.max_offset);
  c.max_dropout = in_range(t, "max_dropout", c.max_dropout, 0, 1);
  c.dropout_apply = in_range(t, "dropout_apply", c.dropout_apply, 0, 1);
  return c;
}

MyowConfig myow_config(const io::ConfigNode& m, const io::ConfigNode& t) {
  MyowConfig c;
  m.allow_keys({"hidden", "representation", "projection", "projection_hidden", "mined_projection", "mined_hidden",
                "mining", "miner_k", "mining_weight", "mining_warmup_epochs", "mining_rampup_epochs", "ema_base",
                "symmetric_loss"});
  c.hidden = widths(m, "hidden", c.hidden);
  c.representation = positive(m, "representation", c.representation, 65536);
  c.projection = positive(m, "projection", c.projection, 65536);
  c.projection_hidden = positive(m, "projection_hidden", c.projection_hidden, 65536);
  c.mined_projection = positive(m, "mined_projection", c.mined_projection, 65536);
  c.mined_hidden = positive(m, "mined_hidden", c.mined_hidden, 65536);
  c.mining = m.optional<bool>("mining", c.mining);
  c.miner_k = positive(m, "miner_k", c.miner_k, 16);
  c.mining_weight = in_range(m, "mining_weight", c.mining_weight, 0, 100);
  c.mining_warmup_epochs = non_negative(m, "mining_warmup_epochs", c.mining_warmup_epochs);
  c.mining_rampup_epochs = non_negative(m, "mining_rampup_epochs", c.mining_rampup_epochs);
  c.ema_base = in_range(m, "ema_base", c.ema_base, 0, 1);
  c.symmetric_loss = m.optional<bool>("symmetric_loss", c.symmetric_loss);
  t.allow_keys({"epochs", "batch", "pool", "optimizer", "lr", "momentum", "lars_eta", "weight_decay", "warmup_epochs",
                "max_offset", "min_offset", "max_dropout", "dropout_apply", "noise", "shared_augmentation"});
  c.epochs = positive(t, "epochs", c.epochs, 1000000);
  c.batch = positive(t, "batch", c.batch, 65536);
  c.pool = positive(t, "pool", c.pool, 65536);
  const std::string optimizer = t.optional<std::string>("optimizer", c.lars ? "lars" : "adamw");
  if (optimizer != "adamw" && optimizer != "lars") throw Error::bad_input(t.field("optimizer"), optimizer, "must be adamw or lars");
  c.lars = optimizer == "lars";
  c.lr = in_range(t, "lr", c.lr, 1e-9, 10);
  c.momentum = in_range(t, "momentum", c.momentum, 0, 0.999999);
  c.lars_eta = in_range(t, "lars_eta", c.lars_eta, 1e-9, 10);
  c.weight_decay = in_range(t, "weight_decay", c.weight_decay, 0, 10);
  c.warmup_epochs = non_negative(t, "warmup_epochs", c.warmup_epochs);
  c.max_offset = non_negative(t, "max_offset", c.max_offset);
  c.min_offset = non_negative(t, "min_offset", c.min_offset);
  if (c.min_offset > c.max_offset) {
    throw Error::bad_input(t.field("min_offset"), std::to_string(c.min_offset),
                           "must be at most train.max_offset (" + std::to_string(c.max_offset) + ")");
  }
  c.max_dropout = in_range(t, "max_dropout", c.max_dropout, 0, 1);
  c.dropout_apply = in_range(t, "dropout_apply", c.dropout_apply, 0, 1);
  c.noise = in_range(t, "noise", c.noise, 0, 100);
  c.shared_augmentation = t.optional<bool>("shared_augmentation", c.shared_augmentation);
  return c;
}

namespace {

struct Job {
  Model model = Model::swap_vae;
  std::uint64_t seed = 1;
  std::string backend = "cpu";
  std::string source = "file", path;
  SyntheticReachSpec synthetic;
  std::int64_t splits = 5;
  double test_fraction = 0.2, min_speed = 5.0;
  std::int64_t pca_dims = 64;
  bool baselines = true;
  SwapVaeConfig swap;
  MyowConfig myow;
};

Job parse(const io::ConfigNode& root, Model model) {
  root.allow_keys({"experiment", "seed", "backend", "data", "evaluation", "model", "train", "sweep", "replicates", "name"});
  Job j;
  j.model = model;
  j.seed = root.optional<std::uint64_t>("seed", 1);
  j.backend = root.optional<std::string>("backend", "cpu");
  if (j.backend != "cpu" && j.backend != "cuda" && j.backend != "auto") {
    throw Error::bad_input(root.field("backend"), j.backend, "must be cpu, cuda or auto");
  }
  {
    const io::ConfigNode d = root.child("data");
    d.allow_keys({"source", "path", "trials", "time", "neurons", "baseline", "tuning", "style_gain", "population_seed"});
    j.source = d.optional<std::string>("source", "file");
    if (j.source == "file") {
      j.path = d.existing_file("path");
    } else if (j.source == "synthetic") {
      auto& s = j.synthetic;
      s.trials = positive(d, "trials", s.trials);
      s.time = positive(d, "time", s.time, 10000);
      s.neurons = positive(d, "neurons", s.neurons, 100000);
      s.baseline = in_range(d, "baseline", s.baseline, 1e-3, 100);
      s.tuning = in_range(d, "tuning", s.tuning, 0, 10);
      s.style_gain = in_range(d, "style_gain", s.style_gain, 0, 10);
      s.population_seed = d.optional<std::uint64_t>("population_seed", s.population_seed);
    } else {
      throw Error::bad_input(d.field("source"), j.source, "must be file or synthetic");
    }
  }
  if (root.has("evaluation")) {
    const io::ConfigNode e = root.child("evaluation");
    e.allow_keys({"splits", "test_fraction", "min_speed", "pca_dims", "baselines"});
    j.splits = positive(e, "splits", j.splits, 1024);
    j.test_fraction = in_range(e, "test_fraction", j.test_fraction, 0.01, 0.9);
    j.min_speed = in_range(e, "min_speed", j.min_speed, 0, 1e6);
    j.pca_dims = positive(e, "pca_dims", j.pca_dims, 100000);
    j.baselines = e.optional<bool>("baselines", j.baselines);
  } else if (j.source == "synthetic") {
    j.min_speed = 0;
  }
  const io::ConfigNode empty(YAML::Node(YAML::NodeType::Map), "model");
  const io::ConfigNode m = root.has("model") ? root.child("model") : empty;
  const io::ConfigNode t = root.has("train") ? root.child("train") : io::ConfigNode(YAML::Node(YAML::NodeType::Map), "train");
  if (model == Model::swap_vae) {
    j.swap = swap_vae_config(m, t);
  } else {
    j.myow = myow_config(m, t);
  }
  return j;
}

ReachData load(const Job& j, std::uint64_t seed) {
  return j.source == "file" ? load_reach_data(j.path) : synthetic_reach(j.synthetic, seed);
}

std::vector<std::uint64_t> run_seeds(const Job& j, std::uint64_t seed) {
  std::vector<std::uint64_t> seeds;
  for (std::int64_t s = 0; s < j.splits; ++s) seeds.push_back(seed * 1000 + static_cast<std::uint64_t>(s));
  return seeds;
}

struct MethodScores {
  std::string method;
  std::vector<AngleScore> per_split;
};

struct Outcome {
  std::vector<MethodScores> scores;
  std::vector<SslRecord> records;
  std::vector<std::uint64_t> seeds;
};

double mean_of(const std::vector<AngleScore>& s, double AngleScore::*field) {
  double m = 0;
  for (const auto& x : s) m += x.*field;
  return m / static_cast<double>(s.size());
}

double sd_of(const std::vector<AngleScore>& s, double AngleScore::*field) {
  if (s.size() < 2) return 0;
  const double m = mean_of(s, field);
  double v = 0;
  for (const auto& x : s) v += (x.*field - m) * (x.*field - m);
  return std::sqrt(v / static_cast<double>(s.size() - 1));
}

Outcome run_job(const Job& j, std::uint64_t seed, Backend& backend, const Progress& context) {
  const ReachData data = load(j, seed);
  const ReachRuns runs(data, run_seeds(j, seed), j.test_fraction);
  Outcome o;
  o.seeds = runs.seeds();
  // Progress over every method trained here, in steps.
  const std::int64_t per_epoch_swap = std::max<std::int64_t>(1, runs.min_train_bins() / j.swap.batch);
  const std::int64_t per_epoch_myow = std::max<std::int64_t>(1, runs.min_train_bins() / j.myow.batch);
  const std::int64_t methods = j.baselines ? 2 : 1;
  const std::int64_t total = methods * (j.model == Model::swap_vae ? j.swap.epochs * per_epoch_swap : j.myow.epochs * per_epoch_myow);
  std::int64_t done_before = 0;
  auto progress = [&](std::int64_t done, std::int64_t) {
    context.step(static_cast<std::uint64_t>(done_before + done), static_cast<std::uint64_t>(total));
  };
  auto score = [&](const std::string& method, const std::vector<std::vector<double>>& reps, std::int64_t dim) {
    MethodScores m{method, {}};
    for (std::int64_t r = 0; r < runs.runs(); ++r) {
      m.per_split.push_back(decode_angles(data, runs.split(r), reps[static_cast<std::size_t>(r)], dim, j.min_speed));
    }
    o.scores.push_back(std::move(m));
  };
  if (j.model == Model::swap_vae) {
    o.records.push_back(train_swap_vae(j.swap, runs, backend, progress));
    score("swap_vae", o.records.back().representation, o.records.back().dim);
    score("swap_vae_style", o.records.back().style, o.records.back().style_dim);
    if (j.baselines) {
      done_before += j.swap.epochs * per_epoch_swap;
      SwapVaeConfig vae = j.swap;
      vae.swap = false;
      vae.style = j.swap.content + j.swap.style;
      vae.content = 0;
      vae.beta = 0;
      o.records.push_back(train_swap_vae(vae, runs, backend, progress));
      score("beta_vae", o.records.back().representation, o.records.back().dim);
    }
  } else {
    o.records.push_back(train_myow(j.myow, runs, backend, progress));
    score("myow", o.records.back().representation, o.records.back().dim);
    if (j.baselines) {
      done_before += j.myow.epochs * per_epoch_myow;
      MyowConfig byol = j.myow;
      byol.mining = false;
      o.records.push_back(train_myow(byol, runs, backend, progress));
      score("byol", o.records.back().representation, o.records.back().dim);
    }
  }
  if (j.baselines) {
    std::vector<std::vector<double>> pcs;
    const std::int64_t dim = std::min(j.pca_dims, data.neurons);
    for (std::int64_t r = 0; r < runs.runs(); ++r) pcs.push_back(pca_representation(data, runs.split(r), dim));
    score("pca", pcs, dim);
  }
  return o;
}

sched::Column column(const char* name, sched::Column::Type type) {
  sched::Column c;
  c.name = name;
  c.type = type;
  return c;
}

class SslKind final : public sched::JobKind {
 public:
  explicit SslKind(Model model) : model_(model) {}
  std::string_view name() const override { return model_ == Model::swap_vae ? "swap_vae" : "myow"; }
  std::string_view description() const override {
    return model_ == Model::swap_vae ? "Swap-VAE (Liu et al. 2021) on reach data, decoded by a linear angle map"
                                     : "MYOW (Azabou et al. 2021) on reach data, decoded by a linear angle map";
  }
  // The trainers are device-resident (their functors are in the CUDA module), so `backend:
  // cuda` runs them there; tests/parity/ssl_parity_test.cpp compares them with the CPU on a GPU.
  // `auto` stays on the CPU, where the figures of docs/self_supervised.md were measured.
  std::string_view default_backend() const override { return "cpu"; }
  void validate(const io::ConfigNode& config) const override { (void)parse(config, model_); }

  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const Job j = parse(config, model_);
    const Outcome o = run_job(j, j.seed, backend, progress);
    using Type = sched::Column::Type;
    sched::Results results;
    sched::Column method = column("method", Type::text), split = column("split", Type::integer),
                  seed = column("seed", Type::integer), acc = column("accuracy", Type::real),
                  delta = column("delta_accuracy", Type::real), train = column("train_accuracy", Type::real),
                  bins = column("test_bins", Type::integer);
    for (const MethodScores& m : o.scores) {
      for (std::size_t s = 0; s < m.per_split.size(); ++s) {
        method.texts.push_back(m.method);
        split.integers.push_back(static_cast<std::int64_t>(s));
        seed.integers.push_back(static_cast<std::int64_t>(o.seeds[s]));
        acc.reals.push_back(m.per_split[s].accuracy);
        delta.reals.push_back(m.per_split[s].delta_accuracy);
        train.reals.push_back(m.per_split[s].train_accuracy);
        bins.integers.push_back(m.per_split[s].test_bins);
      }
      results.summary.push_back(m.method + ": accuracy " + to_text(mean_of(m.per_split, &AngleScore::accuracy)) +
                                " +- " + to_text(sd_of(m.per_split, &AngleScore::accuracy)) + ", delta-accuracy " +
                                to_text(mean_of(m.per_split, &AngleScore::delta_accuracy)) + " +- " +
                                to_text(sd_of(m.per_split, &AngleScore::delta_accuracy)) + " (" +
                                std::to_string(m.per_split.size()) + " splits)");
    }
    results.tables.push_back({"accuracy", {method, split, seed, acc, delta, train, bins}});
    sched::Column c_method = column("method", Type::text), c_split = column("split", Type::integer),
                  c_epoch = column("epoch", Type::integer), c_term = column("term", Type::text),
                  c_value = column("value", Type::real);
    for (const SslRecord& rec : o.records) {
      for (std::size_t r = 0; r < rec.curves.size(); ++r) {
        for (std::size_t e = 0; e < rec.curves[r].size(); ++e) {
          for (std::size_t k = 0; k < rec.curve_names.size(); ++k) {
            c_method.texts.push_back(rec.method);
            c_split.integers.push_back(static_cast<std::int64_t>(r));
            c_epoch.integers.push_back(static_cast<std::int64_t>(e + 1));
            c_term.texts.push_back(rec.curve_names[k]);
            c_value.reals.push_back(rec.curves[r][e][k]);
          }
        }
      }
    }
    results.tables.push_back({"curves", {c_method, c_split, c_epoch, c_term, c_value}});
    // The 2-D picture: split 0's representation of every bin, projected on its two principal axes.
    const ReachData data = load(j, j.seed);
    const ReachRuns runs(data, run_seeds(j, j.seed), j.test_fraction);
    sched::Column e_method = column("method", Type::text), e_bin = column("bin", Type::integer),
                  e_trial = column("trial", Type::integer), e_dir = column("direction", Type::integer),
                  e_test = column("test", Type::integer), e_x = column("x", Type::real), e_y = column("y", Type::real);
    std::vector<char> is_test(static_cast<std::size_t>(data.bins), 0);
    for (std::int32_t b : runs.split(0).test_bins) is_test[static_cast<std::size_t>(b)] = 1;
    for (const SslRecord& rec : o.records) {
      const auto xy = project_2d(runs.split(0), rec.representation[0], rec.dim);
      for (std::int64_t b = 0; b < data.bins; ++b) {
        e_method.texts.push_back(rec.method);
        e_bin.integers.push_back(b);
        e_trial.integers.push_back(data.trial[static_cast<std::size_t>(b)]);
        e_dir.integers.push_back(data.direction[static_cast<std::size_t>(b)]);
        e_test.integers.push_back(is_test[static_cast<std::size_t>(b)]);
        e_x.reals.push_back(xy[static_cast<std::size_t>(2 * b)]);
        e_y.reals.push_back(xy[static_cast<std::size_t>(2 * b + 1)]);
      }
    }
    results.tables.push_back({"embedding", {e_method, e_bin, e_trial, e_dir, e_test, e_x, e_y}});
    // Which trials each split tests, so a decoder outside engram (bench/peers/reach_supervised.py)
    // can be scored on exactly these splits.
    sched::Column s_split = column("split", Type::integer), s_seed = column("seed", Type::integer),
                  s_trial = column("trial", Type::integer), s_test = column("test", Type::integer);
    for (std::int64_t r = 0; r < runs.runs(); ++r) {
      for (int test = 0; test < 2; ++test) {
        for (std::int32_t t : test ? runs.split(r).test_trials : runs.split(r).train_trials) {
          s_split.integers.push_back(r);
          s_seed.integers.push_back(static_cast<std::int64_t>(runs.seeds()[static_cast<std::size_t>(r)]));
          s_trial.integers.push_back(t);
          s_test.integers.push_back(test);
        }
      }
    }
    results.tables.push_back({"splits", {s_split, s_seed, s_trial, s_test}});
    return results;
  }

  std::string shape_class(const io::ConfigNode& config) const override {
    const Job j = parse(config, model_);
    std::string c = std::string(name()) + ":" + j.source + ":" + std::to_string(j.splits);
    for (std::int64_t h : (model_ == Model::swap_vae ? j.swap.hidden : j.myow.hidden)) c += "x" + std::to_string(h);
    return c;
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    const Job j = parse(config, model_);
    const std::int64_t neurons = j.source == "file" ? 200 : j.synthetic.neurons;
    const std::int64_t batch = model_ == Model::swap_vae ? j.swap.batch : j.myow.batch + j.myow.pool;
    return static_cast<std::uint64_t>(j.splits * batch * (neurons + 1024) * 4 * 16);
  }
  std::vector<std::string> result_columns(const io::ConfigNode& config) const override {
    const Job j = parse(config, model_);
    std::vector<std::string> cols;
    for (const std::string& m : methods(j)) {
      cols.push_back(m + "_accuracy");
      cols.push_back(m + "_accuracy_sd");
      cols.push_back(m + "_delta_accuracy");
    }
    return cols;
  }
  // Each job trains its splits as one batch of runs; jobs run one after another. Row i depends
  // only on jobs[i].
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    return sched::run_each(jobs, progress, [&](const sched::JobInput& input) {
      const Job j = parse(input.config, model_);
      const Outcome o = run_job(j, input.seed, backend, progress);
      sched::Row row;
      for (const MethodScores& m : o.scores) {
        row.emplace_back(mean_of(m.per_split, &AngleScore::accuracy));
        row.emplace_back(sd_of(m.per_split, &AngleScore::accuracy));
        row.emplace_back(mean_of(m.per_split, &AngleScore::delta_accuracy));
      }
      return row;
    });
  }

 private:
  std::vector<std::string> methods(const Job& j) const {
    std::vector<std::string> m = model_ == Model::swap_vae ? std::vector<std::string>{"swap_vae", "swap_vae_style"}
                                                           : std::vector<std::string>{"myow"};
    if (j.baselines) {
      m.push_back(model_ == Model::swap_vae ? "beta_vae" : "byol");
      m.push_back("pca");
    }
    return m;
  }
  Model model_;
};

}  // namespace

const sched::JobKind& swap_vae_kind() {
  static const SslKind kind(Model::swap_vae);
  return kind;
}

const sched::JobKind& myow_kind() {
  static const SslKind kind(Model::myow);
  return kind;
}

}  // namespace engram::ssl
