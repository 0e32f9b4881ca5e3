// `experiment: sinkhorn`: batched entropic OT between random or given point clouds.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/ot/ot_kinds.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "engram/models/ot/purposes.hpp"

namespace engram::ot {

namespace {

struct Config {
  std::string precision = "double";
  std::uint64_t seed = 0;
  SinkhornOptions options;
  double eps = 0.05;
  bool eps_relative = false;  // eps in units of each problem's cost scale
  double tau = std::numeric_limits<double>::infinity();
  bool divergence = false;
  // Random problems (when `points:` is absent).
  std::uint32_t problems = 1, n = 100, m = 100;
  bool random_weights = false;
  // Given points.
  bool given = false;
  std::vector<double> x, y, a, b;
};

std::vector<double> rows_of(const io::ConfigNode& node, const std::string& key, std::int32_t& dim) {
  std::vector<double> out;
  for (const io::ConfigNode& row : node.list(key)) {
    const auto cells = row.elements();
    if (dim == 0) dim = static_cast<std::int32_t>(cells.size());
    if (static_cast<std::int32_t>(cells.size()) != dim || dim == 0) {
      throw Error::bad_input(row.path(), std::to_string(cells.size()) + " coordinates",
                             "every point needs the same dimension, " + std::to_string(dim));
    }
    for (const io::ConfigNode& c : cells) out.push_back(c.number());
  }
  return out;
}

// `points: {file: clouds.npz}`: x [n, dim] and y [m, dim], optional a [n] and b [m], float32 or
// float64 (numpy.savez). Errors name the file and the array.
void read_points_npz(const io::ConfigNode& points, Config& c) {
  const std::string path = points.file_path("file");
  const std::map<std::string, data::NpyArray> arrays = data::read_npz(path);
  const auto field = [&](const std::string& name) { return points.field("file") + " (" + path + ")[" + name + "]"; };
  const auto array = [&](const std::string& name, bool required) -> const data::NpyArray* {
    const auto it = arrays.find(name);
    if (it == arrays.end()) {
      if (required) throw Error::bad_input(field(name), "missing", "the archive needs arrays x and y (a, b optional)");
      return nullptr;
    }
    const data::NpyArray& a = it->second;
    if (a.dtype != "<f4" && a.dtype != "<f8") {
      throw Error::bad_input(field(name) + ".dtype", a.dtype, "must be float32 or float64");
    }
    for (std::size_t k = 0; k < a.values.size(); ++k) {
      if (!std::isfinite(a.values[k])) {
        throw Error::bad_input(field(name) + "[" + std::to_string(k) + "]", to_text(a.values[k]), "must be finite");
      }
    }
    return &a;
  };
  const auto shape_text = [](const data::NpyArray& a) {
    std::string t = "[";
    for (std::size_t k = 0; k < a.shape.size(); ++k) t += (k ? ", " : "") + std::to_string(a.shape[k]);
    return t + "]";
  };
  const data::NpyArray* x = array("x", true);
  const data::NpyArray* y = array("y", true);
  for (const data::NpyArray* v : {x, y}) {
    if (v->shape.size() != 2 || v->shape[0] < 1 || v->shape[1] < 1) {
      throw Error::bad_input(field(v->name) + ".shape", shape_text(*v), "must be [points, dim] with both >= 1");
    }
  }
  if (x->shape[1] != y->shape[1]) {
    throw Error::bad_input(field("y") + ".shape", shape_text(*y),
                           "needs the dimension of x, " + std::to_string(x->shape[1]));
  }
  c.options.dim = static_cast<std::int32_t>(x->shape[1]);
  c.x = x->values;
  c.y = y->values;
  for (const auto& [name, points_of, out] : {std::tuple{"a", x, &c.a}, std::tuple{"b", y, &c.b}}) {
    const data::NpyArray* w = array(name, false);
    if (w == nullptr) continue;
    if (w->shape.size() != 1 || w->shape[0] != points_of->shape[0]) {
      throw Error::bad_input(field(name) + ".shape", shape_text(*w),
                             "must be [" + std::to_string(points_of->shape[0]) + "], one weight per point of " +
                                 points_of->name);
    }
    *out = w->values;
  }
}

std::vector<double> numbers(const io::ConfigNode& node, const std::string& key) {
  std::vector<double> out;
  if (!node.has(key)) return out;
  for (const io::ConfigNode& c : node.list(key)) out.push_back(c.number());
  return out;
}

Config parse(const io::ConfigNode& root, std::optional<std::uint64_t> seed = std::nullopt) {
  root.allow_keys({"experiment", "backend", "seed", "precision", "cost", "p", "eps", "eps_relative", "tau", "reach", "tol",
                   "max_iter", "eps_decay", "divergence", "random", "points"});
  Config c;
  c.seed = seed ? *seed : root.optional<std::uint64_t>("seed", 0);
  c.precision = root.optional<std::string>("precision", "double");
  if (c.precision != "double" && c.precision != "float") {
    throw Error::bad_input(root.field("precision"), c.precision, "must be double or float");
  }
  const std::string cost = root.optional<std::string>("cost", "sq_euclidean");
  if (cost == "sq_euclidean") {
    c.options.cost = CostKind::sq_euclidean;
  } else if (cost == "p_norm") {
    c.options.cost = CostKind::p_norm;
  } else {
    throw Error::bad_input(root.field("cost"), cost, "must be sq_euclidean or p_norm");
  }
  c.options.power = root.optional<double>("p", 2.0);
  c.eps = root.optional<double>("eps", 0.05);
  if (!(c.eps > 0) || !std::isfinite(c.eps)) throw Error::bad_input(root.field("eps"), to_text(c.eps), "must be > 0");
  c.eps_relative = root.optional<bool>("eps_relative", false);
  c.tau = root.optional<double>("tau", std::numeric_limits<double>::infinity());
  if (!(c.tau > 0)) throw Error::bad_input(root.field("tau"), to_text(c.tau), "must be > 0 (omit for balanced OT)");
  if (root.has("reach")) {
    // The reach r of the KL relaxation (geomloss's convention): τ = r^p.
    if (root.has("tau")) throw Error::bad_input(root.field("reach"), "(set)", "give either tau or reach");
    const double reach = root.required<double>("reach");
    if (!(reach > 0)) throw Error::bad_input(root.field("reach"), to_text(reach), "must be > 0");
    c.tau = std::pow(reach, root.optional<double>("p", 2.0));
  }
  c.options.tol = root.optional<double>("tol", 1e-9);
  c.options.max_iter = static_cast<std::int32_t>(root.optional<std::uint32_t>("max_iter", 10000));
  c.options.eps_decay = root.optional<double>("eps_decay", 0.5);
  c.divergence = root.optional<bool>("divergence", false);
  if (root.has("points")) {
    if (root.has("random")) throw Error::bad_input(root.field("random"), "(set)", "give either random: or points:");
    const io::ConfigNode p = root.child("points");
    p.allow_keys({"x", "y", "a", "b", "file"});
    c.given = true;
    if (p.has("file")) {
      for (const char* key : {"x", "y", "a", "b"}) {
        if (p.has(key)) throw Error::bad_input(p.field(key), "(set)", "give either file: or x:/y: lists");
      }
      read_points_npz(p, c);
    } else {
      std::int32_t dim = 0;
      c.x = rows_of(p, "x", dim);
      c.y = rows_of(p, "y", dim);
      c.a = numbers(p, "a");
      c.b = numbers(p, "b");
      c.options.dim = dim;
    }
  } else {
    const io::ConfigNode r = root.has("random") ? root.child("random") : io::ConfigNode(YAML::Node(YAML::NodeType::Map), root.field("random"));
    r.allow_keys({"problems", "n", "m", "dim", "weights"});
    c.problems = r.optional<std::uint32_t>("problems", 1);
    c.n = r.optional<std::uint32_t>("n", 100);
    c.m = r.optional<std::uint32_t>("m", c.n);
    c.options.dim = static_cast<std::int32_t>(r.optional<std::uint32_t>("dim", 3));
    const std::string w = r.optional<std::string>("weights", "uniform");
    if (w != "uniform" && w != "random") throw Error::bad_input(r.field("weights"), w, "must be uniform or random");
    c.random_weights = w == "random";
    for (const auto& [key, v] : {std::pair{"problems", c.problems}, std::pair{"n", c.n}, std::pair{"m", c.m}}) {
      if (v == 0) throw Error::bad_input(r.field(key), "0", "must be >= 1");
    }
  }
  return c;
}

// Points uniform in the unit cube, keyed by (seed, problem, side, coordinate).
template <class T>
std::vector<Problem<T>> problems_of(const Config& c) {
  std::vector<Problem<T>> out;
  if (c.given) {
    Problem<T> p;
    for (double v : c.x) p.x.push_back(static_cast<T>(v));
    for (double v : c.y) p.y.push_back(static_cast<T>(v));
    for (double v : c.a) p.a.push_back(static_cast<T>(v));
    for (double v : c.b) p.b.push_back(static_cast<T>(v));
    p.eps = c.eps;
    p.tau = c.tau;
    out.push_back(std::move(p));
  } else {
    for (std::uint32_t k = 0; k < c.problems; ++k) {
      Problem<T> p;
      RngStream rng(RngKey{c.seed, k + 1, purpose::ot_synthetic, 100, 0});
      for (std::uint64_t i = 0; i < std::uint64_t{c.n} * static_cast<std::uint64_t>(c.options.dim); ++i) p.x.push_back(static_cast<T>(rng.uniform()));
      for (std::uint64_t i = 0; i < std::uint64_t{c.m} * static_cast<std::uint64_t>(c.options.dim); ++i) p.y.push_back(static_cast<T>(rng.uniform()));
      if (c.random_weights) {
        for (auto [w, count] : {std::pair{&p.a, c.n}, std::pair{&p.b, c.m}}) {
          std::vector<double> raw;
          double total = 0;
          for (std::uint32_t i = 0; i < count; ++i) total += raw.emplace_back(0.2 + 0.8 * rng.uniform());
          for (double v : raw) w->push_back(static_cast<T>(v / total));
        }
      }
      p.eps = c.eps;
      p.tau = c.tau;
      out.push_back(std::move(p));
    }
  }
  if (c.eps_relative) {
    for (Problem<T>& p : out) p.eps = c.eps * cost_scale(p, c.options);
  }
  return out;
}

struct Row {
  std::int64_t n = 0, m = 0;
  double eps = 0, transport_cost = 0, value = 0, error = 0, divergence = std::numeric_limits<double>::quiet_NaN();
  std::int32_t iterations = 0;
  bool converged = false;
};

template <class T>
std::vector<std::vector<Row>> solve_jobs(Backend& backend, const std::vector<Config>& configs, const Progress& progress) {
  // Every job's problems in one ragged batch; each problem's values depend on itself only.
  std::vector<Problem<T>> all;
  std::vector<std::size_t> first{0};
  for (const Config& c : configs) {
    const auto p = problems_of<T>(c);
    all.insert(all.end(), p.begin(), p.end());
    first.push_back(all.size());
  }
  SinkhornOptions options = configs.front().options;
  options.progress = progress.silent();  // Ctrl-C stops a long solve; the bar counts jobs
  validate(all, options);
  const auto solutions = solve(backend, all, options);
  std::vector<double> divergence;
  if (configs.front().divergence) divergence = sinkhorn_divergence(backend, all, options);
  std::vector<std::vector<Row>> rows(configs.size());
  for (std::size_t j = 0; j < configs.size(); ++j) {
    for (std::size_t k = first[j]; k < first[j + 1]; ++k) {
      const auto& s = solutions[k];
      Row r;
      r.n = static_cast<std::int64_t>(s.f.size());
      r.m = static_cast<std::int64_t>(s.g.size());
      r.eps = all[k].eps;
      r.transport_cost = s.transport_cost;
      r.value = s.value;
      r.error = s.error;
      r.iterations = s.iterations;
      r.converged = s.converged;
      if (!divergence.empty()) r.divergence = divergence[k];
      rows[j].push_back(r);
    }
  }
  return rows;
}

std::vector<std::vector<Row>> solve_any(Backend& backend, const std::vector<Config>& configs, const Progress& progress) {
  return configs.front().precision == "float" ? solve_jobs<float>(backend, configs, progress)
                                              : solve_jobs<double>(backend, configs, progress);
}

class SinkhornKind final : public sched::JobKind {
 public:
  std::string_view name() const override { return "sinkhorn"; }
  std::string_view description() const override {
    return "batched log-domain Sinkhorn between point clouds: OT cost, iterations, marginal error, divergence";
  }
  void validate(const io::ConfigNode& config) const override {
    Config c = parse(config);
    // Random points are valid by construction; what is checked (ε, τ, options) does not depend on
    // their number or the number of problems, so a few stand in for them: validating must not allocate what the memory
    // check (run_config, after validation) is there to refuse.
    if (!c.given) {
      c.n = std::min(c.n, 64u);
      c.m = std::min(c.m, 64u);
      c.problems = std::min(c.problems, 4u);  // every random problem shares n, m, dim, ε and τ
    }
    if (c.precision == "float") {
      ot::validate(problems_of<float>(c), c.options);
    } else {
      ot::validate(problems_of<double>(c), c.options);
    }
  }
  std::string_view default_backend() const override { return "cpu"; }
  sched::Results run(const io::ConfigNode& config, Backend& backend, const Progress& progress) const override {
    const Config c = parse(config);
    progress.check_cancelled();
    const std::vector<Row> rows = solve_any(backend, {c}, progress).front();
    progress.report(1, 1);
    sched::Table t;
    t.name = "sinkhorn";
    auto& problem = t.add("problem", sched::Column::Type::integer);
    auto& n = t.add("n", sched::Column::Type::integer);
    auto& m = t.add("m", sched::Column::Type::integer);
    auto& eps = t.add("eps", sched::Column::Type::real);
    auto& iterations = t.add("iterations", sched::Column::Type::integer);
    auto& converged = t.add("converged", sched::Column::Type::integer);
    auto& error = t.add("marginal_error", sched::Column::Type::real);
    auto& cost = t.add("transport_cost", sched::Column::Type::real);
    auto& value = t.add("value", sched::Column::Type::real);
    sched::Column* divergence = c.divergence ? &t.add("divergence", sched::Column::Type::real) : nullptr;
    int all_converged = 0;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const Row& r = rows[k];
      problem.integers.push_back(static_cast<std::int64_t>(k));
      n.integers.push_back(r.n);
      m.integers.push_back(r.m);
      eps.reals.push_back(r.eps);
      iterations.integers.push_back(r.iterations);
      converged.integers.push_back(r.converged);
      error.reals.push_back(r.error);
      cost.reals.push_back(r.transport_cost);
      value.reals.push_back(r.value);
      if (divergence) divergence->reals.push_back(r.divergence);
      all_converged += r.converged;
    }
    sched::Results results;
    results.summary.push_back(std::to_string(rows.size()) + " problem(s), " + std::to_string(all_converged) +
                              " converged; problem 0: cost " + to_text(rows[0].transport_cost) + " after " +
                              std::to_string(rows[0].iterations) + " iterations, marginal error " +
                              to_text(rows[0].error));
    results.tables.push_back(std::move(t));
    return results;
  }
  std::string shape_class(const io::ConfigNode& config) const override {
    // Jobs that share everything the batched solver treats as global pack into one call; ε, τ,
    // seeds and weights are per problem.
    const Config c = parse(config);
    const SinkhornOptions& o = c.options;
    return "sinkhorn:" + c.precision + ":" + std::to_string(static_cast<int>(o.cost)) + ":" + to_text(o.power) + ":" +
           std::to_string(o.dim) + ":" + to_text(o.tol) + ":" + std::to_string(o.max_iter) + ":" +
           to_text(o.eps_decay) + ":" + (c.divergence ? "div" : "nodiv");
  }
  std::uint64_t estimate_bytes(const io::ConfigNode& config) const override {
    const Config c = parse(config);
    const std::uint64_t points = c.given ? (c.x.size() + c.y.size()) / static_cast<std::uint64_t>(std::max(1, c.options.dim))
                                          : std::uint64_t{c.problems} * (std::uint64_t{c.n} + c.m);
    const std::uint64_t word = c.precision == "float" ? 4 : 8;
    return points * word * (static_cast<std::uint64_t>(c.options.dim) + 8) * (c.divergence ? 4 : 1);
  }
  std::vector<std::string> result_columns(const io::ConfigNode&) const override {
    return {"problems", "converged", "iterations_max", "marginal_error_max", "transport_cost_mean", "value_mean",
            "divergence_mean"};
  }
  std::vector<sched::Row> run_batch(const std::vector<sched::JobInput>& jobs, Backend& backend,
                                    const Progress& progress) const override {
    progress.check_cancelled();
    std::vector<Config> configs;
    for (const sched::JobInput& job : jobs) configs.push_back(parse(job.config, job.seed));
    const auto per_job = solve_any(backend, configs, progress);
    std::vector<sched::Row> out;
    for (const std::vector<Row>& rows : per_job) {
      double cost = 0, value = 0, divergence = 0, error = 0;
      std::int32_t iterations = 0, converged = 0;
      for (const Row& r : rows) {
        cost += r.transport_cost / static_cast<double>(rows.size());
        value += r.value / static_cast<double>(rows.size());
        divergence += r.divergence / static_cast<double>(rows.size());
        error = std::max(error, r.error);
        iterations = std::max(iterations, r.iterations);
        converged += r.converged;
      }
      out.push_back({static_cast<std::int64_t>(rows.size()), std::int64_t{converged}, std::int64_t{iterations}, error, cost,
                     value, divergence});
    }
    return out;
  }
};

}  // namespace

const sched::JobKind& sinkhorn_kind() {
  static const SinkhornKind kind;
  return kind;
}

}  // namespace engram::ot
