#pragma once
// The CPU fast path of tiled online-softmax attention (flash_attention.hpp): the same algorithm
// and the same results within the parity tolerance, laid out for SIMD. Host code only; on the CPU
// backend models::attention_forward/backward (models/nn/attention.hpp) take it whenever the head
// dim is a multiple of 8 (supports(), the same on every ISA), and the portable functors stay the
// reference (tests/parity/attention_parity_test.cpp runs both) and the CUDA path.
//
// Every product is one register-blocked microkernel (micro: up to 6 x 16 accumulators, B read as
// vectors, A broadcast one element at a time, as in a GEMM microkernel), with the elementwise work
// that follows a product fused into its stores. Tiles that carry queries keep them in the SIMD
// lanes (S^T[key][query], O^T[d][query], dQ^T[d][query]), so the online softmax (running max,
// denominator, rescale) is lane-wise vector arithmetic with no horizontal reductions and no
// per-row scalar loops. Scores live in the base-2 domain (Q is packed pre-multiplied by
// scale * log2 e), so each probability is one exp2 (exp2 below: a degree-6 polynomial, no table).
//   forward:  K, V and Q^T of every (sequence, head) packed once per call (transposes run as
//             8 x 8 register blocks, as does the write-back of O, dQ, dK, dV); per 256-row block
//             and key tile (K/V fetched from memory once per 256 rows), per 16-lane stripe:
//             S^T = K Q^T with the tile's column maxima taken in the stores, P = exp2(S^T - m)
//             with the row sums in the same pass, O^T = O^T corr + V^T P^T (the rescale applied
//             as the product loads its accumulators).
//   backward: operands packed once per call as in the forward (Q and dO also as plain rows, so
//             the dK and dV products read them contiguously); per (sequence, head), key tiles
//             outer and query blocks inner (FlashAttention-2), from the forward's saved
//             log-sum-exp (no second softmax pass):
//             P^T = exp2(K Q^T - lse) in the score product's stores, dS^T = P^T (V dO^T - delta)
//             in the second product's stores, dV += P^T dO, dK += dS^T Q, dQ^T += K^T dS^T.
// Vectors are GCC vector types of 8 floats under AVX (-march=native) and 4 otherwise. Every sum
// runs in a fixed order set by the fixed tile sizes, tiles start at each sequence's own first row
// and key, and work is split over (sequence, head, row block) in the forward and (sequence, head)
// in the backward, never over a reduction, so the bits depend
// neither on the thread count nor on how sequences are packed into a batch. Products use fused
// multiply-adds where the build has FMA (-march=native on any x86-64 since Haswell/Zen) and
// separate multiplies and adds otherwise: a native and a baseline build agree to rounding (the
// parity tolerance), not to the bit (README "Which results are the same bits everywhere").
//
//   if (engram::attention::cpu::supports(kernel.shape)) engram::attention::cpu::forward(kernel);
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "engram/kernels/attention/flash_attention.hpp"

namespace engram::attention::cpu {

// 16 lanes where AVX-512 exists, 8 where AVX does, 4 (SSE2, NEON) otherwise; every vector
// operation here is lane-wise, so without FMA the lane count changes no bit of the results.
#if defined(__AVX512F__)
inline constexpr std::int64_t kLanes = 16;
#elif defined(__AVX__)
inline constexpr std::int64_t kLanes = 8;
#else
inline constexpr std::int64_t kLanes = 4;
#endif
using Vec = float __attribute__((vector_size(kLanes * sizeof(float))));
using IVec = std::int32_t __attribute__((vector_size(kLanes * sizeof(std::int32_t))));
inline constexpr std::int64_t kQueryBlock = 64;  // query rows per backward block (lanes of the score tiles)
// Query rows per forward block: every key tile's K and V panels, read from memory once per block,
// serve this many rows (at 64 rows the forward waited on memory for them).
inline constexpr std::int64_t kForwardBlock = 256;
inline constexpr std::int64_t kKeyBlock = 120;   // keys per tile (a multiple of the microkernel's 6 rows)
inline constexpr std::int64_t kStripe = 2 * kLanes;  // query lanes per microkernel block

// Packing walks D a whole vector at a time; 8 stays the floor where vectors are narrower (SSE2,
// NEON), as the fast path always asked.
inline constexpr std::int64_t kHeadDimStep = kLanes > 8 ? kLanes : 8;
inline bool supports(const AttentionShape& shape) { return shape.head_dim % kHeadDimStep == 0; }

namespace detail {

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
// Every lane x. (Vec{} + x would be a real addition: 0 + x is not x for x = -0.)
inline Vec splat(float x) {
#if defined(__AVX512F__)
  return _mm512_set1_ps(x);
#elif defined(__AVX__)
  return Vec{x, x, x, x, x, x, x, x};
#else
  return Vec{x, x, x, x};
#endif
}
// a > b ? a : b (b where either is NaN), one instruction where the build has AVX.
inline Vec vmax(Vec a, Vec b) {
#if defined(__AVX512F__)
  // MAXPS's own rule, which GCC emits for it; _mm512_max_ps trips GCC 12's false
  // -Wuninitialized on its undefined pass-through operand (PR 105593).
  return a > b ? a : b;
#elif defined(__AVX__)
  return _mm256_max_ps(a, b);
#else
  return a > b ? a : b;
#endif
}
// a < b ? a : b (b where either is NaN).
inline Vec vmin(Vec a, Vec b) {
#if defined(__AVX512F__)
  return a < b ? a : b;  // MINPS's own rule (see vmax)
#elif defined(__AVX__)
  return _mm256_min_ps(a, b);
#else
  return a < b ? a : b;
#endif
}
inline std::int64_t round_up(std::int64_t n, std::int64_t to) { return (n + to - 1) / to * to; }

// a * b + c, rounded once where the build has FMA and twice otherwise.
inline Vec fmadd(Vec a, Vec b, Vec c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}

inline constexpr float kLowest = std::numeric_limits<float>::lowest();
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2 = 0.693147180559945309f;

// 2^x, lane-wise, within 1.5e-7 relative of the true value for x in [-126, 127]; x <= -127 gives
// exactly 0 (so hidden scores, set to the lowest float, contribute nothing), x >= 127 gives 2^127,
// NaN stays NaN. x = k + r with k = round(x) (adding 1.5 * 2^23 rounds to an integer; r is exact),
// 2^r on |r| <= 1/2 by a degree-6 polynomial fitted for relative error, 2^k built in the exponent
// bits (k = -127 gives the bit pattern of +0).
inline Vec vexp2(Vec x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  x = vmin(splat(127.0f), vmax(splat(-127.0f), x));  // NaN passes through both
  const Vec t = x + kShift;
  const Vec r = x - (t - kShift);
  Vec p = splat(1.535086630610749e-4f);
  p = fmadd(p, r, splat(1.339997397735715e-3f));
  p = fmadd(p, r, splat(9.618470445275307e-3f));
  p = fmadd(p, r, splat(5.550328642129898e-2f));
  p = fmadd(p, r, splat(2.4022647738456726e-1f));
  p = fmadd(p, r, splat(6.931471824645996e-1f));
  p = fmadd(p, r, splat(1.0f));
  IVec bits;
  std::memcpy(&bits, &t, sizeof bits);
  // The low mantissa bits of t hold 2^22 + k; shifted by 23 only k remains, as the exponent.
  bits = (bits << 23) + (127 << 23);
  Vec scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// What a microkernel does with each finished accumulator vector before storing it: `lane` is the
// vector's first column (query lane) in the product, `row` its row.
struct PlainStore {
  static constexpr bool kColumnMax = false;
  Vec operator()(std::int64_t, std::int64_t, Vec acc) const { return acc; }
};
// Forward scores: stored as they are, and each column's maximum kept in colmax (the lane-wise
// row maxima of the online softmax).
struct StoreWithMax {
  static constexpr bool kColumnMax = true;
  float* colmax;
  Vec operator()(std::int64_t, std::int64_t, Vec acc) const { return acc; }
};
// Backward probabilities: P^T = exp2(S^T - lse), lse per lane (base 2, +max for hidden rows).
struct StoreProbability {
  static constexpr bool kColumnMax = false;
  const float* lse;
  Vec operator()(std::int64_t, std::int64_t lane, Vec acc) const { return vexp2(acc - load(lse + lane)); }
};
// Backward score gradients: dS^T = P^T (dP^T - delta), P^T from the tile stored at p (leading
// dimension ld), delta per lane.
struct StoreScoreGradient {
  static constexpr bool kColumnMax = false;
  const float* p;
  std::int64_t ld;
  const float* delta;
  Vec operator()(std::int64_t row, std::int64_t lane, Vec acc) const {
    return load(p + row * ld + lane) * (acc - load(delta + lane));
  }
};

// The A operand of a product, read one element at a time and broadcast. Strided: A(m, k) =
// p[m * am + k * ak], for tiles already in cache. Panels: A packed kPanel rows at a time,
// A(m, k) = p[(m / kPanel) * panel_stride + k * kPanel + m % kPanel], so a microkernel reads its
// rows' elements from consecutive addresses (pack_row_panels, pack_column_panels).
inline constexpr int kPanel = 6;  // rows of a microkernel block
struct StridedA {
  const float* p;
  std::int64_t am, ak;
  float at(int i, std::int64_t k) const { return p[i * am + k * ak]; }
  StridedA from_row(std::int64_t m) const { return {p + m * am, am, ak}; }
};
struct PanelA {
  const float* p;
  std::int64_t panel_stride;
  float at(int i, std::int64_t k) const { return p[k * kPanel + i]; }
  PanelA from_row(std::int64_t m) const { return {p + (m / kPanel) * panel_stride, panel_stride}; }
};

// How a product treats what C holds: overwrite it, add to it, or add to C(m, n) * scale[n] (the
// forward's output accumulator, rescaled per query lane by its softmax correction as it is loaded,
// which is the same product as rescaling it in a pass of its own).
struct Accumulate {
  bool on;
  const float* scale = nullptr;
};

// C(m, n) = epilogue([C(m, n) [* scale[n]] +] sum_k A(m, k) B(k, n)) for an MR x (NV * kLanes)
// block, k in order, with B(k, n) = b[k * bk + n] and C(m, n) = c[m * cm + n]; row0 and lane0
// place the block in the product for the epilogue and the scale.
template <int MR, int NV, class A, class Epilogue>
inline void micro(std::int64_t K, const A& a, const float* b, std::int64_t bk, float* c, std::int64_t cm,
                  Accumulate accumulate, const Epilogue& epilogue, std::int64_t row0, std::int64_t lane0) {
  // Every loop over i and v below is unrolled outright so that acc lives in registers: left to the
  // compiler, acc stayed on the stack outside the k loop (about 70 extra loads and stores a call).
  Vec acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = accumulate.on ? load(c + i * cm + v * kLanes) : Vec{};
  }
  if (accumulate.scale != nullptr) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const Vec scale = load(accumulate.scale + lane0 + v * kLanes);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][v] *= scale;
    }
  }
  for (std::int64_t k = 0; k < K; ++k) {
    Vec bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = load(b + k * bk + v * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const Vec ai = splat(a.at(i, k));
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = fmadd(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    Vec column_max = splat(kLowest);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const Vec x = epilogue(row0 + i, lane0 + v * kLanes, acc[i][v]);
      store(c + i * cm + v * kLanes, x);
      if constexpr (Epilogue::kColumnMax) column_max = vmax(column_max, x);
    }
    if constexpr (Epilogue::kColumnMax) {
      float* cmx = epilogue.colmax + lane0 + v * kLanes;
      store(cmx, vmax(load(cmx), column_max));
    }
  }
}

template <int NV, class A, class Epilogue>
inline void micro_rows(std::int64_t rows, std::int64_t K, const A& a, const float* b, std::int64_t bk, float* c,
                       std::int64_t cm, Accumulate accumulate, const Epilogue& e, std::int64_t row0, std::int64_t lane0) {
  switch (rows) {
    case 6: return micro<6, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
    case 5: return micro<5, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
    case 4: return micro<4, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
    case 3: return micro<3, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
    case 2: return micro<2, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
    default: return micro<1, NV>(K, a, b, bk, c, cm, accumulate, e, row0, lane0);
  }
}

// M x N product (N a multiple of kLanes) cut into microkernel blocks of kPanel rows x 2 vectors;
// each C element's sum runs over k in order whatever block it falls in, so the blocking changes
// no bit.
template <class A, class Epilogue = PlainStore>
inline void tile_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const A& a, const float* b, std::int64_t bk,
                      float* c, std::int64_t cm, Accumulate accumulate, const Epilogue& e = {}) {
  std::int64_t n = 0;
  for (; n + 2 * kLanes <= N; n += 2 * kLanes) {
    for (std::int64_t m = 0; m < M; m += kPanel) {
      micro_rows<2>(std::min<std::int64_t>(kPanel, M - m), K, a.from_row(m), b + n, bk, c + m * cm + n, cm,
                    accumulate, e, m, n);
    }
  }
  for (; n < N; n += kLanes) {
    for (std::int64_t m = 0; m < M; m += kPanel) {
      micro_rows<1>(std::min<std::int64_t>(kPanel, M - m), K, a.from_row(m), b + n, bk, c + m * cm + n, cm,
                    accumulate, e, m, n);
    }
  }
}

// Packed operands, one (sequence, head) at a time:
//   row panels:    A(m = token, k = d) at [(m / kPanel) * kPanel * D + d * kPanel + m % kPanel],
//                  tokens past the sequence zero (panel stride kPanel * D);
//   column panels: A(m = d, k = token) at [(d / kPanel) * kPanel * count + token * kPanel + d % kPanel],
//                  dims past D zero (panel stride kPanel * count);
//   query blocks:  a D * block slot per block of `block` rows (kForwardBlock, kQueryBlock),
//                  holding the block either transposed, lane-major within stripes of `stripe` lanes
//                  (lane in [w0, w0 + width) of a stripe at [w0 * D + d * width + lane - w0],
//                  width = min(stripe, ld - w0), ld = round_up(rows, kLanes), lanes rows..ld-1 zero;
//                  one stripe of ld lanes is the plain [d][lane] layout), or as plain rows ([row][d]).
inline std::int64_t row_panel_floats(std::int64_t count, std::int64_t D) {
  return (count + kPanel - 1) / kPanel * kPanel * D;
}
inline std::int64_t column_panel_floats(std::int64_t count, std::int64_t D) {
  return (D + kPanel - 1) / kPanel * kPanel * count;
}
inline std::int64_t query_block_floats(std::int64_t count, std::int64_t D, std::int64_t block) {
  return (count + block - 1) / block * block * D;
}

// x[i] = column i of the kLanes x kLanes block whose row j was x[j] (in registers; moves only).
inline void transpose(Vec (&x)[kLanes]) {
#if defined(__AVX512F__)
  // The AVX 8 x 8 network widened by one stage: 4 x 4 blocks inside each 128-bit quarter
  // (unpack, then pairs), then the quarters (two stages of whole-quarter moves). Two-source
  // shuffles rather than the _mm512 intrinsics, whose undefined pass-through operands trip GCC
  // 12's false -Wuninitialized (PR 105593); GCC lowers each to one permute.
  constexpr IVec kUnpackLo{0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  constexpr IVec kUnpackHi{2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  constexpr IVec kPairsLo{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  constexpr IVec kPairsHi{2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  constexpr IVec kQuarters01{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  constexpr IVec kQuarters23{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  constexpr IVec kQuartersEven{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  constexpr IVec kQuartersOdd{4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  Vec t[16], u[16], v[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = __builtin_shuffle(x[i], x[i + 1], kUnpackLo);
    t[i + 1] = __builtin_shuffle(x[i], x[i + 1], kUnpackHi);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = __builtin_shuffle(t[i], t[i + 2], kPairsLo);
    u[i + 1] = __builtin_shuffle(t[i], t[i + 2], kPairsHi);
    u[i + 2] = __builtin_shuffle(t[i + 1], t[i + 3], kPairsLo);
    u[i + 3] = __builtin_shuffle(t[i + 1], t[i + 3], kPairsHi);
  }
  for (int k = 0; k < 4; ++k) {
    v[k] = __builtin_shuffle(u[k], u[4 + k], kQuarters01);
    v[4 + k] = __builtin_shuffle(u[k], u[4 + k], kQuarters23);
    v[8 + k] = __builtin_shuffle(u[8 + k], u[12 + k], kQuarters01);
    v[12 + k] = __builtin_shuffle(u[8 + k], u[12 + k], kQuarters23);
  }
  for (int k = 0; k < 4; ++k) {
    x[k] = __builtin_shuffle(v[k], v[8 + k], kQuartersEven);
    x[4 + k] = __builtin_shuffle(v[k], v[8 + k], kQuartersOdd);
    x[8 + k] = __builtin_shuffle(v[4 + k], v[12 + k], kQuartersEven);
    x[12 + k] = __builtin_shuffle(v[4 + k], v[12 + k], kQuartersOdd);
  }
#elif defined(__AVX__)
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(x[i], x[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(x[i], x[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    x[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    x[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
#else
  for (int i = 0; i < kLanes; ++i) {
    for (int j = i + 1; j < kLanes; ++j) {
      const float a = x[i][j];
      x[i][j] = x[j][i];
      x[j][i] = a;
    }
  }
#endif
}

// Tokens [m, m + valid) (m a multiple of kPanel, valid <= kPanel), rows[i] token m + i's D
// floats, into their row panel of p; rows past `valid` are zero.
inline void put_row_panel(const float* const* rows, std::int64_t m, int valid, std::int64_t D, float* p) {
  float* panel = p + (m / kPanel) * kPanel * D;
  for (int g = 0; g < kPanel; g += kLanes) {
    const int width = std::min<int>(kLanes, kPanel - g);
    for (std::int64_t d0 = 0; d0 < D; d0 += kLanes) {
      Vec x[kLanes];
      for (int i = 0; i < kLanes; ++i) x[i] = g + i < valid ? load(rows[g + i] + d0) : Vec{};
      transpose(x);
      for (int j = 0; j < kLanes; ++j) {
        std::memcpy(panel + (d0 + j) * kPanel + g, &x[j], static_cast<std::size_t>(width) * sizeof(float));
      }
    }
  }
}
// Token t's row (of `count` tokens) into column panels p.
inline void put_column_panel(const float* row, std::int64_t t, std::int64_t count, std::int64_t D, float* p) {
  float* out = p + t * kPanel;
  std::int64_t d0 = 0;
  for (; d0 + kPanel <= D; d0 += kPanel, out += kPanel * count) std::memcpy(out, row + d0, kPanel * sizeof(float));
  if (d0 < D) {
    for (int i = 0; i < kPanel; ++i) out[i] = d0 + i < D ? row[d0 + i] : 0.0f;
  }
}

// Where each sequence's packed operands start (floats; head h of sequence s at
// at[s] + h * per-head size), for keys as row panels, keys as column panels and query blocks.
struct PackedOffsets {
  std::int64_t block;  // query rows per block
  std::vector<std::int64_t> rows, columns, queries;
  PackedOffsets(const AttentionShape& sh, std::int64_t query_block)
      : block(query_block), rows(static_cast<std::size_t>(sh.sequences + 1), 0), columns(rows), queries(rows) {
    for (std::size_t s = 0; s < static_cast<std::size_t>(sh.sequences); ++s) {
      const std::int64_t keys = sh.k_offsets[s + 1] - sh.k_offsets[s], qs = sh.q_offsets[s + 1] - sh.q_offsets[s];
      rows[s + 1] = rows[s] + sh.heads * row_panel_floats(keys, sh.head_dim);
      columns[s + 1] = columns[s] + sh.heads * column_panel_floats(keys, sh.head_dim);
      queries[s + 1] = queries[s] + sh.heads * query_block_floats(qs, sh.head_dim, block);
    }
  }
};

// A packing work item: tokens [first, first + count) (relative to the sequence) of sequence s's
// keys or of its queries (then one query block). An item's tokens are a window of the inputs
// that stays in cache while every head's panels fill from it.
struct PackChunk {
  std::int64_t s, first, count;
  bool keys;
};
inline constexpr std::int64_t kKeyChunk = 20 * kPanel;  // whole panels, so a chunk owns its panels

inline std::vector<PackChunk> pack_chunks(const AttentionShape& sh, std::int64_t query_block) {
  std::vector<PackChunk> chunks;
  for (std::int64_t s = 0; s < sh.sequences; ++s) {
    const std::int64_t keys = sh.k_offsets[s + 1] - sh.k_offsets[s], qs = sh.q_offsets[s + 1] - sh.q_offsets[s];
    for (std::int64_t t = 0; t < keys; t += kKeyChunk) chunks.push_back({s, t, std::min(kKeyChunk, keys - t), true});
    for (std::int64_t t = 0; t < qs; t += query_block) chunks.push_back({s, t, std::min(query_block, qs - t), false});
  }
  return chunks;
}

// Query block of `rows` tokens starting at token r0 of a [tokens, heads, D] tensor: every head's
// rows times `factor`, transposed into out + h * head_stride ([d][lane], ld = round_up(rows,
// kLanes), lanes past rows zero).
inline void put_transposed_block(const float* x, std::int64_t r0, std::int64_t rows, std::int64_t H, std::int64_t D,
                                 float factor, float* out, std::int64_t head_stride, std::int64_t stripe) {
  const std::int64_t ld = round_up(rows, kLanes);
  for (std::int64_t w0 = 0; w0 < ld; w0 += stripe) {
    const std::int64_t width = std::min(stripe, ld - w0);
    for (std::int64_t h = 0; h < H; ++h) {
      float* o = out + h * head_stride + w0 * D;
      for (std::int64_t d = 0; d < D; ++d) {
        for (std::int64_t r = std::max(rows, w0); r < w0 + width; ++r) o[d * width + r - w0] = 0.0f;
      }
    }
    const std::int64_t end = std::min(rows, w0 + width);
    std::int64_t r = w0;
    // kLanes rows at a time, a kLanes x kLanes block per step (lane groups start at multiples of
    // kLanes: width and w0 are multiples of it).
    for (; r + kLanes <= end; r += kLanes) {
      for (std::int64_t h = 0; h < H; ++h) {
        const float* row = x + ((r0 + r) * H + h) * D;
        float* o = out + h * head_stride + w0 * D + r - w0;
        for (std::int64_t d0 = 0; d0 < D; d0 += kLanes) {
          Vec block[kLanes];
          for (int i = 0; i < kLanes; ++i) block[i] = load(row + i * H * D + d0) * factor;
          transpose(block);
          for (int j = 0; j < kLanes; ++j) store(o + (d0 + j) * width, block[j]);
        }
      }
    }
    for (; r < end; ++r) {
      for (std::int64_t h = 0; h < H; ++h) {
        const float* row = x + ((r0 + r) * H + h) * D;
        float* o = out + h * head_stride + w0 * D + r - w0;
        for (std::int64_t d = 0; d < D; ++d) o[d * width] = row[d] * factor;
      }
    }
  }
}

// Per-thread scratch, grown on demand and kept between calls, 64-byte aligned: tile rows are
// multiples of 16 floats, so no vector load of a tile straddles two cache lines.
inline float* scratch(std::vector<float>& buffer, std::int64_t n) {
  constexpr std::int64_t kAlign = 64 / sizeof(float);
  if (static_cast<std::int64_t>(buffer.size()) < n + kAlign) buffer.resize(static_cast<std::size_t>(n + kAlign));
  const auto misalign = reinterpret_cast<std::uintptr_t>(buffer.data()) % 64 / sizeof(float);
  return buffer.data() + (misalign == 0 ? 0 : kAlign - static_cast<std::int64_t>(misalign));
}

// Whether keys [j, j + n) are all valid (no padding mask, or none of them padded).
inline bool keys_all_valid(const AttentionShape& sh, std::int64_t j, std::int64_t n) {
  if (sh.key_valid == nullptr) return true;
  for (std::int64_t c = 0; c < n; ++c) {
    if (sh.key_valid[j + c] == 0) return false;
  }
  return true;
}

}  // namespace detail

// A forward work item: rows [r0, r0 + rows) of sequence s (at most kForwardBlock), head h.
struct ForwardTask {
  std::int64_t s, r0, rows, h;
};

// In (sequence, head, row block) order, so a thread's consecutive items share packed keys.
inline std::vector<ForwardTask> forward_tasks(const AttentionShape& shape) {
  std::vector<ForwardTask> tasks;
  for (std::int64_t s = 0; s < shape.sequences; ++s) {
    for (std::int64_t h = 0; h < shape.heads; ++h) {
      for (std::int64_t r0 = shape.q_offsets[s]; r0 < shape.q_offsets[s + 1]; r0 += kForwardBlock) {
        tasks.push_back({s, r0, std::min(kForwardBlock, shape.q_offsets[s + 1] - r0), h});
      }
    }
  }
  return tasks;
}

// Rows [r0, r0 + rows) (at most kForwardBlock) of sequence s, head h, with their Q^T block qt
// (scaled to base-2 scores, in stripes of kStripe lanes), against keys [kb, k_end) packed as row
// panels kp (K) and column panels vp (V, panel stride vstride).
inline void forward_block(const AttentionForward<float>& f, std::int64_t s, std::int64_t r0, std::int64_t rows,
                          std::int64_t h, const float* qt, const float* kp, const float* vp, std::int64_t vstride) {
  using namespace detail;
  const AttentionShape& sh = f.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim;
  const std::int64_t ld = round_up(rows, kLanes);
  constexpr std::int64_t kStripes = kForwardBlock / kStripe;
  thread_local std::vector<float> st_buf, ot_buf;
  float* st = scratch(st_buf, kKeyBlock * kStripe);  // one stripe's scores, then probabilities: [key][lane]
  float* ot = scratch(ot_buf, D * ld);  // O^T, unnormalised, in stripes as qt

  // Key positions (relative to the sequence's first key) visible to each lane's row: [0, end).
  // Lanes past the block's rows see every key, so they never force the masked path. Per stripe,
  // the fewest and most keys any of its rows sees.
  const std::int64_t kb = sh.k_offsets[s];
  std::int32_t end_of[kForwardBlock];
  std::int64_t k_end = kb;
  std::int64_t min_end[kStripes], max_end[kStripes];
  bool started[kStripes];  // whether the stripe's O^T holds a product yet
  for (std::int64_t w = 0; w < kStripes; ++w) {
    min_end[w] = std::numeric_limits<std::int64_t>::max();
    max_end[w] = kb;
    started[w] = false;
  }
  for (std::int64_t r = 0; r < ld; ++r) {
    std::int64_t b = kb, e = sh.k_offsets[s + 1];
    if (r < rows) sh.key_range(s, r0 + r, b, e);
    end_of[r] = static_cast<std::int32_t>(e - kb);
    if (r < rows) k_end = std::max(k_end, e);
    min_end[r / kStripe] = std::min(min_end[r / kStripe], e);
    if (r < rows) max_end[r / kStripe] = std::max(max_end[r / kStripe], e);
  }
  // Running maxima (base 2), denominators and the last tile's output corrections, one lane per row.
  alignas(32) float m[kForwardBlock], l[kForwardBlock], tile_max[kForwardBlock], corr_of[kForwardBlock];
  for (std::int64_t r = 0; r < ld; ++r) {
    m[r] = kLowest;
    l[r] = 0.0f;
  }
  // Per key tile (read from memory once for all the block's rows), one stripe of the
  // microkernel's width of query lanes at a time runs all three steps, so its scores, Q^T and O^T
  // columns stay in L1 while the tile's K and V panels stay in L2. Every lane's arithmetic is the
  // same whichever block and stripe hold it; a stripe none of whose rows sees the tile (causal)
  // skips it, as its lanes would add exact zeros.
  for (std::int64_t j0 = kb; j0 < k_end; j0 += kKeyBlock) {
    const std::int64_t n = std::min(k_end - j0, kKeyBlock);
    const bool keys_valid = keys_all_valid(sh, j0, n);
    const PanelA k_tile{kp + (j0 - kb) * D, kPanel * D}, v_tile{vp + (j0 - kb) * kPanel, vstride};
    for (std::int64_t w0 = 0; w0 < ld; w0 += kStripe) {
      const std::int64_t w = w0 / kStripe, width = std::min(kStripe, ld - w0);
      if (max_end[w] <= j0) continue;
      const bool masked = j0 + n > min_end[w] || !keys_valid;
      for (std::int64_t r = w0; r < w0 + width; ++r) tile_max[r] = kLowest;
      tile_gemm(n, width, D, k_tile, qt + w0 * D, width, st, width, {false}, StoreWithMax{tile_max + w0});
      for (std::int64_t v = 0; v < width / kLanes; ++v) {
        const std::int64_t lane = w0 + v * kLanes;
        if (masked) {
          // Hidden: a padded key, a key past the row's causal end. The stores' maxima included them.
          IVec end;
          std::memcpy(&end, end_of + lane, sizeof end);
          Vec mx = splat(kLowest);
          for (std::int64_t c = 0; c < n; ++c) {
            float* sc = st + c * width + v * kLanes;
            const IVec pos = IVec{} + static_cast<std::int32_t>(j0 + c - kb);
            const Vec x = sh.key_ok(j0 + c) ? (pos < end ? load(sc) : splat(kLowest)) : splat(kLowest);
            store(sc, x);
            mx = vmax(mx, x);
          }
          store(tile_max + lane, mx);
        }
        const Vec m_old = load(m + lane);
        const Vec m_new = vmax(m_old, load(tile_max + lane));
        // A lane that has seen no key yet subtracts 0, so its hidden scores still give exp2 -> 0.
        const Vec shift = m_new == splat(kLowest) ? Vec{} : m_new;
        const Vec corr = vexp2(m_old - shift);
        store(m + lane, m_new);
        store(corr_of + lane, corr);
        Vec sum{};
        for (std::int64_t c = 0; c < n; ++c) {
          float* sc = st + c * width + v * kLanes;
          const Vec p = vexp2(load(sc) - shift);
          store(sc, p);
          sum += p;
        }
        store(l + lane, load(l + lane) * corr + sum);
      }
      // O^T[d][row] = O^T[d][row] corr[row] + sum_c V[c][d] P^T[c][row]
      tile_gemm(D, width, n, v_tile, st, width, ot + w0 * D, width, {started[w], corr_of + w0});
      started[w] = true;
    }
  }
  // Rows kLanes at a time where none of them is empty: one kLanes x kLanes block of O^T per step.
  const auto all_seen = [&l](std::int64_t r) {
    for (int i = 0; i < kLanes; ++i) {
      if (l[r + i] == 0.0f) return false;
    }
    return true;
  };
  std::int64_t r = 0;
  for (; r + kLanes <= rows && all_seen(r); r += kLanes) {
    const std::int64_t w0 = r / kStripe * kStripe, width = std::min(kStripe, ld - w0);
    const float* columns = ot + w0 * D + (r - w0);
    float inv[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      inv[i] = 1.0f / l[r + i];
      const std::int64_t row = (r0 + r + i) * H + h;
      f.lse[row] = (m[r + i] + std::log2(l[r + i])) * kLn2;
    }
    for (std::int64_t d0 = 0; d0 < D; d0 += kLanes) {
      Vec block[kLanes];
      for (int j = 0; j < kLanes; ++j) block[j] = load(columns + (d0 + j) * width);
      transpose(block);
      for (int i = 0; i < kLanes; ++i) store(f.o + ((r0 + r + i) * H + h) * D + d0, block[i] * inv[i]);
    }
  }
  for (; r < rows; ++r) {
    const std::int64_t row = (r0 + r) * H + h;
    float* o = f.o + row * D;
    if (l[r] == 0.0f) {
      for (std::int64_t d = 0; d < D; ++d) o[d] = 0.0f;
      f.lse[row] = -std::numeric_limits<float>::infinity();  // this query sees no key
      continue;
    }
    const std::int64_t w0 = r / kStripe * kStripe, width = std::min(kStripe, ld - w0);
    const float* column = ot + w0 * D + (r - w0);
    const float inv = 1.0f / l[r];
    for (std::int64_t d = 0; d < D; ++d) o[d] = column[d * width] * inv;
    f.lse[row] = (m[r] + std::log2(l[r])) * kLn2;
  }
}

inline void forward(const AttentionForward<float>& f) {
  using namespace detail;
  const AttentionShape& sh = f.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim;
  // Every (sequence, head)'s keys as row panels, values as column panels and queries as Q^T
  // blocks, packed once per call and shared by all the row blocks that read them. Buffers of the
  // calling thread, kept between calls; the parallel region below reaches them through plain
  // pointers only (a thread_local named inside it would be the worker thread's own).
  const PackedOffsets at(sh, kForwardBlock);
  const auto sequences = static_cast<std::size_t>(sh.sequences);
  thread_local std::vector<float> k_buf, v_buf, q_buf;
  float* const kp = scratch(k_buf, at.rows[sequences]);
  float* const vp = scratch(v_buf, at.columns[sequences]);
  float* const qp = scratch(q_buf, at.queries[sequences]);
  const std::vector<PackChunk> chunks = pack_chunks(sh, kForwardBlock);
  const std::vector<ForwardTask> tasks = forward_tasks(sh);
  const auto n_chunks = static_cast<std::int64_t>(chunks.size());
  const auto count = static_cast<std::int64_t>(tasks.size());
  const float q_factor = sh.scale * kLog2e;
#pragma omp parallel if (count > 1)
  {
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < n_chunks; ++i) {
      const PackChunk& c = chunks[static_cast<std::size_t>(i)];
      const auto s = static_cast<std::size_t>(c.s);
      if (c.keys) {
        const std::int64_t kb = sh.k_offsets[s], keys = sh.k_offsets[s + 1] - kb;
        const std::int64_t row_stride = row_panel_floats(keys, D), column_stride = column_panel_floats(keys, D);
        for (std::int64_t t = c.first; t < c.first + c.count; t += kPanel) {
          const int valid = static_cast<int>(std::min<std::int64_t>(kPanel, keys - t));
          for (std::int64_t h = 0; h < H; ++h) {
            const float* rows[kPanel] = {};
            for (int e = 0; e < valid; ++e) rows[e] = f.k + ((kb + t + e) * H + h) * D;
            put_row_panel(rows, t, valid, D, kp + at.rows[s] + h * row_stride);
          }
        }
        // Head-major, so each of a head's panels fills in order (token-major writes to 4 x 11
        // panels per token at D = 64, each in its own page, and missed the TLB).
        for (std::int64_t h = 0; h < H; ++h) {
          for (std::int64_t t = c.first; t < c.first + c.count; ++t) {
            put_column_panel(f.v + ((kb + t) * H + h) * D, t, keys, D, vp + at.columns[s] + h * column_stride);
          }
        }
      } else {
        const std::int64_t qs = sh.q_offsets[s + 1] - sh.q_offsets[s];
        put_transposed_block(f.q, sh.q_offsets[s] + c.first, c.count, H, D, q_factor,
                             qp + at.queries[s] + c.first * D, query_block_floats(qs, D, kForwardBlock), kStripe);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < count; ++i) {
      const ForwardTask& t = tasks[static_cast<std::size_t>(i)];
      const auto s = static_cast<std::size_t>(t.s);
      const std::int64_t keys = sh.k_offsets[s + 1] - sh.k_offsets[s], qs = sh.q_offsets[s + 1] - sh.q_offsets[s];
      const float* qt = qp + at.queries[s] + t.h * query_block_floats(qs, D, kForwardBlock) + (t.r0 - sh.q_offsets[s]) * D;
      forward_block(f, t.s, t.r0, t.rows, t.h, qt, kp + at.rows[s] + t.h * row_panel_floats(keys, D),
                    vp + at.columns[s] + t.h * column_panel_floats(keys, D), kPanel * keys);
    }
  }
}

// The backward's packed operands of every (sequence, head), filled by pack_backward: keys as row
// panels (kp) and column panels (kc), values as row panels (vp); per query block Q^T (scaled to
// base-2 scores) and dO^T transposed, Q and dO as plain rows, and per lane the block's
// log-sum-exp (base 2) and delta.
struct BackwardOperands {
  float *kp, *vp, *kc, *qt, *dot_t, *q_rows, *do_rows, *lse, *delta;
};

inline void pack_backward(const AttentionBackward<float>& g, const detail::PackedOffsets& at, const detail::PackChunk& c,
                          const BackwardOperands& p) {
  using namespace detail;
  const AttentionShape& sh = g.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim;
  const auto s = static_cast<std::size_t>(c.s);
  if (c.keys) {
    const std::int64_t kb = sh.k_offsets[s], keys = sh.k_offsets[s + 1] - kb;
    const std::int64_t row_stride = row_panel_floats(keys, D), column_stride = column_panel_floats(keys, D);
    for (std::int64_t t = c.first; t < c.first + c.count; t += kPanel) {
      const int valid = static_cast<int>(std::min<std::int64_t>(kPanel, keys - t));
      for (std::int64_t h = 0; h < H; ++h) {
        const float *k_rows[kPanel] = {}, *v_rows[kPanel] = {};
        for (int i = 0; i < valid; ++i) {
          k_rows[i] = g.k + ((kb + t + i) * H + h) * D;
          v_rows[i] = g.v + ((kb + t + i) * H + h) * D;
        }
        put_row_panel(k_rows, t, valid, D, p.kp + at.rows[s] + h * row_stride);
        put_row_panel(v_rows, t, valid, D, p.vp + at.rows[s] + h * row_stride);
      }
    }
    for (std::int64_t h = 0; h < H; ++h) {  // head-major, as in forward()
      for (std::int64_t t = c.first; t < c.first + c.count; ++t) {
        put_column_panel(g.k + ((kb + t) * H + h) * D, t, keys, D, p.kc + at.columns[s] + h * column_stride);
      }
    }
    return;
  }
  const std::int64_t q0 = sh.q_offsets[s], qs = sh.q_offsets[s + 1] - q0, r0 = q0 + c.first;
  const std::int64_t head_stride = query_block_floats(qs, D, kQueryBlock), block = at.queries[s] + c.first * D;
  put_transposed_block(g.q, r0, c.count, H, D, sh.scale * kLog2e, p.qt + block, head_stride, kQueryBlock);
  put_transposed_block(g.dout, r0, c.count, H, D, 1.0f, p.dot_t + block, head_stride, kQueryBlock);
  for (std::int64_t h = 0; h < H; ++h) {
    float* lse = p.lse + (block + h * head_stride) / D;
    float* delta = p.delta + (block + h * head_stride) / D;
    for (std::int64_t r = 0; r < kQueryBlock; ++r) {
      // A row that saw no key (lse = -inf), and a lane past the block, get P = exp2(s - max) = 0.
      lse[r] = std::numeric_limits<float>::max();
      delta[r] = 0.0f;
    }
  }
  for (std::int64_t r = 0; r < c.count; ++r) {
    for (std::int64_t h = 0; h < H; ++h) {
      const std::int64_t row = (r0 + r) * H + h, in_block = block + h * head_stride;
      const float di = dot(g.dout + row * D, g.o + row * D, D);
      g.delta[row] = di;
      p.delta[in_block / D + r] = di;
      if (g.lse[row] > kLowest) p.lse[in_block / D + r] = g.lse[row] * kLog2e;
      std::memcpy(p.q_rows + in_block + r * D, g.q + row * D, static_cast<std::size_t>(D) * sizeof(float));
      std::memcpy(p.do_rows + in_block + r * D, g.dout + row * D, static_cast<std::size_t>(D) * sizeof(float));
    }
  }
}

// Gradients of sequence s, head h: dQ, dK, dV of its tokens (overwritten), from its operands as
// pack_backward left them.
inline void backward_task(const AttentionBackward<float>& g, const detail::PackedOffsets& at, const BackwardOperands& p,
                          std::int64_t s, std::int64_t h) {
  using namespace detail;
  const AttentionShape& sh = g.shape;
  const std::int64_t H = sh.heads, D = sh.head_dim;
  const auto si = static_cast<std::size_t>(s);
  const std::int64_t q0 = sh.q_offsets[s], q1 = sh.q_offsets[s + 1];
  const std::int64_t k0 = sh.k_offsets[s], k1 = sh.k_offsets[s + 1], nk = k1 - k0;
  const std::int64_t blocks = (q1 - q0 + kQueryBlock - 1) / kQueryBlock;
  if (blocks == 0) {
    for (std::int64_t j = k0; j < k1; ++j) {
      for (std::int64_t d = 0; d < D; ++d) g.dk[(j * H + h) * D + d] = g.dv[(j * H + h) * D + d] = 0.0f;
    }
    return;
  }
  const std::int64_t block_size = D * kQueryBlock, q_at = at.queries[si] + h * query_block_floats(q1 - q0, D, kQueryBlock);
  const float* qt = p.qt + q_at;
  const float* dot_t = p.dot_t + q_at;
  const float* q_rows = p.q_rows + q_at;
  const float* do_rows = p.do_rows + q_at;
  const float* lse = p.lse + q_at / D;
  const float* delta = p.delta + q_at / D;
  const float* kp = p.kp + at.rows[si] + h * row_panel_floats(nk, D);
  const float* vp = p.vp + at.rows[si] + h * row_panel_floats(nk, D);
  const float* kc = p.kc + at.columns[si] + h * column_panel_floats(nk, D);
  const std::int64_t kc_stride = kPanel * nk;
  // The dQ^T accumulator per query block ([block][D][kQueryBlock]), and one key tile's P^T, dS^T,
  // dK and dV.
  thread_local std::vector<float> dqt_buf, st_buf, dst_buf, dk_buf, dv_buf;
  float* dqt = scratch(dqt_buf, blocks * block_size);
  float* st = scratch(st_buf, kKeyBlock * kQueryBlock);
  float* dst = scratch(dst_buf, kKeyBlock * kQueryBlock);
  float* dk = scratch(dk_buf, kKeyBlock * D);
  float* dv = scratch(dv_buf, kKeyBlock * D);
  for (std::int64_t i = 0; i < blocks * block_size; ++i) dqt[i] = 0.0f;
  for (std::int64_t j0 = k0; j0 < k1; j0 += kKeyBlock) {
    const std::int64_t n = std::min(k1 - j0, kKeyBlock);
    const bool keys_valid = keys_all_valid(sh, j0, n);
    const PanelA k_rows{kp + (j0 - k0) * D, kPanel * D}, v_rows{vp + (j0 - k0) * D, kPanel * D};
    const PanelA k_columns{kc + (j0 - k0) * kPanel, kc_stride};
    for (std::int64_t i = 0; i < n * D; ++i) dk[i] = dv[i] = 0.0f;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t r0 = q0 + b * kQueryBlock, rows = std::min(kQueryBlock, q1 - r0);
      const std::int64_t ld = round_up(rows, kLanes);
      const std::int64_t first_row = b * kQueryBlock, last_row = first_row + rows - 1;  // within the sequence
      // Under the causal mask a block whose last row precedes the tile's first key sees none of it.
      if (sh.causal && last_row < j0 - k0) continue;
      const bool masked = !keys_valid || (sh.causal && first_row < j0 - k0 + n - 1);
      const float* lse_b = lse + b * kQueryBlock;
      if (!masked) {
        tile_gemm(n, ld, D, k_rows, qt + b * block_size, ld, st, ld, {false}, StoreProbability{lse_b});
      } else {
        tile_gemm(n, ld, D, k_rows, qt + b * block_size, ld, st, ld, {false});
        for (std::int64_t c = 0; c < n; ++c) {
          const bool key_visible = sh.key_ok(j0 + c);
          const IVec key_pos = IVec{} + static_cast<std::int32_t>(j0 + c - k0);
          for (std::int64_t v = 0; v < ld / kLanes; ++v) {
            float* sc = st + c * ld + v * kLanes;
            IVec row_pos;
            for (int e = 0; e < kLanes; ++e) row_pos[e] = static_cast<std::int32_t>(first_row + v * kLanes + e);
            const IVec hidden = sh.causal ? (row_pos < key_pos) : IVec{};
            const Vec p_sc = vexp2(load(sc) - load(lse_b + v * kLanes));
            store(sc, key_visible ? (hidden ? Vec{} : p_sc) : Vec{});
          }
        }
      }
      // dS^T = P^T (V dO^T - delta); the softmax scale is applied once to dQ and dK at the end.
      tile_gemm(n, ld, D, v_rows, dot_t + b * block_size, ld, dst, ld, {false},
                StoreScoreGradient{st, ld, delta + b * kQueryBlock});
      tile_gemm(n, D, rows, StridedA{st, ld, 1}, do_rows + b * block_size, D, dv, D, {true});
      tile_gemm(n, D, rows, StridedA{dst, ld, 1}, q_rows + b * block_size, D, dk, D, {true});
      tile_gemm(D, ld, n, k_columns, dst, ld, dqt + b * block_size, ld, {true});
    }
    const Vec scale = splat(sh.scale);
    for (std::int64_t c = 0; c < n; ++c) {
      float* dk_row = g.dk + ((j0 + c) * H + h) * D;
      float* dv_row = g.dv + ((j0 + c) * H + h) * D;
      for (std::int64_t d = 0; d < D; d += kLanes) {
        store(dk_row + d, load(dk + c * D + d) * scale);
        store(dv_row + d, load(dv + c * D + d));
      }
    }
  }
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t r0 = q0 + b * kQueryBlock, rows = std::min(kQueryBlock, q1 - r0);
    const std::int64_t ld = round_up(rows, kLanes);
    const float* columns = dqt + b * block_size;
    std::int64_t r = 0;
    for (; r + kLanes <= rows; r += kLanes) {
      for (std::int64_t d0 = 0; d0 < D; d0 += kLanes) {
        Vec block[kLanes];
        for (int j = 0; j < kLanes; ++j) block[j] = load(columns + (d0 + j) * ld + r);
        transpose(block);
        for (int i = 0; i < kLanes; ++i) store(g.dq + ((r0 + r + i) * H + h) * D + d0, block[i] * splat(sh.scale));
      }
    }
    for (; r < rows; ++r) {
      float* dq_row = g.dq + ((r0 + r) * H + h) * D;
      for (std::int64_t d = 0; d < D; ++d) dq_row[d] = columns[d * ld + r] * sh.scale;
    }
  }
}

inline void backward(const AttentionBackward<float>& g) {
  using namespace detail;
  const AttentionShape& sh = g.shape;
  // Buffers of the calling thread, kept between calls (see forward).
  const PackedOffsets at(sh, kQueryBlock);
  const auto sequences = static_cast<std::size_t>(sh.sequences);
  thread_local std::vector<float> kp_buf, vp_buf, kc_buf, qt_buf, dot_buf, q_buf, do_buf, lse_buf, delta_buf;
  const std::int64_t queries = at.queries[sequences];
  const BackwardOperands p{scratch(kp_buf, at.rows[sequences]), scratch(vp_buf, at.rows[sequences]),
                           scratch(kc_buf, at.columns[sequences]), scratch(qt_buf, queries), scratch(dot_buf, queries),
                           scratch(q_buf, queries), scratch(do_buf, queries),
                           scratch(lse_buf, queries / std::max<std::int64_t>(sh.head_dim, 1)),
                           scratch(delta_buf, queries / std::max<std::int64_t>(sh.head_dim, 1))};
  const std::vector<PackChunk> chunks = pack_chunks(sh, kQueryBlock);
  const auto n_chunks = static_cast<std::int64_t>(chunks.size());
  const std::int64_t tasks = sh.sequences * sh.heads;
#pragma omp parallel if (tasks > 1)
  {
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < n_chunks; ++i) pack_backward(g, at, chunks[static_cast<std::size_t>(i)], p);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < tasks; ++i) backward_task(g, at, p, i / sh.heads, i % sh.heads);
  }
}

}  // namespace engram::attention::cpu
