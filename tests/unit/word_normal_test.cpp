// word_normal_pair (kernels/core/word_normal.hpp): its logarithm and quarter-turn sine/cosine
// against libm in double over their whole input grids, and the normals' moments and tail mass
// against the standard normal's closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "engram/kernels/core/random.hpp"
#include "engram/kernels/core/word_normal.hpp"

namespace {

double float_ulp(double reference) {
  const float f = static_cast<float>(std::fabs(reference));
  return static_cast<double>(std::nextafter(f, INFINITY) - f);
}

TEST(WordNormal, LogIsWithinThreeUlpOnEveryRadiusUniform) {
  double worst = 0;
  for (std::uint32_t k = 0; k < (1u << 23); ++k) {
    const float u = (static_cast<float>(k) + 0.5f) * 0x1.0p-23f;
    const double want = std::log(static_cast<double>(u));
    worst = std::max(worst, std::fabs(static_cast<double>(engram::log_positive_float(u)) - want) / float_ulp(want));
  }
  EXPECT_LT(worst, 3.0);
  // Outside (0, 1) too: the reduction handles any positive normal float.
  for (float x : {1.0f, 1.5f, 2.0f, 1e-30f, 3e30f, 0.70710677f, 1.4142135f}) {
    EXPECT_NEAR(engram::log_positive_float(x), std::log(static_cast<double>(x)), 3 * float_ulp(std::log(static_cast<double>(x))) + 1e-30)
        << x;
  }
}

TEST(WordNormal, CosSinOfEveryAngleOnTheGridAreWithin2e7OfLibm) {
  double worst = 0;
  for (std::uint32_t k = 0; k < (1u << 24); k += 3) {
    float c, s;
    engram::cos_sin_turn24(k, c, s);
    const double angle = 2 * M_PI * (static_cast<double>(k) + 0.5) / 16777216.0;
    worst = std::max({worst, std::fabs(c - std::cos(angle)), std::fabs(s - std::sin(angle))});
  }
  EXPECT_LT(worst, 2e-7);
}

TEST(WordNormal, PairsHaveTheStandardNormalsMomentsAndTails) {
  engram::RngStream rng(engram::RngKey{7, 0, engram::Purpose::test, 0, 0});
  const int n = 1 << 20;
  double sum[2] = {0, 0}, sq[2] = {0, 0}, cross = 0, fourth = 0, beyond2 = 0, beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint32_t a = rng.next_u32(), b = rng.next_u32();
    float z[2];
    engram::word_normal_pair(a, b, z[0], z[1]);
    for (int j = 0; j < 2; ++j) {
      sum[j] += z[j];
      sq[j] += static_cast<double>(z[j]) * z[j];
      fourth += std::pow(static_cast<double>(z[j]), 4);
      beyond2 += std::fabs(z[j]) > 2 ? 1 : 0;
      beyond3 += std::fabs(z[j]) > 3 ? 1 : 0;
    }
    cross += static_cast<double>(z[0]) * z[1];
  }
  for (int j = 0; j < 2; ++j) {
    EXPECT_NEAR(sum[j] / n, 0.0, 5.0 / std::sqrt(n));
    EXPECT_NEAR(sq[j] / n, 1.0, 5.0 * std::sqrt(2.0 / n));
  }
  EXPECT_NEAR(cross / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(fourth / (2.0 * n), 3.0, 5.0 * std::sqrt(96.0 / (2.0 * n)));
  const double p2 = std::erfc(2 / std::sqrt(2.0)), p3 = std::erfc(3 / std::sqrt(2.0));
  EXPECT_NEAR(beyond2 / (2.0 * n), p2, 5.0 * std::sqrt(p2 / (2.0 * n)));
  EXPECT_NEAR(beyond3 / (2.0 * n), p3, 5.0 * std::sqrt(p3 / (2.0 * n)));
}

}  // namespace
