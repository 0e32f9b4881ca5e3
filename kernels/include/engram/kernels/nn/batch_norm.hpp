#pragma once
// Batch norm over the rows of row-major x [rows, channels] (torch.nn.BatchNorm1d on [N, C]).
// Training mode normalises with the batch's own statistics (biased variance), saves mean and
// rstd, and moves the running statistics (unbiased variance, as torch does); eval mode uses the
// running statistics. One work item per channel in every pass.
//
//   engram::nn::BatchNormTrain<float>{x, gamma, beta, y, mean, rstd, run_mean, run_var, rows, C, 1e-5f, 0.1f}
//   engram::nn::BatchNormTrainBackward<float>{x, gamma, dy, mean, rstd, dx, dgamma, dbeta, rows, C}
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

template <class T>
struct BatchNormTrain {
  const T* x;
  const T* gamma;
  const T* beta;
  T* y;
  T* mean;
  T* rstd;
  T* running_mean;  // may be null
  T* running_var;
  std::int64_t rows, channels;
  T eps, momentum;
  ENGRAM_HD void operator()(std::int64_t c) const {
    T m = 0;
    for (std::int64_t r = 0; r < rows; ++r) m += x[r * channels + c];
    m /= static_cast<T>(rows);
    T var = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T d = x[r * channels + c] - m;
      var += d * d;
    }
    const T biased = var / static_cast<T>(rows);
    const T s = T(1) / sqrt_(biased + eps);
    mean[c] = m;
    rstd[c] = s;
    for (std::int64_t r = 0; r < rows; ++r) {
      y[r * channels + c] = (x[r * channels + c] - m) * s * gamma[c] + beta[c];
    }
    if (running_mean != nullptr) {
      const T unbiased = rows > 1 ? var / static_cast<T>(rows - 1) : biased;
      running_mean[c] = (T(1) - momentum) * running_mean[c] + momentum * m;
      running_var[c] = (T(1) - momentum) * running_var[c] + momentum * unbiased;
    }
  }
};

// Overwrites dx; accumulates dgamma, dbeta.
template <class T>
struct BatchNormTrainBackward {
  const T* x;
  const T* gamma;
  const T* dy;
  const T* mean;
  const T* rstd;
  T* dx;
  T* dgamma;
  T* dbeta;
  std::int64_t rows, channels;
  ENGRAM_HD void operator()(std::int64_t c) const {
    const T m = mean[c], s = rstd[c];
    T sum_dy = 0, sum_dy_xhat = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T d = dy[r * channels + c];
      sum_dy += d;
      sum_dy_xhat += d * (x[r * channels + c] - m) * s;
    }
    const T n = static_cast<T>(rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      const T xhat = (x[r * channels + c] - m) * s;
      dx[r * channels + c] = gamma[c] * s * (dy[r * channels + c] - sum_dy / n - xhat * sum_dy_xhat / n);
    }
    dgamma[c] += sum_dy_xhat;
    dbeta[c] += sum_dy;
  }
};

// One work item per element.
template <class T>
struct BatchNormEval {
  const T* x;
  const T* gamma;
  const T* beta;
  const T* running_mean;
  const T* running_var;
  T* y;
  std::int64_t channels;
  T eps;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t c = i % channels;
    y[i] = (x[i] - running_mean[c]) / sqrt_(running_var[c] + eps) * gamma[c] + beta[c];
  }
};

// One work item per channel: the statistics are constants, so the map is affine per channel.
template <class T>
struct BatchNormEvalBackward {
  const T* x;
  const T* gamma;
  const T* running_mean;
  const T* running_var;
  const T* dy;
  T* dx;
  T* dgamma;
  T* dbeta;
  std::int64_t rows, channels;
  T eps;
  ENGRAM_HD void operator()(std::int64_t c) const {
    const T s = T(1) / sqrt_(running_var[c] + eps);
    T dg = 0, db = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T d = dy[r * channels + c];
      dx[r * channels + c] = d * gamma[c] * s;
      dg += d * (x[r * channels + c] - running_mean[c]) * s;
      db += d;
    }
    dgamma[c] += dg;
    dbeta[c] += db;
  }
};

}  // namespace engram::nn
