// The lazy mode's memory of its never-fired neurons (select/tail_memory.hpp), against closed forms
// and brute force:
//   - the hypergeometric table equals C(K, r) C(N - K, n - r) / C(N, n) from lgamma;
//   - thinning is exact where a closed form exists: keeping K of the M sources of a
//     Binomial(M, p) count gives Binomial(K, p) (hypergeometric thinning), and keeping each edge
//     with probability q gives Binomial(M, p q) (binomial thinning);
//   - keep_losers is the conditional expectation of the losers' histogram: averaged over many
//     populations drawn one by one (inversion of uniforms), the histogram of everything but the
//     `winners` largest matches the average of keep_losers given each population's top `count`
//     and the count-th largest uniform (ties at the cut weighted as the sampler leaves them).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <tuple>
#include <vector>

#include "engram/kernels/core/random.hpp"
#include "engram/kernels/select/tail_memory.hpp"
#include "engram/kernels/select/tail_topk.hpp"

namespace {

namespace select = engram::select;
using engram::Purpose;
using engram::RngKey;
using engram::RngStream;

double log_choose(double n, double r) { return std::lgamma(n + 1.0) - std::lgamma(r + 1.0) - std::lgamma(n - r + 1.0); }

std::vector<double> binomial_table(std::int64_t trials, double p, std::int64_t& lo) {
  std::int64_t hi = 0;
  select::binomial_range(trials, p, lo, hi);
  std::vector<double> pmf(static_cast<std::size_t>(hi - lo + 1));
  select::binomial_pmf(trials, p, lo, hi, pmf.data());
  return pmf;
}

// Largest |a - b| over [0, size), a missing value read as 0.
double max_gap(const std::vector<double>& a, std::int64_t a_lo, const std::vector<double>& b, std::int64_t b_lo) {
  const auto at = [](const std::vector<double>& v, std::int64_t lo, std::int64_t x) {
    const std::int64_t i = x - lo;
    return i >= 0 && i < static_cast<std::int64_t>(v.size()) ? v[static_cast<std::size_t>(i)] : 0.0;
  };
  const std::int64_t end = std::max(a_lo + static_cast<std::int64_t>(a.size()), b_lo + static_cast<std::int64_t>(b.size()));
  double gap = 0.0;
  for (std::int64_t x = 0; x < end; ++x) gap = std::max(gap, std::fabs(at(a, a_lo, x) - at(b, b_lo, x)));
  return gap;
}

TEST(LazyTailMemory, HypergeometricMatchesBinomialCoefficients) {
  struct Case {
    std::int64_t N, K, n;
  };
  for (const Case c : {Case{634, 317, 30}, Case{634, 600, 45}, Case{20000, 19000, 120}, Case{10, 10, 4},
                       Case{10, 0, 4}, Case{50, 30, 40}}) {
    std::vector<double> pmf(static_cast<std::size_t>(c.n + 1));
    std::int64_t hi = 0;
    const std::int64_t lo = select::hypergeometric_pmf(c.N, c.K, c.n, pmf.data(), &hi);
    EXPECT_EQ(lo, std::max<std::int64_t>(0, c.n - (c.N - c.K)));
    EXPECT_EQ(hi, std::min(c.n, c.K));
    for (std::int64_t r = lo; r <= hi; ++r) {
      const double want = std::exp(log_choose(static_cast<double>(c.K), static_cast<double>(r)) +
                                   log_choose(static_cast<double>(c.N - c.K), static_cast<double>(c.n - r)) -
                                   log_choose(static_cast<double>(c.N), static_cast<double>(c.n)));
      EXPECT_NEAR(pmf[static_cast<std::size_t>(r - lo)], want, 1e-12 + 1e-9 * want)
          << "N " << c.N << " K " << c.K << " n " << c.n << " r " << r;
    }
  }
}

TEST(LazyTailMemory, HypergeometricThinningOfABinomialKeepsABinomial) {
  // Edges from M sources, each present with probability p: the count from K of them is Bin(K, p).
  for (const auto& [M, K, p] : {std::tuple{634, 400, 0.01}, std::tuple{634, 633, 0.05}, std::tuple{2000, 1000, 0.02}}) {
    std::int64_t lo = 0, want_lo = 0;
    const std::vector<double> full = binomial_table(M, p, lo);
    const std::vector<double> want = binomial_table(K, p, want_lo);
    std::vector<double> out(static_cast<std::size_t>(lo) + full.size()), scratch(out.size());
    select::thin_hypergeometric(full.data(), lo, static_cast<std::int64_t>(full.size()), M, K, out.data(),
                                scratch.data());
    EXPECT_LT(max_gap(out, 0, want, want_lo), 1e-12) << "M " << M << " K " << K << " p " << p;
  }
}

TEST(LazyTailMemory, BinomialThinningOfABinomialKeepsABinomial) {
  for (const auto& [M, p, q] : {std::tuple{634, 0.01, 0.6}, std::tuple{1000, 0.05, 0.97}, std::tuple{300, 0.02, 0.0},
                               std::tuple{300, 0.02, 1.0}}) {
    std::int64_t lo = 0, want_lo = 0;
    const std::vector<double> full = binomial_table(M, p, lo);
    const std::vector<double> want = binomial_table(M, p * q, want_lo);
    std::vector<double> out(static_cast<std::size_t>(lo) + full.size()), scratch(out.size());
    select::thin_binomial(full.data(), lo, static_cast<std::int64_t>(full.size()), q, out.data(), scratch.data());
    EXPECT_LT(max_gap(out, 0, want, want_lo), 1e-12) << "M " << M << " p " << p << " q " << q;
  }
}

TEST(LazyTailMemory, LosersLawIsTheLosersHistogramInExpectation) {
  // Small integer values with many ties at the cut, as in the lazy mode at p = 0.01.
  std::int64_t lo = 0;
  const std::vector<double> pmf = binomial_table(60, 0.1, lo);
  const auto len = static_cast<std::int64_t>(pmf.size());
  std::vector<double> cdf(pmf.size());
  std::partial_sum(pmf.begin(), pmf.end(), cdf.begin());
  constexpr std::uint64_t kPopulation = 400;
  constexpr std::uint32_t kCount = 25, kWinners = 9;
  constexpr int kRepeats = 4000;
  std::vector<double> brute(pmf.size(), 0.0), model(pmf.size(), 0.0), law(pmf.size());
  RngStream rng(RngKey{11, 0, Purpose::test, 0, 0});
  std::vector<double> uniforms(kPopulation);
  std::vector<std::int64_t> draws(kPopulation);
  for (int rep = 0; rep < kRepeats; ++rep) {
    // Values by inversion of sorted uniforms, as the sampler draws them: draws descending.
    for (double& u : uniforms) u = rng.uniform();
    std::sort(uniforms.begin(), uniforms.end(), std::greater<>());
    for (std::uint64_t i = 0; i < kPopulation; ++i) {
      draws[i] = lo + static_cast<std::int64_t>(std::lower_bound(cdf.begin(), cdf.end() - 1, uniforms[i]) - cdf.begin());
    }
    for (std::uint64_t i = kWinners; i < kPopulation; ++i) brute[static_cast<std::size_t>(draws[i] - lo)] += 1.0;
    select::keep_losers(pmf.data(), lo, len, kPopulation, draws.data(), kCount, 1.0 - uniforms[kCount - 1], kWinners,
                        law.data());
    EXPECT_NEAR(std::accumulate(law.begin(), law.end(), 0.0), 1.0, 1e-12);
    for (std::size_t i = 0; i < law.size(); ++i) {
      model[i] += law[i] * static_cast<double>(kPopulation - kWinners);
      if (static_cast<std::int64_t>(i) + lo > draws[kCount - 1]) {
        ASSERT_NEAR(law[i] * static_cast<double>(kPopulation - kWinners),
                    static_cast<double>(std::count(draws.begin() + kWinners, draws.begin() + kCount,
                                                   static_cast<std::int64_t>(i) + lo)),
                    1e-9)
            << "above the lowest candidate only the losing candidates remain";
      }
    }
  }
  for (std::size_t i = 0; i < pmf.size(); ++i) {
    const double b = brute[i] / kRepeats, m = model[i] / kRepeats;
    // Counts per value: Poisson-like spread, sd ~ sqrt(count / repeats).
    EXPECT_NEAR(m, b, 5.0 * std::sqrt(std::max(b, 0.05) / kRepeats) + 1e-9) << "value " << lo + static_cast<std::int64_t>(i);
  }
}

}  // namespace
