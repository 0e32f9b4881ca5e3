#pragma once
// The CPU fast path of tiled online-softmax attention (flash_attention.hpp): the same algorithm
// and the same results within the parity tolerance, laid out for SIMD. Host code only; on the CPU
// backend models::attention_forward/backward (models/nn/attention.hpp) take it whenever the head dim is a multiple of 8 (supports(), the same on every ISA), and the portable
// functors stay the reference (tests/parity/attention_parity_test.cpp runs both) and the CUDA
// path.
//
// Every product is one register-blocked microkernel (tile_gemm: a 4 x 16 block of accumulators,
// B read as 8-float vectors, A broadcast one element at a time, as in a GEMM microkernel). Score
// tiles are kept transposed, S^T[key][query row], with one SIMD lane per query row, so the online
// softmax (running max, denominator, rescale) is lane-wise vector arithmetic with no horizontal
// reductions, and exp runs over whole tiles (engram::cpu::exp_inplace).
//   forward:  S^T = K_tile Q^T (Q^T packed once per row block), P = exp(S^T - m), O += P^T V
//   backward: per (sequence, head), key blocks outer, query blocks inner (FlashAttention-2):
//             S^T = K Q^T, dP^T = V dO^T, dS = P (dP - delta) scale,
//             dV += P dO, dK += dS Q, dQ += dS^T K — five products per tile pair instead of the
//             portable path's seven, and each probability computed once.
// Vectors are GCC vector types of 8 floats under AVX (-march=native) and 4 otherwise, with the
// same bits: all vector arithmetic is lane-wise, every sum runs in a fixed order set by the fixed
// tile sizes, multiplies and adds stay separate (-ffp-contract=off), and work is split
// over (row block, head) in the forward and (sequence, head) in the backward, never over a
// reduction, so results do not depend on the thread count.
//
//   if (engram::attention::cpu::supports(kernel.shape)) engram::attention::cpu::forward(kernel);
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/kernels/core/cpu_exp.hpp"

namespace engram::attention::cpu {

// 8 lanes where AVX exists, 4 (SSE2, NEON) otherwise; every vector operation here is lane-wise,
// so the lane count changes no bit of the results.
#if defined(__AVX__)
inline constexpr std::int64_t kLanes = 8;
#else
inline constexpr std::int64_t kLanes = 4;
#endif
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));
using IVec = std::int32_t __attribute__((vector_size(kLanes * sizeof(std::int32_t))));
inline constexpr std::int64_t kQueryBlock = 64;  // query rows per block (lanes of the score tiles)
inline constexpr std::int64_t kKeyBlock = 64;    // keys per tile

inline bool supports(const AttentionShape& shape) { return shape.head_dim % 8 == 0; }

namespace detail {

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec splat(float x) { return Vec{} + x; }
inline Vec vmax(Vec a, Vec b) { return a > b ? a : b; }
inline std::int64_t round_up(std::int64_t n, std::int64_t to) { return (n + to - 1) / to * to; }

// C(m, n) = [C(m, n) +] sum_k A(m, k) B(k, n) for an MR x (NV * 8) block, k in order.
// A(m, k) = a[m * am + k * ak] (any strides: broadcast), B(k, n) = b[k * bk + n], C(m, n) = c[m * cm + n].
template <int MR, int NV>
inline void micro(std::int64_t K, const float* a, std::int64_t am, std::int64_t ak, const float* b,
                  std::int64_t bk, float* c, std::int64_t cm, bool accumulate) {
  Vec acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < NV; ++v) acc[i][v] = accumulate ? load(c + i * cm + v * kLanes) : Vec{};
  }
  for (std::int64_t k = 0; k < K; ++k) {
    Vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load(b + k * bk + v * kLanes);
    for (int i = 0; i < MR; ++i) {
      const Vec ai = splat(a[i * am + k * ak]);
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < NV; ++v) store(c + i * cm + v * kLanes, acc[i][v]);
  }
}

// M x N product (N a multiple of 8) cut into microkernel blocks; each C element's sum runs over
// k in order whatever block it falls in, so the blocking does not change the bits.
inline void tile_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const float* a, std::int64_t am,
                      std::int64_t ak, const float* b, std::int64_t bk, float* c, std::int64_t cm, bool accumulate) {
  std::int64_t n = 0;
  for (; n + 2 * kLanes <= N; n += 2 * kLanes) {
    std::int64_t m = 0;
    for (; m + 4 <= M; m += 4) micro<4, 2>(K, a + m * am, am, ak, b + n, bk, c + m * cm + n, cm, accumulate);
    for (; m < M; ++m) micro<1, 2>(K, a + m * am, am, ak, b + n, bk, c + m * cm + n, cm, accumulate);
  }
  if (n < N) {
    std::int64_t m = 0;
    for (; m + 8 <= M; m += 8) micro<8, 1>(K, a + m * am, am, ak, b + n, bk, c + m * cm + n, cm, accumulate);
    for (; m < M; ++m) micro<1, 1>(K, a + m * am, am, ak, b + n, bk, c + m * cm + n, cm, accumulate);
  }
}

// Rows [r0, r0 + rows) of a [tokens, heads, D] tensor, head h, transposed into out[d * ld + r]
// with lanes rows..ld-1 zero.
inline void pack_transposed(const float* x, std::int64_t r0, std::int64_t rows, std::int64_t ld, std::int64_t H,
                            std::int64_t h, std::int64_t D, float* out) {
  for (std::int64_t d = 0; d < D; ++d) {
    for (std::int64_t r = rows; r < ld; ++r) out[d * ld + r] = 0.0f;
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + ((r0 + r) * H + h) * D;
    for (std::int64_t d = 0; d < D; ++d) out[d * ld + r] = row[d];
  }
}

// Per-thread scratch, grown on demand and kept between calls.
inline float* scratch(std::vector<float>& buffer, std::int64_t n) {
  if (static_cast<std::int64_t>(buffer.size()) < n) buffer.resize(static_cast<std::size_t>(n));
  return buffer.data();
}

inline constexpr float kLowest = std::numeric_limits<float>::lowest();

}  // namespace detail

// A forward work item: rows [r0, r0 + rows) of sequence s (at most kQueryBlock), head h.
struct ForwardTask {
  std::int64_t s, r0, rows, h;
};

inline std::vector<ForwardTask> forward_tasks(const AttentionShape& shape) {
  std::vector<ForwardTask> tasks;
  for (std::int64_t s = 0; s < shape.sequences; ++s) {
    for (std::int64_t r0 = shape.q_offsets[s]; r0 < shape.q_offsets[s + 1]; r0 += kQueryBlock) {
      const std::int64_t rows = std::min(kQueryBlock, shape.q_offsets[s + 1] - r0);
      for (std::int64_t h = 0; h < shape.heads; ++h) tasks.push_back({s, r0, rows, h});
    }
  }
  return tasks;
}

inline void forward_task(const AttentionForward<float>& f, const ForwardTask& t) {
  using namespace detail;
  const AttentionShape& sh = f.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim, h = t.h, HD = H * D;
  const std::int64_t ld = round_up(t.rows, kLanes), vecs = ld / kLanes;
  thread_local std::vector<float> qt_buf, st_buf, acc_buf;
  float* qt = scratch(qt_buf, D * ld);
  float* st = scratch(st_buf, kKeyBlock * ld);
  float* acc = scratch(acc_buf, t.rows * D);
  pack_transposed(f.q, t.r0, t.rows, ld, H, h, D, qt);
  for (std::int64_t i = 0; i < t.rows * D; ++i) acc[i] = 0.0f;

  // Key positions (relative to the sequence's first key) visible to each lane's row: [0, end).
  const std::int64_t kb = sh.k_offsets[t.s];
  std::int32_t end_of[kQueryBlock];
  std::int64_t k_end = kb;
  for (std::int64_t r = 0; r < ld; ++r) {
    std::int64_t b = kb, e = kb;
    if (r < t.rows) sh.key_range(t.s, t.r0 + r, b, e);
    end_of[r] = static_cast<std::int32_t>(e - kb);
    k_end = std::max(k_end, e);
  }
  Vec m[kQueryBlock / kLanes], l[kQueryBlock / kLanes];
  IVec end[kQueryBlock / kLanes];
  for (std::int64_t v = 0; v < vecs; ++v) {
    m[v] = splat(kLowest);
    l[v] = Vec{};
    std::memcpy(&end[v], end_of + v * kLanes, sizeof(IVec));
  }
  const Vec scale = splat(sh.scale);
  float corr[kQueryBlock];
  for (std::int64_t j0 = kb; j0 < k_end; j0 += kKeyBlock) {
    const std::int64_t n = std::min(k_end - j0, kKeyBlock);
    tile_gemm(n, ld, D, f.k + (j0 * H + h) * D, HD, 1, qt, ld, st, ld, false);
    for (std::int64_t v = 0; v < vecs; ++v) {
      Vec tile_max = splat(kLowest);
      for (std::int64_t c = 0; c < n; ++c) {
        float* sc = st + c * ld + v * kLanes;
        const IVec pos = IVec{} + static_cast<std::int32_t>(j0 + c - kb);
        const Vec x = sh.key_ok(j0 + c) ? (pos < end[v] ? load(sc) * scale : splat(kLowest)) : splat(kLowest);
        store(sc, x);
        tile_max = vmax(tile_max, x);
      }
      const Vec m_new = vmax(m[v], tile_max);
      // A lane that has seen no key yet subtracts 0, so its hidden scores still give exp -> 0.
      const Vec shift = m_new == splat(kLowest) ? Vec{} : m_new;
      for (std::int64_t c = 0; c < n; ++c) store(st + c * ld + v * kLanes, load(st + c * ld + v * kLanes) - shift);
      Vec c_arg = m[v] - shift;
      float tmp[kLanes];
      store(tmp, c_arg);
      engram::cpu::exp_inplace(tmp, kLanes);
      store(corr + v * kLanes, load(tmp));
      m[v] = m_new;
    }
    engram::cpu::exp_inplace(st, n * ld);
    for (std::int64_t v = 0; v < vecs; ++v) {
      Vec sum = l[v] * load(corr + v * kLanes);
      for (std::int64_t c = 0; c < n; ++c) sum += load(st + c * ld + v * kLanes);
      l[v] = sum;
    }
    for (std::int64_t r = 0; r < t.rows; ++r) {
      if (corr[r] == 1.0f) continue;
      float* a = acc + r * D;
      for (std::int64_t d = 0; d < D; ++d) a[d] *= corr[r];
    }
    tile_gemm(t.rows, D, n, st, 1, ld, f.v + (j0 * H + h) * D, HD, acc, D, true);
  }
  float lv[kQueryBlock], mv[kQueryBlock];
  for (std::int64_t v = 0; v < vecs; ++v) {
    store(lv + v * kLanes, l[v]);
    store(mv + v * kLanes, m[v]);
  }
  for (std::int64_t r = 0; r < t.rows; ++r) {
    const std::int64_t row = (t.r0 + r) * H + h;
    float* o = f.o + row * D;
    if (lv[r] == 0.0f) {
      for (std::int64_t d = 0; d < D; ++d) o[d] = 0.0f;
      f.lse[row] = -std::numeric_limits<float>::infinity();  // this query sees no key
      continue;
    }
    const float inv = 1.0f / lv[r];
    for (std::int64_t d = 0; d < D; ++d) o[d] = acc[r * D + d] * inv;
    f.lse[row] = mv[r] + std::log(lv[r]);
  }
}

inline void forward(const AttentionForward<float>& f) {
  const std::vector<ForwardTask> tasks = forward_tasks(f.shape);
  const auto count = static_cast<std::int64_t>(tasks.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
  for (std::int64_t i = 0; i < count; ++i) forward_task(f, tasks[static_cast<std::size_t>(i)]);
}

// Gradients of sequence s, head h: dQ, dK, dV of its tokens (overwritten) and delta.
inline void backward_task(const AttentionBackward<float>& g, std::int64_t s, std::int64_t h) {
  using namespace detail;
  const AttentionShape& sh = g.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim, HD = H * D;
  const std::int64_t q0 = sh.q_offsets[s], q1 = sh.q_offsets[s + 1];
  const std::int64_t k0 = sh.k_offsets[s], k1 = sh.k_offsets[s + 1];
  const std::int64_t blocks = (q1 - q0 + kQueryBlock - 1) / kQueryBlock;
  if (blocks == 0) {
    for (std::int64_t j = k0; j < k1; ++j) {
      for (std::int64_t d = 0; d < D; ++d) g.dk[(j * H + h) * D + d] = g.dv[(j * H + h) * D + d] = 0.0f;
    }
    return;
  }
  // Q^T and dO^T of every query block, [block][D][kQueryBlock]; lse and delta per lane.
  thread_local std::vector<float> qt_buf, dot_buf, lse_buf, delta_buf, st_buf, dpt_buf, dk_buf, dv_buf;
  const std::int64_t block_size = D * kQueryBlock;
  float* qt = scratch(qt_buf, blocks * block_size);
  float* dot_t = scratch(dot_buf, blocks * block_size);
  float* lse = scratch(lse_buf, blocks * kQueryBlock);
  float* delta = scratch(delta_buf, blocks * kQueryBlock);
  float* st = scratch(st_buf, kKeyBlock * kQueryBlock);
  float* dpt = scratch(dpt_buf, kKeyBlock * kQueryBlock);
  float* dk = scratch(dk_buf, kKeyBlock * D);
  float* dv = scratch(dv_buf, kKeyBlock * D);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t r0 = q0 + b * kQueryBlock, rows = std::min(kQueryBlock, q1 - r0);
    const std::int64_t ld = round_up(rows, kLanes);
    pack_transposed(g.q, r0, rows, ld, H, h, D, qt + b * block_size);
    pack_transposed(g.dout, r0, rows, ld, H, h, D, dot_t + b * block_size);
    for (std::int64_t r = 0; r < kQueryBlock; ++r) {
      lse[b * kQueryBlock + r] = detail::kLowest;
      delta[b * kQueryBlock + r] = 0.0f;
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t row = (r0 + r) * H + h;
      const float di = dot(g.dout + row * D, g.o + row * D, D);
      g.delta[row] = di;
      delta[b * kQueryBlock + r] = di;
      // A row that saw no key (lse = -inf) gets no gradient: its lanes stay hidden.
      if (g.lse[row] > detail::kLowest) lse[b * kQueryBlock + r] = g.lse[row];
      for (std::int64_t d = 0; d < D; ++d) g.dq[row * D + d] = 0.0f;
    }
  }
  const Vec scale = splat(sh.scale);
  for (std::int64_t j0 = k0; j0 < k1; j0 += kKeyBlock) {
    const std::int64_t n = std::min(k1 - j0, kKeyBlock);
    for (std::int64_t i = 0; i < n * D; ++i) dk[i] = dv[i] = 0.0f;
    // Under the causal mask, query blocks that end before this key block's first key see none of it.
    const std::int64_t first_block = sh.causal ? std::min(blocks, (j0 - k0) / kQueryBlock) : 0;
    for (std::int64_t b = first_block; b < blocks; ++b) {
      const std::int64_t r0 = q0 + b * kQueryBlock, rows = std::min(kQueryBlock, q1 - r0);
      const std::int64_t ld = round_up(rows, kLanes);
      tile_gemm(n, ld, D, g.k + (j0 * H + h) * D, HD, 1, qt + b * block_size, ld, st, ld, false);
      tile_gemm(n, ld, D, g.v + (j0 * H + h) * D, HD, 1, dot_t + b * block_size, ld, dpt, ld, false);
      for (std::int64_t v = 0; v < ld / kLanes; ++v) {
        const Vec lse_v = load(lse + b * kQueryBlock + v * kLanes);
        const Vec row_pos = [&] {
          Vec p;
          for (int e = 0; e < kLanes; ++e) p[e] = static_cast<float>(b * kQueryBlock + v * kLanes + e);
          return p;
        }();
        for (std::int64_t c = 0; c < n; ++c) {
          float* sc = st + c * ld + v * kLanes;
          const bool key_visible = sh.key_ok(j0 + c);
          // Hidden: a padded key, a later key under the causal mask, a row that saw no key.
          const auto hidden = (lse_v == splat(kLowest)) |
                              (sh.causal ? (row_pos < splat(static_cast<float>(j0 + c - k0))) : IVec{} != IVec{});
          const Vec x = load(sc) * scale - lse_v;
          store(sc, key_visible ? (hidden ? splat(kLowest) : x) : splat(kLowest));
        }
      }
      engram::cpu::exp_inplace(st, n * ld);
      for (std::int64_t v = 0; v < ld / kLanes; ++v) {
        const Vec delta_v = load(delta + b * kQueryBlock + v * kLanes);
        for (std::int64_t c = 0; c < n; ++c) {
          const Vec p = load(st + c * ld + v * kLanes);
          store(dpt + c * ld + v * kLanes, p * (load(dpt + c * ld + v * kLanes) - delta_v) * scale);
        }
      }
      tile_gemm(n, D, rows, st, ld, 1, g.dout + (r0 * H + h) * D, HD, dv, D, true);
      tile_gemm(n, D, rows, dpt, ld, 1, g.q + (r0 * H + h) * D, HD, dk, D, true);
      tile_gemm(rows, D, n, dpt, 1, ld, g.k + (j0 * H + h) * D, HD, g.dq + (r0 * H + h) * D, HD, true);
    }
    for (std::int64_t c = 0; c < n; ++c) {
      std::memcpy(g.dk + ((j0 + c) * H + h) * D, dk + c * D, sizeof(float) * static_cast<std::size_t>(D));
      std::memcpy(g.dv + ((j0 + c) * H + h) * D, dv + c * D, sizeof(float) * static_cast<std::size_t>(D));
    }
  }
}

inline void backward(const AttentionBackward<float>& g) {
  const std::int64_t tasks = g.shape.sequences * g.shape.heads;
#pragma omp parallel for schedule(dynamic, 1) if (tasks > 1)
  for (std::int64_t i = 0; i < tasks; ++i) backward_task(g, i / g.shape.heads, i % g.shape.heads);
}

}  // namespace engram::attention::cpu
