#pragma once
// The k largest of N i.i.d. draws of a discrete distribution, without drawing the N values: the
// lazy mode's "best inputs among never-fired neurons" (N = n - support, often ~10^9).
//
// Exact order statistics by inversion. If U_(1) > U_(2) > ... are the top order statistics of N
// i.i.d. uniforms, then U_(1) = V_1^(1/N) and U_(i+1) = U_(i) V_(i+1)^(1/(N-i)) (given the
// largest, the rest are i.i.d. uniform below it), and X_(i) = F^-1(U_(i)) are the top order
// statistics of N draws from F, because F^-1 is monotone. We carry log U_(i) and map through the
// survival function S(x) = P(X > x) (summed from the top, so accurate deep in the tail):
//   X_(i) = min { x : S(x) <= 1 - U_(i) },   1 - U_(i) = -expm1(log U_(i)).
// O(count * log(table)) work and count uniforms, for any N; no normal approximation and no
// special case for small N (count = N samples all N draws).
//
// The distribution is a table of probabilities over [lo, lo + len): Binomial(K, p) from
// binomial_pmf, or a sum of binomials with different p via convolve. Tables are trimmed where the
// mass falls below 1e-40 of the mode's (kTailLogCut), far below any probability a run can see.
//
//   std::int64_t lo, hi; select::binomial_range(K, p, lo, hi);
//   std::vector<double> pmf(hi - lo + 1), sf(hi - lo + 1);
//   select::binomial_pmf(K, p, lo, hi, pmf.data());
//   select::survival(pmf.data(), pmf.size(), sf.data());
//   select::TopOrderStatistics{sf.data(), lo, len, N, k, key, out, nullptr}(0);  // out: k values, descending
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/random.hpp"

namespace engram::select {

inline constexpr double kTailLogCut = -92.1034037197618;  // ln(1e-40)

// [lo, hi]: the values of Binomial(trials, p) whose probability is at least 1e-40 of the mode's.
ENGRAM_HD inline void binomial_range(std::int64_t trials, double p, std::int64_t& lo, std::int64_t& hi) {
  if (trials <= 0 || p <= 0.0) {
    lo = hi = 0;
    return;
  }
  if (p >= 1.0) {
    lo = hi = trials;
    return;
  }
  const double n = static_cast<double>(trials);
  const double odds = p / (1.0 - p);
  double mode = ::floor((n + 1.0) * p);
  if (mode > n) mode = n;
  const auto m = static_cast<std::int64_t>(mode);
  double log_rel = 0.0;
  std::int64_t x = m;
  while (x < trials) {
    const double xd = static_cast<double>(x);
    log_rel += ::log((n - xd) / (xd + 1.0) * odds);
    if (log_rel < kTailLogCut) break;
    ++x;
  }
  hi = x;
  log_rel = 0.0;
  x = m;
  while (x > 0) {
    const double xd = static_cast<double>(x);
    log_rel += ::log(xd / ((n - xd + 1.0) * odds));
    if (log_rel < kTailLogCut) break;
    --x;
  }
  lo = x;
}

// out[x - lo] = P(Binomial(trials, p) = x) for x in [lo, hi], normalised over the table.
ENGRAM_HD inline void binomial_pmf(std::int64_t trials, double p, std::int64_t lo, std::int64_t hi, double* out) {
  const std::int64_t len = hi - lo + 1;
  if (len == 1 || p <= 0.0 || p >= 1.0) {
    for (std::int64_t i = 0; i < len; ++i) out[i] = i == 0 ? 1.0 : 0.0;
    return;
  }
  const double n = static_cast<double>(trials);
  const double odds = p / (1.0 - p);
  double mode = ::floor((n + 1.0) * p);
  std::int64_t m = static_cast<std::int64_t>(mode);
  if (m < lo) m = lo;
  if (m > hi) m = hi;
  out[m - lo] = 1.0;
  for (std::int64_t x = m; x < hi; ++x) {
    const double xd = static_cast<double>(x);
    out[x + 1 - lo] = out[x - lo] * (n - xd) / (xd + 1.0) * odds;
  }
  for (std::int64_t x = m; x > lo; --x) {
    const double xd = static_cast<double>(x);
    out[x - 1 - lo] = out[x - lo] * xd / ((n - xd + 1.0) * odds);
  }
  double total = 0.0;
  for (std::int64_t i = 0; i < len; ++i) total += out[i];
  for (std::int64_t i = 0; i < len; ++i) out[i] /= total;
}

// out[0, alen + blen - 1) = the distribution of the sum of independent draws of a and b (the
// sum's table starts at a's lo + b's lo).
ENGRAM_HD inline void convolve(const double* a, std::int64_t alen, const double* b, std::int64_t blen,
                               double* out) {
  for (std::int64_t i = 0; i < alen + blen - 1; ++i) out[i] = 0.0;
  for (std::int64_t i = 0; i < alen; ++i) {
    for (std::int64_t j = 0; j < blen; ++j) out[i + j] += a[i] * b[j];
  }
}

// sf[i] = P(X > lo + i), summed from the top and normalised by the table's total mass.
ENGRAM_HD inline void survival(const double* pmf, std::int64_t len, double* sf) {
  double above = 0.0;
  for (std::int64_t i = len - 1; i >= 0; --i) {
    sf[i] = above;
    above += pmf[i];
  }
  for (std::int64_t i = 0; i < len; ++i) sf[i] /= above;
}

// The largest of `population` i.i.d. draws from the table's distribution one at a time, in
// descending order, for callers that stop once the rest cannot matter (the lazy k-cap stops at
// the first candidate that loses). Draw i is the same bits whether or not more follow.
class TopOrderStream {
 public:
  ENGRAM_HD TopOrderStream(const double* sf, std::int64_t lo, std::int64_t len, std::uint64_t population,
                           const RngKey& key)
      : sf_(sf), lo_(lo), len_(len), population_(population), rng_(key) {}

  // The next largest draw; requires drawn() < population.
  ENGRAM_HD std::int64_t next() {
    log_u_ += ::log(rng_.uniform()) / static_cast<double>(population_ - drawn_);
    ++drawn_;
    level_ = -::expm1(log_u_);          // 1 - U_(i)
    std::int64_t a = 0, b = len_ - 1;  // sf[len - 1] == 0 <= level
    while (a < b) {
      const std::int64_t mid = a + (b - a) / 2;
      if (sf_[mid] <= level_) b = mid;
      else a = mid + 1;
    }
    return lo_ + a;
  }
  ENGRAM_HD std::uint64_t drawn() const { return drawn_; }
  // 1 - U_(drawn()), the level of the last draw: the population - drawn() draws below it are F^-1
  // of uniforms below U_(drawn()) (select/tail_memory.hpp keeps them).
  ENGRAM_HD double level() const { return level_; }

 private:
  const double* sf_;
  std::int64_t lo_, len_;
  std::uint64_t population_;
  RngStream rng_;
  std::uint64_t drawn_ = 0;
  double log_u_ = 0.0;  // log U_(i), U_(i) the i-th largest of `population` uniforms
  double level_ = 1.0;
};

// The `count` largest of `population` i.i.d. draws from the table's distribution, in descending
// order (count <= population). One work item; all draws on the stream of `key`.
struct TopOrderStatistics {
  const double* sf;  // survival(), [len]
  std::int64_t lo;
  std::int64_t len;
  std::uint64_t population;
  std::uint32_t count;
  RngKey key;
  std::int64_t* out;  // [count]
  // Where not null: 1 - U_(count), the level of the lowest value drawn (TopOrderStream::level).
  double* last_level;

  ENGRAM_HD void operator()(std::int64_t) const {
    TopOrderStream stream(sf, lo, len, population, key);
    for (std::uint32_t i = 0; i < count; ++i) out[i] = stream.next();
    if (last_level != nullptr && count > 0) *last_level = stream.level();
  }
};

// Given a draw a ~ A and r ~ R (independent) with a + r = x, samples a from its conditional
// distribution P(a) proportional to A(a) R(x - a) with one uniform u in (0, 1). For two binomials with one p this
// is the hypergeometric split. Returns -1 when x is outside the tables' joint range.
ENGRAM_HD inline std::int64_t split_first(const double* a_pmf, std::int64_t a_lo, std::int64_t a_len,
                                          const double* r_pmf, std::int64_t r_lo, std::int64_t r_len,
                                          std::int64_t x, double u) {
  std::int64_t first = x - (r_lo + r_len - 1), last = x - r_lo;
  if (first < a_lo) first = a_lo;
  if (last > a_lo + a_len - 1) last = a_lo + a_len - 1;
  if (first > last) return -1;
  double total = 0.0;
  for (std::int64_t a = first; a <= last; ++a) total += a_pmf[a - a_lo] * r_pmf[x - a - r_lo];
  if (!(total > 0.0)) return first + (last - first) / 2;
  const double target = u * total;
  double acc = 0.0;
  for (std::int64_t a = first; a <= last; ++a) {
    acc += a_pmf[a - a_lo] * r_pmf[x - a - r_lo];
    if (acc >= target) return a;
  }
  return last;
}

}  // namespace engram::select
