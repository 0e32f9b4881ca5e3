#pragma once
// Element-wise activations, forward and backward: GELU (exact, erf form, as torch.nn.GELU),
// ReLU, PReLU (one slope per channel of the last dimension) and softplus. One work item per
// element, except PReLU's slope gradient (one per channel, a deterministic column sum).
//
//   engram::nn::GeluForward<float> f{x, y};                 // y = gelu(x)
//   for (std::int64_t i = 0; i < n; ++i) f(i);
//   engram::nn::GeluBackward<float> b{x, dy, dx};           // dx = dy * gelu'(x)
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

template <class T>
struct GeluForward {
  const T* x;
  T* y;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T v = x[i];
    y[i] = T(0.5) * v * (T(1) + erf_(v * T(0.70710678118654752440)));
  }
};

template <class T>
struct GeluBackward {
  const T* x;
  const T* dy;
  T* dx;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T v = x[i];
    const T cdf = T(0.5) * (T(1) + erf_(v * T(0.70710678118654752440)));
    const T pdf = exp_(T(-0.5) * v * v) * T(0.39894228040143267794);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
};

template <class T>
struct ReluForward {
  const T* x;
  T* y;
  ENGRAM_HD void operator()(std::int64_t i) const { y[i] = x[i] > T(0) ? x[i] : T(0); }
};

template <class T>
struct ReluBackward {
  const T* x;
  const T* dy;
  T* dx;
  ENGRAM_HD void operator()(std::int64_t i) const { dx[i] = x[i] > T(0) ? dy[i] : T(0); }
};

// x is [rows, channels]; slope[c] multiplies the negative part of channel c.
template <class T>
struct PreluForward {
  const T* x;
  const T* slope;
  T* y;
  std::int64_t channels;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T v = x[i];
    y[i] = v > T(0) ? v : slope[i % channels] * v;
  }
};

template <class T>
struct PreluBackward {
  const T* x;
  const T* slope;
  const T* dy;
  T* dx;
  std::int64_t channels;
  ENGRAM_HD void operator()(std::int64_t i) const {
    dx[i] = x[i] > T(0) ? dy[i] : slope[i % channels] * dy[i];
  }
};

// One work item per channel: dslope[c] = sum over rows of dy * min(x, 0).
template <class T>
struct PreluSlopeGrad {
  const T* x;
  const T* dy;
  T* dslope;
  std::int64_t rows, channels;
  ENGRAM_HD void operator()(std::int64_t c) const {
    T sum = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T v = x[r * channels + c];
      if (v <= T(0)) sum += dy[r * channels + c] * v;
    }
    dslope[c] = sum;
  }
};

// softplus(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so large |x| neither
// overflows nor loses the small tail.
template <class T>
struct SoftplusForward {
  const T* x;
  T* y;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T v = x[i];
    y[i] = max_(v, T(0)) + log1p_(exp_(-abs_(v)));
  }
};

template <class T>
struct SoftplusBackward {
  const T* x;
  const T* dy;
  T* dx;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T v = x[i];
    // sigmoid without overflow on either side
    const T e = exp_(-abs_(v));
    const T s = v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    dx[i] = dy[i] * s;
  }
};

}  // namespace engram::nn
