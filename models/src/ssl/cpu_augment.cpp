#include "engram/models/ssl/cpu_augment.hpp"

#include <algorithm>

#include "engram/kernels/core/philox_blocks.hpp"

namespace engram::ssl {

namespace {

void augment_row(const AugmentRows<float>& f, std::int64_t i) {
  using Rows = AugmentRows<float>;
  constexpr int kPairs = PhiloxBlocks::kBlocks;  // neuron pairs per batch of blocks
  const std::int64_t r = i / f.rows, row = i % f.rows;
  RngStream head = Rows::row_stream(f.seeds[r], f.tag, f.step, row);
  const std::uint32_t w_apply = head.next_u32(), w_p = head.next_u32();
  const Rows::RowDropout d = Rows::row_dropout(w_apply, w_p, f.apply, f.max_dropout);
  const PhiloxBlocks blocks(RngKey{f.seeds[r], f.tag, purpose::augment, f.step, static_cast<std::uint32_t>(row)});
  const float noise = static_cast<float>(f.noise);
  const std::int64_t N = f.neurons;
  const float* src = f.counts + static_cast<std::int64_t>(f.bins[i]) * N;
  const float* src_b = f.bins_b != nullptr ? f.counts + static_cast<std::int64_t>(f.bins_b[i]) * N : nullptr;
  float* dst_b = f.out_b != nullptr ? f.out_b + i * N : nullptr;
  const float* mean = f.mean + r * N;
  const float* inv_std = f.inv_std + r * N;
  float* dst = f.out + i * N;
  PhiloxBlocks::Words words;
  alignas(64) float zc[kPairs], zs[kPairs], z[2 * kPairs];
  alignas(64) std::uint32_t drop[2 * kPairs];
  for (std::int64_t n0 = 0; n0 < N; n0 += 2 * kPairs) {
    // Block 1 + j serves neurons 2j and 2j + 1 (block 0 is the row's own).
    blocks.fill(static_cast<std::uint32_t>(1 + n0 / 2), words);
    for (int j = 0; j < kPairs; ++j) word_normal_pair(words.v[2][j], words.v[3][j], zc[j], zs[j]);
    for (int j = 0; j < kPairs; ++j) {
      drop[2 * j] = words.v[0][j];
      drop[2 * j + 1] = words.v[1][j];
      z[2 * j] = zc[j];
      z[2 * j + 1] = zs[j];
    }
    const std::int64_t count = std::min<std::int64_t>(2 * kPairs, N - n0);
    for (std::int64_t n = 0; n < count; ++n) {
      dst[n0 + n] = Rows::value(src[n0 + n], drop[n], d, mean[n0 + n], inv_std[n0 + n], f.standardise, noise, z[n]);
    }
    if (src_b == nullptr) continue;
    for (std::int64_t n = 0; n < count; ++n) {
      dst_b[n0 + n] = Rows::value(src_b[n0 + n], drop[n], d, mean[n0 + n], inv_std[n0 + n], f.standardise, noise, z[n]);
    }
  }
}

}  // namespace

void cpu_augment_rows(const AugmentRows<float>& f, std::int64_t count) {
  // A row is 174 neurons' draws: a few rows already pay for a fork.
#pragma omp parallel for schedule(static) if (count >= 16)
  for (std::int64_t i = 0; i < count; ++i) augment_row(f, i);
}

}  // namespace engram::ssl
