#pragma once
// What the lazy mode remembers about its never-fired neurons between steps: the distribution of
// their last input, conditioned on their having lost, turned into the distribution of this step's
// input.
//
// A never-fired neuron's in-edges never learn (Hebbian touches only edges into winners), so its
// input is the number of its in-edges from the neurons firing now. Redrawing that count every
// step (the reference implementation's sparse mode) forgets that the neuron lost before with the
// edges it has: when the firing sets are stable, a fresh top-k of the tail is drawn each step and
// new neurons keep winning, so the support overshoots the exact model's (+11% at n = 10^5,
// k = 317, p = 0.01). Here the last input w (edges from the M sources that fired into the area at
// its last update) is carried over:
//   1. thin: of the w edges, those from the K sources that fire again are kept. With one p
//      their positions are a uniform w-subset of the M sources, so the kept count is
//      Hypergeometric(M, K, w); with several p it is approximated by Binomial(w, rho), rho the
//      p-weighted fraction of sources kept;
//   2. add a fresh Binomial(K'_f, p_f) per fiber for its K'_f sources that did not fire into the
//      area last time (treated as never seen: their earlier edges are forgotten);
//   3. lose: after the k-cap, the never-fired neurons that lost are the candidates that lost plus
//      the P - count draws below the lowest candidate: the step's law truncated below it.
// The population is treated as i.i.d. draws of the carried law (correlations between neurons
// through shared sources are ignored, as in the reference).
//
//   std::vector<double> kept(lo + len), scratch(lo + len), losers(len2);
//   select::thin_hypergeometric(last, lo, len, M, K, kept.data(), scratch.data());  // over [0, lo + len)
//   ... step law = kept (+) fresh binomials; TopOrderStream draws `count` candidates, `level` ...
//   select::keep_losers(step, lo2, len2, P, candidates, count, level, winners, losers.data());
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::select {

// out[r - lo] = P(Hypergeometric(population, successes, draws) = r) for r in [lo, hi], with
// lo = max(0, draws - (population - successes)) and hi = min(draws, successes); returns lo and
// writes hi - lo + 1 values. Ratios from the mode, normalised: no factorials, no underflow there.
ENGRAM_HD inline std::int64_t hypergeometric_pmf(std::int64_t population, std::int64_t successes, std::int64_t draws,
                                                 double* out, std::int64_t* hi_out) {
  std::int64_t lo = draws - (population - successes);
  if (lo < 0) lo = 0;
  std::int64_t hi = draws < successes ? draws : successes;
  *hi_out = hi;
  const double N = static_cast<double>(population), K = static_cast<double>(successes),
               n = static_cast<double>(draws);
  auto m = static_cast<std::int64_t>((n + 1.0) * (K + 1.0) / (N + 2.0));
  if (m < lo) m = lo;
  if (m > hi) m = hi;
  out[m - lo] = 1.0;
  // P(r + 1) / P(r) = (K - r)(n - r) / ((r + 1)(N - K - n + r + 1))
  for (std::int64_t r = m; r < hi; ++r) {
    const double rd = static_cast<double>(r);
    out[r + 1 - lo] = out[r - lo] * ((K - rd) * (n - rd)) / ((rd + 1.0) * (N - K - n + rd + 1.0));
  }
  for (std::int64_t r = m; r > lo; --r) {
    const double rd = static_cast<double>(r);
    out[r - 1 - lo] = out[r - lo] * (rd * (N - K - n + rd)) / ((K - rd + 1.0) * (n - rd + 1.0));
  }
  double total = 0.0;
  for (std::int64_t r = lo; r <= hi; ++r) total += out[r - lo];
  for (std::int64_t r = lo; r <= hi; ++r) out[r - lo] /= total;
  return lo;
}

// out[r] for r in [0, lo + len): the law of the kept count when each w ~ pmf (over [lo, lo+len))
// keeps Hypergeometric(population, successes, w) of its edges. `scratch` holds lo + len values.
// Values w > population (impossible for a law of edges from `population` sources) count as
// population.
ENGRAM_HD inline void thin_hypergeometric(const double* pmf, std::int64_t lo, std::int64_t len,
                                          std::int64_t population, std::int64_t successes, double* out,
                                          double* scratch) {
  for (std::int64_t r = 0; r < lo + len; ++r) out[r] = 0.0;
  for (std::int64_t i = 0; i < len; ++i) {
    if (!(pmf[i] > 0.0)) continue;
    std::int64_t w = lo + i;
    if (w > population) w = population;
    std::int64_t hi = 0;
    const std::int64_t r_lo = hypergeometric_pmf(population, successes, w, scratch, &hi);
    for (std::int64_t r = r_lo; r <= hi; ++r) out[r] += pmf[i] * scratch[r - r_lo];
  }
}

// As thin_hypergeometric with Binomial(w, keep) in place of the hypergeometric, 0 <= keep <= 1.
ENGRAM_HD inline void thin_binomial(const double* pmf, std::int64_t lo, std::int64_t len, double keep, double* out,
                                    double* scratch) {
  for (std::int64_t r = 0; r < lo + len; ++r) out[r] = 0.0;
  for (std::int64_t i = 0; i < len; ++i) {
    if (!(pmf[i] > 0.0)) continue;
    const std::int64_t w = lo + i;
    if (keep >= 1.0 || keep <= 0.0 || w == 0) {
      out[keep <= 0.0 ? 0 : w] += pmf[i];
      continue;
    }
    // Binomial(w, keep) from its mode by ratios, normalised (w is small: edge counts).
    const double wd = static_cast<double>(w), odds = keep / (1.0 - keep);
    auto m = static_cast<std::int64_t>((wd + 1.0) * keep);
    if (m > w) m = w;
    scratch[m] = 1.0;
    for (std::int64_t r = m; r < w; ++r) {
      const double rd = static_cast<double>(r);
      scratch[r + 1] = scratch[r] * (wd - rd) / (rd + 1.0) * odds;
    }
    for (std::int64_t r = m; r > 0; --r) {
      const double rd = static_cast<double>(r);
      scratch[r - 1] = scratch[r] * rd / ((wd - rd + 1.0) * odds);
    }
    double total = 0.0;
    for (std::int64_t r = 0; r <= w; ++r) total += scratch[r];
    for (std::int64_t r = 0; r <= w; ++r) out[r] += pmf[i] * scratch[r] / total;
  }
}

// The law of the never-fired neurons that lost a k-cap over `population` i.i.d. draws of pmf
// (over [lo, lo + len)) whose `count` largest were `candidates` (descending), drawn by
// TopOrderStream (or TopOrderStatistics) with `level` = 1 - U_(count), and of which the first `winners` won. The
// population - count draws below the candidates are F^-1 of uniforms below U_(count): pmf below
// the lowest candidate c, and P(X >= c) - level at c (ties with c that were not drawn). The losing
// candidates are added as they are. out[0, len) over the same [lo, lo + len), normalised over the
// population - winners losers (winners < population). `count` may depend on the values drawn (the
// lazy k-cap stops at the first candidate that loses): given the first count draws, the rest are
// i.i.d. below U_(count) whenever the drawing stopped.
ENGRAM_HD inline void keep_losers(const double* pmf, std::int64_t lo, std::int64_t len, std::uint64_t population,
                                  const std::int64_t* candidates, std::uint32_t count, double level,
                                  std::uint32_t winners, double* out) {
  for (std::int64_t i = 0; i < len; ++i) out[i] = 0.0;
  const double rest = static_cast<double>(population - count);
  if (count == 0) {
    for (std::int64_t i = 0; i < len; ++i) out[i] = rest * pmf[i];
  } else if (population > count) {
    const std::int64_t last = candidates[count - 1] - lo;
    double at_least = 0.0;  // P(X >= c), summed from the top: accurate deep in the tail
    for (std::int64_t i = len - 1; i >= last; --i) at_least += pmf[i];
    double total = 0.0;
    for (std::int64_t i = 0; i < last; ++i) total += pmf[i];
    const double at_c = at_least > level ? at_least - level : 0.0;
    total += at_c;
    if (total > 0.0) {
      for (std::int64_t i = 0; i < last; ++i) out[i] = rest * pmf[i] / total;
      out[last] = rest * at_c / total;
    }
  }
  for (std::uint32_t c = winners; c < count; ++c) out[candidates[c] - lo] += 1.0;
  const double losers = static_cast<double>(population - winners);
  for (std::int64_t i = 0; i < len; ++i) out[i] /= losers;
}

}  // namespace engram::select
