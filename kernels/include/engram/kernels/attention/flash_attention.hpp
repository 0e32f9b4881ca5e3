#pragma once
// Multi-head scaled dot-product attention with the tiled online-softmax algorithm
// (FlashAttention): each query row streams over key tiles keeping a running maximum, running
// denominator and running output, so the [queries, keys] score matrix never exists. The forward
// pass saves each row's log-sum-exp; the backward pass recomputes the probabilities tile by tile
// from it (one pass per query row for dQ, one per key row for dK and dV: no atomics, so the
// result does not depend on scheduling).
//
// Layout (packed variable-length, as flash-attn's varlen API): Q and O are [total_q, heads, D],
// K and V [total_k, heads, D], row-major; sequence s owns query tokens [q_offsets[s],
// q_offsets[s+1]) and key tokens [k_offsets[s], k_offsets[s+1]). A padded batch [B, T] is the
// case q_offsets = k_offsets = {0, T, 2T, ...} with key_valid marking the real tokens.
// Masks: key_valid[token] == 0 hides a key (padding); causal hides key j from query i when
// j > i (positions within the sequence). A query that sees no key gets O = 0 and LSE = -inf.
//
//   engram::attention::AttentionShape shape{q_off, k_off, sequences, heads, 64, causal, valid, 0.125f};
//   engram::attention::AttentionForward<float> fwd{shape, q, k, v, o, lse};
//   for (std::int64_t i = 0; i < engram::attention::work_items(total_q, heads); ++i) fwd(i);
//   // or engram::models::attention_forward(backend, fwd, total_q)  (models/nn/attention.hpp)
//
// A work item owns a block of kRowBlock consecutive query rows (key rows in the backward key
// pass) of one head, so every key tile it loads serves several rows from cache; a block that
// spans two sequences is processed as one segment per sequence.
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::attention {

inline constexpr std::int64_t kMinHeadDim = 16;
inline constexpr std::int64_t kMaxHeadDim = 128;
inline constexpr std::int64_t kKeyTile = 32;
inline constexpr std::int64_t kRowBlock = 8;

// Work items of a pass over `rows` tokens: one per (block of kRowBlock rows, head).
ENGRAM_HD inline std::int64_t work_items(std::int64_t rows, std::int64_t heads) {
  return (rows + kRowBlock - 1) / kRowBlock * heads;
}

struct AttentionShape {
  const std::int64_t* q_offsets;  // [sequences + 1]
  const std::int64_t* k_offsets;  // [sequences + 1]
  std::int64_t sequences;
  std::int64_t heads;
  std::int64_t head_dim;          // kMinHeadDim..kMaxHeadDim
  bool causal;
  const std::uint8_t* key_valid;  // [total_k] or null (all valid)
  float scale;                    // usually 1 / sqrt(head_dim)

  // The sequence holding token t of an offsets array (binary search: sequences may be many).
  ENGRAM_HD std::int64_t sequence_of(const std::int64_t* offsets, std::int64_t t) const {
    std::int64_t lo = 0, hi = sequences;  // invariant: offsets[lo] <= t < offsets[hi]
    while (hi - lo > 1) {
      const std::int64_t mid = (lo + hi) / 2;
      if (offsets[mid] <= t) lo = mid; else hi = mid;
    }
    return lo;
  }
  // Key range [k_begin, k_end) visible to query token t of sequence s.
  ENGRAM_HD void key_range(std::int64_t s, std::int64_t t, std::int64_t& k_begin, std::int64_t& k_end) const {
    k_begin = k_offsets[s];
    k_end = k_offsets[s + 1];
    if (causal) {
      const std::int64_t limit = k_begin + (t - q_offsets[s]) + 1;
      if (limit < k_end) k_end = limit;
    }
  }
  ENGRAM_HD bool key_ok(std::int64_t key) const { return key_valid == nullptr || key_valid[key] != 0; }
};

// Eight independent partial sums: the compiler may not reorder a float sum, so one running
// sum would serialise every multiply-add; eight let it issue them as one SIMD lane each.
template <class T>
ENGRAM_HD inline T dot(const T* a, const T* b, std::int64_t n) {
  T part[8] = {T(0), T(0), T(0), T(0), T(0), T(0), T(0), T(0)};
  std::int64_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (int i = 0; i < 8; ++i) part[i] += a[d + i] * b[d + i];
  }
  for (int i = 0; d < n; ++d, ++i) part[i] += a[d] * b[d];
  return ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
}

// Forward: one work item per (block of query rows, head); item = block * heads + head.
template <class T>
struct AttentionForward {
  AttentionShape shape;
  const T* q;
  const T* k;
  const T* v;
  T* o;
  T* lse;  // [total_q, heads]

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t H = shape.heads;
    const std::int64_t h = item % H, first = (item / H) * kRowBlock;
    const std::int64_t last = nn::min_(first + kRowBlock, shape.q_offsets[shape.sequences]);
    for (std::int64_t r0 = first; r0 < last;) {
      const std::int64_t s = shape.sequence_of(shape.q_offsets, r0);
      const std::int64_t r1 = nn::min_(last, shape.q_offsets[s + 1]);
      segment(s, r0, r1, h);
      r0 = r1;
    }
  }

  // Query rows [r0, r1) of sequence s.
  ENGRAM_HD void segment(std::int64_t s, std::int64_t r0, std::int64_t r1, std::int64_t h) const {
    const std::int64_t H = shape.heads, D = shape.head_dim, rows = r1 - r0;
    const T scale = static_cast<T>(shape.scale);
    T acc[kRowBlock][kMaxHeadDim];
    T m[kRowBlock], l[kRowBlock];
    std::int64_t kb = 0, ke[kRowBlock];
    for (std::int64_t i = 0; i < rows; ++i) {
      shape.key_range(s, r0 + i, kb, ke[i]);
      m[i] = nn::lowest_<T>();
      l[i] = T(0);
      for (std::int64_t d = 0; d < D; ++d) acc[i][d] = T(0);
    }
    const std::int64_t k_end = ke[rows - 1];  // causal ranges grow with the row
    T score[kKeyTile];
    for (std::int64_t j0 = kb; j0 < k_end; j0 += kKeyTile) {
      const std::int64_t n = nn::min_(k_end - j0, kKeyTile);
      for (std::int64_t i = 0; i < rows; ++i) {
        const T* qi = q + ((r0 + i) * H + h) * D;
        T tile_max = nn::lowest_<T>();
        for (std::int64_t j = 0; j < n; ++j) {
          if (j0 + j >= ke[i] || !shape.key_ok(j0 + j)) {
            score[j] = nn::lowest_<T>();
            continue;
          }
          score[j] = scale * dot(qi, k + ((j0 + j) * H + h) * D, D);
          tile_max = nn::max_(tile_max, score[j]);
        }
        if (tile_max == nn::lowest_<T>()) continue;  // every key of the tile is hidden from this row
        const T m_new = nn::max_(m[i], tile_max);
        const T correction = nn::exp_(m[i] - m_new);
        l[i] *= correction;
        T* a = acc[i];
        for (std::int64_t d = 0; d < D; ++d) a[d] *= correction;
        for (std::int64_t j = 0; j < n; ++j) {
          if (score[j] == nn::lowest_<T>()) continue;
          const T p = nn::exp_(score[j] - m_new);
          l[i] += p;
          const T* vj = v + ((j0 + j) * H + h) * D;
          for (std::int64_t d = 0; d < D; ++d) a[d] += p * vj[d];
        }
        m[i] = m_new;
      }
    }
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::int64_t row = (r0 + i) * H + h;
      T* oi = o + row * D;
      if (l[i] == T(0)) {
        for (std::int64_t d = 0; d < D; ++d) oi[d] = T(0);
        lse[row] = -nn::exp_(T(1000));  // -inf: this query sees no key
        continue;
      }
      const T inv = T(1) / l[i];
      for (std::int64_t d = 0; d < D; ++d) oi[d] = acc[i][d] * inv;
      lse[row] = m[i] + nn::log_(l[i]);
    }
  }
};

// Gradients of AttentionForward. Pass 1 (QueryPass, one item per (block of query rows, head)):
// delta = rowsum(dO * O) and dQ. Pass 2 (KeyPass, one item per (block of key rows, head)): dK
// and dV, reading delta. dQ, dK, dV are overwritten.
template <class T>
struct AttentionBackward {
  AttentionShape shape;
  const T* q;
  const T* k;
  const T* v;
  const T* o;
  const T* lse;
  const T* dout;
  T* delta;  // [total_q, heads] workspace written by pass 1
  T* dq;
  T* dk;
  T* dv;
  std::int64_t total_q;  // query tokens
};

template <class T>
struct AttentionBackwardQueryPass {
  AttentionBackward<T> a;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads;
    const std::int64_t h = item % H, first = (item / H) * kRowBlock;
    const std::int64_t last = nn::min_(first + kRowBlock, sh.q_offsets[sh.sequences]);
    for (std::int64_t r0 = first; r0 < last;) {
      const std::int64_t s = sh.sequence_of(sh.q_offsets, r0);
      const std::int64_t r1 = nn::min_(last, sh.q_offsets[s + 1]);
      segment(s, r0, r1, h);
      r0 = r1;
    }
  }

  ENGRAM_HD void segment(std::int64_t s, std::int64_t r0, std::int64_t r1, std::int64_t h) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads, D = sh.head_dim, rows = r1 - r0;
    const T scale = static_cast<T>(sh.scale);
    std::int64_t kb = 0, ke[kRowBlock];
    T di[kRowBlock], li[kRowBlock];
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::int64_t row = (r0 + i) * H + h;
      di[i] = dot(a.dout + row * D, a.o + row * D, D);
      a.delta[row] = di[i];
      li[i] = a.lse[row];
      T* dqi = a.dq + row * D;
      for (std::int64_t d = 0; d < D; ++d) dqi[d] = T(0);
      sh.key_range(s, r0 + i, kb, ke[i]);
      if (!(li[i] > nn::lowest_<T>())) ke[i] = kb;  // saw no key: no gradient
    }
    std::int64_t k_end = kb;
    for (std::int64_t i = 0; i < rows; ++i) k_end = nn::max_(k_end, ke[i]);
    T ds[kKeyTile];
    for (std::int64_t j0 = kb; j0 < k_end; j0 += kKeyTile) {
      const std::int64_t n = nn::min_(k_end - j0, kKeyTile);
      for (std::int64_t i = 0; i < rows; ++i) {
        const std::int64_t row = (r0 + i) * H + h;
        const T* qi = a.q + row * D;
        const T* doi = a.dout + row * D;
        for (std::int64_t j = 0; j < n; ++j) {
          const std::int64_t key = j0 + j;
          if (key >= ke[i] || !sh.key_ok(key)) {
            ds[j] = T(0);
            continue;
          }
          const T p = nn::exp_(scale * dot(qi, a.k + (key * H + h) * D, D) - li[i]);
          const T dp = dot(doi, a.v + (key * H + h) * D, D);
          ds[j] = p * (dp - di[i]) * scale;
        }
        T* dqi = a.dq + row * D;
        for (std::int64_t j = 0; j < n; ++j) {
          if (ds[j] == T(0)) continue;
          const T* kj = a.k + ((j0 + j) * H + h) * D;
          for (std::int64_t d = 0; d < D; ++d) dqi[d] += ds[j] * kj[d];
        }
      }
    }
  }
};

template <class T>
struct AttentionBackwardKeyPass {
  AttentionBackward<T> a;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads;
    const std::int64_t h = item % H, first = (item / H) * kRowBlock;
    const std::int64_t last = nn::min_(first + kRowBlock, sh.k_offsets[sh.sequences]);
    for (std::int64_t r0 = first; r0 < last;) {
      const std::int64_t s = sh.sequence_of(sh.k_offsets, r0);
      const std::int64_t r1 = nn::min_(last, sh.k_offsets[s + 1]);
      segment(s, r0, r1, h);
      r0 = r1;
    }
  }

  // Key rows [r0, r1) of sequence s.
  ENGRAM_HD void segment(std::int64_t s, std::int64_t r0, std::int64_t r1, std::int64_t h) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads, D = sh.head_dim, keys = r1 - r0;
    const T scale = static_cast<T>(sh.scale);
    T dk_acc[kRowBlock][kMaxHeadDim], dv_acc[kRowBlock][kMaxHeadDim];
    std::int64_t qb[kRowBlock];
    const std::int64_t qe = sh.q_offsets[s + 1];
    for (std::int64_t j = 0; j < keys; ++j) {
      for (std::int64_t d = 0; d < D; ++d) {
        dk_acc[j][d] = T(0);
        dv_acc[j][d] = T(0);
      }
      // Queries at or after the key's position see it under the causal mask; a padded key
      // is seen by none.
      qb[j] = sh.q_offsets[s] + (sh.causal ? r0 + j - sh.k_offsets[s] : 0);
      if (!sh.key_ok(r0 + j)) qb[j] = qe;
    }
    std::int64_t q_begin = qe;
    for (std::int64_t j = 0; j < keys; ++j) q_begin = nn::min_(q_begin, qb[j]);
    T p[kKeyTile], ds[kKeyTile];
    for (std::int64_t i0 = q_begin; i0 < qe; i0 += kKeyTile) {
      const std::int64_t n = nn::min_(qe - i0, kKeyTile);
      for (std::int64_t j = 0; j < keys; ++j) {
        const T* kj = a.k + ((r0 + j) * H + h) * D;
        const T* vj = a.v + ((r0 + j) * H + h) * D;
        for (std::int64_t i = 0; i < n; ++i) {
          const std::int64_t row = (i0 + i) * H + h;
          const T li = a.lse[row];
          if (i0 + i < qb[j] || !(li > nn::lowest_<T>())) {
            p[i] = T(0);
            ds[i] = T(0);
            continue;
          }
          p[i] = nn::exp_(scale * dot(a.q + row * D, kj, D) - li);
          const T dp = dot(a.dout + row * D, vj, D);
          ds[i] = p[i] * (dp - a.delta[row]) * scale;
        }
        T* dkj = dk_acc[j];
        T* dvj = dv_acc[j];
        for (std::int64_t i = 0; i < n; ++i) {
          if (p[i] == T(0)) continue;
          const std::int64_t row = (i0 + i) * H + h;
          const T* qi = a.q + row * D;
          const T* doi = a.dout + row * D;
          for (std::int64_t d = 0; d < D; ++d) {
            dvj[d] += p[i] * doi[d];
            dkj[d] += ds[i] * qi[d];
          }
        }
      }
    }
    for (std::int64_t j = 0; j < keys; ++j) {
      T* dkj = a.dk + ((r0 + j) * H + h) * D;
      T* dvj = a.dv + ((r0 + j) * H + h) * D;
      for (std::int64_t d = 0; d < D; ++d) {
        dkj[d] = dk_acc[j][d];
        dvj[d] = dv_acc[j][d];
      }
    }
  }
};

}  // namespace engram::attention
