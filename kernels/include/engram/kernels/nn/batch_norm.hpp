#pragma once
// Batch norm over the rows of row-major x [rows, channels] (torch.nn.BatchNorm1d on [N, C]).
// Training mode normalises with the batch's own statistics (biased variance), saves mean and
// rstd, and moves the running statistics (unbiased variance, as torch does); eval mode uses the
// running statistics. One work item per channel in every pass, except the fused batch norm +
// ReLU pair, whose item is a block of channels.
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

// The widest channel block of the fused kernels below: 32 floats, two cache lines per row (a
// 16-float block of 256-float rows, 1 KB apart, would cycle through 4 of L1's 64 sets).
inline constexpr std::int64_t kMaxNormBlock = 32;

// Batch norm (training mode) then ReLU, one work item per block of up to `block` (<=
// kMaxNormBlock) channels: the block's rows are read row by row, so a CPU thread streams whole
// cache lines and vectorises over the channels, while each channel's sums still run over the
// rows in order: the bits of BatchNormTrain followed by ReluForward, for any block width. Writes
// only the ReLU output y (its sign is the ReLU's mask in backward), mean and rstd.
template <class T>
struct BatchNormReluTrain {
  const T* x;
  const T* gamma;
  const T* beta;
  T* y;
  T* mean;
  T* rstd;
  T* running_mean;  // may be null
  T* running_var;
  std::int64_t rows, channels, block;
  T eps, momentum;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t c0 = item * block;
    const std::int64_t w = channels - c0 < block ? channels - c0 : block;
    const T* xb = x + c0;
    T* yb = y + c0;
    T m[kMaxNormBlock], var[kMaxNormBlock], s[kMaxNormBlock];
    for (std::int64_t c = 0; c < w; ++c) m[c] = T(0);
    for (std::int64_t c = 0; c < w; ++c) var[c] = T(0);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < w; ++c) m[c] += xb[r * channels + c];
    }
    for (std::int64_t c = 0; c < w; ++c) m[c] /= static_cast<T>(rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < w; ++c) {
        const T d = xb[r * channels + c] - m[c];
        var[c] += d * d;
      }
    }
    for (std::int64_t c = 0; c < w; ++c) {
      s[c] = T(1) / sqrt_(var[c] / static_cast<T>(rows) + eps);
      mean[c0 + c] = m[c];
      rstd[c0 + c] = s[c];
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < w; ++c) {
        const T v = (xb[r * channels + c] - m[c]) * s[c] * gamma[c0 + c] + beta[c0 + c];
        yb[r * channels + c] = v > T(0) ? v : T(0);
      }
    }
    if (running_mean != nullptr) {
      for (std::int64_t c = 0; c < w; ++c) {
        const T unbiased = rows > 1 ? var[c] / static_cast<T>(rows - 1) : var[c] / static_cast<T>(rows);
        running_mean[c0 + c] = (T(1) - momentum) * running_mean[c0 + c] + momentum * m[c];
        running_var[c0 + c] = (T(1) - momentum) * running_var[c0 + c] + momentum * unbiased;
      }
    }
  }
};

// Backward of BatchNormReluTrain and of the bias of a linear layer before it, over the same
// channel blocks: dpre = dy where the ReLU output h > 0, then the norm's input gradient dx
// (overwritten); accumulates dgamma, dbeta and, when dbias is not null, dbias += column sums of
// dx. Every sum runs over the rows in order: the bits of ReluBackward, BatchNormTrainBackward
// and nn::BiasGrad in turn.
template <class T>
struct BatchNormReluBackward {
  const T* x;  // the norm's input
  const T* h;  // the ReLU output
  const T* gamma;
  const T* dy;  // d(ReLU output)
  const T* mean;
  const T* rstd;
  T* dx;
  T* dgamma;
  T* dbeta;
  T* dbias;  // may be null
  std::int64_t rows, channels, block;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t c0 = item * block;
    const std::int64_t w = channels - c0 < block ? channels - c0 : block;
    const T* m = mean + c0;
    const T* s = rstd + c0;
    T sum_dy[kMaxNormBlock], sum_dy_xhat[kMaxNormBlock], sum_dx[kMaxNormBlock];
    for (std::int64_t c = 0; c < w; ++c) sum_dy[c] = T(0);
    for (std::int64_t c = 0; c < w; ++c) sum_dy_xhat[c] = T(0);
    for (std::int64_t c = 0; c < w; ++c) sum_dx[c] = T(0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t at = r * channels + c0;
      for (std::int64_t c = 0; c < w; ++c) {
        const T d = h[at + c] > T(0) ? dy[at + c] : T(0);
        sum_dy[c] += d;
        sum_dy_xhat[c] += d * (x[at + c] - m[c]) * s[c];
      }
    }
    const T n = static_cast<T>(rows);
    // BatchNormTrainBackward's per-element expression; its row-invariant parts computed once.
    T mean_dy[kMaxNormBlock], scale[kMaxNormBlock];
    for (std::int64_t c = 0; c < w; ++c) {
      mean_dy[c] = sum_dy[c] / n;
      scale[c] = gamma[c0 + c] * s[c];
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t at = r * channels + c0;
      for (std::int64_t c = 0; c < w; ++c) {
        const T d = h[at + c] > T(0) ? dy[at + c] : T(0);
        const T xhat = (x[at + c] - m[c]) * s[c];
        const T v = scale[c] * (d - mean_dy[c] - xhat * sum_dy_xhat[c] / n);
        dx[at + c] = v;
        sum_dx[c] += v;
      }
    }
    for (std::int64_t c = 0; c < w; ++c) {
      dgamma[c0 + c] += sum_dy_xhat[c];
      dbeta[c0 + c] += sum_dy[c];
    }
    if (dbias != nullptr) {
      for (std::int64_t c = 0; c < w; ++c) dbias[c0 + c] += sum_dx[c];
    }
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
