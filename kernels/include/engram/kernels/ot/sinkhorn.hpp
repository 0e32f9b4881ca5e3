#pragma once
// Batched log-domain Sinkhorn: B independent entropic OT problems of possibly different sizes
// (ragged, through offset arrays) advanced together, each on its own ε schedule and stopping on
// its own. Problem p transports weights a (rows x_begin[p]..x_begin[p+1]) onto weights b (rows
// y_begin[p]..y_begin[p+1]) and solves
//   min_P <P, C> + ε KL(P | a ⊗ b) + τ KL(P 1 | a) + τ KL(Pᵀ 1 | b)      (τ = ∞: balanced)
// through its dual potentials f, g; the plan is P_ij = a_i b_j exp((f_i + g_j - C_ij) / ε).
//
// One iteration is four launches:
//   SinkhornHalfStep<rows = y>  one work item per target point: g_j <- -λ ε LSE_i(log a_i + (f_i - C_ij)/ε)
//   SinkhornHalfStep<rows = x>  one per source point: f'_i from g, and the row-marginal error of (f, g)
//   SinkhornCheck               one per problem: sums the error, marks converged / out of iterations
//   SinkhornCommit              one per source point: f <- f' while the problem still runs
// with λ = τ / (τ + ε). A problem stops with (f, g) where g was computed from f, so its column
// marginals are exact and its row-marginal error (L1; for unbalanced problems the largest change
// of f) is the one reported. ε anneals per problem: ε_k = max(ε, ε_start · decay^k), and
// convergence counts only once ε_k = ε. Every value a problem takes depends on its own data and
// the iteration number only, never on the other problems of the batch.
//
//   using Cost = engram::ot::OnlineCost<double, engram::ot::SqEuclidean<double>>;
//   engram::ot::SinkhornBatch<double> b = ...;                 // pointers into backend memory
//   for (std::int32_t k = 0; k < iterations; ++k) {            // what ot::solve launches per iteration
//     for (std::int64_t j = 0; j < b.ny; ++j) engram::ot::SinkhornHalfStep<double, Cost, false>{b, k}(j);
//     for (std::int64_t i = 0; i < b.nx; ++i) engram::ot::SinkhornHalfStep<double, Cost, true>{b, k}(i);
//     for (std::int64_t p = 0; p < b.problems; ++p) engram::ot::SinkhornCheck<double>{b, k}(p);
//     for (std::int64_t i = 0; i < b.nx; ++i) engram::ot::SinkhornCommit<double>{b}(i);
//   }
#include <cmath>
#include <cstdint>
#include <limits>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/ot/cost.hpp"

namespace engram::ot {

enum SinkhornStatus : std::int32_t { kRunning = 0, kConverged = 1, kIterationCap = 2 };

template <class T>
struct SinkhornBatch {
  std::int32_t problems = 0;
  std::int64_t nx = 0;   // source rows of all problems
  std::int64_t ny = 0;   // target rows of all problems
  std::int32_t dim = 0;  // point dimension (online costs)
  CostKind cost_kind = CostKind::sq_euclidean;
  T power = 2;           // p of the p-norm cost

  const std::int64_t* x_begin = nullptr;    // [problems + 1] first source row of each problem
  const std::int64_t* y_begin = nullptr;    // [problems + 1]
  const std::int32_t* x_problem = nullptr;  // [nx] problem of each source row
  const std::int32_t* y_problem = nullptr;  // [ny]
  const T* x = nullptr;                     // [nx, dim] (online costs)
  const T* y = nullptr;                     // [ny, dim]
  const T* cost = nullptr;                  // stored costs, problem p at cost_begin[p], [n_p, m_p]
  const std::int64_t* cost_begin = nullptr;
  const T* log_a = nullptr;                 // [nx] log weights (-inf for a zero weight)
  const T* log_b = nullptr;                 // [ny]

  T* f = nullptr;          // [nx]
  T* g = nullptr;          // [ny]
  T* f_next = nullptr;     // [nx]
  T* row_error = nullptr;  // [nx]

  // Per problem.
  const T* eps = nullptr;        // target ε
  const T* eps_start = nullptr;  // first ε of the annealing
  const T* eps_decay = nullptr;  // factor per iteration, in (0, 1]
  const T* tau = nullptr;        // KL marginal penalty; +inf for balanced OT
  const T* tol = nullptr;
  const std::int32_t* max_iter = nullptr;
  T* error = nullptr;
  std::int32_t* iterations = nullptr;
  std::int32_t* status = nullptr;

  ENGRAM_HD T eps_at(std::int32_t p, std::int32_t iteration) const {
    const T annealed = eps_start[p] * ot_pow(eps_decay[p], static_cast<T>(iteration));
    return annealed > eps[p] ? annealed : eps[p];
  }
  ENGRAM_HD bool balanced(std::int32_t p) const { return !(tau[p] < std::numeric_limits<T>::infinity()); }
  ENGRAM_HD T lambda(std::int32_t p, T e) const { return balanced(p) ? T(1) : tau[p] / (tau[p] + e); }
};

// C(x_i, y_j) for global rows i (source) and j (target) of problem p.
template <class T>
struct StoredCost {
  using Metric = SqEuclidean<T>;  // unused: stored costs have no point gradient
  ENGRAM_HD static T eval(const SinkhornBatch<T>& b, std::int32_t p, std::int64_t i, std::int64_t j) {
    const std::int64_t m = b.y_begin[p + 1] - b.y_begin[p];
    return b.cost[b.cost_begin[p] + (i - b.x_begin[p]) * m + (j - b.y_begin[p])];
  }
};
template <class T, class M>
struct OnlineCost {
  using Metric = M;
  ENGRAM_HD static T eval(const SinkhornBatch<T>& b, std::int32_t /*p*/, std::int64_t i, std::int64_t j) {
    return Metric::eval(b.x + i * b.dim, b.y + j * b.dim, b.dim, b.power);
  }
};

// Calls launch(Cost{}) with the cost policy of the batch, so the inner loops are specialised.
template <class T, class Launch>
void with_cost(CostKind kind, Launch&& launch) {
  switch (kind) {
    case CostKind::stored: launch(StoredCost<T>{}); break;
    case CostKind::sq_euclidean: launch(OnlineCost<T, SqEuclidean<T>>{}); break;
    case CostKind::p_norm: launch(OnlineCost<T, PNorm<T>>{}); break;
  }
}

// A streaming log-sum-exp: one pass, rescaling the sum whenever the maximum grows.
template <class T>
struct LogSumExp {
  T max = -std::numeric_limits<T>::infinity();
  T sum = 0;
  ENGRAM_HD void add(T v) {
    if (v > max) {
      sum = sum * ot_exp(max - v) + T(1);
      max = v;
    } else {
      sum += ot_exp(v - max);
    }
  }
  ENGRAM_HD T value() const { return max + ot_log(sum); }
};

template <class T, class Cost, bool kRowsAreX>
struct SinkhornHalfStep {
  SinkhornBatch<T> b;
  std::int32_t iteration;

  ENGRAM_HD void operator()(std::int64_t r) const {
    const std::int32_t p = kRowsAreX ? b.x_problem[r] : b.y_problem[r];
    if (b.status[p] != kRunning) return;
    const T e = b.eps_at(p, iteration);
    const T inv_e = T(1) / e;
    const std::int64_t begin = kRowsAreX ? b.y_begin[p] : b.x_begin[p];
    const std::int64_t end = kRowsAreX ? b.y_begin[p + 1] : b.x_begin[p + 1];
    const T* other_potential = kRowsAreX ? b.g : b.f;
    const T* other_log_weight = kRowsAreX ? b.log_b : b.log_a;
    LogSumExp<T> lse;
    for (std::int64_t k = begin; k < end; ++k) {
      const T lw = other_log_weight[k];
      if (!(lw > -std::numeric_limits<T>::infinity())) continue;  // a zero weight carries no mass
      const T c = kRowsAreX ? Cost::eval(b, p, r, k) : Cost::eval(b, p, k, r);
      lse.add((other_potential[k] - c) * inv_e + lw);
    }
    const T l = lse.value();
    const T updated = -b.lambda(p, e) * e * l;
    if constexpr (kRowsAreX) {
      const T old = b.f[r];
      b.f_next[r] = updated;
      const T la = b.log_a[r];
      T err = 0;
      if (la > -std::numeric_limits<T>::infinity()) {
        // Row mass of the current plan: a_i exp(f_i/ε + LSE_i).
        err = b.balanced(p) ? ot_abs(ot_exp(la + old * inv_e + l) - ot_exp(la)) : ot_abs(updated - old);
      }
      b.row_error[r] = err;
    } else {
      b.g[r] = updated;
    }
  }
};

template <class T>
struct SinkhornCheck {
  SinkhornBatch<T> b;
  std::int32_t iteration;

  ENGRAM_HD void operator()(std::int64_t p64) const {
    const auto p = static_cast<std::int32_t>(p64);
    if (b.status[p] != kRunning) return;
    const bool balanced = b.balanced(p);
    T err = 0;
    for (std::int64_t i = b.x_begin[p]; i < b.x_begin[p + 1]; ++i) {
      const T e = b.row_error[i];
      if (balanced) {
        err += e;
      } else if (e > err) {
        err = e;
      }
    }
    // A NaN error never converges and never passes for small.
    b.error[p] = err;
    b.iterations[p] = iteration + 1;
    const bool at_target = !(b.eps_at(p, iteration) > b.eps[p]);
    if (at_target && err <= b.tol[p]) {
      b.status[p] = kConverged;
    } else if (iteration + 1 >= b.max_iter[p]) {
      b.status[p] = kIterationCap;
    }
  }
};

template <class T>
struct SinkhornCommit {
  SinkhornBatch<T> b;
  ENGRAM_HD void operator()(std::int64_t r) const {
    if (b.status[b.x_problem[r]] == kRunning) b.f[r] = b.f_next[r];
  }
};

// What a solve reports beyond the potentials. Row outputs (plan rows, per-row sums, gradient
// rows) come from one work item per source point; SinkhornTotals sums them per problem.
template <class T>
struct SinkhornOutputs {
  T* plan = nullptr;                        // optional; problem p at plan_begin[p], [n_p, m_p]
  const std::int64_t* plan_begin = nullptr;
  T* gradient = nullptr;                    // optional, online costs only: [nx, dim]
  T* row_cost = nullptr;                    // [nx] sum_j P_ij C_ij
  T* row_mass = nullptr;                    // [nx] sum_j P_ij
  T* transport_cost = nullptr;              // [problems] <P, C>
  T* mass = nullptr;                        // [problems] sum P
  T* value = nullptr;                       // [problems] dual objective (the entropic OT value)
};

template <class T, class Cost>
struct SinkhornRows {
  using Metric = typename Cost::Metric;
  SinkhornBatch<T> b;
  SinkhornOutputs<T> out;

  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int32_t p = b.x_problem[i];
    const T e = b.eps_at(p, b.iterations[p] > 0 ? b.iterations[p] - 1 : 0);
    const T inv_e = T(1) / e;
    const T fi = b.f[i] + b.log_a[i] * e;
    const std::int64_t m = b.y_begin[p + 1] - b.y_begin[p];
    T* plan_row = out.plan ? out.plan + out.plan_begin[p] + (i - b.x_begin[p]) * m : nullptr;
    T* grad = out.gradient ? out.gradient + i * b.dim : nullptr;
    if (grad) {
      for (std::int32_t k = 0; k < b.dim; ++k) grad[k] = 0;
    }
    T cost_sum = 0, mass_sum = 0;
    for (std::int64_t j = b.y_begin[p]; j < b.y_begin[p + 1]; ++j) {
      const T c = Cost::eval(b, p, i, j);
      const T pij = ot_exp((fi + b.g[j] - c) * inv_e + b.log_b[j]);
      if (plan_row) plan_row[j - b.y_begin[p]] = pij;
      cost_sum += pij * c;
      mass_sum += pij;
      if (grad) Metric::add_gradient(b.x + i * b.dim, b.y + j * b.dim, b.dim, b.power, pij, grad);
    }
    out.row_cost[i] = cost_sum;
    out.row_mass[i] = mass_sum;
  }
};

// Dual value: <a, f> + <b, g> - ε (sum P - |a||b|) when balanced;
// -τ <a, e^{-f/τ} - 1> - τ <b, e^{-g/τ} - 1> - ε (sum P - |a||b|) otherwise.
template <class T>
struct SinkhornTotals {
  SinkhornBatch<T> b;
  SinkhornOutputs<T> out;

  ENGRAM_HD void operator()(std::int64_t p64) const {
    const auto p = static_cast<std::int32_t>(p64);
    const T e = b.eps_at(p, b.iterations[p] > 0 ? b.iterations[p] - 1 : 0);
    const bool balanced = b.balanced(p);
    const T t = b.tau[p];
    T cost = 0, mass = 0, mass_a = 0, mass_b = 0, dual = 0;
    for (std::int64_t i = b.x_begin[p]; i < b.x_begin[p + 1]; ++i) {
      cost += out.row_cost[i];
      mass += out.row_mass[i];
      const T a = ot_exp(b.log_a[i]);
      mass_a += a;
      if (a > T(0)) dual += balanced ? a * b.f[i] : -t * a * (ot_exp(-b.f[i] / t) - T(1));
    }
    for (std::int64_t j = b.y_begin[p]; j < b.y_begin[p + 1]; ++j) {
      const T w = ot_exp(b.log_b[j]);
      mass_b += w;
      if (w > T(0)) dual += balanced ? w * b.g[j] : -t * w * (ot_exp(-b.g[j] / t) - T(1));
    }
    out.transport_cost[p] = cost;
    out.mass[p] = mass;
    out.value[p] = dual - e * (mass - mass_a * mass_b);
  }
};

}  // namespace engram::ot
