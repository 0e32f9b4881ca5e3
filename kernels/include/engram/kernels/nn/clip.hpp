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
