// Philox4x32-10 against Random123's published known answers, and the keyed RngStream built on
// it: key layout, key sensitivity, and the laws of its uniform, normal and binomial draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <sstream>
#include <vector>

#include "engram/kernels/core/philox.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/graph/purposes.hpp"
#include "reference/reference.hpp"

namespace {

using engram::Purpose;
using engram::RngKey;
using engram::RngStream;
using engram::U32x2;
using engram::U32x4;

void expect_words(const U32x4& got, const U32x4& want) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(got.v[i], want.v[i]) << "word " << i << std::hex << ": got 0x" << got.v[i]
                                   << ", want 0x" << want.v[i];
  }
}

// Known-answer vectors from Random123's kat_vectors (philox4x32 10 rounds).
TEST(Philox, KnownAnswerZero) {
  expect_words(engram::philox4x32_10({{0, 0, 0, 0}}, {{0, 0}}),
               {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
}

TEST(Philox, KnownAnswerAllOnes) {
  expect_words(engram::philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                                     {{0xffffffffu, 0xffffffffu}}),
               {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
}

TEST(Philox, KnownAnswerPi) {
  expect_words(engram::philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                                     {{0xa4093822u, 0x299f31d0u}}),
               {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

std::vector<std::uint32_t> words(const RngKey& key, int count) {
  RngStream rng(key);
  std::vector<std::uint32_t> out;
  for (int i = 0; i < count; ++i) out.push_back(rng.next_u32());
  return out;
}

// The documented layout: key = seed; ctr = {purpose << 24 | block, index, step, brain}.
TEST(RngStream, WordsFollowTheDocumentedCounterLayout) {
  const RngKey key{0x0123456789abcdefull, 17, engram::purpose::graph_edges, 9, 123456};
  const std::vector<std::uint32_t> got = words(key, 12);
  const U32x2 philox_key{{0x89abcdefu, 0x01234567u}};
  for (std::uint32_t block = 0; block < 3; ++block) {
    const U32x4 want = engram::philox4x32_10({{(2u << 24) | block, 123456u, 9u, 17u}}, philox_key);
    for (int lane = 0; lane < 4; ++lane) {
      EXPECT_EQ(got[block * 4 + static_cast<std::uint32_t>(lane)], want.v[lane])
          << "block " << block << " lane " << lane;
    }
  }
  // next_u64 takes two consecutive words, the first as the high half.
  RngStream rng(key);
  EXPECT_EQ(rng.next_u64(), (std::uint64_t{got[0]} << 32) | got[1]);
  EXPECT_EQ(rng.next_u64(), (std::uint64_t{got[2]} << 32) | got[3]);
  EXPECT_EQ(rng.next_u64(), (std::uint64_t{got[4]} << 32) | got[5]);
}

TEST(RngStream, SameKeySameDraws) {
  const RngKey key{42, 3, Purpose::test, 7, 11};
  EXPECT_EQ(words(key, 64), words(key, 64));
  RngStream a(key), b(key);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(a.uniform(), b.uniform());
    ASSERT_EQ(a.normal(), b.normal());
    ASSERT_EQ(a.binomial(1000, 0.3), b.binomial(1000, 0.3));
    ASSERT_EQ(a.binomial(20, 0.1), b.binomial(20, 0.1));
  }
}

// Counts positions where two word streams agree; independent streams agree at a position with
// probability 2^-32, so any agreement at all means the key field was ignored.
int agreements(const std::vector<std::uint32_t>& x, const std::vector<std::uint32_t>& y) {
  int same = 0;
  for (std::size_t i = 0; i < x.size(); ++i) same += x[i] == y[i];
  return same;
}

TEST(RngStream, EveryKeyFieldChangesTheDraws) {
  const RngKey base{0x5eed, 4, Purpose::test, 10, 1000};
  const std::vector<std::uint32_t> reference = words(base, 32);
  std::vector<std::pair<const char*, RngKey>> variants;
  RngKey k = base;
  k.seed = 0x5eee;
  variants.emplace_back("seed low bits", k);
  k = base;
  k.seed = base.seed | (std::uint64_t{1} << 40);
  variants.emplace_back("seed high bits", k);
  k = base;
  k.brain = 5;
  variants.emplace_back("brain", k);
  k = base;
  k.purpose = engram::purpose::graph_edges;
  variants.emplace_back("purpose", k);
  k = base;
  k.step = 11;
  variants.emplace_back("step", k);
  k = base;
  k.index = 1001;
  variants.emplace_back("index", k);
  for (const auto& [field, key] : variants) {
    const std::vector<std::uint32_t> other = words(key, 32);
    EXPECT_EQ(agreements(reference, other), 0) << "changing " << field;
  }
  // Fields must not alias one another: swapping step and index values gives another stream.
  RngKey swapped = base;
  swapped.step = base.index;
  swapped.index = base.step;
  EXPECT_EQ(agreements(reference, words(swapped, 32)), 0);
}

TEST(RngStream, UniformIsOpenUnitIntervalWithCorrectMoments) {
  constexpr int kDraws = 1'000'000;
  RngStream rng({2024, 0, Purpose::test, 1, 0});
  std::vector<double> draws(kDraws);
  std::vector<double> counts(1000, 0.0);
  for (double& u : draws) {
    u = rng.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    counts[static_cast<std::size_t>(u * 1000.0)] += 1.0;
  }
  const auto m = engram::reference::moments(draws);
  const double se_mean = std::sqrt(1.0 / 12.0 / kDraws);
  EXPECT_NEAR(m.mean, 0.5, 6.0 * se_mean);
  // Var of the sample variance of U(0,1): (mu4 - sigma^4) / N with mu4 = 1/80.
  EXPECT_NEAR(m.variance, 1.0 / 12.0, 6.0 * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / kDraws));
  const auto chi = engram::reference::chi_square(counts, std::vector<double>(1000, kDraws / 1000.0));
  EXPECT_GT(chi.p_value, 1e-5) << "chi2 = " << chi.statistic << " on " << chi.dof << " dof";
}

// Philox is a bijection on the counter for a fixed key, so a stream position whose words take
// chosen values can be found by running the rounds backwards. That reaches the extreme bit
// patterns of uniform() and uniform_float() through the real RngStream code path.
std::uint32_t inverse_mod_2_32(std::uint32_t m) {
  std::uint32_t inv = m;  // Newton: each step doubles the correct low bits (m is odd).
  for (int i = 0; i < 5; ++i) inv *= 2u - m * inv;
  return inv;
}

U32x4 philox_inverse(U32x4 out, U32x2 key) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  const std::uint32_t inv0 = inverse_mod_2_32(kM0), inv1 = inverse_mod_2_32(kM1);
  for (int round = 9; round >= 0; --round) {
    const std::uint32_t k0 = key.v[0] + static_cast<std::uint32_t>(round) * kW0;
    const std::uint32_t k1 = key.v[1] + static_cast<std::uint32_t>(round) * kW1;
    const std::uint32_t c0 = out.v[3] * inv0, c2 = out.v[1] * inv1;
    const auto hi0 = static_cast<std::uint32_t>((std::uint64_t{kM0} * c0) >> 32);
    const auto hi1 = static_cast<std::uint32_t>((std::uint64_t{kM1} * c2) >> 32);
    out = U32x4{{c0, out.v[0] ^ hi1 ^ k0, c2, out.v[2] ^ hi0 ^ k1}};
  }
  return out;
}

TEST(Philox, InverseRoundTrips) {
  const U32x2 key{{0xa4093822u, 0x299f31d0u}};
  for (std::uint32_t i = 0; i < 100; ++i) {
    const U32x4 ctr{{i * 2654435761u, ~i, i << 7, 0x12345678u ^ i}};
    const U32x4 back = philox_inverse(engram::philox4x32_10(ctr, key), key);
    for (int w = 0; w < 4; ++w) ASSERT_EQ(back.v[w], ctr.v[w]);
  }
}

// A stream (key and number of leading blocks to skip) whose next block is `want` in its first
// two words; the other words are varied until the counter's block field is small.
struct Position {
  RngKey key;
  std::uint32_t block;
};
Position find_position(std::uint32_t w0, std::uint32_t w1, std::uint64_t seed) {
  const U32x2 philox_key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  for (std::uint32_t x = 0;; ++x) {
    const U32x4 ctr = philox_inverse({{w0, w1, x, 0u}}, philox_key);
    const std::uint32_t block = ctr.v[0] & 0x00FFFFFFu;
    if (block < 2048) {
      return {RngKey{seed, ctr.v[3], static_cast<Purpose>(ctr.v[0] >> 24), ctr.v[2], ctr.v[1]}, block};
    }
  }
}

RngStream stream_at(const Position& pos) {
  RngStream rng(pos.key);
  for (std::uint32_t i = 0; i < pos.block * 4; ++i) rng.next_u32();
  return rng;
}

TEST(RngStream, UniformStaysInsideTheOpenIntervalAtExtremeBits) {
  // All 53 bits set: (2^53 - 1 + 0.5) * 2^-53 would round to exactly 1.0.
  const Position top = find_position(0xFFFFFFFFu, 0xFFFFFFFFu, 0x70b);
  {
    RngStream probe = stream_at(top);
    ASSERT_EQ(probe.next_u64(), ~std::uint64_t{0}) << "search for the all-ones position failed";
  }
  RngStream rng = stream_at(top);
  const double u = rng.uniform();
  EXPECT_LT(u, 1.0);
  EXPECT_EQ(u, 0x1.fffffffffffffp-1);
  EXPECT_TRUE(std::isfinite(std::log1p(-u)));
  // All bits clear: the smallest value, 2^-54, is strictly positive.
  const Position bottom = find_position(0u, 0u, 0x70b);
  RngStream low = stream_at(bottom);
  const double v = low.uniform();
  EXPECT_GT(v, 0.0);
  EXPECT_EQ(v, 0x1.0p-54);
  // uniform_float: the top 24 bits of one word set.
  RngStream rng_float = stream_at(top);
  const float f = rng_float.uniform_float();
  EXPECT_LT(f, 1.0f);
  EXPECT_EQ(f, 0x1.fffffep-1f);
  RngStream low_float = stream_at(bottom);
  EXPECT_EQ(low_float.uniform_float(), 0x1.0p-25f);
}

TEST(RngStream, UniformFloatIsInsideTheOpenInterval) {
  RngStream rng({1, 0, Purpose::test, 0, 0});
  double lo = 1.0, hi = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const float f = rng.uniform_float();
    ASSERT_GT(f, 0.0f);
    ASSERT_LT(f, 1.0f);
    lo = std::min(lo, static_cast<double>(f));
    hi = std::max(hi, static_cast<double>(f));
  }
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1.0 - 1e-4);
}

TEST(RngStream, UniformFloatMoments) {
  constexpr int kDraws = 500'000;
  RngStream rng({99, 1, Purpose::test, 0, 3});
  std::vector<double> draws(kDraws);
  for (double& u : draws) u = rng.uniform_float();
  const auto m = engram::reference::moments(draws);
  EXPECT_NEAR(m.mean, 0.5, 6.0 * std::sqrt(1.0 / 12.0 / kDraws));
  EXPECT_NEAR(m.variance, 1.0 / 12.0, 6.0 * std::sqrt((1.0 / 80.0 - 1.0 / 144.0) / kDraws));
}

TEST(RngStream, NormalMomentsAndTails) {
  constexpr int kDraws = 400'000;
  RngStream rng({77, 2, Purpose::test, 5, 5});
  std::vector<double> draws(kDraws);
  double beyond3 = 0.0;
  for (double& z : draws) {
    z = rng.normal();
    ASSERT_TRUE(std::isfinite(z));
    beyond3 += std::fabs(z) > 3.0;
  }
  const auto m = engram::reference::moments(draws);
  const double n = kDraws;
  EXPECT_NEAR(m.mean, 0.0, 6.0 / std::sqrt(n));
  EXPECT_NEAR(m.variance, 1.0, 6.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m.skewness, 0.0, 6.0 * std::sqrt(6.0 / n));
  EXPECT_NEAR(m.kurtosis, 3.0, 6.0 * std::sqrt(24.0 / n));
  // P(|Z| > 3) = 0.0026998.
  const double expect = 0.0026997960632601866 * n;
  EXPECT_NEAR(beyond3, expect, 6.0 * std::sqrt(expect));
}

TEST(RngStream, NormalPairsAreIndependentNormals) {
  constexpr int kPairs = 200'000;
  RngStream rng({78, 3, Purpose::test, 6, 1});
  std::vector<double> first(kPairs), second(kPairs), both;
  double cross = 0.0;
  for (int i = 0; i < kPairs; ++i) {
    rng.normal_pair(first[static_cast<std::size_t>(i)], second[static_cast<std::size_t>(i)]);
    cross += first[static_cast<std::size_t>(i)] * second[static_cast<std::size_t>(i)];
  }
  both = first;
  both.insert(both.end(), second.begin(), second.end());
  for (const auto* draws : {&first, &second, &both}) {
    const auto m = engram::reference::moments(*draws);
    const double n = static_cast<double>(draws->size());
    EXPECT_NEAR(m.mean, 0.0, 6.0 / std::sqrt(n));
    EXPECT_NEAR(m.variance, 1.0, 6.0 * std::sqrt(2.0 / n));
    EXPECT_NEAR(m.skewness, 0.0, 6.0 * std::sqrt(6.0 / n));
    EXPECT_NEAR(m.kurtosis, 3.0, 6.0 * std::sqrt(24.0 / n));
  }
  // The two outputs of a pair are uncorrelated (E[XY] = 0, sd 1/sqrt(n)).
  EXPECT_NEAR(cross / kPairs, 0.0, 6.0 / std::sqrt(static_cast<double>(kPairs)));
  // A pair is Box-Muller of the stream's next two uniforms.
  RngStream a({5, 1, Purpose::test, 2, 3}), b({5, 1, Purpose::test, 2, 3});
  double x = 0.0, y = 0.0;
  a.normal_pair(x, y);
  const double u1 = b.uniform(), u2 = b.uniform();
  EXPECT_NEAR(x, std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2), 1e-12);
  EXPECT_NEAR(y, std::sqrt(-2.0 * std::log(u1)) * std::sin(2.0 * std::numbers::pi * u2), 1e-12);
}

struct BinomialCase {
  std::uint64_t n;
  double p;
};

class BinomialLaw : public ::testing::TestWithParam<BinomialCase> {};

TEST_P(BinomialLaw, MatchesExactPmf) {
  const auto [n, p] = GetParam();
  constexpr int kDraws = 500'000;
  std::vector<std::uint64_t> samples(kDraws);
  std::vector<double> as_double(kDraws);
  // One stream per draw index, as kernels use them (a stream per neuron), plus a long stream.
  for (int i = 0; i < kDraws; ++i) {
    RngStream rng({0xb1, 0, Purpose::test, 0, static_cast<std::uint32_t>(i)});
    samples[i] = rng.binomial(n, p);
    ASSERT_LE(samples[i], n);
    as_double[i] = static_cast<double>(samples[i]);
  }
  const double nd = static_cast<double>(n);
  const double mean = nd * p, var = nd * p * (1.0 - p);
  const auto m = engram::reference::moments(as_double);
  EXPECT_NEAR(m.mean, mean, 6.0 * std::sqrt(var / kDraws));
  const double excess = (1.0 - 6.0 * p * (1.0 - p)) / var;  // excess kurtosis of the binomial
  // Var of the sample variance ~ var^2 (2 + excess) / N; the O(1/N) term covers the Bernoulli(1/2)
  // case, where that leading term vanishes.
  EXPECT_NEAR(m.variance, var, 6.0 * var * std::sqrt((2.0 + excess) / kDraws) + 10.0 * var / kDraws);
  const auto chi = engram::reference::chi_square_binomial(samples, n, p);
  EXPECT_GT(chi.p_value, 1e-5) << "chi2 = " << chi.statistic << " on " << chi.dof << " dof";

  // The same law from one long stream (draw positions advance by a variable amount).
  RngStream rng({0xb2, 1, Purpose::test, 2, 3});
  for (auto& x : samples) x = rng.binomial(n, p);
  const auto chi_long = engram::reference::chi_square_binomial(samples, n, p);
  EXPECT_GT(chi_long.p_value, 1e-5) << "chi2 = " << chi_long.statistic << " on " << chi_long.dof;
}

// mean < 10 takes the inversion branch, mean >= 10 BTRS; p > 0.5 reflects onto 1 - p.
INSTANTIATE_TEST_SUITE_P(
    Cases, BinomialLaw,
    ::testing::Values(BinomialCase{5, 0.3}, BinomialCase{1, 0.5}, BinomialCase{100, 0.02},
                      BinomialCase{1'000'000, 0.000005}, BinomialCase{20, 0.49},
                      BinomialCase{1000, 0.3}, BinomialCase{40, 0.5}, BinomialCase{1'000'000, 0.001},
                      BinomialCase{100, 0.1}, BinomialCase{50, 0.9}, BinomialCase{1000, 0.7},
                      BinomialCase{10'000'000, 0.5}),
    [](const ::testing::TestParamInfo<BinomialCase>& param) {
      std::ostringstream out;
      out << "n" << param.param.n << "_p" << std::lround(param.param.p * 1e6) << "ppm";
      return out.str();
    });

TEST(RngStream, BinomialDegenerateCases) {
  RngStream rng({5, 0, Purpose::test, 0, 0});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(rng.binomial(0, 0.5), 0u);
    ASSERT_EQ(rng.binomial(0, 1.0), 0u);
    ASSERT_EQ(rng.binomial(12345, 0.0), 0u);
    ASSERT_EQ(rng.binomial(12345, 1.0), 12345u);
    ASSERT_EQ(rng.binomial(1, 1.0), 1u);
    ASSERT_EQ(rng.binomial(std::uint64_t{1} << 40, 1.0), std::uint64_t{1} << 40);
    const std::uint64_t one = rng.binomial(1, 0.25);
    ASSERT_LE(one, 1u);
  }
}

// The goodness-of-fit test above must actually reject wrong samplers, or it proves nothing:
// samples shifted by one, and samples with the right mean but a variance off by 7-10%.
TEST(RngStream, ChiSquareRejectsWrongSamplers) {
  struct Wrong {
    BinomialCase law, impostor;
  };
  constexpr int kDraws = 200'000;
  for (const Wrong w : {Wrong{{5, 0.3}, {6, 0.25}}, Wrong{{1000, 0.3}, {1304, 0.23}},
                        Wrong{{1000, 0.3}, {811, 0.37}}}) {
    std::vector<std::uint64_t> right(kDraws), shifted(kDraws), impostor(kDraws);
    RngStream rng({0xc4, 0, Purpose::test, 0, 0});
    for (int i = 0; i < kDraws; ++i) {
      right[i] = rng.binomial(w.law.n, w.law.p);
      shifted[i] = right[i] + 1;
      impostor[i] = rng.binomial(w.impostor.n, w.impostor.p);
    }
    const auto [n, p] = w.law;
    EXPECT_GT(engram::reference::chi_square_binomial(right, n, p).p_value, 1e-5);
    EXPECT_LT(engram::reference::chi_square_binomial(shifted, n, p).p_value, 1e-12);
    EXPECT_LT(engram::reference::chi_square_binomial(impostor, n, p).p_value, 1e-12)
        << "impostor Binomial(" << w.impostor.n << ", " << w.impostor.p << ")";
  }
}

TEST(ReferenceStatistics, GammaQMatchesKnownValues) {
  // Q(1, x) = exp(-x); chi-square with 2 dof at 2 ln 20 has p = 0.05.
  EXPECT_NEAR(engram::reference::gamma_q(1.0, 0.5), std::exp(-0.5), 1e-12);
  EXPECT_NEAR(engram::reference::gamma_q(1.0, 7.0), std::exp(-7.0), 1e-12);
  EXPECT_NEAR(engram::reference::gamma_q(1.0, std::log(20.0)), 0.05, 1e-12);
  // chi2 with 10 dof: P(X >= 18.307) = 0.05; with 100 dof: P(X >= 124.342) = 0.05.
  EXPECT_NEAR(engram::reference::gamma_q(5.0, 18.307 / 2.0), 0.05, 1e-4);
  EXPECT_NEAR(engram::reference::gamma_q(50.0, 124.342 / 2.0), 0.05, 1e-4);
  double total = 0.0;
  for (std::uint64_t x = 0; x <= 50; ++x) total += engram::reference::binomial_pmf(50, 0.37, x);
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_NEAR(engram::reference::binomial_pmf(5, 0.3, 2), 10 * 0.09 * 0.343, 1e-14);
}

}  // namespace
