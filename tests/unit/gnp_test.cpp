// GnpRow: the implicit G(n, p) edge generator. A row is checked for structure (strictly
// increasing targets below n, exclusion, p = 1) and for law: degrees ~ Binomial(n, p), each
// target equally likely, adjacent targets independent, the first target geometric.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "engram/kernels/graph/gnp.hpp"
#include "reference/reference.hpp"

namespace {

using engram::NeuronId;
using engram::graph::GnpRow;
using engram::graph::kNoExclusion;
using engram::reference::gnp_row;

TEST(GnpRow, TargetsStrictlyIncreaseAndStayBelowN) {
  struct Shape {
    NeuronId n;
    double p;
  };
  for (const Shape shape : {Shape{1, 0.5}, Shape{2, 0.5}, Shape{37, 0.999}, Shape{1000, 0.01},
                            Shape{1000, 0.5}, Shape{100000, 1e-4}, Shape{70001, 0.2}}) {
    std::uint64_t edges = 0;
    for (NeuronId s = 0; s < 200; ++s) {
      const auto row = gnp_row(0xfeed, 3, s, shape.n, shape.p, kNoExclusion);
      edges += row.size();
      for (std::size_t i = 0; i < row.size(); ++i) {
        ASSERT_LT(row[i], shape.n) << "n " << shape.n << " p " << shape.p;
        if (i > 0) {
          ASSERT_LT(row[i - 1], row[i]) << "n " << shape.n << " p " << shape.p;
        }
      }
    }
    // Sanity of the total: within 8 sd of 200 * n * p.
    const double mean = 200.0 * shape.n * shape.p;
    EXPECT_NEAR(static_cast<double>(edges), mean, 8.0 * std::sqrt(mean) + 1.0);
  }
}

TEST(GnpRow, HugeTargetRangeDoesNotOverflow) {
  // n close to 2^32 with a tiny p: ~43 targets spread over the whole range.
  const NeuronId n = 0xFFFFFFF0u;
  const auto row = gnp_row(1, 0, 0, n, 1e-8, kNoExclusion);
  ASSERT_GT(row.size(), 10u);
  ASSERT_LT(row.size(), 100u);
  for (std::size_t i = 0; i < row.size(); ++i) {
    ASSERT_LT(row[i], n);
    if (i > 0) {
      ASSERT_LT(row[i - 1], row[i]);
    }
  }
  EXPECT_GT(row.back(), n / 2);  // the targets are not bunched at the start
}

TEST(GnpRow, DenseRowIsEveryTarget) {
  for (const NeuronId n : {1u, 2u, 5u, 1000u}) {
    std::vector<NeuronId> all(n);
    for (NeuronId t = 0; t < n; ++t) all[t] = t;
    EXPECT_EQ(gnp_row(9, 0, 4, n, 1.0, kNoExclusion), all);
    // p > 1 is treated as 1.
    EXPECT_EQ(gnp_row(9, 0, 4, n, 1.5, kNoExclusion), all);
    for (const NeuronId excluded : {0u, n / 2, n - 1}) {
      std::vector<NeuronId> expect;
      for (NeuronId t = 0; t < n; ++t) {
        if (t != excluded) expect.push_back(t);
      }
      EXPECT_EQ(gnp_row(9, 0, excluded, n, 1.0, excluded), expect) << "n " << n;
    }
    // An exclusion outside [0, n) changes nothing.
    EXPECT_EQ(gnp_row(9, 0, 4, n, 1.0, n + 3), all);
  }
}

// Excluding a target removes exactly that target: the rest of the row is unchanged (the
// excluded candidate consumes the same draws as it would have as an edge).
TEST(GnpRow, ExclusionRemovesOnlyTheExcludedTarget) {
  int excluded_present = 0;
  for (NeuronId s = 0; s < 300; ++s) {
    const auto full = gnp_row(0xabc, 1, s, 500, 0.3, kNoExclusion);
    const auto without_self = gnp_row(0xabc, 1, s, 500, 0.3, s);
    std::vector<NeuronId> expect;
    for (NeuronId t : full) {
      if (t != s) expect.push_back(t);
    }
    ASSERT_EQ(without_self, expect) << "source " << s;
    excluded_present += expect.size() != full.size();
  }
  // The test is only meaningful if self-edges occurred in some rows (p = 0.3: ~90 of 300).
  EXPECT_GT(excluded_present, 50);
  EXPECT_LT(excluded_present, 130);
}

TEST(GnpRow, DeterministicPerSeedFiberAndSource) {
  const auto base = gnp_row(0x1234, 2, 77, 256, 0.5, kNoExclusion);
  ASSERT_EQ(gnp_row(0x1234, 2, 77, 256, 0.5, kNoExclusion), base);
  // Each differs from the base row; with p = 0.5 over 256 targets a coincidence has
  // probability 2^-256.
  EXPECT_NE(gnp_row(0x1235, 2, 77, 256, 0.5, kNoExclusion), base) << "seed ignored";
  EXPECT_NE(gnp_row(0x1234 | (std::uint64_t{1} << 50), 2, 77, 256, 0.5, kNoExclusion), base)
      << "seed high bits ignored";
  EXPECT_NE(gnp_row(0x1234, 3, 77, 256, 0.5, kNoExclusion), base) << "fiber ignored";
  EXPECT_NE(gnp_row(0x1234, 2, 78, 256, 0.5, kNoExclusion), base) << "source ignored";
  // Same seed and source under fiber and source swapped must not alias either.
  EXPECT_NE(gnp_row(0x1234, 77, 2, 256, 0.5, kNoExclusion), base);
  // A row is a prefix-stable function of n: targets below a smaller n are the same.
  const auto longer = gnp_row(0x1234, 2, 77, 100000, 0.5, kNoExclusion);
  std::vector<NeuronId> prefix;
  for (NeuronId t : longer) {
    if (t < 256) prefix.push_back(t);
  }
  EXPECT_EQ(prefix, base);
}

struct Law {
  NeuronId n;
  double p;
  bool exclude;
  int rows;
};

std::string law_name(const ::testing::TestParamInfo<Law>& param) {
  std::ostringstream out;
  out << "n" << param.param.n << "_p" << std::lround(param.param.p * 1e6) << "ppm"
      << (param.param.exclude ? "_noself" : "");
  return out.str();
}

class GnpDegreeLaw : public ::testing::TestWithParam<Law> {};

TEST_P(GnpDegreeLaw, DegreeIsBinomial) {
  const Law law = GetParam();
  std::vector<std::uint64_t> degree(static_cast<std::size_t>(law.rows));
  std::vector<double> as_double(degree.size());
  for (int r = 0; r < law.rows; ++r) {
    const auto s = static_cast<NeuronId>(r);
    degree[r] = gnp_row(0xd00d, 5, s, law.n, law.p, law.exclude ? s % law.n : kNoExclusion).size();
    as_double[r] = static_cast<double>(degree[r]);
  }
  const std::uint64_t trials = law.exclude ? law.n - 1 : law.n;
  const double mean = static_cast<double>(trials) * law.p;
  const double var = mean * (1.0 - law.p);
  const auto m = engram::reference::moments(as_double);
  EXPECT_NEAR(m.mean, mean, 6.0 * std::sqrt(var / law.rows));
  const double excess = (1.0 - 6.0 * law.p * (1.0 - law.p)) / var;  // excess kurtosis
  EXPECT_NEAR(m.variance, var, 6.0 * var * std::sqrt((2.0 + excess) / law.rows) + 10.0 * var / law.rows);
  const auto chi = engram::reference::chi_square_binomial(degree, trials, law.p);
  EXPECT_GT(chi.p_value, 1e-5) << "chi2 = " << chi.statistic << " on " << chi.dof << " dof";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GnpDegreeLaw,
    ::testing::Values(Law{1000, 0.05, false, 20000}, Law{1000, 0.05, true, 20000},
                      Law{200, 0.5, false, 20000}, Law{300, 0.9, true, 5000},
                      Law{5000, 0.002, false, 20000}, Law{1'000'000, 5e-5, false, 5000},
                      Law{100'000, 0.01, true, 2000}, Law{50, 0.999, false, 20000}),
    law_name);

// Per-target counts, adjacent pairs and the first target's position, on shapes small enough
// that every target is hit many times.
class GnpTargetLaw : public ::testing::TestWithParam<Law> {};

TEST_P(GnpTargetLaw, TargetsAreUniformAndIndependent) {
  const Law law = GetParam();
  std::vector<double> hits(law.n, 0.0);
  std::vector<double> first(law.n + 1, 0.0);  // position of the first target; n = empty row
  double adjacent = 0.0;                      // pairs (t, t + 1) both present
  for (int r = 0; r < law.rows; ++r) {
    const auto row = gnp_row(0xeeee, 1, static_cast<NeuronId>(r), law.n, law.p, kNoExclusion);
    first[row.empty() ? law.n : row.front()] += 1.0;
    for (std::size_t i = 0; i < row.size(); ++i) {
      hits[row[i]] += 1.0;
      if (i > 0 && row[i] == row[i - 1] + 1) adjacent += 1.0;
    }
  }
  const double rows = law.rows;
  // Each target's count is Binomial(rows, p), independently across targets, so the sum of
  // squared standardised deviations is chi-square with n degrees of freedom.
  double statistic = 0.0;
  for (const double h : hits) {
    const double expect = rows * law.p, var = expect * (1.0 - law.p);
    statistic += (h - expect) * (h - expect) / var;
  }
  const double p_hits = engram::reference::gamma_q(0.5 * law.n, 0.5 * statistic);
  EXPECT_GT(p_hits, 1e-5) << "per-target counts: chi2 = " << statistic << " on " << law.n << " dof";
  EXPECT_LT(p_hits, 1.0 - 1e-5) << "per-target counts too even: chi2 = " << statistic;
  // P(t and t+1 both edges) = p^2 for each of the n - 1 pairs, independent across rows.
  const double expect_adjacent = rows * (law.n - 1) * law.p * law.p;
  EXPECT_NEAR(adjacent, expect_adjacent, 6.0 * std::sqrt(expect_adjacent * (1.0 + 2.0 * law.p)) + 1.0);
  // The first target is geometric: P(first = j) = (1 - p)^j p, P(empty) = (1 - p)^n.
  std::vector<double> expect_first(law.n + 1);
  for (NeuronId j = 0; j < law.n; ++j) expect_first[j] = rows * std::pow(1.0 - law.p, j) * law.p;
  expect_first[law.n] = rows * std::pow(1.0 - law.p, law.n);
  const auto chi_first = engram::reference::chi_square(first, expect_first);
  EXPECT_GT(chi_first.p_value, 1e-5) << "first target: chi2 = " << chi_first.statistic << " on "
                                     << chi_first.dof << " dof";
}

INSTANTIATE_TEST_SUITE_P(Shapes, GnpTargetLaw,
                         ::testing::Values(Law{1000, 0.05, false, 20000}, Law{200, 0.5, false, 20000},
                                           Law{300, 0.9, false, 5000}, Law{5000, 0.002, false, 20000}),
                         law_name);

}  // namespace
