#pragma once
// LARS (You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks"): SGD with
// momentum whose step for each weight tensor is scaled by a layer-wise trust ratio
//   local_lr = eta * ||w|| / (||g|| + weight_decay * ||w||),
//   d = lr * local_lr * (g + weight_decay * w),   buf = momentum * buf + d,   w -= buf,
// the form BYOL and MYOW train with (the MYOW public code's optimizer/lars.py). Tensors marked
// `adapt = false` (biases and batch-norm scales and shifts) take neither the trust ratio nor the
// weight decay: d = lr * g. When ||w|| or the denominator is zero the trust ratio is 1, so a
// zero-initialised or gradient-free tensor still steps.
//
// Batched runs, parameters, gradients and momentum buffers [runs, stride]: RunLarsRates, one item
// per (run, tensor), sums the tensor's squares in double in index order and writes lr[run] times
// its trust ratio; RunLarsUpdate, one item per value, applies it. A run's bits do not depend on
// the other runs of its batch.
//
//   engram::nn::LarsConfig config{/*momentum=*/0.9, /*weight_decay=*/1e-6, /*eta=*/1e-3};
//   runs.set_lars_tensors({{0, 174 * 256, true}, {174 * 256, 256, false}, ...});
//   runs.lars_step(config);   // models/nn/training_runs.hpp
#include <cmath>
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::nn {

struct LarsConfig {
  double momentum = 0.9;
  double weight_decay = 0.0;
  double eta = 1e-3;  // trust coefficient
};

// The trust ratio of one tensor from its norms (shared by the kernel and the host reference).
ENGRAM_HD inline double lars_trust_ratio(double weight_norm, double grad_norm, const LarsConfig& c) {
  const double denominator = grad_norm + c.weight_decay * weight_norm;
  return weight_norm > 0.0 && denominator > 0.0 ? c.eta * weight_norm / denominator : 1.0;
}

template <class T>
struct RunLarsRates {
  const T* param;
  const T* grad;
  const std::int64_t* offsets;  // [tensors] inside a run's vector
  const std::int64_t* counts;   // [tensors]
  const std::uint8_t* adapt;    // [tensors]: 1 = trust ratio and weight decay, 0 = plain SGD step
  const double* lr;             // [runs]
  double* rate;                 // [runs, tensors]: the step's learning rate of each tensor
  std::int64_t tensors, stride;
  LarsConfig config;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / tensors, t = item % tensors;
    if (!adapt[t]) {
      rate[item] = lr[run];
      return;
    }
    const T* w = param + run * stride + offsets[t];
    const T* g = grad + run * stride + offsets[t];
    double ww = 0, gg = 0;
    for (std::int64_t i = 0; i < counts[t]; ++i) {
      ww += static_cast<double>(w[i]) * static_cast<double>(w[i]);
      gg += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    }
    rate[item] = lr[run] * lars_trust_ratio(::sqrt(ww), ::sqrt(gg), config);
  }
};

template <class T>
struct RunLarsUpdate {
  T* param;
  const T* grad;
  T* momentum_buffer;               // zero-initialised
  const std::int32_t* tensor_of;    // [count]: the tensor of each value (-1: not trained)
  const std::uint8_t* adapt;        // [tensors]
  const double* rate;               // [runs, tensors] from RunLarsRates
  std::int64_t count, stride, tensors;
  LarsConfig config;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / count, i = item % count;
    const std::int32_t t = tensor_of[i];
    if (t < 0) return;
    const std::int64_t k = run * stride + i;
    const T decay = adapt[t] ? static_cast<T>(config.weight_decay) : T(0);
    const T d = (grad[k] + decay * param[k]) * static_cast<T>(rate[run * tensors + t]);
    momentum_buffer[k] = static_cast<T>(config.momentum) * momentum_buffer[k] + d;
    param[k] -= momentum_buffer[k];
  }
};

}  // namespace engram::nn
