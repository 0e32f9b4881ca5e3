#pragma once
// The self-supervised trainers' own kernels (Swap-VAE, MYOW): per-run batch norm, column copies
// between [rows, cols] blocks, the reparameterisation noise, per-run loss sums and the batched
// mining step. Every functor covers all R runs of a batch: activations [R, ...] contiguous,
// parameters [R, param_stride]. An item never mixes runs and every sum runs in a fixed order,
// so a run's bits do not depend on R or on the thread count. Listed for both backends in
// ssl_kernels.inl.
#include <cstdint>

#include "engram/kernels/core/hd.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/batch_norm.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/mining.hpp"
#include "engram/models/ssl/ssl_random.hpp"

namespace engram::ssl::kernels {

// Batch-norm constants of both trainers (torch.nn.BatchNorm1d's defaults).
inline constexpr double kNormEps = 1e-5;
inline constexpr double kNormMomentum = 0.1;

// Channels per batch-norm item on the CPU (nn::BatchNormReluTrain): a cache line of floats.
inline constexpr std::int64_t kNormBlock = nn::kMaxNormBlock;

// One item per (run, block of `block` channels): nn::BatchNormReluTrain on the run's rows (the
// ReLU output only; the running statistics move when stats is not null).
template <class T>
struct RunsBatchNormReluTrain {
  const T* x;
  const T* params;  // run r's gamma at params + r * param_stride + gamma, beta likewise
  T* y;
  T* mean;
  T* rstd;
  T* stats;  // running mean/var, null when they stay untouched
  std::int64_t param_stride, gamma, beta, stats_stride, running_mean, running_var;
  std::int64_t rows, channels, block;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t blocks = (channels + block - 1) / block;
    const std::int64_t r = i / blocks, act = r * rows * channels;
    const T* p = params + r * param_stride;
    T* s = stats == nullptr ? nullptr : stats + r * stats_stride;
    nn::BatchNormReluTrain<T>{x + act, p + gamma, p + beta, y + act, mean + r * channels, rstd + r * channels,
                              s == nullptr ? nullptr : s + running_mean, s == nullptr ? nullptr : s + running_var, rows,
                              channels, block, static_cast<T>(kNormEps), static_cast<T>(kNormMomentum)}(i % blocks);
  }
};

// One item per (run, channel block): nn::BatchNormReluBackward; overwrites dx, accumulates the
// run's dgamma, dbeta and (bias >= 0) the bias gradient of the linear layer before the norm.
template <class T>
struct RunsBatchNormReluBackward {
  const T* x;  // the norm's input (the linear output)
  const T* h;  // the ReLU output
  const T* params;
  const T* dy;  // d(ReLU output)
  const T* mean;
  const T* rstd;
  T* dx;
  T* dparams;
  std::int64_t param_stride, gamma, beta, bias;
  std::int64_t rows, channels, block;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t blocks = (channels + block - 1) / block;
    const std::int64_t r = i / blocks, act = r * rows * channels;
    T* dp = dparams + r * param_stride;
    nn::BatchNormReluBackward<T>{x + act, h + act, params + r * param_stride + gamma, dy + act, mean + r * channels,
                                 rstd + r * channels, dx + act, dp + gamma, dp + beta, bias >= 0 ? dp + bias : nullptr,
                                 rows, channels, block}(i % blocks);
  }
};

// One item per element: the running statistics.
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
                         channels, static_cast<T>(kNormEps)}(i % per_run);
  }
};

// One item per row: dst[row, dst_offset + j] (=|+=) src[row, src_offset + j] for j < count.
template <class T>
struct CopyColumns {
  const T* src;
  T* dst;
  std::int64_t src_cols, src_offset, dst_cols, dst_offset, count;
  bool accumulate;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const T* s = src + row * src_cols + src_offset;
    T* d = dst + row * dst_cols + dst_offset;
    for (std::int64_t j = 0; j < count; ++j) d[j] = accumulate ? d[j] + s[j] : s[j];
  }
};

// One item per row (run, b) of eps [R * rows, dim]: standard-normal reparameterisation noise
// keyed by (run seed, view, step, b), so the forward pass, the backward pass and a rerun alone or
// batched see the same draws.
template <class T>
struct LatentNoise {
  const std::uint64_t* seeds;  // [R]
  T* eps;
  std::int64_t rows, dim;
  std::uint32_t view, step;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / rows, b = i % rows;
    RngStream rng(RngKey{seeds[r], view, purpose::latent, step, static_cast<std::uint32_t>(b)});
    for (std::int64_t j = 0; j < dim; ++j) eps[i * dim + j] = static_cast<T>(rng.normal());
  }
};

// MYOW's target update for every run: target = m target + (1 - m) online (nn::EmaUpdate) over
// [offset, offset + count) of each run's parameter vector, one item per (run, chunk of `chunk`
// values): a CPU thread streams a chunk, a GPU thread takes one value (chunk 1).
template <class T>
struct RunsEmaUpdate {
  T* target;
  const T* online;
  std::int64_t offset, count, stride, chunk;
  T momentum;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t chunks = (count + chunk - 1) / chunk;
    const std::int64_t run = item / chunks, begin = item % chunks * chunk;
    const std::int64_t end = count - begin < chunk ? count : begin + chunk;
    const nn::EmaUpdate<T> ema{target + run * stride + offset, online + run * stride + offset, momentum};
    for (std::int64_t i = begin; i < end; ++i) ema(i);
  }
};

// MYOW's mining for every run: one item per (run, query) picks one of the query's k nearest
// rows in its own run's pool from the run's [rows, pool_rows] cosines (unit queries times unit
// pool rows, one batched GEMM), keyed by the run's seed (nn::SelectNearest), and gathers it.
template <class T>
struct RunsSelectMined {
  const T* cosines;  // [R, rows, pool_rows]
  const T* pool;     // [R, pool_rows, dim]
  const std::uint64_t* seeds;
  std::int32_t* selected;  // [R, rows]: a row of the run's pool
  T* mined;                // [R, rows, dim]
  std::int64_t rows, dim, pool_rows, k;
  std::uint32_t step;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / rows, q = i % rows;
    const nn::MiningKey key{seeds[r], 0, purpose::mining, step};
    const T* run_pool = pool + r * pool_rows * dim;
    nn::SelectNearest<T>{cosines + r * rows * pool_rows, selected + r * rows, pool_rows, k, key}(q);
    nn::GatherRows<T>{run_pool, selected + r * rows, mined + r * rows * dim, dim}(q);
  }
};

}  // namespace engram::ssl::kernels
