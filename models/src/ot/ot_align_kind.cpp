// `experiment: ot_align`: hierarchical OT alignment against the single-level baseline on the
// synthetic subspace-mixture test, over `seeds` consecutive seeds.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engram/engine/error.hpp"
#include "engram/models/ot/alignment.hpp"
#include "engram/models/ot/ot_kinds.hpp"
#include "engram/models/ot/subspace_mixture.hpp"

namespace engram::ot {

namespace {

struct Config {
  std::uint64_t seed = 1;
  std::uint32_t seeds = 1;
  SubspaceMixtureSpec data;
  bool cluster_labels = false;  // labels: kmeans or subspaces (found, not given)
  AlignmentOptions align;
  bool baseline = true;
  AlignmentOptions baseline_align;
};

std::int32_t positive(const io::ConfigNode& node, const std::string& key, std::int32_t fallback) {
  const std::uint32_t v = node.optional<std::uint32_t>(key, static_cast<std::uint32_t>(fallback));
  if (v == 0) throw Error::bad_input(node.field(key), "0", "must be >= 1");
  return static_cast<std::int32_t>(v);
}

void parse_align(const io::ConfigNode& root, const std::string& key, AlignmentOptions& o) {
  if (!root.has(key)) return;
  const io::ConfigNode a = root.child(key);
  a.allow_keys({"cluster_eps", "point_eps", "rho", "tol", "max_iter", "sinkhorn_max_iter", "sinkhorn_tol", "clusters",
                "cluster_dim", "cluster_restarts"});
  o.cluster_eps = a.optional<double>("cluster_eps", o.cluster_eps);
  o.point_eps = a.optional<double>("point_eps", o.point_eps);
  o.rho = a.optional<double>("rho", o.rho);
  o.tol = a.optional<double>("tol", o.tol);
  o.sinkhorn_tol = a.optional<double>("sinkhorn_tol", o.sinkhorn_tol);
  o.max_iter = positive(a, "max_iter", o.max_iter);
  o.sinkhorn_max_iter = positive(a, "sinkhorn_max_iter", o.sinkhorn_max_iter);
  o.clusters = positive(a, "clusters", o.clusters);
  o.cluster_dim = static_cast<std::int32_t>(a.optional<std::uint32_t>("cluster_dim", static_cast<std::uint32_t>(o.cluster_dim)));
  o.cluster_restarts = positive(a, "cluster_restarts", o.cluster_restarts);
  for (const auto& [name, v] : {std::pair{"cluster_eps", o.cluster_eps}, std::pair{"point_eps", o.point_eps},
                                std::pair{"rho", o.rho}, std::pair{"tol", o.tol}, std::pair{"sinkhorn_tol", o.sinkhorn_tol}}) {
    if (!(v > 0) || !std::isfinite(v)) throw Error::bad_input(a.field(name), to_text(v), "must be a finite number > 0");
  }
}

Config parse(const io::ConfigNode& root, std::optional<std::uint64_t> seed = std::nullopt) {
  root.allow_keys({"experiment", "backend", "seed", "seeds", "data", "labels", "align", "baseline", "baseline_align"});
  Config c;
  c.seed = seed ? *seed : root.optional<std::uint64_t>("seed", 1);
  c.seeds = static_cast<std::uint32_t>(positive(root, "seeds", 1));
  if (root.has("data")) {
    const io::ConfigNode d = root.child("data");
    d.allow_keys({"clusters", "subspace_dim", "ambient_dim", "points_per_cluster", "mean_scale", "spread_min",
                  "spread_max", "noise"});
    c.data.clusters = positive(d, "clusters", c.data.clusters);
    c.data.subspace_dim = positive(d, "subspace_dim", c.data.subspace_dim);
    c.data.ambient_dim = positive(d, "ambient_dim", c.data.ambient_dim);
    c.data.points_per_cluster = positive(d, "points_per_cluster", c.data.points_per_cluster);
    c.data.mean_scale = d.optional<double>("mean_scale", c.data.mean_scale);
    c.data.spread_min = d.optional<double>("spread_min", c.data.spread_min);
    c.data.spread_max = d.optional<double>("spread_max", c.data.spread_max);
    c.data.noise = d.optional<double>("noise", c.data.noise);
  }
  validate(c.data, root.field("data"));
  const std::string labels = root.optional<std::string>("labels", "given");
  if (labels != "given" && labels != "kmeans" && labels != "subspaces") {
    throw Error::bad_input(root.field("labels"), labels, "must be given, kmeans or subspaces");
  }
  c.cluster_labels = labels != "given";
  c.align.clusters = c.data.clusters;
  // subspaces: K-subspaces of the dimension the data is drawn with unless align.cluster_dim says otherwise.
  if (labels == "subspaces") c.align.cluster_dim = c.data.subspace_dim;
  parse_align(root, "align", c.align);
  if (labels == "kmeans") c.align.cluster_dim = 0;
  if (c.align.cluster_dim < 0 || c.align.cluster_dim >= c.data.ambient_dim) {
    throw Error::bad_input(root.field("align") + ".cluster_dim", std::to_string(c.align.cluster_dim),
                           "must be in [0, data.ambient_dim = " + std::to_string(c.data.ambient_dim) + ")");
  }
  c.align.dim = c.data.ambient_dim;
  c.baseline = root.optional<bool>("baseline", true);
  c.baseline_align = c.align;
  parse_align(root, "baseline_align", c.baseline_align);
  c.baseline_align.dim = c.data.ambient_dim;
  return c;
}

struct Outcome {
  std::uint64_t seed;
  double hierarchical, single_level;
  std::int32_t h_iterations, s_iterations;
};

Outcome run_seed(Backend& backend, const Config& c, std::uint64_t seed) {
  const SubspaceMixture data = make_subspace_mixture(c.data, seed);
  AlignmentOptions h = c.align;
  h.seed = seed;
  const Alignment fit = c.cluster_labels ? align_hierarchical(backend, data.x, data.y, {}, {}, h)
                                        : align_hierarchical(backend, data.x, data.y, data.x_label, data.y_label, h);
  Outcome o{seed, relative_error(data.rotation, fit.rotation, data.x, c.data.ambient_dim),
            std::numeric_limits<double>::quiet_NaN(), fit.iterations, 0};
  if (c.baseline) {
    AlignmentOptions s = c.baseline_align;
    s.seed = seed;
    const Alignment base = align_single_level(backend, data.x, data.y, s);
    o.single_level = relative_error(data.rotation, base.rotation, data.x, c.data.ambient_dim);
    o.s_iterations = base.iterations;
  }
  return o;
}

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

class OtAlignKind final : public sched::JobKind {
 public:
  std::string_view name() const override { return "ot_align"; }
  std::string_view description() const override {
    return "hierarchical OT alignment (cluster OT + ADMM) vs single-level Sinkhorn-Procrustes on subspace mixtures";
  }
  void validate(const io::ConfigNode& config) const override { parse(config); }
  std::string_view default_backend() const override { return "cpu"; }
  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const Config c = parse(config);
    sched::Table t;
    t.name = "alignment";
    auto& seed = t.add("seed", sched::Column::Type::integer);
    auto& method = t.add("method", sched::Column::Type::text);
    auto& error = t.add("relative_error", sched::Column::Type::real);
    auto& iterations = t.add("iterations", sched::Column::Type::integer);
    int recovered_h = 0, recovered_s = 0, better = 0;
    std::vector<double> eh, es;
    for (std::uint32_t k = 0; k < c.seeds; ++k) {
      progress.check_cancelled();
      const Outcome o = run_seed(backend, c, c.seed + k);
      seed.integers.push_back(static_cast<std::int64_t>(o.seed));
      method.texts.emplace_back("hierarchical");
      error.reals.push_back(o.hierarchical);
      iterations.integers.push_back(o.h_iterations);
      recovered_h += o.hierarchical < 0.05;
      eh.push_back(o.hierarchical);
      if (c.baseline) {
        seed.integers.push_back(static_cast<std::int64_t>(o.seed));
        method.texts.emplace_back("single_level");
        error.reals.push_back(o.single_level);
        iterations.integers.push_back(o.s_iterations);
        recovered_s += o.single_level < 0.05;
        better += o.hierarchical < o.single_level;
        es.push_back(o.single_level);
      }
      progress.report(k + 1, c.seeds);
    }
    const auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? std::nan("") : v[v.size() / 2];
    };
    sched::Results r;
    r.summary.push_back("hierarchical: relative error < 0.05 in " + std::to_string(recovered_h) + "/" +
                        std::to_string(c.seeds) + " seeds, median " + fixed(median(eh)));
    if (c.baseline) {
      r.summary.push_back("single-level: relative error < 0.05 in " + std::to_string(recovered_s) + "/" +
                          std::to_string(c.seeds) + " seeds, median " + fixed(median(es)) + "; hierarchical better in " +
                          std::to_string(better) + "/" + std::to_string(c.seeds));
    }
    r.tables.push_back(std::move(t));
    return r;
  }
  std::string shape_class(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    return "ot_align:" + std::to_string(c.data.ambient_dim) + ":" + std::to_string(c.data.clusters) + ":" +
           std::to_string(c.data.points_per_cluster);
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    const std::uint64_t n = static_cast<std::uint64_t>(c.data.clusters) * static_cast<std::uint64_t>(c.data.points_per_cluster);
    return 8 * (n * n * 2 + n * static_cast<std::uint64_t>(c.data.ambient_dim) * 8);
  }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override {
    return {"hierarchical_error", "single_level_error", "hierarchical_iterations", "single_level_iterations"};
  }
  // One job is one seed; its numbers depend on its own seed and config only.
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    return sched::run_each(jobs, progress, [&](const sched::JobInput& job) -> sched::Row {
      const Outcome o = run_seed(backend, parse(job.config, job.seed), job.seed);
      return {o.hierarchical, o.single_level, std::int64_t{o.h_iterations}, std::int64_t{o.s_iterations}};
    });
  }
};

}  // namespace

const sched::JobKind& ot_align_kind() {
  static const OtAlignKind kind;
  return kind;
}

}  // namespace engram::ot
