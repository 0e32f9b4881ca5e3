#pragma once
// Keyed random draws. Every random number engram uses is addressed by
//   (seed, brain, purpose, step, index, draw)
// and never by thread, batch slot or launch order. Philox's 64-bit key holds the seed; its
// 128-bit counter holds the other fields:
//   ctr[0] = purpose (8 bits) << 24 | draw block (24 bits)
//   ctr[1] = index, ctr[2] = step, ctr[3] = brain
// A stream yields 4 words per block and 2^24 blocks (2^26 words) before it would wrap, far more
// than any consumer draws from one (index, step) address.
//
//   engram::RngStream rng({seed, brain, engram::purpose::input_noise, step, neuron});
//   double u = rng.uniform();         // in (0, 1)
//   double z = rng.normal();          // standard normal
//   std::uint64_t x = rng.binomial(1000, 0.01);
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/philox.hpp"

namespace engram {

// One value per consumer of randomness, so two consumers never share draws. The consumers own
// their values: each kernel family or model declares its purposes in its own purposes.hpp, as
// `inline constexpr Purpose name{value};` in namespace engram::purpose (a new owner takes unused
// values below 200; tests/unit/purposes_test.cpp checks that all are distinct). Only the value
// reserved for tests of the generator itself lives here.
enum class Purpose : std::uint32_t {
  test = 200,
};

struct RngKey {
  std::uint64_t seed = 0;
  std::uint32_t brain = 0;
  Purpose purpose = Purpose::test;
  std::uint32_t step = 0;
  std::uint32_t index = 0;
};

class RngStream {
 public:
  ENGRAM_HD explicit RngStream(const RngKey& key)
      : key_{{static_cast<std::uint32_t>(key.seed), static_cast<std::uint32_t>(key.seed >> 32)}},
        purpose_bits_(static_cast<std::uint32_t>(key.purpose) << 24),
        index_(key.index),
        step_(key.step),
        brain_(key.brain) {}

  ENGRAM_HD std::uint32_t next_u32() {
    if (lane_ == 4) {
      const U32x4 ctr{{purpose_bits_ | (block_ & 0x00FFFFFFu), index_, step_, brain_}};
      buffer_ = philox4x32_10(ctr, key_);
      ++block_;
      lane_ = 0;
    }
    return buffer_.v[lane_++];
  }

  ENGRAM_HD std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // Uniform in the open interval (0, 1) with 53 random bits, so log(u) is always finite.
  // bits + 0.5 needs 54 significant bits when bits >= 2^52; for the largest pattern it rounds up
  // to 2^53, i.e. to exactly 1.0, so that one value is mapped to the largest double below 1.
  ENGRAM_HD double uniform() {
    const std::uint64_t bits = next_u64() >> 11;
    const double u = (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
    return u < 1.0 ? u : 0x1.fffffffffffffp-1;
  }

  // Uniform in (0, 1) with 24 random bits: cheaper where double precision is not needed. As in
  // uniform(), the largest pattern would round to 1.0f and is mapped to the float below 1.
  ENGRAM_HD float uniform_float() {
    const std::uint32_t bits = next_u32() >> 8;
    const float u = (static_cast<float>(bits) + 0.5f) * 0x1.0p-24f;
    return u < 1.0f ? u : 0x1.fffffep-1f;
  }

  // Box-Muller; both uniforms are drawn fresh each call so a draw's position in the stream
  // does not depend on whether an earlier call cached a spare value.
  ENGRAM_HD double normal() {
    const double u1 = uniform();
    const double u2 = uniform();
    return ::sqrt(-2.0 * ::log(u1)) * ::cos(6.283185307179586476925 * u2);
  }

  // Both Box-Muller outputs of one pair of uniforms: two normals for the draws and logarithm of
  // one normal() (a different sequence from two normal() calls).
  ENGRAM_HD void normal_pair(double& first, double& second) {
    const double u1 = uniform();
    const double u2 = uniform();
    const double radius = ::sqrt(-2.0 * ::log(u1)), angle = 6.283185307179586476925 * u2;
    first = radius * ::cos(angle);
    second = radius * ::sin(angle);
  }

  // Binomial(trials, p). Inversion when the mean is small (exact, O(mean) draws); otherwise
  // Hörmann's BTRS transformed rejection with squeeze (exact, O(1) expected draws).
  ENGRAM_HD std::uint64_t binomial(std::uint64_t trials, double p) {
    if (trials == 0 || p <= 0.0) return 0;
    if (p >= 1.0) return trials;
    if (p > 0.5) return trials - binomial(trials, 1.0 - p);
    const double mean = static_cast<double>(trials) * p;
    return mean < 10.0 ? binomial_inversion(trials, p) : binomial_btrs(trials, p);
  }

 private:
  ENGRAM_HD std::uint64_t binomial_inversion(std::uint64_t trials, double p) {
    const double q = 1.0 - p;
    const double odds = p / q;
    const double n = static_cast<double>(trials);
    // Walk the CDF from 0; restart with a fresh uniform in the (rare) event that rounding
    // leaves u beyond the accumulated mass.
    for (;;) {
      double u = uniform();
      double pmf = ::exp(n * ::log1p(-p));
      std::uint64_t x = 0;
      while (u > pmf && x < trials) {
        u -= pmf;
        pmf *= odds * (n - static_cast<double>(x)) / static_cast<double>(x + 1);
        ++x;
        if (pmf <= 0.0) break;
      }
      if (u <= pmf || x == trials) return x;
    }
  }

  ENGRAM_HD std::uint64_t binomial_btrs(std::uint64_t trials, double p) {
    const double n = static_cast<double>(trials);
    const double q = 1.0 - p;
    const double spq = ::sqrt(n * p * q);
    const double b = 1.15 + 2.53 * spq;
    const double a = -0.0873 + 0.0248 * b + 0.01 * p;
    const double c = n * p + 0.5;
    const double v_r = 0.92 - 4.2 / b;
    const double alpha = (2.83 + 5.1 / b) * spq;
    const double lpq = ::log(p / q);
    const double m = ::floor((n + 1.0) * p);
    const double h = ::lgamma(m + 1.0) + ::lgamma(n - m + 1.0);
    for (;;) {
      const double u = uniform() - 0.5;
      double v = uniform();
      const double us = 0.5 - ::fabs(u);
      const double k = ::floor((2.0 * a / us + b) * u + c);
      if (k < 0.0 || k > n) continue;
      if (us >= 0.07 && v <= v_r) return static_cast<std::uint64_t>(k);
      v = ::log(v * alpha / (a / (us * us) + b));
      const double bound = h - ::lgamma(k + 1.0) - ::lgamma(n - k + 1.0) + (k - m) * lpq;
      if (v <= bound) return static_cast<std::uint64_t>(k);
    }
  }

  U32x2 key_;
  std::uint32_t purpose_bits_;
  std::uint32_t index_;
  std::uint32_t step_;
  std::uint32_t brain_;
  std::uint32_t block_ = 0;
  std::uint32_t lane_ = 4;
  U32x4 buffer_{{0, 0, 0, 0}};
};

// SplitMix64 finaliser: spreads structured 64-bit inputs (seed + small ids) over all bits.
ENGRAM_HD inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace engram
