#pragma once
// Layer norm over the last dimension of row-major x [rows, cols]: y = (x - mean) * rstd * gamma + beta,
// saving mean and rstd per row for the backward pass. The input gradient is one work item per
// row; gamma and beta gradients one per column (deterministic sums, no atomics).
//
//   engram::nn::LayerNormForward<float>{x, gamma, beta, y, mean, rstd, cols, 1e-5f}  // per row
//   engram::nn::LayerNormBackwardInput<float>{x, gamma, dy, mean, rstd, dx, cols}      // per row
//   engram::nn::LayerNormBackwardParams<float>{x, dy, mean, rstd, dgamma, dbeta, rows, cols} // per column
// Batched runs (activations [runs, rows, cols], gamma/beta [runs, param_stride]): the row
// functors take rows_per_run and param_stride and run over runs * rows rows; the parameter
// gradient runs over runs * cols items.
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

template <class T>
struct LayerNormForward {
  const T* x;
  const T* gamma;
  const T* beta;
  T* y;
  T* mean;
  T* rstd;
  std::int64_t cols;
  T eps;
  std::int64_t rows_per_run = 0;  // 0: one run
  std::int64_t param_stride = 0;
  ENGRAM_HD void operator()(std::int64_t r) const {
    const std::int64_t p = rows_per_run > 0 ? r / rows_per_run * param_stride : 0;
    const T* gamma_r = gamma + p;
    const T* beta_r = beta + p;
    const T* xr = x + r * cols;
    T m = 0;
    for (std::int64_t c = 0; c < cols; ++c) m += xr[c];
    m /= static_cast<T>(cols);
    T var = 0;
    for (std::int64_t c = 0; c < cols; ++c) var += (xr[c] - m) * (xr[c] - m);
    var /= static_cast<T>(cols);
    const T s = T(1) / sqrt_(var + eps);
    mean[r] = m;
    rstd[r] = s;
    for (std::int64_t c = 0; c < cols; ++c) y[r * cols + c] = (xr[c] - m) * s * gamma_r[c] + beta_r[c];
  }
};

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma. Overwrites dx.
template <class T>
struct LayerNormBackwardInput {
  const T* x;
  const T* gamma;
  const T* dy;
  const T* mean;
  const T* rstd;
  T* dx;
  std::int64_t cols;
  std::int64_t rows_per_run = 0;  // 0: one run
  std::int64_t param_stride = 0;
  ENGRAM_HD void operator()(std::int64_t r) const {
    const T* gamma_r = gamma + (rows_per_run > 0 ? r / rows_per_run * param_stride : 0);
    const T m = mean[r], s = rstd[r];
    T g_mean = 0, gx_mean = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      const T g = dy[r * cols + c] * gamma_r[c];
      g_mean += g;
      gx_mean += g * (x[r * cols + c] - m) * s;
    }
    g_mean /= static_cast<T>(cols);
    gx_mean /= static_cast<T>(cols);
    for (std::int64_t c = 0; c < cols; ++c) {
      const T g = dy[r * cols + c] * gamma_r[c];
      const T xhat = (x[r * cols + c] - m) * s;
      dx[r * cols + c] = s * (g - g_mean - xhat * gx_mean);
    }
  }
};

// dgamma[c] += sum_r dy * xhat; dbeta[c] += sum_r dy.
template <class T>
struct LayerNormBackwardParams {
  const T* x;
  const T* dy;
  const T* mean;
  const T* rstd;
  T* dgamma;
  T* dbeta;
  std::int64_t rows, cols;
  std::int64_t param_stride = 0;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / cols, c = item % cols;
    const T* xr = x + run * rows * cols;
    const T* dyr = dy + run * rows * cols;
    const T* mr = mean + run * rows;
    const T* sr = rstd + run * rows;
    T dg = 0, db = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T d = dyr[r * cols + c];
      dg += d * (xr[r * cols + c] - mr[r]) * sr[r];
      db += d;
    }
    dgamma[run * param_stride + c] += dg;
    dbeta[run * param_stride + c] += db;
  }
};

}  // namespace engram::nn
