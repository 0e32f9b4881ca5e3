// Reach recordings for the self-supervised models: the shipped file loads with the shape its
// README states, every malformed file is refused with the array and index named, and the
// synthetic generator is keyed (same seed, same bits).
#include <gtest/gtest.h>

#include <filesystem>
#include <numbers>
#include <string>

#include "engram/engine/error.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/ssl/reach_data.hpp"
#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using engram::data::NpyArray;

class SslDataTest : public engram::testing::ScratchDirTest {
 protected:
  SslDataTest() : ScratchDirTest("engram_ssl_data_") {}
  // A valid 3-trial recording: trials of 2, 3 and 1 bins, 4 neurons.
  static std::vector<NpyArray> valid() {
    std::vector<double> counts(6 * 4);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<double>(i % 5);
    return {{"counts", {6, 4}, "<i4", counts},
            {"trial", {6}, "<i4", {0, 0, 1, 1, 1, 2}},
            {"direction", {6}, "<i4", {3, 3, 0, 0, 0, 7}},
            {"velocity", {6, 2}, "<f4", {1, 0, 0, 6, 3, 4, 0, 0, 1, 1, 9, 9}}};
  }
  std::string write(const std::vector<NpyArray>& arrays) const {
    const std::string path = (dir_ / "reach.npz").string();
    engram::data::write_npz(path, arrays);
    return path;
  }
  // The error's text, which must name `needle`.
  std::string error_of(const std::vector<NpyArray>& arrays) const {
    try {
      engram::ssl::load_reach_data(write(arrays));
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }
};

TEST_F(SslDataTest, ShippedChewieRecordingLoadsAsItsReadmeSays) {
  const auto d = engram::ssl::load_reach_data(ENGRAM_SOURCE_DIR "/data/reach/chewie_2013_10_03.npz");
  EXPECT_EQ(d.bins, 1640);
  EXPECT_EQ(d.neurons, 174);
  EXPECT_EQ(d.trials, 159);
  EXPECT_EQ(d.trial_start.back(), 1640);
  for (std::int64_t t = 0; t < d.trials; ++t) {
    const auto len = d.trial_start[static_cast<std::size_t>(t) + 1] - d.trial_start[static_cast<std::size_t>(t)];
    EXPECT_GE(len, 9);
    EXPECT_LE(len, 14);
  }
  double moving = 0;
  for (float s : d.speed) moving += s > 5.0f ? 1 : 0;
  EXPECT_NEAR(moving / 1640.0, 0.546, 0.01);  // computed with numpy from the same file
}

TEST_F(SslDataTest, ValidSmallFileRoundTrips) {
  const auto d = engram::ssl::load_reach_data(write(valid()));
  EXPECT_EQ(d.trials, 3);
  EXPECT_EQ(d.trial_start, (std::vector<std::int64_t>{0, 2, 5, 6}));
  EXPECT_EQ(d.time_bin, (std::vector<std::int32_t>{0, 1, 0, 1, 2, 0}));
  EXPECT_FLOAT_EQ(d.speed[2], 5.0f);
  EXPECT_DOUBLE_EQ(d.angle(5), 7 * std::numbers::pi / 4);
}

TEST_F(SslDataTest, BadFilesNameTheArrayAndIndex) {
  auto a = valid();
  a.erase(a.begin() + 1);  // no trial
  EXPECT_NE(error_of(a).find("trial"), std::string::npos);
  a = valid();
  a[0].dtype = "<f4";  // float counts
  const std::string dtype = error_of(a);
  EXPECT_NE(dtype.find("counts"), std::string::npos) << dtype;
  EXPECT_NE(dtype.find("<f4"), std::string::npos) << dtype;
  a = valid();
  a[1].values = {0, 0, 1, 2, 1, 2};  // trial 1 after trial 2 at bin 4
  const std::string order = error_of(a);
  EXPECT_NE(order.find("trial[4]"), std::string::npos) << order;
  a = valid();
  a[1].values = {0, 0, 2, 2, 2, 3};  // skips trial 1 at bin 2
  EXPECT_NE(error_of(a).find("trial[2]"), std::string::npos);
  a = valid();
  a[0] = {"counts", {6, 0}, "<i4", {}};  // zero neurons
  const std::string zero = error_of(a);
  EXPECT_NE(zero.find("counts"), std::string::npos) << zero;
  EXPECT_NE(zero.find("neuron"), std::string::npos) << zero;
  a = valid();
  a[2].values = {3, 3, 0, 8, 0, 7};  // direction out of range
  EXPECT_NE(error_of(a).find("direction[3]"), std::string::npos);
  a = valid();
  a[2].values = {3, 3, 0, 1, 0, 7};  // direction changes inside trial 1
  EXPECT_NE(error_of(a).find("direction[3]"), std::string::npos);
  a = valid();
  a[0].values[9] = -1;  // negative count at bin 2, neuron 1
  EXPECT_NE(error_of(a).find("counts[2, 1]"), std::string::npos);
  a = valid();
  a[3].shape = {3, 4};
  EXPECT_NE(error_of(a).find("velocity"), std::string::npos);
}

TEST(SslSyntheticData, IsKeyedAndCarriesItsLatents) {
  engram::ssl::SyntheticReachSpec spec;
  spec.trials = 24;
  spec.neurons = 12;
  const auto a = engram::ssl::synthetic_reach(spec, 5), b = engram::ssl::synthetic_reach(spec, 5);
  const auto c = engram::ssl::synthetic_reach(spec, 6);
  EXPECT_EQ(a.counts, b.counts);
  EXPECT_NE(a.counts, c.counts);
  EXPECT_EQ(a.trials, 24);
  EXPECT_EQ(a.bins, 24 * spec.time);
  ASSERT_EQ(a.style.size(), static_cast<std::size_t>(a.bins));
  // Style peaks mid-trial and varies between trials; direction is constant within a trial.
  EXPECT_GT(a.style[5], a.style[0]);
  EXPECT_NE(a.style[5], a.style[15]);
}

}  // namespace
