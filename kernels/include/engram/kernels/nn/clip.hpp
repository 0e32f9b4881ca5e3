#pragma once
// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): when the L2 norm of all
// gradients together exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
//
//   double norm = engram::nn::clip_grad_norm<float>({{g1, n1}, {g2, n2}}, 1.0);
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "engram/kernels/core/hd.hpp"

namespace engram::nn {

template <class T>
struct ScaleInPlace {
  T* x;
  T factor;
  ENGRAM_HD void operator()(std::int64_t i) const { x[i] *= factor; }
};

// Batched runs, grads [runs, stride], each run's `count` values from `offset`: clip_grad_norm on
// the device in two fixed-order passes. RunSquaredNorm: one item per (run, chunk of kNormChunk
// values), partial[item] = sum of squares in double. RunClipScale: one item per value, sums its
// run's partials in chunk order and scales when the norm exceeds max_norm (norms[run] gets it).
inline constexpr std::int64_t kNormChunk = 4096;

template <class T>
struct RunSquaredNorm {
  const T* grad;
  double* partial;  // [runs, chunks]
  std::int64_t offset, count, stride, chunks;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / chunks, chunk = item % chunks;
    const T* g = grad + run * stride + offset;
    const std::int64_t end = (chunk + 1) * kNormChunk < count ? (chunk + 1) * kNormChunk : count;
    double sq = 0;
    for (std::int64_t i = chunk * kNormChunk; i < end; ++i) sq += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    partial[item] = sq;
  }
};

template <class T>
struct RunNormTotal {
  const double* partial;
  double* norms;  // [runs]
  std::int64_t chunks;
  ENGRAM_HD void operator()(std::int64_t run) const {
    double sq = 0;
    for (std::int64_t c = 0; c < chunks; ++c) sq += partial[run * chunks + c];
    norms[run] = ::sqrt(sq);
  }
};

template <class T>
struct RunClipScale {
  T* grad;
  const double* norms;
  std::int64_t offset, count, stride;
  double max_norm;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / count;
    const double norm = norms[run];
    if (norm > max_norm) grad[run * stride + offset + item % count] *= static_cast<T>(max_norm / (norm + 1e-6));
  }
};

// Host-side; returns the norm before clipping. Sums in double, in a fixed order.
template <class T>
double clip_grad_norm(const std::vector<std::pair<T*, std::int64_t>>& grads, double max_norm) {
  double sq = 0;
  for (const auto& [g, n] : grads) {
    for (std::int64_t i = 0; i < n; ++i) sq += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  }
  const double norm = std::sqrt(sq);
  if (norm > max_norm) {
    const T factor = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& [g, n] : grads) {
      const ScaleInPlace<T> scale{g, factor};
      for (std::int64_t i = 0; i < n; ++i) scale(i);
    }
  }
  return norm;
}

}  // namespace engram::nn
