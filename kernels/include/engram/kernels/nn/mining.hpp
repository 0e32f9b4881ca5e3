#pragma once
// MYOW's view mining (Azabou et al. 2021): for each query row, the k nearest rows of a
// candidate pool under cosine distance, and one of them picked by a keyed draw; then the picked
// rows are gathered as the mined views. The cosines are one matrix product of unit rows:
// NormalizeRows on the queries and the pool, a GEMM (the backend's, [queries, pool_rows]), then
// SelectNearest scans each query's row of cosines. Selection is not differentiable: the
// backward pass holds it fixed and only routes gradients through the gather (a deterministic
// scatter-add, one work item per pool row, queries in order).
//
//   engram::nn::NormalizeRows<float>{rows, unit, dim}(i);              // queries and pool
//   backend.gemm(false, true, queries_n, pool_rows, dim, 1, unit_q, unit_pool, 0, cosines);
//   engram::nn::SelectNearest<float>{cosines, selected, pool_rows, k, key}(q);
//   engram::nn::GatherRows<float>{pool, selected, mined, dim}(q);
//   engram::nn::GatherRowsBackward<float>{dmined, selected, dpool, queries_n, dim}(p);
#include <cstdint>

#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/math.hpp"

namespace engram::nn {

// The largest k SelectNearest supports (a fixed-size local list, no allocation on a device).
inline constexpr std::int64_t kMaxMiningNeighbours = 16;

// Which of the k neighbours query q takes: a draw keyed by (key, q), never by thread.
struct MiningKey {
  std::uint64_t seed = 0;
  std::uint32_t run = 0;
  Purpose purpose = Purpose::test;
  std::uint32_t step = 0;
};

// unit[i] = rows[i] / max(|rows[i]|, 1e-12): a dot product of unit rows is their cosine.
template <class T>
struct NormalizeRows {
  const T* rows;  // [n, dim]
  T* unit;        // [n, dim]
  std::int64_t dim;
  ENGRAM_HD void operator()(std::int64_t i) const {
    const T* x = rows + i * dim;
    T xx = 0;
    for (std::int64_t d = 0; d < dim; ++d) xx += x[d] * x[d];
    const T inv = T(1) / max_(sqrt_(xx), T(1e-12));
    for (std::int64_t d = 0; d < dim; ++d) unit[i * dim + d] = x[d] * inv;
  }
};

template <class T>
struct SelectNearest {
  const T* cosines;  // [queries, pool_rows]
  std::int32_t* selected;
  std::int64_t pool_rows, k;
  MiningKey key;
  ENGRAM_HD void operator()(std::int64_t q) const {
    const T* row = cosines + q * pool_rows;
    // Keep the k best (largest cosine) in descending order; ties keep the lower pool index, so
    // the result does not depend on evaluation order.
    T best[kMaxMiningNeighbours];
    std::int32_t index[kMaxMiningNeighbours];
    std::int64_t found = 0;
    for (std::int64_t p = 0; p < pool_rows; ++p) {
      const T cos = row[p];
      if (found == k && !(cos > best[k - 1])) continue;
      std::int64_t at = found < k ? found++ : k - 1;
      while (at > 0 && cos > best[at - 1]) {
        best[at] = best[at - 1];
        index[at] = index[at - 1];
        --at;
      }
      best[at] = cos;
      index[at] = static_cast<std::int32_t>(p);
    }
    RngStream rng(RngKey{key.seed, key.run, key.purpose, key.step, static_cast<std::uint32_t>(q)});
    const std::int64_t pick = static_cast<std::int64_t>(rng.next_u32() % static_cast<std::uint32_t>(found));
    selected[q] = index[pick];
  }
};

template <class T>
struct GatherRows {
  const T* pool;
  const std::int32_t* selected;
  T* out;
  std::int64_t dim;
  ENGRAM_HD void operator()(std::int64_t q) const {
    const T* src = pool + static_cast<std::int64_t>(selected[q]) * dim;
    for (std::int64_t d = 0; d < dim; ++d) out[q * dim + d] = src[d];
  }
};

// dpool[p] += sum of dout[q] over the queries that selected p.
template <class T>
struct GatherRowsBackward {
  const T* dout;
  const std::int32_t* selected;
  T* dpool;
  std::int64_t queries, dim;
  ENGRAM_HD void operator()(std::int64_t p) const {
    for (std::int64_t q = 0; q < queries; ++q) {
      if (selected[q] != p) continue;
      for (std::int64_t d = 0; d < dim; ++d) dpool[p * dim + d] += dout[q * dim + d];
    }
  }
};

}  // namespace engram::nn
