#include "engram/models/ssl/reach_runs.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/error.hpp"

namespace engram::ssl {

ReachRuns::ReachRuns(const ReachData& data, std::vector<std::uint64_t> seeds, double test_fraction)
    : data_(data), seeds_(std::move(seeds)) {
  const std::int64_t trials = data.trials;
  // Any positive fraction holds out at least one trial; 0 trains on all of them (engram.nn's fit).
  const std::int64_t test =
      test_fraction > 0 ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(test_fraction * static_cast<double>(trials))))
                        : 0;
  if (test >= trials) {
    throw Error::bad_input("evaluation.test_fraction", to_text(test_fraction),
                           "leaves no training trial (" + std::to_string(trials) + " trials)");
  }
  const std::size_t N = static_cast<std::size_t>(data.neurons);
  for (std::uint64_t seed : seeds_) {
    std::vector<std::int32_t> order(static_cast<std::size_t>(trials));
    for (std::int32_t t = 0; t < trials; ++t) order[static_cast<std::size_t>(t)] = t;
    RngStream rng(RngKey{seed, 0, purpose::split, 0, 0});
    for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.next_u64() % (i + 1)]);
    RunSplit s;
    s.test_trials.assign(order.begin(), order.begin() + test);
    s.train_trials.assign(order.begin() + test, order.end());
    std::sort(s.test_trials.begin(), s.test_trials.end());
    std::sort(s.train_trials.begin(), s.train_trials.end());
    for (std::int32_t t : s.train_trials) {
      for (std::int64_t b = data.trial_start[static_cast<std::size_t>(t)]; b < data.trial_start[static_cast<std::size_t>(t) + 1]; ++b) {
        s.train_bins.push_back(static_cast<std::int32_t>(b));
      }
    }
    for (std::int32_t t : s.test_trials) {
      for (std::int64_t b = data.trial_start[static_cast<std::size_t>(t)]; b < data.trial_start[static_cast<std::size_t>(t) + 1]; ++b) {
        s.test_bins.push_back(static_cast<std::int32_t>(b));
      }
    }
    std::vector<double> sum(N, 0.0), sq(N, 0.0);
    for (std::int32_t b : s.train_bins) {
      for (std::size_t n = 0; n < N; ++n) {
        const double c = data.counts[static_cast<std::size_t>(b) * N + n];
        sum[n] += c;
        sq[n] += c * c;
      }
    }
    const double count = static_cast<double>(s.train_bins.size());
    s.mean.resize(N);
    s.inv_std.resize(N);
    for (std::size_t n = 0; n < N; ++n) {
      const double m = sum[n] / count, var = std::max(0.0, sq[n] / count - m * m);
      s.mean[n] = static_cast<float>(m);
      // A silent neuron (the real recording has a few) stays at zero instead of dividing by 0.
      s.inv_std[n] = static_cast<float>(std::sqrt(var) > 1e-3 ? 1.0 / std::sqrt(var) : 1.0);
    }
    means_.insert(means_.end(), s.mean.begin(), s.mean.end());
    inv_stds_.insert(inv_stds_.end(), s.inv_std.begin(), s.inv_std.end());
    splits_.push_back(std::move(s));
  }
}

std::int64_t ReachRuns::min_train_bins() const {
  std::int64_t m = -1;
  for (const RunSplit& s : splits_) {
    const auto n = static_cast<std::int64_t>(s.train_bins.size());
    m = m < 0 ? n : std::min(m, n);
  }
  return m;
}

std::vector<std::int32_t> ReachRuns::sample_anchors(std::uint32_t step, std::int64_t rows, std::uint32_t tag) const {
  std::vector<std::int32_t> out;
  out.reserve(static_cast<std::size_t>(runs() * rows));
  for (std::int64_t r = 0; r < runs(); ++r) {
    const auto& bins = splits_[static_cast<std::size_t>(r)].train_bins;
    RngStream rng(RngKey{seeds_[static_cast<std::size_t>(r)], tag, purpose::views, step, 0});
    for (std::int64_t i = 0; i < rows; ++i) out.push_back(bins[rng.next_u64() % bins.size()]);
  }
  return out;
}

std::vector<std::int32_t> ReachRuns::sample_neighbours(const std::vector<std::int32_t>& anchors, std::uint32_t step,
                                                       std::int64_t max_offset, std::uint32_t tag, std::int64_t min_offset) const {
  std::vector<std::int32_t> out(anchors.size());
  const std::int64_t rows = static_cast<std::int64_t>(anchors.size()) / runs();
  for (std::int64_t r = 0; r < runs(); ++r) {
    RngStream rng(RngKey{seeds_[static_cast<std::size_t>(r)], tag, purpose::views, step, 1});
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::size_t k = static_cast<std::size_t>(r * rows + i);
      const std::int32_t a = anchors[k];
      const std::int32_t t = data_.trial[static_cast<std::size_t>(a)];
      const std::int64_t first = data_.trial_start[static_cast<std::size_t>(t)];
      const std::int64_t last = data_.trial_start[static_cast<std::size_t>(t) + 1] - 1;
      const std::int64_t lo = std::max(first, a - max_offset), hi = std::min(last, a + max_offset);
      // Any bin of the window whose offset is at least min_offset, uniformly: the window minus
      // the (2 min_offset - 1) bins around the anchor, counted in order.
      const std::int64_t near_lo = std::max(lo, a - min_offset + 1), near_hi = std::min(hi, a + min_offset - 1);
      const std::int64_t excluded = min_offset > 0 ? near_hi - near_lo + 1 : 0;
      const std::int64_t choices = hi - lo + 1 - excluded;
      if (choices <= 0) {
        out[k] = a;
        continue;
      }
      std::int64_t pick = lo + static_cast<std::int64_t>(rng.next_u64() % static_cast<std::uint64_t>(choices));
      if (excluded > 0 && pick >= near_lo) pick += excluded;
      out[k] = static_cast<std::int32_t>(pick);
    }
  }
  return out;
}

void ReachRuns::sample_query_and_pool(std::uint32_t step, std::int64_t rows, std::int64_t pool_rows,
                                      std::vector<std::int32_t>& queries, std::vector<std::int32_t>& pool) const {
  queries.clear();
  pool.clear();
  for (std::int64_t r = 0; r < runs(); ++r) {
    const RunSplit& s = splits_[static_cast<std::size_t>(r)];
    RngStream rng(RngKey{seeds_[static_cast<std::size_t>(r)], 0, purpose::views, step, 2});
    std::vector<std::int32_t> trials = s.train_trials;
    for (std::size_t i = trials.size() - 1; i > 0; --i) std::swap(trials[i], trials[rng.next_u64() % (i + 1)]);
    const std::size_t half = trials.size() / 2;
    auto draw = [&](std::size_t from, std::size_t to, std::int64_t n, std::vector<std::int32_t>& into) {
      std::vector<std::int32_t> bins;
      for (std::size_t i = from; i < to; ++i) {
        const std::int32_t t = trials[i];
        for (std::int64_t b = data_.trial_start[static_cast<std::size_t>(t)]; b < data_.trial_start[static_cast<std::size_t>(t) + 1]; ++b) {
          bins.push_back(static_cast<std::int32_t>(b));
        }
      }
      for (std::int64_t i = 0; i < n; ++i) into.push_back(bins[rng.next_u64() % bins.size()]);
    };
    draw(0, half, rows, queries);
    draw(half, trials.size(), pool_rows, pool);
  }
}

}  // namespace engram::ssl
