#pragma once
// Precision-matched math for the nn and attention kernels: each call picks the float or double C
// function, so float kernels never round-trip through double (and -Wconversion stays quiet) and
// the same spelling compiles for host and device.
//
//   template <class T> ENGRAM_HD T sigmoid(T x) { return T(1) / (T(1) + engram::nn::exp_(-x)); }
#include <cmath>
#include <math.h>

#include "engram/kernels/core/hd.hpp"

namespace engram::nn {

template <class T>
ENGRAM_HD inline T exp_(T x) {
  if constexpr (sizeof(T) == 4) return ::expf(x); else return ::exp(x);
}
template <class T>
ENGRAM_HD inline T log_(T x) {
  if constexpr (sizeof(T) == 4) return ::logf(x); else return ::log(x);
}
template <class T>
ENGRAM_HD inline T log1p_(T x) {
  if constexpr (sizeof(T) == 4) return ::log1pf(x); else return ::log1p(x);
}
template <class T>
ENGRAM_HD inline T sqrt_(T x) {
  if constexpr (sizeof(T) == 4) return ::sqrtf(x); else return ::sqrt(x);
}
template <class T>
ENGRAM_HD inline T erf_(T x) {
  if constexpr (sizeof(T) == 4) return ::erff(x); else return ::erf(x);
}
template <class T>
ENGRAM_HD inline T abs_(T x) {
  return x < T(0) ? -x : x;
}
template <class T>
ENGRAM_HD inline T max_(T a, T b) {
  return a > b ? a : b;
}
template <class T>
ENGRAM_HD inline T min_(T a, T b) {
  return a < b ? a : b;
}
// The largest finite value: the "minus infinity" start of a running maximum that stays finite
// under subtraction (exp(-huge - m) is 0, not NaN).
template <class T>
ENGRAM_HD inline T lowest_() {
  if constexpr (sizeof(T) == 4) return T(-3.0e38f); else return T(-1.0e300);
}

}  // namespace engram::nn
