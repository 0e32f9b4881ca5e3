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
//   for (std::int64_t i = 0; i < total_q * heads; ++i) fwd(i);   // or backend.attention_forward(fwd, total_q)
#include <cstdint>

#include "engram/kernels/nn/math.hpp"

namespace engram::attention {

inline constexpr std::int64_t kMinHeadDim = 16;
inline constexpr std::int64_t kMaxHeadDim = 128;
inline constexpr std::int64_t kKeyTile = 32;

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

template <class T>
ENGRAM_HD inline T dot(const T* a, const T* b, std::int64_t n) {
  T s = 0;
  for (std::int64_t d = 0; d < n; ++d) s += a[d] * b[d];
  return s;
}

// One work item per (query token, head): item = token * heads + head.
template <class T>
struct AttentionForward {
  AttentionShape shape;
  const T* q;
  const T* k;
  const T* v;
  T* o;
  T* lse;  // [total_q, heads]

  ENGRAM_HD void operator()(std::int64_t item) const {
    const std::int64_t H = shape.heads, D = shape.head_dim;
    const std::int64_t t = item / H, h = item % H;
    const std::int64_t s = shape.sequence_of(shape.q_offsets, t);
    std::int64_t kb = 0, ke = 0;
    shape.key_range(s, t, kb, ke);
    const T* qi = q + item * D;
    const T scale = static_cast<T>(shape.scale);
    T acc[kMaxHeadDim];
    for (std::int64_t d = 0; d < D; ++d) acc[d] = T(0);
    T m = nn::lowest_<T>(), l = T(0);
    T score[kKeyTile];
    for (std::int64_t j0 = kb; j0 < ke; j0 += kKeyTile) {
      const std::int64_t n = (ke - j0 < kKeyTile) ? ke - j0 : kKeyTile;
      T tile_max = nn::lowest_<T>();
      for (std::int64_t j = 0; j < n; ++j) {
        if (!shape.key_ok(j0 + j)) {
          score[j] = nn::lowest_<T>();
          continue;
        }
        score[j] = scale * dot(qi, k + ((j0 + j) * H + h) * D, D);
        tile_max = nn::max_(tile_max, score[j]);
      }
      if (tile_max == nn::lowest_<T>()) continue;  // every key of the tile is masked
      const T m_new = nn::max_(m, tile_max);
      const T correction = nn::exp_(m - m_new);
      l *= correction;
      for (std::int64_t d = 0; d < D; ++d) acc[d] *= correction;
      for (std::int64_t j = 0; j < n; ++j) {
        if (score[j] == nn::lowest_<T>()) continue;
        const T p = nn::exp_(score[j] - m_new);
        l += p;
        const T* vj = v + ((j0 + j) * H + h) * D;
        for (std::int64_t d = 0; d < D; ++d) acc[d] += p * vj[d];
      }
      m = m_new;
    }
    T* oi = o + item * D;
    if (l == T(0)) {
      for (std::int64_t d = 0; d < D; ++d) oi[d] = T(0);
      lse[item] = -nn::exp_(T(1000));  // -inf: this query sees no key
      return;
    }
    const T inv = T(1) / l;
    for (std::int64_t d = 0; d < D; ++d) oi[d] = acc[d] * inv;
    lse[item] = m + nn::log_(l);
  }
};

// Gradients of AttentionForward. Pass 1 (QueryPass, one item per (query token, head)): delta =
// rowsum(dO * O) and dQ. Pass 2 (KeyPass, one item per (key token, head)): dK and dV, reading delta.
// dQ, dK, dV are overwritten.
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
  std::int64_t total_q;  // query tokens (pass 2 scans each sequence's queries)
};

template <class T>
struct AttentionBackwardQueryPass {
  AttentionBackward<T> a;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads, D = sh.head_dim;
    const std::int64_t t = item / H, h = item % H;
    const T* doi = a.dout + item * D;
    const T di = dot(doi, a.o + item * D, D);
    a.delta[item] = di;
    T* dqi = a.dq + item * D;
    for (std::int64_t d = 0; d < D; ++d) dqi[d] = T(0);
    const T li = a.lse[item];
    if (!(li > nn::lowest_<T>())) return;  // saw no key
    const std::int64_t s = sh.sequence_of(sh.q_offsets, t);
    std::int64_t kb = 0, ke = 0;
    sh.key_range(s, t, kb, ke);
    const T* qi = a.q + item * D;
    const T scale = static_cast<T>(sh.scale);
    T ds[kKeyTile];
    for (std::int64_t j0 = kb; j0 < ke; j0 += kKeyTile) {
      const std::int64_t n = (ke - j0 < kKeyTile) ? ke - j0 : kKeyTile;
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t key = j0 + j;
        if (!sh.key_ok(key)) {
          ds[j] = T(0);
          continue;
        }
        const T p = nn::exp_(scale * dot(qi, a.k + (key * H + h) * D, D) - li);
        const T dp = dot(doi, a.v + (key * H + h) * D, D);
        ds[j] = p * (dp - di) * scale;
      }
      for (std::int64_t j = 0; j < n; ++j) {
        if (ds[j] == T(0)) continue;
        const T* kj = a.k + ((j0 + j) * H + h) * D;
        for (std::int64_t d = 0; d < D; ++d) dqi[d] += ds[j] * kj[d];
      }
    }
  }
};

template <class T>
struct AttentionBackwardKeyPass {
  AttentionBackward<T> a;
  ENGRAM_HD void operator()(std::int64_t item) const {
    const AttentionShape& sh = a.shape;
    const std::int64_t H = sh.heads, D = sh.head_dim;
    const std::int64_t key = item / H, h = item % H;
    T* dkj = a.dk + item * D;
    T* dvj = a.dv + item * D;
    for (std::int64_t d = 0; d < D; ++d) {
      dkj[d] = T(0);
      dvj[d] = T(0);
    }
    if (!sh.key_ok(key)) return;
    const std::int64_t s = sh.sequence_of(sh.k_offsets, key);
    std::int64_t qb = sh.q_offsets[s];
    const std::int64_t qe = sh.q_offsets[s + 1];
    if (sh.causal) qb += key - sh.k_offsets[s];  // queries at or after the key's position
    const T* kj = a.k + item * D;
    const T* vj = a.v + item * D;
    const T scale = static_cast<T>(sh.scale);
    T p[kKeyTile], ds[kKeyTile];
    for (std::int64_t i0 = qb; i0 < qe; i0 += kKeyTile) {
      const std::int64_t n = (qe - i0 < kKeyTile) ? qe - i0 : kKeyTile;
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t row = (i0 + i) * H + h;
        const T li = a.lse[row];
        if (!(li > nn::lowest_<T>())) {
          p[i] = T(0);
          ds[i] = T(0);
          continue;
        }
        p[i] = nn::exp_(scale * dot(a.q + row * D, kj, D) - li);
        const T dp = dot(a.dout + row * D, vj, D);
        ds[i] = p[i] * (dp - a.delta[row]) * scale;
      }
      for (std::int64_t i = 0; i < n; ++i) {
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
};

}  // namespace engram::attention
