#pragma once
// Two standard normals from two random 32-bit words (Box-Muller in float), written once for
// host and device with only +, -, *, /, sqrt, compares and integer bit operations: no libm call,
// no table, no FMA (the build compiles with -ffp-contract=off and nvcc with --fmad=false). So a
// scalar functor and a loop the compiler vectorises (AVX2 under -march=native) give the same
// bits, on every machine. For augmentation noise, where a draw per element is the inner loop.
//
// Radius: u1 = (w_radius >> 9 + 1/2) 2^-23 in (0, 1), r = sqrt(-2 log u1) (at most 5.77: the
// tail beyond it has mass 8e-9). Angle: 2 pi u2 with u2 = (w_angle >> 8 + 1/2) 2^-24, reduced
// to a quarter turn in integers (exact) and a polynomial on |x| <= pi/4. log and sin/cos are
// within 2 ulp of float libm over their ranges (tests/unit/word_normal_test.cpp).
//
//   float z0, z1;
//   engram::word_normal_pair(rng.next_u32(), rng.next_u32(), z0, z1);
#include <cstdint>
#include <cstring>

#include "engram/kernels/core/hd.hpp"

namespace engram {

namespace detail {

ENGRAM_HD inline std::uint32_t float_to_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  return u;
}
ENGRAM_HD inline float bits_to_float(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof(x));
  return x;
}

}  // namespace detail

// Natural logarithm of a positive, normal, finite float: x = 2^e m with m in [sqrt(1/2),
// sqrt(2)) (integer operations on the bits), log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <=
// 0.1716, by its odd series to s^9 (truncation below 1e-9 relative).
ENGRAM_HD inline float log_positive_float(float x) {
  const std::uint32_t bits = detail::float_to_bits(x);
  std::uint32_t mant = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  std::int32_t e = static_cast<std::int32_t>(bits >> 23) - 127;
  const bool high = mant > 0x3FB504F3u;  // m > sqrt(2): halve it
  mant = high ? mant - 0x00800000u : mant;
  e = high ? e + 1 : e;
  const float m = detail::bits_to_float(mant);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float series = 2.0f + s2 * (0.6666666666666666f + s2 * (0.4f + s2 * (0.2857142857142857f + s2 * 0.2222222222222222f)));
  // ln 2 in two parts: e * kLn2Hi is exact for |e| < 2^9.
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.428606765330187e-06f;
  const float ef = static_cast<float>(e);
  return ef * kLn2Hi + (s * series + ef * kLn2Lo);
}

// cos and sin of 2 pi (k + 1/2) / 2^24 for a 24-bit k: the nearest quarter turn n taken in
// integers, the rest x in [-pi/4, pi/4] through Taylor polynomials (to x^9 and x^10:
// truncation below 2e-9), then rotated by n quarter turns (swaps and sign flips: exact).
ENGRAM_HD inline void cos_sin_turn24(std::uint32_t k, float& c, float& s) {
  const std::uint32_t n = (k + (1u << 21)) >> 22;  // round((k + 1/2) / 2^22); never a tie
  const std::int32_t d = static_cast<std::int32_t>(k) - static_cast<std::int32_t>(n << 22);  // [-2^21, 2^21)
  const float x = (static_cast<float>(d) + 0.5f) * (1.5707963267948966f / 4194304.0f);
  const float x2 = x * x;
  const float sx = x * (1.0f + x2 * (-0.16666666666666666f + x2 * (0.008333333333333333f +
                                                                    x2 * (-0.0001984126984126984f + x2 * 2.755731922398589e-06f))));
  const float cx = 1.0f + x2 * (-0.5f + x2 * (0.041666666666666664f + x2 * (-0.001388888888888889f +
                                                                          x2 * (2.48015873015873e-05f + x2 * -2.755731922398589e-07f))));
  const std::uint32_t q = n & 3u;
  const float swapped_c = (q & 1u) != 0 ? sx : cx;
  const float swapped_s = (q & 1u) != 0 ? cx : sx;
  // cos flips sign in quarters 1 and 2, sin in quarters 2 and 3.
  const std::uint32_t cos_sign = ((q + 1u) & 2u) != 0 ? 0x80000000u : 0u;
  const std::uint32_t sin_sign = (q & 2u) != 0 ? 0x80000000u : 0u;
  c = detail::bits_to_float(detail::float_to_bits(swapped_c) ^ cos_sign);
  s = detail::bits_to_float(detail::float_to_bits(swapped_s) ^ sin_sign);
}

ENGRAM_HD inline void word_normal_pair(std::uint32_t w_radius, std::uint32_t w_angle, float& z0, float& z1) {
  const float u1 = (static_cast<float>(w_radius >> 9) + 0.5f) * 1.1920928955078125e-07f;  // 2^-23
  const float radius = ::sqrtf(-2.0f * log_positive_float(u1));
  float c, s;
  cos_sin_turn24(w_angle >> 8, c, s);
  z0 = radius * c;
  z1 = radius * s;
}

}  // namespace engram
