#pragma once
// What R training runs on one reach recording share and what each owns: run r has its own seed,
// its own 80/20 split by trial (drawn from that seed), and its own standardisation (mean and
// standard deviation of each neuron over its training bins). The view sampler draws a step's
// bins for every run from (run seed, step, row) only, so a run sees the same minibatches alone
// or batched.
//
//   engram::ssl::ReachRuns runs(data, {11, 12, 13}, 0.2);
//   auto anchors = runs.sample_anchors(step, 256, /*tag=*/0);        // [R * 256] bin ids
//   auto partners = runs.sample_neighbours(anchors, step, 5, /*tag=*/1);
#include <cmath>
#include <cstdint>
#include <vector>

#include "engram/kernels/core/random.hpp"
#include "engram/kernels/core/word_normal.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "engram/models/ssl/ssl_random.hpp"

namespace engram::ssl {

struct RunSplit {
  std::vector<std::int32_t> train_trials, test_trials;
  std::vector<std::int32_t> train_bins, test_bins;
  std::vector<float> mean, inv_std;  // [neurons] over the training bins
};

class ReachRuns {
 public:
  ReachRuns(const ReachData& data, std::vector<std::uint64_t> seeds, double test_fraction);

  const ReachData& data() const { return data_; }
  std::int64_t runs() const { return static_cast<std::int64_t>(seeds_.size()); }
  const std::vector<std::uint64_t>& seeds() const { return seeds_; }
  const RunSplit& split(std::int64_t r) const { return splits_[static_cast<std::size_t>(r)]; }
  // Standardisation of every run as [R, neurons] arrays (for the augmentation kernel).
  const std::vector<float>& means() const { return means_; }
  const std::vector<float>& inv_stds() const { return inv_stds_; }
  // The smallest number of training bins over the runs (an epoch's length).
  std::int64_t min_train_bins() const;

  // `rows` training bins per run, uniform with replacement: [R * rows].
  std::vector<std::int32_t> sample_anchors(std::uint32_t step, std::int64_t rows, std::uint32_t tag) const;
  // For each anchor, a bin of the same trial at least `min_offset` and at most `max_offset` bins
  // away, uniformly (min_offset 0: the anchor itself is one of the choices, as the public MYOW
  // code's pair set; the anchor also when no bin of its trial qualifies).
  std::vector<std::int32_t> sample_neighbours(const std::vector<std::int32_t>& anchors, std::uint32_t step,
                                              std::int64_t max_offset, std::uint32_t tag,
                                              std::int64_t min_offset = 1) const;
  // MYOW's candidate pool: the run's training trials are split in two halves at random each
  // step; queries come from one half and the pool from the other, so a mined view is another
  // trial's bin. Returns queries [R * rows] and pool [R * pool_rows].
  void sample_query_and_pool(std::uint32_t step, std::int64_t rows, std::int64_t pool_rows,
                             std::vector<std::int32_t>& queries, std::vector<std::int32_t>& pool) const;

 private:
  const ReachData& data_;
  std::vector<std::uint64_t> seeds_;
  std::vector<RunSplit> splits_;
  std::vector<float> means_, inv_stds_;
};

// The papers' augmentations on one row (a bin of one run): neuron dropout with a probability
// drawn uniformly in [0, max_dropout] per row (applied with probability apply), then the run's
// standardisation (when standardise), then Gaussian noise of standard deviation noise. Draws are
// keyed by (run seed, step, tag, row): two views share a mask exactly when they share the tag.
// A row's stream is read in Philox blocks of 4 words: block 0 holds the row's two uniforms
// (apply, dropout probability); block 1 + j serves neurons 2j and 2j + 1 (a dropout word each,
// compared in integer space, and one word_normal_pair for their noise). The arithmetic is float
// and lives in the static helpers, which the CPU fast path (cpu_augment.hpp) shares, so both give
// the same bits.
template <class T>
struct AugmentRows {
  const float* counts;           // [bins, neurons]
  const std::int32_t* bins;      // [R * rows]
  const float* mean;             // [R, neurons]
  const float* inv_std;          // [R, neurons]
  const std::uint64_t* seeds;    // [R]
  T* out;                        // [R * rows, neurons]
  std::int64_t rows, neurons;
  std::uint32_t step, tag;
  double max_dropout, apply, noise;
  bool standardise;
  // Optional second view sharing every draw of the first (MYOW's structured augmentation): row i
  // of out_b is bin bins_b[i] under row i's mask and noise, the bits of a second launch with the
  // same tag, for one set of draws.
  const std::int32_t* bins_b = nullptr;
  T* out_b = nullptr;

  // A neuron drops when its word is below threshold (all drop when drop_all): the words are
  // uniform, so that is u < p for u = (word + 1/2) 2^-32.
  struct RowDropout {
    std::uint32_t threshold;
    bool drop_all;
  };
  ENGRAM_HD static RowDropout row_dropout(std::uint32_t w_apply, std::uint32_t w_p, double apply, double max_dropout) {
    const double u_apply = (static_cast<double>(w_apply) + 0.5) * 0x1.0p-32;
    const double p = u_apply < apply ? max_dropout * ((static_cast<double>(w_p) + 0.5) * 0x1.0p-32) : 0.0;
    // word < p 2^32 - 1/2, for integer words: word < ceil(p 2^32 - 1/2).
    const double t = ::ceil(p * 0x1.0p32 - 0.5);
    if (t >= 0x1.0p32) return {0xFFFFFFFFu, true};
    return {t > 0.0 ? static_cast<std::uint32_t>(t) : 0u, false};
  }
  ENGRAM_HD static RngStream row_stream(std::uint64_t seed, std::uint32_t tag, std::uint32_t step, std::int64_t row) {
    return RngStream(RngKey{seed, tag, purpose::augment, step, static_cast<std::uint32_t>(row)});
  }
  ENGRAM_HD static float value(float count, std::uint32_t w_drop, RowDropout d, float mean, float inv_std,
                               bool standardise, float noise, float z) {
    const bool dropped = d.drop_all || w_drop < d.threshold;
    float v = dropped ? 0.0f : count;
    v = standardise ? (v - mean) * inv_std : v;
    return v + noise * z;
  }

  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / rows, row = i % rows;
    RngStream rng = row_stream(seeds[r], tag, step, row);
    const std::uint32_t w_apply = rng.next_u32(), w_p = rng.next_u32();
    rng.next_u32();
    rng.next_u32();
    const RowDropout d = row_dropout(w_apply, w_p, apply, max_dropout);
    const float noise_f = static_cast<float>(noise);
    const float* src = counts + static_cast<std::int64_t>(bins[i]) * neurons;
    const float* src_b = bins_b != nullptr ? counts + static_cast<std::int64_t>(bins_b[i]) * neurons : nullptr;
    const float* m = mean + r * neurons;
    const float* s = inv_std + r * neurons;
    T* dst = out + i * neurons;
    T* dst_b = out_b != nullptr ? out_b + i * neurons : nullptr;
    for (std::int64_t n = 0; n < neurons; n += 2) {
      const std::uint32_t w[2] = {rng.next_u32(), rng.next_u32()};
      const std::uint32_t w2 = rng.next_u32(), w3 = rng.next_u32();
      float z[2];
      word_normal_pair(w2, w3, z[0], z[1]);
      for (std::int64_t j = 0; j < 2 && n + j < neurons; ++j) {
        dst[n + j] = static_cast<T>(value(src[n + j], w[j], d, m[n + j], s[n + j], standardise, noise_f, z[j]));
        if (src_b != nullptr) {
          dst_b[n + j] = static_cast<T>(value(src_b[n + j], w[j], d, m[n + j], s[n + j], standardise, noise_f, z[j]));
        }
      }
    }
  }
};

}  // namespace engram::ssl
