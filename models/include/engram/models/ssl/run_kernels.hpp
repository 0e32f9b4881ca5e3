#pragma once
// Functors that apply a per-run kernel of kernels/nn to all R runs in one launch: work item i
// covers (run i / per_run, item i % per_run) and offsets every pointer by that run's stride.
// Batch-norm statistics are per run (a run never sees another run's rows).
#include <cstdint>

#include "engram/kernels/nn/batch_norm.hpp"

namespace engram::ssl {

template <class T>
struct RunsBatchNormTrain {
  const T* x;
  const T* params;  // run r's gamma at params + r * param_stride + gamma, beta likewise
  T* y;
  T* mean;
  T* rstd;
  T* stats;         // running mean/var, null when they stay untouched
  std::int64_t param_stride, gamma, beta, stats_stride, running_mean, running_var;
  std::int64_t rows, channels;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / channels, c = i % channels, act = r * rows * channels;
    const T* p = params + r * param_stride;
    T* s = stats == nullptr ? nullptr : stats + r * stats_stride;
    nn::BatchNormTrain<T>{x + act, p + gamma, p + beta, y + act, mean + r * channels, rstd + r * channels,
                          s == nullptr ? nullptr : s + running_mean, s == nullptr ? nullptr : s + running_var, rows,
                          channels, T(1e-5), T(0.1)}(c);
  }
};

template <class T>
struct RunsBatchNormEval {
  const T* x;
  const T* params;
  const T* stats;
  T* y;
  std::int64_t param_stride, gamma, beta, stats_stride, running_mean, running_var;
  std::int64_t rows, channels;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t per_run = rows * channels, r = i / per_run;
    const T* p = params + r * param_stride;
    const T* s = stats + r * stats_stride;
    nn::BatchNormEval<T>{x + r * per_run, p + gamma, p + beta, s + running_mean, s + running_var, y + r * per_run,
                         channels, T(1e-5)}(i % per_run);
  }
};

template <class T>
struct RunsBatchNormTrainBackward {
  const T* x;
  const T* params;
  const T* dy;
  const T* mean;
  const T* rstd;
  T* dx;
  T* dparams;
  std::int64_t param_stride, gamma, beta;
  std::int64_t rows, channels;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / channels, c = i % channels, act = r * rows * channels;
    nn::BatchNormTrainBackward<T>{x + act, params + r * param_stride + gamma, dy + act, mean + r * channels,
                                  rstd + r * channels, dx + act, dparams + r * param_stride + gamma,
                                  dparams + r * param_stride + beta, rows, channels}(c);
  }
};

}  // namespace engram::ssl
