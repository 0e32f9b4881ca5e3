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
#include <cstdint>
#include <vector>

#include "engram/kernels/core/random.hpp"
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
  ENGRAM_HD void operator()(std::int64_t i) const {
    const std::int64_t r = i / rows, row = i % rows;
    RngStream rng(RngKey{seeds[r], tag, purpose::augment, step, static_cast<std::uint32_t>(row)});
    const double p = rng.uniform() < apply ? max_dropout * rng.uniform() : 0.0;
    const float* src = counts + static_cast<std::int64_t>(bins[i]) * neurons;
    T* dst = out + i * neurons;
    // Two neurons at a time: their dropout draws, then one Box-Muller pair for their noise.
    for (std::int64_t n = 0; n < neurons; n += 2) {
      const std::int64_t count = neurons - n < 2 ? neurons - n : 2;
      double v[2] = {0.0, 0.0}, z[2] = {0.0, 0.0};
      for (std::int64_t j = 0; j < count; ++j) {
        v[j] = p > 0.0 && rng.uniform() < p ? 0.0 : static_cast<double>(src[n + j]);
        if (standardise) v[j] = (v[j] - mean[r * neurons + n + j]) * inv_std[r * neurons + n + j];
      }
      if (noise > 0.0) rng.normal_pair(z[0], z[1]);
      for (std::int64_t j = 0; j < count; ++j) dst[n + j] = static_cast<T>(noise > 0.0 ? v[j] + noise * z[j] : v[j]);
    }
  }
};

}  // namespace engram::ssl
