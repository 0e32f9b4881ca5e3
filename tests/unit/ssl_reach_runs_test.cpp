// ReachRuns' view sampler: a partner is a bin of the anchor's own trial whose offset lies in
// [min_offset, max_offset], every such bin about equally often, and min_offset 1 is the sampler
// the shipped figures were measured with (the same bits as before the option existed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "engram/models/ssl/reach_runs.hpp"
#include "support/ssl_fixtures.hpp"

namespace {

using engram::ssl::ReachRuns;

TEST(SslReachRuns, NeighboursStayInTheTrialWithinTheOffsetWindow) {
  const auto data = engram::testing::small_reach(4, 30);
  const ReachRuns runs(data, {3, 4}, 0.2);
  for (const std::int64_t min_offset : {0, 1, 2}) {
    SCOPED_TRACE("min_offset " + std::to_string(min_offset));
    // partner offset -> count, for anchors whose whole window lies inside their trial
    std::map<std::int64_t, std::int64_t> interior;
    for (std::uint32_t step = 0; step < 200; ++step) {
      const auto anchors = runs.sample_anchors(step, 16, 0);
      const auto partners = runs.sample_neighbours(anchors, step, 2, 0, min_offset);
      ASSERT_EQ(partners.size(), anchors.size());
      for (std::size_t i = 0; i < anchors.size(); ++i) {
        const std::int32_t a = anchors[i], p = partners[i];
        ASSERT_EQ(data.trial[static_cast<std::size_t>(a)], data.trial[static_cast<std::size_t>(p)]);
        const std::int64_t d = p - a;
        EXPECT_LE(std::abs(d), 2);
        EXPECT_GE(std::abs(d), min_offset);
        const std::int64_t t = data.trial[static_cast<std::size_t>(a)];
        if (a - 2 >= data.trial_start[static_cast<std::size_t>(t)] && a + 2 < data.trial_start[static_cast<std::size_t>(t) + 1]) {
          ++interior[d];
        }
      }
    }
    // An interior anchor's window has 5 bins; the qualifying offsets share the draws evenly.
    const std::size_t expected = min_offset == 0 ? 5 : min_offset == 1 ? 4 : 2;
    ASSERT_EQ(interior.size(), expected);
    std::int64_t total = 0;
    for (const auto& [d, n] : interior) total += n;
    for (const auto& [d, n] : interior) {
      const double share = static_cast<double>(n) / static_cast<double>(total);
      EXPECT_NEAR(share, 1.0 / static_cast<double>(expected), 0.05) << "offset " << d;
    }
  }
}

TEST(SslReachRuns, MinOffsetOneIsTheFormerSampler) {
  const auto data = engram::testing::small_reach(5, 20);
  const ReachRuns runs(data, {7}, 0.2);
  // The former rule, written out: any other bin of the window, uniformly, from the same draw.
  for (std::uint32_t step = 0; step < 20; ++step) {
    const auto anchors = runs.sample_anchors(step, 32, 0);
    const auto partners = runs.sample_neighbours(anchors, step, 3, 0);
    engram::RngStream rng(engram::RngKey{7, 0, engram::ssl::purpose::views, step, 1});
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      const std::int32_t a = anchors[i];
      const std::int32_t t = data.trial[static_cast<std::size_t>(a)];
      const std::int64_t lo = std::max<std::int64_t>(data.trial_start[static_cast<std::size_t>(t)], a - 3);
      const std::int64_t hi = std::min<std::int64_t>(data.trial_start[static_cast<std::size_t>(t) + 1] - 1, a + 3);
      std::int64_t pick = lo + static_cast<std::int64_t>(rng.next_u64() % static_cast<std::uint64_t>(hi - lo));
      if (pick >= a) ++pick;
      EXPECT_EQ(partners[i], pick) << "step " << step << " row " << i;
    }
  }
}

}  // namespace
