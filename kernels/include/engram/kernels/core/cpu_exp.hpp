#pragma once
// exp over arrays, written so the compiler vectorises it (AVX2/AVX-512 under -march=native, SSE2
// otherwise) and so every ISA gives the same bits: only +, *, compares and integer shifts, no
// FMA (the build compiles with -ffp-contract=off), no table, no libm call. Host code only: the
// CPU fast paths (kernel scalings, softmax tiles) call it where the scalar exp of the
// portable functors was the inner loop's cost.
//
// Method: x = k ln2 + r with k = round(x / ln2) (Cody-Waite split of ln2, so r is exact to an
// ulp), e^r by its Taylor polynomial on |r| <= ln2 / 2 (degree 13 for double, 7 for float:
// truncation below half an ulp), times 2^k built in the exponent bits. Accuracy: within 2 ulp of
// std::exp on the clamped range (tests/unit/cpu_exp_test.cpp). Inputs below -708 (double) /
// -87 (float) give 0, the range where std::exp is subnormal or 0; inputs above 709 / 88 give
// +inf (std::exp overflows a little later); NaN gives NaN.
//
//   std::vector<double> v = {...};
//   engram::cpu::exp_inplace(v.data(), static_cast<std::int64_t>(v.size()));
#include <cstdint>
#include <cstring>
#include <limits>

namespace engram::cpu {

// GCC keeps floating-point selects as branches while it must preserve FP exception flags
// (-ftrapping-math, the default), which stops vectorisation; these functions never read the
// flags, and the option changes no value.
#if defined(__GNUC__) && !defined(__clang__)
#define ENGRAM_CPU_VECTOR_MATH __attribute__((optimize("no-trapping-math")))
#else
#define ENGRAM_CPU_VECTOR_MATH
#endif

namespace detail {

ENGRAM_CPU_VECTOR_MATH inline double exp_one(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // upper bits of ln 2: k * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 6755399441055744.0;         // 1.5 * 2^52: adding it rounds to an integer
  double xc = x > 709.0 ? 709.0 : x;
  xc = xc < -708.0 ? -708.0 : xc;
  const double t = xc * kLog2e + kShift;
  const double k = t - kShift;
  const double r = (xc - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  // The low mantissa bits of t hold 2^51 + k; shifted by 52 only k remains, as the exponent.
  const std::uint64_t scale_bits = (bits << 52) + (std::uint64_t{1023} << 52);
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  double e = p * scale;
  e = x < -708.0 ? 0.0 : e;
  e = x > 709.0 ? std::numeric_limits<double>::infinity() : e;
  return e;
}

ENGRAM_CPU_VECTOR_MATH inline float exp_one(float x) {
  constexpr float kLog2e = 1.44269504f;
  constexpr float kLn2Hi = 0.693145752f;  // upper bits of ln 2
  constexpr float kLn2Lo = 1.42860677e-06f;
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  float xc = x > 88.0f ? 88.0f : x;
  xc = xc < -87.0f ? -87.0f : xc;
  const float t = xc * kLog2e + kShift;
  const float k = t - kShift;
  const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  std::uint32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  const std::uint32_t scale_bits = (bits << 23) + (std::uint32_t{127} << 23);
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  float e = p * scale;
  e = x < -87.0f ? 0.0f : e;
  e = x > 88.0f ? std::numeric_limits<float>::infinity() : e;
  return e;
}

}  // namespace detail

// One element; the same bits as the array form.
template <class T>
ENGRAM_CPU_VECTOR_MATH inline T exp(T x) {
  return detail::exp_one(x);
}

template <class T>
ENGRAM_CPU_VECTOR_MATH inline void exp_inplace(T* __restrict v, std::int64_t n) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) v[i] = detail::exp_one(v[i]);
}

}  // namespace engram::cpu
