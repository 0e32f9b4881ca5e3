// The reach augmentation (AugmentRows, reach_runs.hpp): the CPU fast path (cpu_augment.hpp) is
// the bits of the portable functor on ragged neuron counts, with and without standardisation;
// the dropout rate and the noise's spread match the closed forms; views sharing a tag share
// their mask and noise, and a shared second view (bins_b/out_b) is the bits of its own launch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engram/models/ssl/cpu_augment.hpp"
#include "engram/models/ssl/reach_runs.hpp"

namespace {

struct Inputs {
  std::vector<float> counts, mean, inv_std;
  std::vector<std::int32_t> bins;
  std::vector<std::uint64_t> seeds;
};

Inputs make_inputs(std::int64_t runs, std::int64_t rows, std::int64_t neurons, std::int64_t n_bins) {
  std::mt19937 gen(static_cast<std::uint32_t>(neurons));
  std::poisson_distribution<int> count(3.0);
  std::uniform_real_distribution<float> unit(0.5f, 2.0f);
  Inputs in;
  for (std::int64_t i = 0; i < n_bins * neurons; ++i) in.counts.push_back(static_cast<float>(count(gen)));
  for (std::int64_t i = 0; i < runs * neurons; ++i) {
    in.mean.push_back(unit(gen));
    in.inv_std.push_back(unit(gen));
  }
  std::uniform_int_distribution<std::int32_t> bin(0, static_cast<std::int32_t>(n_bins - 1));
  for (std::int64_t i = 0; i < runs * rows; ++i) in.bins.push_back(bin(gen));
  for (std::int64_t r = 0; r < runs; ++r) in.seeds.push_back(static_cast<std::uint64_t>(100 + r));
  return in;
}

engram::ssl::AugmentRows<float> functor(const Inputs& in, std::vector<float>& out, std::int64_t rows, std::int64_t neurons,
                                        std::uint32_t tag, double max_dropout, double apply, double noise, bool standardise) {
  out.assign(in.bins.size() * static_cast<std::size_t>(neurons), -7.0f);
  return {in.counts.data(), in.bins.data(), in.mean.data(), in.inv_std.data(), in.seeds.data(), out.data(), rows, neurons,
          3, tag, max_dropout, apply, noise, standardise};
}

TEST(SslAugment, CpuFastPathIsTheBitsOfThePortableFunctor) {
  for (std::int64_t neurons : {1, 2, 31, 32, 33, 174}) {
    for (bool standardise : {true, false}) {
      for (double max_dropout : {0.8, 1.0}) {
        SCOPED_TRACE(::testing::Message() << "neurons " << neurons << " standardise " << standardise << " max_dropout " << max_dropout);
        const std::int64_t runs = 2, rows = 37;
        const Inputs in = make_inputs(runs, rows, neurons, 50);
        std::vector<float> want, got;
        const auto reference = functor(in, want, rows, neurons, 1, max_dropout, 0.9, 0.1, standardise);
        for (std::int64_t i = 0; i < runs * rows; ++i) reference(i);
        const auto fast = functor(in, got, rows, neurons, 1, max_dropout, 0.9, 0.1, standardise);
        engram::ssl::cpu_augment_rows(fast, runs * rows);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
      }
    }
  }
}

TEST(SslAugment, DropoutRateAndNoiseSpreadMatchTheirClosedForms) {
  const std::int64_t runs = 1, rows = 4000, neurons = 174;
  Inputs in = make_inputs(runs, rows, neurons, 50);
  for (auto& c : in.counts) c = 5.0f;  // every neuron fires: a zero is a dropped one
  std::vector<float> out;
  // Dropout only: P(drop) = apply * E[U(0, max_dropout)] = 0.9 * 0.4.
  engram::ssl::cpu_augment_rows(functor(in, out, rows, neurons, 1, 0.8, 0.9, 0.0, false), runs * rows);
  double dropped = 0;
  for (float v : out) dropped += v == 0.0f ? 1 : 0;
  const double n = static_cast<double>(out.size());
  // Rows share their p: the spread of the mean is that of 4000 row rates.
  EXPECT_NEAR(dropped / n, 0.36, 0.02);
  // Noise only: out - count ~ N(0, 0.1^2).
  engram::ssl::cpu_augment_rows(functor(in, out, rows, neurons, 1, 0.8, 0.0, 0.1, false), runs * rows);
  double sum = 0, sq = 0;
  for (float v : out) {
    sum += v - 5.0;
    sq += (v - 5.0) * (v - 5.0);
  }
  EXPECT_NEAR(sum / n, 0.0, 5 * 0.1 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sq / n), 0.1, 0.002);
}

TEST(SslAugment, ViewsShareMaskAndNoiseExactlyWhenTheyShareTheTag) {
  const std::int64_t runs = 1, rows = 64, neurons = 40;
  Inputs in = make_inputs(runs, rows, neurons, 1);  // every row reads bin 0
  std::vector<float> a, b, c;
  engram::ssl::cpu_augment_rows(functor(in, a, rows, neurons, 1, 0.8, 0.9, 0.1, true), runs * rows);
  engram::ssl::cpu_augment_rows(functor(in, b, rows, neurons, 1, 0.8, 0.9, 0.1, true), runs * rows);
  engram::ssl::cpu_augment_rows(functor(in, c, rows, neurons, 2, 0.8, 0.9, 0.1, true), runs * rows);
  EXPECT_EQ(a, b);
  std::int64_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == c[i] ? 1 : 0;
  EXPECT_LT(same, static_cast<std::int64_t>(a.size()) / 10);
}

TEST(SslAugment, SharedSecondViewIsTheBitsOfItsOwnLaunchWithTheSameTag) {
  const std::int64_t runs = 2, rows = 29, neurons = 45;
  const Inputs in = make_inputs(runs, rows, neurons, 60);
  std::vector<std::int32_t> partners(in.bins.rbegin(), in.bins.rend());
  Inputs second = in;
  second.bins = partners;
  std::vector<float> alone_a, alone_b, shared_a, shared_b(in.bins.size() * neurons, -7.0f), fast_a, fast_b(shared_b);
  const auto fa = functor(in, alone_a, rows, neurons, 1, 0.8, 0.9, 0.1, true);
  const auto fb = functor(second, alone_b, rows, neurons, 1, 0.8, 0.9, 0.1, true);
  auto fs = functor(in, shared_a, rows, neurons, 1, 0.8, 0.9, 0.1, true);
  fs.bins_b = partners.data();
  fs.out_b = shared_b.data();
  auto ff = functor(in, fast_a, rows, neurons, 1, 0.8, 0.9, 0.1, true);
  ff.bins_b = partners.data();
  ff.out_b = fast_b.data();
  for (std::int64_t i = 0; i < runs * rows; ++i) {
    fa(i);
    fb(i);
    fs(i);
  }
  engram::ssl::cpu_augment_rows(ff, runs * rows);
  EXPECT_EQ(0, std::memcmp(alone_a.data(), shared_a.data(), alone_a.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(alone_b.data(), shared_b.data(), alone_b.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(alone_a.data(), fast_a.data(), alone_a.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(alone_b.data(), fast_b.data(), alone_b.size() * sizeof(float)));
}

}  // namespace
