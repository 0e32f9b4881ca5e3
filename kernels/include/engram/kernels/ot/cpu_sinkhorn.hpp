#pragma once
// The CPU fast path of the batched Sinkhorn solver (sinkhorn.hpp): stabilised kernel scalings
// with absorption into the log domain and ε-scaling (Schmitzer 2016, "Stabilized sparse scaling
// algorithms for entropy regularized transport problems"). Host code only; the CPU backend's
// caller (models/src/ot/sinkhorn.cpp) takes it when the kernels fit in memory, and the portable
// log-domain functors stay the reference and the CUDA path.
//
// Same iteration as the log-domain solver, in other variables. Each problem keeps absorbed
// potentials (f̄, ḡ), the kernel K_ij = exp((f̄_i + ḡ_j - C_ij) / ε) and the scalings
// u = exp((f - f̄) / ε), v = exp((g - ḡ) / ε). The log-sum-exps of the log-domain half steps
// become matrix-vector products with K:
//   LSE over rows i for target j  = log (Kᵀ (a ∘ u))_j - ḡ_j / ε
//   LSE over cols j for source i  = log (K (b ∘ v))_i - f̄_i / ε
// so an iteration costs one pass over K (each row's product, then its share of the next
// iteration's column sums while the row is in L1; no exp) plus O(n + m) logs and exps. The
// potentials f and g are still computed every iteration (so convergence, errors, iterations and
// the stopping rule are those of SinkhornHalfStep / SinkhornCheck, which this path calls), and K
// is rebuilt from them (absorption) whenever ε changes (annealing: an ε that halves squares K's
// entries in that same pass instead of an exp each) or a scaling leaves [e^-θ, e^θ]. A product that underflows to 0 or overflows (a row far from its mass at tiny ε)
// falls back to the exact streaming log-sum-exp for that row, so the path is as stable as the
// log-domain one. Problems are independent: each runs on its own (its iterations, its ε
// schedule, its stop), alone or in a batch, and every sum runs in a fixed order whatever the
// thread count, so the bits do not depend on batch packing or threads.
//
//   engram::ot::cpu::ScalingPlan plan = engram::ot::cpu::plan_scaling(batch, x_rows, y_rows, threads, budget);
//   engram::ot::cpu::Cancellation cancellation{keep_going};
//   if (plan.fits) engram::ot::cpu::solve_scaling<double, Cost>(batch, outputs, plan, gram, cancellation);
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "engram/kernels/core/cpu_exp.hpp"
#include "engram/kernels/core/cpu_host_array.hpp"
#include "engram/kernels/ot/sinkhorn.hpp"

namespace engram::ot::cpu {

// How the batch runs: problems in parallel (each on one thread) when there are enough of them,
// otherwise one after another with every pass split over the threads.
struct ScalingPlan {
  bool fits = false;              // false: the kernels exceed the memory budget; use the portable path
  bool problems_in_parallel = false;
  int threads = 1;
};

// Bytes of one problem's kernel (and of its cost cache for online costs).
inline double kernel_bytes(std::int64_t n, std::int64_t m, std::size_t elem) {
  return static_cast<double>(n) * static_cast<double>(m) * static_cast<double>(elem);
}

template <class T>
ScalingPlan plan_scaling(const std::vector<std::int64_t>& x_begin, const std::vector<std::int64_t>& y_begin,
                         bool online, int threads, double budget_bytes) {
  ScalingPlan plan;
  plan.threads = std::max(1, threads);
  const std::size_t problems = x_begin.size() - 1;
  double largest = 0, caches = 0;
  for (std::size_t p = 0; p < problems; ++p) {
    const double k = kernel_bytes(x_begin[p + 1] - x_begin[p], y_begin[p + 1] - y_begin[p], sizeof(T));
    largest = std::max(largest, k);
    if (online) caches += k;
  }
  plan.problems_in_parallel = problems >= 2 * static_cast<std::size_t>(plan.threads);
  const double kernels = largest * (plan.problems_in_parallel ? plan.threads : 1);
  plan.fits = kernels + caches <= budget_bytes;
  return plan;
}

// x [n, dim] · y [m, dim]ᵀ into out [n, m] (the backend's gemm).
// A caller's request to stop a running batch (Ctrl-C, a deadline). Only the calling thread asks
// `keep_going` (a front end's hook may need its own thread, e.g. Python's signal check), every
// `every` iterations of the problem it is solving; once it says no, every thread leaves its
// problem at its next look and the problems keep their last potentials.
struct Cancellation {
  std::function<bool()> keep_going;  // empty: never stops early
  std::int32_t every = 10;
  std::atomic<bool> stopped{false};

  bool stop_now(std::int32_t iteration) {
    if (stopped.load(std::memory_order_relaxed)) return true;
    if (!keep_going || iteration % every != 0 || omp_get_thread_num() != 0) return false;
    if (keep_going()) return false;
    stopped.store(true, std::memory_order_relaxed);
    return true;
  }
};

template <class T>
using Gram = std::function<void(const T* x, std::int64_t n, const T* y, std::int64_t m, std::int32_t dim, T* out)>;

namespace detail {

// Scalings beyond e^±θ are absorbed into the potentials: far from float and double overflow
// even after a kernel entry's own growth (≤ 1 / (a_i b_j) after an absorption).
template <class T>
constexpr T absorb_threshold() {
  return sizeof(T) == 4 ? T(15) : T(50);
}

// Sum of v[k] * w[k] in a fixed order (8 interleaved partial sums, then a fixed tree), which the
// compiler vectorises at any SIMD width without changing the bits.
template <class T>
inline T dot(const T* __restrict v, const T* __restrict w, std::int64_t n) {
  constexpr int kLanes = 8;
  T acc[kLanes] = {};
  std::int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += v[k + l] * w[k + l];
  }
  for (int l = 0; k + l < n; ++l) acc[l] += v[k + l] * w[k + l];
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

template <class T, class Cost>
class Problem {
 public:
  Problem(const SinkhornBatch<T>& b, const SinkhornOutputs<T>& out, std::int32_t p, const T* cost, bool parallel,
          Cancellation& cancellation)
      : b_(b), out_(out), cancellation_(cancellation), p_(p), x0_(b.x_begin[p]), y0_(b.y_begin[p]), n_(b.x_begin[p + 1] - x0_),
        m_(b.y_begin[p + 1] - y0_), cost_(cost), parallel_(parallel) {
    kernel_ = engram::cpu::host_array<T>(static_cast<std::size_t>(n_ * m_));
    partials_ = engram::cpu::host_array<T>(static_cast<std::size_t>(chunks() * m_));
    for (auto* v : {&f_bar_, &a_, &au_, &next_au_}) v->resize(static_cast<std::size_t>(n_));
    for (auto* v : {&g_bar_, &b_w_, &bv_, &v_, &s_}) v->resize(static_cast<std::size_t>(m_));
    for (std::int64_t i = 0; i < n_; ++i) a_[i] = ot_exp(b.log_a[x0_ + i]);
    for (std::int64_t j = 0; j < m_; ++j) b_w_[j] = ot_exp(b.log_b[y0_ + j]);
  }

  void solve() {
    const T theta = absorb_threshold<T>();
    T kernel_eps = 0;
    bool absorb = true;
    // Whether the previous row pass left K at this iteration's ε, half its own (square_row,
    // fused into that pass so that halving ε costs no pass over K of its own): only the
    // absorption of (f, g) is left.
    bool halved = false;
    const std::int32_t cap = b_.max_iter[p_];
    for (std::int32_t k = 0; k < cap && b_.status[p_] == kRunning; ++k) {
      if (cancellation_.stop_now(k)) {
        if (halved) rebuild(kernel_eps);  // the outputs read K at the last iteration's ε
        break;
      }
      const T e = b_.eps_at(p_, k);
      // Every path leaves s_ = Kᵀ (a ∘ u) for the current f: the rebuilds sum it, and so does the
      // previous iteration's row pass when it commits f' without absorbing (or halves ε: u = 1).
      if (!absorb && halved) {
        absorb_potentials();
        reduce_partials();
      } else if (absorb || e != kernel_eps) {
        rebuild(e);
      }
      halved = false;
      kernel_eps = e;
      const T inv_e = T(1) / e;
      const T lambda = b_.lambda(p_, e);
      T* g = b_.g + y0_;

      // g from f.
      bool far = false;
      for (std::int64_t j = 0; j < m_; ++j) {
        const T l = usable(s_[j]) ? ot_log(s_[j]) - g_bar_[j] * inv_e : column_lse(j, inv_e);
        g[j] = -lambda * e * l;
        const T d = (g[j] - g_bar_[j]) * inv_e;
        far = far || !(ot_abs(d) <= theta);
        bv_[j] = d;
      }
      if (far) {
        rebuild(e);  // absorbs the new g: v = 1 (its Kᵀ a goes unused)
        for (std::int64_t j = 0; j < m_; ++j) v_[j] = T(1);
      } else {
        engram::cpu::exp_inplace(bv_.data(), m_);
        for (std::int64_t j = 0; j < m_; ++j) {
          v_[j] = bv_[j];
          bv_[j] *= b_w_[j];
        }
      }

      // f' from g, the row-marginal error of (f, g), and in the same pass over K either the next
      // iteration's Kᵀ (a ∘ u') (used only if f' is committed and needs no absorption) or, when
      // the next iteration halves ε, the halved kernel and its Kᵀ a (a row pass that asks for an
      // absorption leaves the next iteration to rebuild K from the costs, which reads no K).
      const bool halve_next = k + 1 < cap && b_.eps_at(p_, k + 1) * T(2) == e;
      absorb = row_pass(e, lambda, halve_next);
      SinkhornCheck<T>{b_, k}(p_);
      if (b_.status[p_] != kRunning) {
        if (halve_next) rebuild(e);  // not reached (a stop needs ε at its target); keeps outputs() right
        break;
      }

      T* f = b_.f + x0_;
      const T* f_next = b_.f_next + x0_;
      for (std::int64_t i = 0; i < n_; ++i) f[i] = f_next[i];
      halved = halve_next;
      if (!absorb && !halve_next) {
        reduce_partials();
        for (std::int64_t i = 0; i < n_; ++i) au_[i] = next_au_[i];
      }
    }
    outputs();
  }

 private:
  static constexpr std::int64_t kChunk = 32;  // rows per partial column sum (fixed: the bits do not depend on threads)

  static bool usable(T v) { return v > T(0) && v <= std::numeric_limits<T>::max(); }

  const T* cost_row(std::int64_t i) const { return cost_ + i * m_; }
  std::int64_t chunks() const { return (n_ + kChunk - 1) / kChunk; }

  // Absorbs the current potentials: f̄ = f, ḡ = g, u = v = 1, K from them at ε = e; and, in the
  // same pass, s_ = Kᵀ a for the next g step.
  void rebuild(T e) {
    const T inv_e = T(1) / e;
    absorb_potentials();
    T* kernel = kernel_.get();
    const T* g_bar = g_bar_.data();
    const std::int64_t m = m_, count = chunks();
#pragma omp parallel for schedule(static) if (parallel_)
    for (std::int64_t c = 0; c < count; ++c) {
      for (std::int64_t i = c * kChunk; i < std::min(n_, (c + 1) * kChunk); ++i) {
        T* row = kernel + i * m;
        const T* cost = cost_row(i);
        const T fi = f_bar_[i];
        for (std::int64_t j = 0; j < m; ++j) row[j] = (fi + g_bar[j] - cost[j]) * inv_e;
        engram::cpu::exp_inplace(row, m);
        accumulate_row(i, a_[i]);
      }
    }
    reduce_partials();
  }

  // ε-scaling by exactly one half without an exp per entry: at the current (f, g),
  // exp((f_i + g_j - C_ij) / (ε / 2)) = (K_ij u_i v_j)², row i of it (v in v_), and in the same
  // loop the row's share of Kᵀ a (what accumulate_row(i, a_i) adds).
  void square_row(std::int64_t i, T ui) {
    T* __restrict row = kernel_.get() + i * m_;
    T* __restrict part = partials_.get() + (i / kChunk) * m_;
    const T* __restrict v = v_.data();
    const T w = a_[i];
    if (w == T(0) || i % kChunk == 0) {  // the rare cases, as accumulate_row does them
      for (std::int64_t j = 0; j < m_; ++j) {
        const T scaled = row[j] * ui * v[j];
        row[j] = scaled * scaled;
      }
      accumulate_row(i, w);
      return;
    }
    for (std::int64_t j = 0; j < m_; ++j) {
      const T scaled = row[j] * ui * v[j];
      const T entry = scaled * scaled;
      row[j] = entry;
      part[j] += w * entry;
    }
  }

  void absorb_potentials() {
    const T* f = b_.f + x0_;
    const T* g = b_.g + y0_;
    for (std::int64_t i = 0; i < n_; ++i) f_bar_[i] = f[i];
    for (std::int64_t j = 0; j < m_; ++j) g_bar_[j] = g[j];
    for (std::int64_t i = 0; i < n_; ++i) au_[i] = a_[i];
    for (std::int64_t j = 0; j < m_; ++j) bv_[j] = b_w_[j];
  }

  // partial[c] (+)= w_i K_i for row i of chunk c, rows in order.
  void accumulate_row(std::int64_t i, T w) {
    T* __restrict part = partials_.get() + (i / kChunk) * m_;
    const T* __restrict row = kernel_.get() + i * m_;
    if (i % kChunk == 0) {
      for (std::int64_t j = 0; j < m_; ++j) part[j] = T(0);
    }
    if (w != T(0)) {  // a zero weight carries no mass (and no 0 * inf)
      for (std::int64_t j = 0; j < m_; ++j) part[j] += w * row[j];
    }
  }

  // s_ = Σ_c partial[c], chunks in order; the threads split the columns.
  void reduce_partials() {
    constexpr std::int64_t kBlock = 256;
    const std::int64_t m = m_, blocks = (m_ + kBlock - 1) / kBlock, count = chunks();
    const T* partials = partials_.get();
    T* out = s_.data();
#pragma omp parallel for schedule(static) if (parallel_)
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
      const std::int64_t j0 = blk * kBlock, j1 = std::min(m, j0 + kBlock);
      for (std::int64_t j = j0; j < j1; ++j) out[j] = partials[j];
      for (std::int64_t c = 1; c < count; ++c) {
        const T* __restrict part = partials + c * m;
        for (std::int64_t j = j0; j < j1; ++j) out[j] += part[j];
      }
    }
  }

  // One pass over K: r_i = K_i (b ∘ v), f'_i, the row error, and the partial sums of
  // Kᵀ (a ∘ u') for u' = exp((f' - f̄) / ε); or, with `halve_next`, K_i replaced by the kernel at
  // ε / 2 (square_row; v_ holds v) and the partial sums of its Kᵀ a. Returns whether
  // some |f' - f̄| / ε exceeds θ.
  bool row_pass(T e, T lambda, bool halve_next) {
    const T inv_e = T(1) / e;
    const T theta = absorb_threshold<T>();
    const bool balanced = b_.balanced(p_);
    const std::int64_t count = chunks();
    int far = 0;
#pragma omp parallel for schedule(static) if (parallel_) reduction(| : far)
    for (std::int64_t c = 0; c < count; ++c) {
      for (std::int64_t i = c * kChunk; i < std::min(n_, (c + 1) * kChunk); ++i) {
        const T r = dot(kernel_.get() + i * m_, bv_.data(), m_);
        const T l = usable(r) ? ot_log(r) - f_bar_[i] * inv_e : row_lse(i, inv_e);
        const T updated = -lambda * e * l;
        const T old = b_.f[x0_ + i];
        b_.f_next[x0_ + i] = updated;
        const T la = b_.log_a[x0_ + i];
        T err = 0;
        if (la > -std::numeric_limits<T>::infinity()) {
          err = balanced ? ot_abs(ot_exp(la + old * inv_e + l) - ot_exp(la)) : ot_abs(updated - old);
        }
        b_.row_error[x0_ + i] = err;
        const T d = (updated - f_bar_[i]) * inv_e;
        const bool out_of_range = !(ot_abs(d) <= theta);
        far |= out_of_range ? 1 : 0;
        if (halve_next) {
          square_row(i, engram::cpu::exp(d));
          continue;
        }
        const T w = out_of_range ? T(0) : a_[i] * engram::cpu::exp(d);
        next_au_[i] = w;
        accumulate_row(i, w);
      }
    }
    return far != 0;
  }

  // The log-domain half steps' streaming log-sum-exps, for a row whose product left the range.
  T column_lse(std::int64_t j, T inv_e) const {
    LogSumExp<T> lse;
    for (std::int64_t i = 0; i < n_; ++i) {
      const T lw = b_.log_a[x0_ + i];
      if (!(lw > -std::numeric_limits<T>::infinity())) continue;
      lse.add((b_.f[x0_ + i] - cost_row(i)[j]) * inv_e + lw);
    }
    return lse.value();
  }
  T row_lse(std::int64_t i, T inv_e) const {
    LogSumExp<T> lse;
    const T* c = cost_row(i);
    for (std::int64_t j = 0; j < m_; ++j) {
      const T lw = b_.log_b[y0_ + j];
      if (!(lw > -std::numeric_limits<T>::infinity())) continue;
      lse.add((b_.g[y0_ + j] - c[j]) * inv_e + lw);
    }
    return lse.value();
  }

  // SinkhornRows from the kernel: P_ij = (a_i u_i) K_ij (b_j v_j), with u, v those of the final
  // (f, g) relative to the kernel's absorbed potentials.
  void outputs() {
    const T e = b_.eps_at(p_, b_.iterations[p_] > 0 ? b_.iterations[p_] - 1 : 0);
    const T inv_e = T(1) / e;
    for (std::int64_t i = 0; i < n_; ++i) au_[i] = (b_.f[x0_ + i] - f_bar_[i]) * inv_e;
    for (std::int64_t j = 0; j < m_; ++j) bv_[j] = (b_.g[y0_ + j] - g_bar_[j]) * inv_e;
    engram::cpu::exp_inplace(au_.data(), n_);
    engram::cpu::exp_inplace(bv_.data(), m_);
    for (std::int64_t i = 0; i < n_; ++i) au_[i] *= a_[i];
    for (std::int64_t j = 0; j < m_; ++j) bv_[j] *= b_w_[j];
    using Metric = typename Cost::Metric;
    const T* kernel = kernel_.get();
    const std::int64_t n = n_, m = m_;
#pragma omp parallel for schedule(static) if (parallel_)
    for (std::int64_t i = 0; i < n; ++i) {
      const T* krow = kernel + i * m;
      const T* c = cost_row(i);
      const T ai = au_[i];
      T* plan_row = out_.plan ? out_.plan + out_.plan_begin[p_] + i * m : nullptr;
      T* grad = out_.gradient ? out_.gradient + (x0_ + i) * b_.dim : nullptr;
      if (grad) {
        for (std::int32_t k = 0; k < b_.dim; ++k) grad[k] = 0;
      }
      T cost_sum = 0, mass_sum = 0;
      for (std::int64_t j = 0; j < m; ++j) {
        const T pij = ai * krow[j] * bv_[j];
        if (plan_row) plan_row[j] = pij;
        cost_sum += pij * c[j];
        mass_sum += pij;
        if (grad) Metric::add_gradient(b_.x + (x0_ + i) * b_.dim, b_.y + (y0_ + j) * b_.dim, b_.dim, b_.power, pij, grad);
      }
      out_.row_cost[x0_ + i] = cost_sum;
      out_.row_mass[x0_ + i] = mass_sum;
    }
    SinkhornTotals<T>{b_, out_}(p_);
  }

  const SinkhornBatch<T>& b_;
  const SinkhornOutputs<T>& out_;
  Cancellation& cancellation_;
  std::int32_t p_;
  std::int64_t x0_, y0_, n_, m_;
  const T* cost_;
  bool parallel_;
  engram::cpu::HostArray<T> kernel_, partials_;  // not zeroed: every entry is written before it is read
  std::vector<T> f_bar_, g_bar_, a_, b_w_, au_, next_au_, bv_, v_, s_;
};

// C of problem p as a dense [n, m] matrix: squared Euclidean costs as ‖x‖² + ‖y‖² - 2 x yᵀ
// through the GEMM when the dimension makes the products the cost, else point by point.
template <class T, class Cost>
void online_costs(const SinkhornBatch<T>& b, std::int32_t p, const Gram<T>& gram, T* out) {
  const std::int64_t x0 = b.x_begin[p], y0 = b.y_begin[p];
  const std::int64_t n = b.x_begin[p + 1] - x0, m = b.y_begin[p + 1] - y0;
  constexpr bool kSq = std::is_same_v<typename Cost::Metric, SqEuclidean<T>>;
  if (kSq && b.dim >= 16 && gram) {
    gram(b.x + x0 * b.dim, n, b.y + y0 * b.dim, m, b.dim, out);
    std::vector<T> xx(static_cast<std::size_t>(n)), yy(static_cast<std::size_t>(m));
    for (std::int64_t i = 0; i < n; ++i) xx[i] = dot(b.x + (x0 + i) * b.dim, b.x + (x0 + i) * b.dim, b.dim);
    for (std::int64_t j = 0; j < m; ++j) yy[j] = dot(b.y + (y0 + j) * b.dim, b.y + (y0 + j) * b.dim, b.dim);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      T* row = out + i * m;
      for (std::int64_t j = 0; j < m; ++j) {
        const T c = (xx[i] + yy[j]) - T(2) * row[j];
        row[j] = c > T(0) ? c : T(0);  // rounding can leave a small negative for coincident points
      }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m; ++j) out[i * m + j] = Cost::eval(b, p, x0 + i, y0 + j);
  }
}

}  // namespace detail

// Runs every problem of the batch to its stop (or until `cancellation` stops it) and fills `out` (rows and totals) as
// the launched SinkhornHalfStep/Check/Commit iterations and SinkhornRows/Totals would. `b` points into host memory.
template <class T, class Cost>
void solve_scaling(const SinkhornBatch<T>& b, const SinkhornOutputs<T>& out, const ScalingPlan& plan,
                   const Gram<T>& gram, Cancellation& cancellation) {
  constexpr bool kStored = std::is_same_v<Cost, StoredCost<T>>;
  std::vector<std::int64_t> cache_begin(static_cast<std::size_t>(b.problems) + 1, 0);
  engram::cpu::HostArray<T> cache;
  if constexpr (!kStored) {
    for (std::int32_t p = 0; p < b.problems; ++p) {
      cache_begin[p + 1] = cache_begin[p] + (b.x_begin[p + 1] - b.x_begin[p]) * (b.y_begin[p + 1] - b.y_begin[p]);
    }
    cache = engram::cpu::host_array<T>(static_cast<std::size_t>(cache_begin.back()));
    for (std::int32_t p = 0; p < b.problems; ++p) detail::online_costs<T, Cost>(b, p, gram, cache.get() + cache_begin[p]);
  }
  const auto cost_of = [&](std::int32_t p) -> const T* {
    if constexpr (kStored) return b.cost + b.cost_begin[p];
    return cache.get() + cache_begin[p];
  };
  if (plan.problems_in_parallel) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(plan.threads)
    for (std::int32_t p = 0; p < b.problems; ++p) detail::Problem<T, Cost>(b, out, p, cost_of(p), false, cancellation).solve();
  } else {
    for (std::int32_t p = 0; p < b.problems; ++p) {
      const double pairs = static_cast<double>(b.x_begin[p + 1] - b.x_begin[p]) * static_cast<double>(b.y_begin[p + 1] - b.y_begin[p]);
      // Below ~2^16 pairs a pass is microseconds: a fork/join per pass would cost more than it saves.
      detail::Problem<T, Cost>(b, out, p, cost_of(p), plan.threads > 1 && pairs >= 65536.0, cancellation).solve();
    }
  }
}

}  // namespace engram::ot::cpu
