#pragma once
// The separable transformer's own kernels: embedding, the [B, N, T] <-> [B, T, N] reshapes
// between its two modules, pooling, residual adds and per-run loss means. Every functor works on
// R batched runs at once: activations [R, ...] contiguous, parameters [R, stride]. Items never
// mix runs, and every sum runs in a fixed order, so a run's bits do not depend on R.
#include <cstdint>

#include "engram/kernels/core/hd.hpp"

namespace engram::models::transformer::kernels {

// One item per token row (r, b, n, t): out[row, w] = x * embed_w[w] + embed_b[w], x the count of
// neuron n at bin t (counts [R, B, T, N]).
struct Embed {
  const float* counts;
  const float* params;
  float* out;
  std::int64_t w_offset, b_offset, stride, B, N, T, W;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const std::int64_t per_run = B * N * T;
    const std::int64_t r = row / per_run, rem = row % per_run;
    const std::int64_t b = rem / (N * T), n = rem / T % N, t = rem % T;
    const float x = counts[((r * B + b) * T + t) * N + n];
    const float* P = params + r * stride;
    float* e = out + row * W;
    for (std::int64_t w = 0; w < W; ++w) e[w] = x * P[w_offset + w] + P[b_offset + w];
  }
};

// One item per (run, w): embedding gradients, summed over (b, n, t) in order.
struct EmbedGrad {
  const float* counts;
  const float* dx;  // [R, B, N, T, W]
  float* grads;
  std::int64_t w_offset, b_offset, stride, B, N, T, W;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t r = item / W, w = item % W;
    float* G = grads + r * stride;
    float gw = G[w_offset + w], gb = G[b_offset + w];
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t n = 0; n < N; ++n) {
        for (std::int64_t t = 0; t < T; ++t) {
          const float x = counts[((r * B + b) * T + t) * N + n];
          const float d = dx[(((r * B + b) * N + n) * T + t) * W + w];
          gw += x * d;
          gb += d;
        }
      }
    }
    G[w_offset + w] = gw;
    G[b_offset + w] = gb;
  }
};

// One item per row (r, b, t, n) of dst [R, B, T, N, W] from src [R, B, N, T, W], plus the neuron
// embedding (emb_offset >= 0) of each run.
struct ToPopulation {
  const float* src;
  const float* params;
  float* dst;
  std::int64_t emb_offset, stride, B, T, N, W;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const std::int64_t per_run = B * T * N;
    const std::int64_t r = row / per_run, rem = row % per_run;
    const std::int64_t b = rem / (T * N), t = rem / N % T, n = rem % N;
    const float* s = src + (((r * B + b) * N + n) * T + t) * W;
    float* d = dst + row * W;
    const float* E = emb_offset >= 0 ? params + r * stride + emb_offset + n * W : nullptr;
    for (std::int64_t w = 0; w < W; ++w) d[w] = s[w] + (E != nullptr ? E[w] : 0.0f);
  }
};

// The reverse reshape for gradients: one item per row (r, b, t, n) of src [R, B, T, N, W].
struct ToIndividual {
  const float* src;
  float* dst;
  std::int64_t B, T, N, W;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const std::int64_t per_run = B * T * N;
    const std::int64_t r = row / per_run, rem = row % per_run;
    const std::int64_t b = rem / (T * N), t = rem / N % T, n = rem % N;
    const float* s = src + row * W;
    float* d = dst + (((r * B + b) * N + n) * T + t) * W;
    for (std::int64_t w = 0; w < W; ++w) d[w] = s[w];
  }
};

// One item per (run, n, w): the neuron embedding's gradient, summed over (b, t) in order.
struct NeuronEmbeddingGrad {
  const float* dx;  // [R, B * T, N, W]
  float* grads;
  std::int64_t offset, stride, BT, N, W;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t r = item / (N * W), nw = item % (N * W);
    float* g = grads + r * stride + offset + nw;
    float acc = *g;
    for (std::int64_t bt = 0; bt < BT; ++bt) acc += dx[(r * BT + bt) * N * W + nw];
    *g = acc;
  }
};

// Mean pooling over neurons (per_bin) or neurons and time: one item per (run, pooled row, w).
struct Pool {
  const float* src;  // [R, B, T, N, W]
  float* dst;        // [R, rows, W]
  std::int64_t B, T, N, W;
  bool per_bin;
  float inv;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t rows = per_bin ? B * T : B;
    const std::int64_t r = item / (rows * W), row = item / W % rows, w = item % W;
    const std::int64_t b = per_bin ? row / T : row;
    const std::int64_t t0 = per_bin ? row % T : 0, t1 = per_bin ? t0 + 1 : T;
    float acc = 0.0f;
    for (std::int64_t t = t0; t < t1; ++t) {
      for (std::int64_t n = 0; n < N; ++n) acc += src[(((r * B + b) * T + t) * N + n) * W + w] * inv;
    }
    dst[item] = acc;
  }
};

// Pooling's backward: one item per row (r, b, t, n) of dnorm [R, B, T, N, W].
struct PoolBackward {
  const float* dpooled;  // [R, rows, W]
  float* dnorm;
  std::int64_t B, T, N, W;
  bool per_bin;
  float inv;
  ENGRAM_HD void operator()(std::int64_t row) const {
    const std::int64_t per_run = B * T * N;
    const std::int64_t r = row / per_run, rem = row % per_run;
    const std::int64_t b = rem / (T * N), t = rem / N % T;
    const std::int64_t rows = per_bin ? B * T : B;
    const float* s = dpooled + (r * rows + (per_bin ? b * T + t : b)) * W;
    float* d = dnorm + row * W;
    for (std::int64_t w = 0; w < W; ++w) d[w] = s[w] * inv;
  }
};

struct AddInPlace {
  float* y;
  const float* x;
  ENGRAM_HD void operator()(std::int64_t i) const { y[i] += x[i]; }
};

// Sequence offsets for attention over equal-length sequences: offsets[s] = s * length.
struct SequenceOffsets {
  std::int64_t* offsets;
  std::int64_t length;
  ENGRAM_HD void operator()(std::int64_t s) const { offsets[s] = s * length; }
};

}  // namespace engram::models::transformer::kernels
