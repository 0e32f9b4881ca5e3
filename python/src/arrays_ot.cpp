// engram.ot on arrays: the batched Sinkhorn solver (models/ot/sinkhorn.hpp) on numpy arrays.
// The Python wrapper (engram/ot.py) checks dtypes and shapes and hands over C-contiguous arrays;
// this file lays them out as Problems, solves them as one ragged batch without the GIL (Ctrl-C
// stops the solve within `check_every` iterations) and returns each problem's results as numpy.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "py_support.hpp"

namespace engram::py {

namespace {

using namespace nb::literals;

template <class T>
using Array = nb::ndarray<const T, nb::c_contig, nb::device::cpu>;

template <class T>
std::vector<T> values_of(const nb::handle& item, const char* name, std::size_t problem) {
  if (item.is_none()) return {};
  Array<T> array;
  if (!nb::try_cast(item, array)) {
    throw Error::bad_input("problems[" + std::to_string(problem) + "]." + name,
                           nb::cast<std::string>(nb::str(item.type())), "must be a C-contiguous float array");
  }
  const T* data = array.data();
  return std::vector<T>(data, data + array.size());
}

ot::CostKind cost_kind(const std::string& cost) {
  if (cost == "sq_euclidean" || cost == "sqeuclidean") return ot::CostKind::sq_euclidean;
  if (cost == "p_norm") return ot::CostKind::p_norm;
  if (cost == "stored") return ot::CostKind::stored;
  throw Error::bad_input("cost", cost, "must be sq_euclidean, p_norm or stored (a given matrix M)");
}

struct Settings {
  std::string cost;
  double p;
  std::int32_t dim;
  double tol;
  std::int32_t max_iter;
  double eps_decay;
  double eps_start;
  bool plan;
  bool gradient;
  std::int32_t check_every;
};

ot::SinkhornOptions options_of(const Settings& s) {
  ot::SinkhornOptions o;
  o.cost = cost_kind(s.cost);
  o.power = s.p;
  o.dim = s.dim;
  o.tol = s.tol;
  if (s.max_iter < 1) throw Error::bad_input("max_iter", std::to_string(s.max_iter), "must be >= 1");
  o.max_iter = s.max_iter;
  o.eps_decay = s.eps_decay;
  o.eps_start = s.eps_start;
  o.plan = s.plan;
  o.gradient = s.gradient;
  o.check_every = s.check_every;
  return o;
}

// Each problem is a tuple (x, y, M, a, b, eps, tau); arrays are flat C-contiguous or None.
template <class T>
std::vector<ot::Problem<T>> problems_of(const nb::list& given, const ot::SinkhornOptions& o) {
  std::vector<ot::Problem<T>> problems;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const nb::tuple t = nb::cast<nb::tuple>(given[i]);
    ot::Problem<T> q;
    q.x = values_of<T>(t[0], "x", i);
    q.y = values_of<T>(t[1], "y", i);
    q.cost = values_of<T>(t[2], "M", i);
    if (o.cost == ot::CostKind::stored) {
      q.n = nb::cast<std::int64_t>(t[7]);
      q.m = nb::cast<std::int64_t>(t[8]);
    }
    q.a = values_of<T>(t[3], "a", i);
    q.b = values_of<T>(t[4], "b", i);
    q.eps = nb::cast<double>(t[5]);
    q.tau = nb::cast<double>(t[6]);
    problems.push_back(std::move(q));
  }
  return problems;
}

template <class T>
nb::list solve_as(Backend& backend, const nb::list& given, const ot::SinkhornOptions& options) {
  std::vector<ot::Problem<T>> problems = problems_of<T>(given, options);
  ot::SinkhornOptions o = options;
  PythonHooks hooks{nb::none(), std::nullopt};
  o.progress = hooks.engine_progress();
  std::vector<ot::Solution<T>> solutions;
  hooks.run_released([&] { solutions = ot::solve(backend, problems, o); });
  nb::list out;
  for (std::size_t i = 0; i < solutions.size(); ++i) {
    ot::Solution<T>& s = solutions[i];
    const std::size_t n = s.f.size(), m = s.g.size();
    nb::dict r;
    r["f"] = to_numpy(std::move(s.f));
    r["g"] = to_numpy(std::move(s.g));
    r["plan"] = o.plan ? nb::cast(owning_array(std::move(s.plan), {n, m})) : nb::none();
    r["gradient"] = o.gradient
                        ? nb::cast(owning_array(std::move(s.gradient), {n, static_cast<std::size_t>(o.dim)}))
                        : nb::none();
    r["cost"] = s.transport_cost;
    r["value"] = s.value;
    r["mass"] = s.mass;
    r["error"] = s.error;
    r["eps"] = s.eps;
    r["iterations"] = s.iterations;
    r["converged"] = s.converged;
    out.append(r);
  }
  return out;
}

template <class T>
std::vector<double> divergence_as(Backend& backend, const nb::list& given, const ot::SinkhornOptions& options) {
  std::vector<ot::Problem<T>> problems = problems_of<T>(given, options);
  ot::SinkhornOptions o = options;
  PythonHooks hooks{nb::none(), std::nullopt};
  o.progress = hooks.engine_progress();
  std::vector<double> out;
  hooks.run_released([&] { out = ot::sinkhorn_divergence(backend, problems, o); });
  return out;
}

Settings settings(const std::string& cost, double p, std::int32_t dim, double tol, std::int32_t max_iter,
                  double eps_decay, double eps_start, bool plan, bool gradient, std::int32_t check_every) {
  return Settings{cost, p, dim, tol, max_iter, eps_decay, eps_start, plan, gradient, check_every};
}

}  // namespace

void register_ot(nb::module_& m) {
  m.def(
      "_sinkhorn",
      [](const nb::list& problems, bool single, const std::string& cost, double p, std::int32_t dim, double tol,
         std::int32_t max_iter, double eps_decay, double eps_start, bool plan, bool gradient,
         std::int32_t check_every, const std::optional<nb::object>& backend) {
        const ot::SinkhornOptions o =
            options_of(settings(cost, p, dim, tol, max_iter, eps_decay, eps_start, plan, gradient, check_every));
        const auto be = resolve_backend(backend, "cpu");
        return single ? solve_as<float>(*be, problems, o) : solve_as<double>(*be, problems, o);
      },
      "problems"_a, "single"_a, "cost"_a, "p"_a, "dim"_a, "tol"_a, "max_iter"_a, "eps_decay"_a, "eps_start"_a,
      "plan"_a, "gradient"_a, "check_every"_a, "backend"_a = nb::none(),
      "Solves [(x, y, M, a, b, eps, tau, n, m)] as one ragged batch; see engram.ot.sinkhorn.");
  m.def(
      "_sinkhorn_divergence",
      [](const nb::list& problems, bool single, const std::string& cost, double p, std::int32_t dim, double tol,
         std::int32_t max_iter, double eps_decay, double eps_start, std::int32_t check_every,
         const std::optional<nb::object>& backend) {
        const ot::SinkhornOptions o =
            options_of(settings(cost, p, dim, tol, max_iter, eps_decay, eps_start, false, false, check_every));
        const auto be = resolve_backend(backend, "cpu");
        return to_numpy(single ? divergence_as<float>(*be, problems, o) : divergence_as<double>(*be, problems, o));
      },
      "problems"_a, "single"_a, "cost"_a, "p"_a, "dim"_a, "tol"_a, "max_iter"_a, "eps_decay"_a, "eps_start"_a,
      "check_every"_a, "backend"_a = nb::none(), "Debiased Sinkhorn divergences; see engram.ot.sinkhorn_divergence.");
}

}  // namespace engram::py
