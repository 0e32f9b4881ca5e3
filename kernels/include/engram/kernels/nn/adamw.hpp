#pragma once
// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay. One work item per parameter, so
// the same functor runs on the CPU and CUDA backends and in host-side loops over small parameter
// sets (plasticity-rule tables). The other optimiser is LARS (lars.hpp), which BYOL-style trainers take.
//
//   engram::nn::AdamWState<float> state(params.size());
//   engram::nn::AdamW<float> step{params.data(), grads.data(), state.m.data(), state.v.data(),
//                                 engram::nn::adam_step_scales(config, ++t), config};
//   for (std::int64_t i = 0; i < n; ++i) step(i);
#include <cmath>
#include <cstdint>
#include <vector>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled: p -= lr * weight_decay * p
};

// Bias corrections of step t (1-based), computed once per step on the host.
struct AdamStepScales {
  double bias1 = 1.0;  // 1 - beta1^t
  double bias2 = 1.0;  // 1 - beta2^t
};

inline AdamStepScales adam_step_scales(const AdamWConfig& c, std::int64_t t) {
  return {1.0 - std::pow(c.beta1, static_cast<double>(t)), 1.0 - std::pow(c.beta2, static_cast<double>(t))};
}

template <class T>
struct AdamW {
  T* param;
  const T* grad;
  T* m;  // first moment, zero-initialised
  T* v;  // second moment, zero-initialised
  AdamStepScales scales;
  AdamWConfig config;

  ENGRAM_HD void operator()(std::int64_t i) const {
    const T g = grad[i];
    const T b1 = static_cast<T>(config.beta1), b2 = static_cast<T>(config.beta2);
    m[i] = b1 * m[i] + (T(1) - b1) * g;
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    const T m_hat = m[i] / static_cast<T>(scales.bias1);
    const T v_hat = v[i] / static_cast<T>(scales.bias2);
    const T lr = static_cast<T>(config.lr);
    param[i] -= lr * static_cast<T>(config.weight_decay) * param[i];
    param[i] -= lr * m_hat / (sqrt_(v_hat) + static_cast<T>(config.eps));
  }
};

// AdamW over batched runs: params, grads and moments [runs, stride]; each run updates the
// `count` values from `offset` with its own learning rate lr[run] (the config's lr is ignored).
// Item i is element i % count of run i / count, the same arithmetic as AdamW, so a run steps the
// same bits alone or in a batch.
template <class T>
struct RunAdamW {
  T* param;
  const T* grad;
  T* m;
  T* v;
  const double* lr;  // [runs]
  std::int64_t offset, count, stride;
  AdamStepScales scales;
  AdamWConfig config;

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t run = item / count;
    const std::int64_t i = run * stride + offset + item % count;
    AdamWConfig c = config;
    c.lr = lr[run];
    AdamW<T>{param, grad, m, v, scales, c}(i);
  }
};

// Host-side moments for small parameter sets.
template <class T>
struct AdamWState {
  explicit AdamWState(std::size_t n = 0) : m(n, T(0)), v(n, T(0)) {}
  std::vector<T> m, v;
  std::int64_t step = 0;
};

// One host-side AdamW step over a whole parameter vector (rule tables, tests).
template <class T>
void adamw_host_step(std::vector<T>& params, const std::vector<T>& grads, AdamWState<T>& state,
                     const AdamWConfig& config) {
  if (state.m.size() != params.size()) state = AdamWState<T>(params.size());
  const AdamW<T> step{params.data(), grads.data(), state.m.data(), state.v.data(),
                      adam_step_scales(config, ++state.step), config};
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(params.size()); ++i) step(i);
}

}  // namespace engram::nn
