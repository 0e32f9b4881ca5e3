#pragma once
// Bootstrap-your-own-latent pieces (Grill et al. 2020; MYOW, Azabou et al. 2021): the
// normalised-MSE loss between an online prediction p and a target projection z,
//   loss[r] = 2 - 2 cos(p_r, z_r)
// (z is a stop-gradient target: only dp is produced), and the exponential-moving-average update
// of the target network's parameters. One work item per row (loss) or per parameter (EMA).
//
//   engram::nn::ByolLoss<float>{p, z, loss, dp, dim, 1.0f / rows, 1e-12f}(r);
//   engram::nn::EmaUpdate<float>{target, online, 0.99f}(i);   // target = m target + (1 - m) online
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

// Norms are clamped at eps as torch.nn.functional.normalize does. dp (overwritten) may be null.
template <class T>
struct ByolLoss {
  const T* p;
  const T* z;
  T* loss;
  T* dp;
  std::int64_t dim;
  T scale;
  T eps;
  ENGRAM_HD void operator()(std::int64_t r) const {
    const T* pr = p + r * dim;
    const T* zr = z + r * dim;
    T pz = 0, pp = 0, zz = 0;
    for (std::int64_t d = 0; d < dim; ++d) {
      pz += pr[d] * zr[d];
      pp += pr[d] * pr[d];
      zz += zr[d] * zr[d];
    }
    const T np = max_(sqrt_(pp), eps), nz = max_(sqrt_(zz), eps);
    const T cos = pz / (np * nz);
    loss[r] = T(2) - T(2) * cos;
    if (dp == nullptr) return;
    // d cos / dp = z / (|p| |z|) - cos p / |p|^2 where the clamp is inactive.
    const T k = sqrt_(pp) > eps ? cos / (np * np) : T(0);
    for (std::int64_t d = 0; d < dim; ++d) dp[r * dim + d] = scale * T(-2) * (zr[d] / (np * nz) - k * pr[d]);
  }
};

template <class T>
struct EmaUpdate {
  T* target;
  const T* online;
  T momentum;
  ENGRAM_HD void operator()(std::int64_t i) const {
    target[i] = momentum * target[i] + (T(1) - momentum) * online[i];
  }
};

}  // namespace engram::nn
