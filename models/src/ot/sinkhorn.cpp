#include "engram/models/ot/sinkhorn.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/kernels/ot/cpu_sinkhorn.hpp"
#include "engram/kernels/ot/sinkhorn.hpp"

namespace engram::ot {

namespace {

// Memory the CPU scaling path may take for its kernels and online cost caches (a 10^4 x 10^4
// double problem takes 1.6 GB); larger batches run the log-domain functors, which need none.
constexpr double kScalingBudgetBytes = 2.5 * 1024.0 * 1024.0 * 1024.0;

bool online(const SinkhornOptions& o) { return o.cost != CostKind::stored; }

std::string at(std::size_t p, const std::string& field) { return "problems[" + std::to_string(p) + "]." + field; }

template <class T>
void check_finite(const std::vector<T>& v, std::size_t p, const std::string& field) {
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (!std::isfinite(v[k])) {
      throw Error::bad_input(at(p, field) + "[" + std::to_string(k) + "]", to_text(v[k]), "must be finite");
    }
  }
}

template <class T>
double check_weights(const std::vector<T>& w, std::int64_t count, std::size_t p, const std::string& field) {
  if (w.empty()) return 1.0;
  if (static_cast<std::int64_t>(w.size()) != count) {
    throw Error::bad_input(at(p, field) + ".size", std::to_string(w.size()),
                           "must equal the number of points, " + std::to_string(count));
  }
  double total = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    if (!std::isfinite(w[k]) || w[k] < T(0)) {
      throw Error::bad_input(at(p, field) + "[" + std::to_string(k) + "]", to_text(w[k]),
                             "must be a finite weight >= 0");
    }
    total += static_cast<double>(w[k]);
  }
  if (!(total > 0)) throw Error::bad_input(at(p, field), "all zero", "needs a positive total weight");
  return total;
}

template <class T>
std::int64_t points_of(const std::vector<T>& v, std::int32_t dim, std::size_t p, const std::string& field) {
  if (v.empty()) throw Error::bad_input(at(p, field), "empty", "needs at least one point");
  if (v.size() % static_cast<std::size_t>(dim) != 0) {
    throw Error::bad_input(at(p, field) + ".size", std::to_string(v.size()),
                           "must be a multiple of dim = " + std::to_string(dim) + " (row-major [n, dim] points)");
  }
  return static_cast<std::int64_t>(v.size() / static_cast<std::size_t>(dim));
}

template <class T>
std::pair<std::int64_t, std::int64_t> sizes(const Problem<T>& q, const SinkhornOptions& o) {
  if (online(o)) return {static_cast<std::int64_t>(q.x.size()) / o.dim, static_cast<std::int64_t>(q.y.size()) / o.dim};
  return {q.n, q.m};
}

template <class T>
std::vector<T> log_weights(const std::vector<T>& w, std::int64_t count) {
  std::vector<T> out(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    out[static_cast<std::size_t>(k)] =
        w.empty() ? -std::log(static_cast<T>(count)) : std::log(w[static_cast<std::size_t>(k)]);
  }
  return out;
}

// Iterations first .. first + count - 1 of every still-running problem of the batch. Below ~10^6
// cost evaluations per iteration the CPU runs the loops inline: there, four OpenMP fork/joins per
// iteration cost more than they save, above all on oversubscribed cores. Each item writes only
// its own outputs, so inline and parallel loops give the same bits.
template <class T>
void run_iterations(Backend& backend, const SinkhornBatch<T>& b, std::int32_t first, std::int32_t count) {
  const double pairs = static_cast<double>(b.nx) * static_cast<double>(b.ny) / b.problems;
  const bool inline_loops = backend.kind() == BackendKind::cpu && pairs < 1048576.0;
  const auto run = [&](std::int64_t n, const auto& f) {
    if (inline_loops) {
      for (std::int64_t i = 0; i < n; ++i) f(i);
    } else {
      launch(backend, n, f);
    }
  };
  with_cost<T>(b.cost_kind, [&](auto cost) {
    using Cost = decltype(cost);
    for (std::int32_t k = first; k < first + count; ++k) {
      run(b.ny, SinkhornHalfStep<T, Cost, false>{b, k});
      run(b.nx, SinkhornHalfStep<T, Cost, true>{b, k});
      run(b.problems, SinkhornCheck<T>{b, k});
      run(b.nx, SinkhornCommit<T>{b});
    }
  });
}

// Plan rows, <P, C>, mass, dual value and (online costs) the gradient for the final potentials.
template <class T>
void run_outputs(Backend& backend, const SinkhornBatch<T>& b, const SinkhornOutputs<T>& out) {
  with_cost<T>(b.cost_kind, [&](auto cost) { launch(backend, b.nx, SinkhornRows<T, decltype(cost)>{b, out}); });
  launch(backend, b.problems, SinkhornTotals<T>{b, out});
}

}  // namespace

template <class T>
void validate(const std::vector<Problem<T>>& problems, const SinkhornOptions& o) {
  if (problems.empty()) throw Error::bad_input("problems", "[]", "needs at least one problem");
  if (online(o) && o.dim <= 0) throw Error::bad_input("dim", std::to_string(o.dim), "must be >= 1 for online costs");
  if (o.cost == CostKind::p_norm && !(o.power >= 1 && std::isfinite(o.power))) {
    throw Error::bad_input("p", to_text(o.power), "must be a finite exponent >= 1");
  }
  if (!(o.tol > 0) || !std::isfinite(o.tol)) throw Error::bad_input("tol", to_text(o.tol), "must be > 0");
  if (o.max_iter <= 0) throw Error::bad_input("max_iter", std::to_string(o.max_iter), "must be >= 1");
  if (!(o.eps_decay > 0 && o.eps_decay <= 1)) {
    throw Error::bad_input("eps_decay", to_text(o.eps_decay), "must be in (0, 1]");
  }
  if (!(o.eps_start >= 0) || !std::isfinite(o.eps_start)) {
    throw Error::bad_input("eps_start", to_text(o.eps_start), "must be >= 0 (0: the cost scale)");
  }
  if (o.eps_start > 0 && o.eps_decay >= 1) {
    throw Error::bad_input("eps_start", to_text(o.eps_start), "needs eps_decay < 1 (eps_decay = 1 turns annealing off)");
  }
  if (o.check_every <= 0) throw Error::bad_input("check_every", std::to_string(o.check_every), "must be >= 1");
  if (o.gradient && !online(o)) throw Error::bad_input("gradient", "true", "needs an online (point) cost");
  for (std::size_t p = 0; p < problems.size(); ++p) {
    const Problem<T>& q = problems[p];
    if (!(q.eps > 0) || !std::isfinite(q.eps)) {
      throw Error::bad_input(at(p, "eps"), to_text(q.eps), "must be a finite number > 0");
    }
    if (!(q.tau > 0)) throw Error::bad_input(at(p, "tau"), to_text(q.tau), "must be > 0 (infinite for balanced OT)");
    std::int64_t n = 0, m = 0;
    if (online(o)) {
      n = points_of(q.x, o.dim, p, "x");
      m = points_of(q.y, o.dim, p, "y");
      check_finite(q.x, p, "x");
      check_finite(q.y, p, "y");
    } else {
      n = q.n;
      m = q.m;
      if (n <= 0 || m <= 0) {
        throw Error::bad_input(at(p, n <= 0 ? "n" : "m"), std::to_string(n <= 0 ? n : m), "must be >= 1");
      }
      if (static_cast<std::int64_t>(q.cost.size()) != n * m) {
        throw Error::bad_input(at(p, "cost.size"), std::to_string(q.cost.size()),
                               "must be n * m = " + std::to_string(n * m));
      }
      check_finite(q.cost, p, "cost");
    }
    const double mass_a = check_weights(q.a, n, p, "a");
    const double mass_b = check_weights(q.b, m, p, "b");
    if (!std::isfinite(q.tau) && std::abs(mass_a - mass_b) > 1e-6 * std::max(mass_a, mass_b)) {
      throw Error::bad_input(at(p, "b"), "total " + to_text(mass_b),
                             "balanced OT needs the total mass of a, " + to_text(mass_a) +
                                 " (set tau for unbalanced OT)");
    }
  }
}

template <class T>
double cost_scale(const Problem<T>& q, const SinkhornOptions& o) {
  if (!online(o)) {
    double s = 0;
    for (T c : q.cost) s = std::max(s, std::abs(static_cast<double>(c)));
    return s;
  }
  // One pass over the points in memory order (a pass per coordinate would stride through them).
  const auto dim = static_cast<std::size_t>(o.dim);
  std::vector<double> lo(dim, std::numeric_limits<double>::infinity()), hi(dim, -std::numeric_limits<double>::infinity());
  for (const auto* v : {&q.x, &q.y}) {
    for (std::size_t i = 0; i + dim <= v->size(); i += dim) {
      for (std::size_t k = 0; k < dim; ++k) {
        lo[k] = std::min(lo[k], static_cast<double>((*v)[i + k]));
        hi[k] = std::max(hi[k], static_cast<double>((*v)[i + k]));
      }
    }
  }
  double diameter2 = 0;
  for (std::size_t k = 0; k < dim; ++k) diameter2 += (hi[k] - lo[k]) * (hi[k] - lo[k]);
  return o.cost == CostKind::sq_euclidean ? diameter2 : std::pow(std::sqrt(diameter2), o.power);
}

template <class T>
std::vector<Solution<T>> solve(Backend& backend, const std::vector<Problem<T>>& problems, const SinkhornOptions& o) {
  validate(problems, o);
  const auto count = static_cast<std::int32_t>(problems.size());
  std::vector<std::int64_t> x_begin{0}, y_begin{0}, cost_begin{0};
  std::vector<std::int32_t> x_problem, y_problem, max_iter(problems.size(), o.max_iter);
  std::vector<T> x, y, cost, log_a, log_b, eps, eps_start, eps_decay, tau, tol;
  for (std::int32_t p = 0; p < count; ++p) {
    const Problem<T>& q = problems[static_cast<std::size_t>(p)];
    const auto [n, m] = sizes(q, o);
    x_begin.push_back(x_begin.back() + n);
    y_begin.push_back(y_begin.back() + m);
    cost_begin.push_back(cost_begin.back() + (online(o) ? 0 : n * m));
    x_problem.insert(x_problem.end(), static_cast<std::size_t>(n), p);
    y_problem.insert(y_problem.end(), static_cast<std::size_t>(m), p);
    if (online(o)) {
      x.insert(x.end(), q.x.begin(), q.x.end());
      y.insert(y.end(), q.y.begin(), q.y.end());
    } else {
      cost.insert(cost.end(), q.cost.begin(), q.cost.end());
    }
    const std::vector<T> la = log_weights(q.a, n), lb = log_weights(q.b, m);
    log_a.insert(log_a.end(), la.begin(), la.end());
    log_b.insert(log_b.end(), lb.begin(), lb.end());
    eps.push_back(static_cast<T>(q.eps));
    // Annealing starts at the cost scale, where one iteration already gives a good plan.
    // eps_decay = 1 is no annealing: a constant ε starting at the cost scale would never reach
    // the target, so it starts (and stays) at the target.
    const double start = o.eps_decay >= 1 ? q.eps : o.eps_start > 0 ? o.eps_start : cost_scale(q, o);
    eps_start.push_back(static_cast<T>(std::max(start, q.eps)));
    eps_decay.push_back(static_cast<T>(o.eps_decay));
    tau.push_back(static_cast<T>(q.tau));
    tol.push_back(static_cast<T>(o.tol));
  }
  const std::int64_t nx = x_begin.back(), ny = y_begin.back();

  Buffer<std::int64_t> d_x_begin(backend, x_begin), d_y_begin(backend, y_begin), d_cost_begin(backend, cost_begin);
  Buffer<std::int32_t> d_x_problem(backend, x_problem), d_y_problem(backend, y_problem),
      d_max_iter(backend, max_iter), d_iterations(backend, problems.size()), d_status(backend, problems.size());
  Buffer<T> d_x(backend, x), d_y(backend, y), d_cost(backend, cost), d_log_a(backend, log_a), d_log_b(backend, log_b),
      d_eps(backend, eps), d_eps_start(backend, eps_start), d_eps_decay(backend, eps_decay), d_tau(backend, tau),
      d_tol(backend, tol), d_f(backend, static_cast<std::size_t>(nx)), d_g(backend, static_cast<std::size_t>(ny)),
      d_f_next(backend, static_cast<std::size_t>(nx)), d_row_error(backend, static_cast<std::size_t>(nx)),
      d_error(backend, problems.size());
  d_f.zero();
  d_g.zero();
  d_iterations.zero();
  d_status.zero();
  d_error.zero();

  SinkhornBatch<T> b;
  b.problems = count;
  b.nx = nx;
  b.ny = ny;
  b.dim = o.dim;
  b.cost_kind = o.cost;
  b.power = static_cast<T>(o.power);
  b.x_begin = d_x_begin.data();
  b.y_begin = d_y_begin.data();
  b.x_problem = d_x_problem.data();
  b.y_problem = d_y_problem.data();
  b.x = d_x.data();
  b.y = d_y.data();
  b.cost = d_cost.data();
  b.cost_begin = d_cost_begin.data();
  b.log_a = d_log_a.data();
  b.log_b = d_log_b.data();
  b.f = d_f.data();
  b.g = d_g.data();
  b.f_next = d_f_next.data();
  b.row_error = d_row_error.data();
  b.eps = d_eps.data();
  b.eps_start = d_eps_start.data();
  b.eps_decay = d_eps_decay.data();
  b.tau = d_tau.data();
  b.tol = d_tol.data();
  b.max_iter = d_max_iter.data();
  b.error = d_error.data();
  b.iterations = d_iterations.data();
  b.status = d_status.data();

  std::vector<std::int64_t> plan_begin{0};
  for (std::int32_t p = 0; p < count; ++p) {
    const auto [n, m] = sizes(problems[static_cast<std::size_t>(p)], o);
    plan_begin.push_back(plan_begin.back() + (o.plan ? n * m : 0));
  }
  Buffer<std::int64_t> d_plan_begin(backend, plan_begin);
  Buffer<T> d_plan(backend, static_cast<std::size_t>(plan_begin.back())),
      d_gradient(backend, o.gradient ? static_cast<std::size_t>(nx * o.dim) : 0),
      d_row_cost(backend, static_cast<std::size_t>(nx)), d_row_mass(backend, static_cast<std::size_t>(nx)),
      d_transport(backend, problems.size()), d_mass(backend, problems.size()), d_value(backend, problems.size());
  SinkhornOutputs<T> out;
  out.plan = o.plan ? d_plan.data() : nullptr;
  out.plan_begin = d_plan_begin.data();
  out.gradient = o.gradient ? d_gradient.data() : nullptr;
  out.row_cost = d_row_cost.data();
  out.row_mass = d_row_mass.data();
  out.transport_cost = d_transport.data();
  out.mass = d_mass.data();
  out.value = d_value.data();

  const cpu::ScalingPlan scaling = cpu::plan_scaling<T>(x_begin, y_begin, online(o), omp_get_max_threads(),
                                                        kScalingBudgetBytes);
  if (o.cpu_scaling && backend.kind() == BackendKind::cpu && scaling.fits) {
    // CPU backend memory is host memory: the fast path works on the batch in place.
    const cpu::Gram<T> gram = [&backend](const T* xs, std::int64_t n, const T* ys, std::int64_t m, std::int32_t dim,
                                         T* gram_out) {
      backend.gemm(false, true, n, m, dim, T(1), xs, ys, T(0), gram_out);
    };
    cpu::Cancellation cancellation{[&o] { return !o.progress.cancelled(); }, o.check_every};
    with_cost<T>(o.cost, [&](auto policy) {
      cpu::solve_scaling<T, decltype(policy)>(b, out, scaling, gram, cancellation);
    });
    if (cancellation.stopped) throw Error::cancelled("Sinkhorn stopped at the caller's request");
  } else {
    // Problems freeze themselves on the device; the host only decides when every one has.
    for (std::int32_t k = 0; k < o.max_iter; k += o.check_every) {
      o.progress.check_cancelled();
      run_iterations(backend, b, k, std::min(o.check_every, o.max_iter - k));
      const std::vector<std::int32_t> status = d_status.to_host();
      if (std::none_of(status.begin(), status.end(), [](std::int32_t s) { return s == kRunning; })) break;
    }
    run_outputs(backend, b, out);
  }

  const std::vector<T> f = d_f.to_host(), g = d_g.to_host(), plan = d_plan.to_host(), gradient = d_gradient.to_host(),
                       transport = d_transport.to_host(), mass = d_mass.to_host(), value = d_value.to_host(),
                       error = d_error.to_host();
  const std::vector<std::int32_t> iterations = d_iterations.to_host(), status = d_status.to_host();
  std::vector<Solution<T>> solutions(problems.size());
  for (std::size_t p = 0; p < problems.size(); ++p) {
    Solution<T>& s = solutions[p];
    const auto xb = static_cast<std::ptrdiff_t>(x_begin[p]), xe = static_cast<std::ptrdiff_t>(x_begin[p + 1]);
    const auto yb = static_cast<std::ptrdiff_t>(y_begin[p]), ye = static_cast<std::ptrdiff_t>(y_begin[p + 1]);
    s.f.assign(f.begin() + xb, f.begin() + xe);
    s.g.assign(g.begin() + yb, g.begin() + ye);
    if (o.plan) {
      s.plan.assign(plan.begin() + static_cast<std::ptrdiff_t>(plan_begin[p]),
                    plan.begin() + static_cast<std::ptrdiff_t>(plan_begin[p + 1]));
    }
    if (o.gradient) s.gradient.assign(gradient.begin() + xb * o.dim, gradient.begin() + xe * o.dim);
    s.transport_cost = static_cast<double>(transport[p]);
    s.value = static_cast<double>(value[p]);
    s.mass = static_cast<double>(mass[p]);
    s.error = static_cast<double>(error[p]);
    s.iterations = iterations[p];
    s.converged = status[p] == kConverged;
    const double annealed = static_cast<double>(eps_start[p]) *
                            std::pow(static_cast<double>(eps_decay[p]), std::max(0, s.iterations - 1));
    s.eps = std::max(annealed, problems[p].eps);
  }
  return solutions;
}

template <class T>
std::vector<double> sinkhorn_divergence(Backend& backend, const std::vector<Problem<T>>& problems,
                                        const SinkhornOptions& options) {
  if (options.cost == CostKind::stored) {
    throw Error::bad_input("cost", "stored", "the Sinkhorn divergence needs an online (point) cost");
  }
  validate(problems, options);
  std::vector<Problem<T>> all;
  all.reserve(problems.size() * 3);
  for (const Problem<T>& q : problems) {
    all.push_back(q);
    Problem<T> xx = q;
    xx.y = q.x;
    xx.b = q.a;
    all.push_back(std::move(xx));
    Problem<T> yy = q;
    yy.x = q.y;
    yy.a = q.b;
    all.push_back(std::move(yy));
  }
  SinkhornOptions o = options;
  o.plan = false;
  o.gradient = false;
  const std::vector<Solution<T>> s = solve(backend, all, o);
  std::vector<double> out(problems.size());
  for (std::size_t p = 0; p < problems.size(); ++p) {
    out[p] = s[3 * p].value - 0.5 * s[3 * p + 1].value - 0.5 * s[3 * p + 2].value;
  }
  return out;
}

#define ENGRAM_OT_INSTANTIATE(T)                                                                            \
  template void validate<T>(const std::vector<Problem<T>>&, const SinkhornOptions&);                       \
  template std::vector<Solution<T>> solve<T>(Backend&, const std::vector<Problem<T>>&, const SinkhornOptions&); \
  template std::vector<double> sinkhorn_divergence<T>(Backend&, const std::vector<Problem<T>>&,             \
                                                      const SinkhornOptions&);                              \
  template double cost_scale<T>(const Problem<T>&, const SinkhornOptions&);
ENGRAM_OT_INSTANTIATE(float)
ENGRAM_OT_INSTANTIATE(double)
#undef ENGRAM_OT_INSTANTIATE

}  // namespace engram::ot
