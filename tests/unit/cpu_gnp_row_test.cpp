// cpu_gnp_row (the CPU fast paths' row generator) against GnpRow, the definition: the same
// targets in the same order, row by row, over p from tiny to dense, with and without an excluded
// target; cpu_bernoulli_skip against BernoulliSkip likewise, on keys of every field; PhiloxBlocks
// against RngStream word by word; log_unit against std::log within its stated bound over the
// whole range of uniforms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "engram/kernels/core/philox_blocks.hpp"
#include "engram/kernels/graph/cpu_gnp_row.hpp"

namespace {

using engram::NeuronId;

TEST(PhiloxBlocks, WordsAreTheStreamsWordsInOrder) {
  for (const engram::RngKey key : {engram::RngKey{0, 0, engram::Purpose::test, 0, 0},
                                   engram::RngKey{0xdeadbeefcafef00dull, 7, engram::Purpose::test, 3, 123456},
                                   engram::RngKey{~0ull, ~0u, engram::purpose::graph_edges, ~0u, ~0u}}) {
    engram::RngStream stream(key);
    const engram::PhiloxBlocks blocks(key);
    engram::PhiloxBlocks::Words words;
    for (std::uint32_t first = 0; first < 4 * engram::PhiloxBlocks::kBlocks; first += engram::PhiloxBlocks::kBlocks) {
      blocks.fill(first, words);
      for (int j = 0; j < engram::PhiloxBlocks::kBlocks; ++j) {
        for (int w = 0; w < 4; ++w) ASSERT_EQ(words.v[w][j], stream.next_u32()) << "block " << first + j << " word " << w;
      }
    }
  }
}

TEST(CpuGnpRow, LogUnitWithinItsBoundOfStdLog) {
  engram::RngStream rng({99, 0, engram::Purpose::test, 0, 0});
  double worst = 0;
  const auto check = [&](double u) {
    const double err = std::fabs(engram::graph::detail::log_unit(u) - std::log(u));
    worst = std::max(worst, err);
    ASSERT_LE(err, engram::graph::detail::kLogUnitError) << "u " << u;
  };
  for (int i = 0; i < 1000000; ++i) check(rng.uniform());
  // The ends and the mantissa switch point of the range uniform() yields.
  for (double u : {0x1.0p-54, 0x1.8p-54, 0x1.0p-53, 0x1.fffffffffffffp-1, 0.5, 0.70710678118654746,
                   0.70710678118654757, 0.99999999, 1e-10}) {
    check(u);
  }
  for (int e = -54; e < 0; ++e) {
    for (double m = 1.0; m < 2.0; m += 0.0123) check(std::ldexp(m, e));
  }
  RecordProperty("worst_abs_error", std::to_string(worst));
}

TEST(CpuGnpRow, SameTargetsAsGnpRow) {
  struct Shape {
    NeuronId n;
    double p;
  };
  std::uint64_t rows = 0, edges = 0;
  for (const Shape shape : {Shape{1, 0.5}, Shape{2, 0.5}, Shape{37, 0.999}, Shape{1000, 0.01}, Shape{1000, 1.0},
                            Shape{10000, 0.005}, Shape{10000, 0.05}, Shape{10000, 0.3}, Shape{100000, 1e-4},
                            Shape{70001, 0.2}, Shape{0xFFFFFFF0u, 1e-8}}) {
    for (std::uint64_t seed : {1ull, 0xfeedull, 0x123456789abcdefull}) {
      for (NeuronId s = 0; s < 60; ++s) {
        for (const NeuronId excluded : {engram::graph::kNoExclusion, s, NeuronId{0}}) {
          engram::graph::GnpRow reference(seed, 1, s, shape.n, shape.p, excluded);
          std::vector<NeuronId> expected, got;
          for (NeuronId t; reference.next(t);) expected.push_back(t);
          engram::graph::cpu_gnp_row(seed, 1, s, shape.n, shape.p, excluded, [&](NeuronId t) { got.push_back(t); });
          ASSERT_EQ(got, expected) << "n " << shape.n << " p " << shape.p << " seed " << seed << " source " << s
                                   << " excluded " << excluded;
          ++rows;
          edges += got.size();
        }
      }
    }
  }
  EXPECT_GT(edges, rows);  // the rows are not trivially empty
}

TEST(CpuGnpRow, SameSuccessesAsBernoulliSkip) {
  std::uint64_t runs = 0, successes = 0;
  for (const std::int64_t count : {std::int64_t{0}, std::int64_t{1}, std::int64_t{40}, std::int64_t{1140},
                                   std::int64_t{100000}}) {
    for (const double p : {1e-4, 0.01, 0.05, 0.5, 1.0, 0.0}) {
      for (std::uint32_t id = 0; id < 40; ++id) {
        const engram::RngKey key{0x9e3779b97f4a7c15ull + id, id % 7, engram::Purpose{5 + id % 4}, id % 3, id};
        engram::graph::BernoulliSkip reference(key, count, p);
        std::vector<std::int64_t> expected, got;
        for (std::int64_t i; reference.next(i);) expected.push_back(i);
        engram::graph::cpu_bernoulli_skip(key, count, p, [&](std::int64_t i) { got.push_back(i); });
        ASSERT_EQ(got, expected) << "count " << count << " p " << p << " id " << id;
        ++runs;
        successes += got.size();
      }
    }
  }
  EXPECT_GT(successes, runs);
}

}  // namespace
