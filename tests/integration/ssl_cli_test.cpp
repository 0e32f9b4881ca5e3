// The self-supervised kinds through the `engram` CLI: a small synthetic swap_vae and myow run
// writes its tables, a sweep runs, and a bad recording is refused (exit 2) with the array named
// and nothing written.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "engram/models/data/npz.hpp"
#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;

class SslCliTest : public engram::testing::ScratchDirTest {
 protected:
  SslCliTest() : ScratchDirTest("engram_ssl_cli_") {}
};

constexpr const char* kSmallData = R"(data: {source: synthetic, trials: 30, time: 6, neurons: 10}
evaluation: {splits: 2, test_fraction: 0.2, pca_dims: 4}
)";

TEST_F(SslCliTest, SwapVaeWritesAccuracyCurvesAndEmbedding) {
  const auto r = engram::testing::run_cli("run " + write_config(std::string("experiment: swap_vae\nseed: 2\n") + kSmallData +
                                                                "model: {hidden: [8], content: 3, style: 3}\n"
                                                                "train: {epochs: 3, batch: 16}\n") +
                                          " --out " + (dir_ / "o").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("swap_vae: accuracy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("beta_vae: accuracy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pca: accuracy"), std::string::npos) << r.output;
  const std::string acc = engram::testing::read_file(dir_ / "o" / "accuracy.csv");
  EXPECT_EQ(acc.rfind("method,split,seed,accuracy,delta_accuracy,train_accuracy,test_bins\n", 0), 0u) << acc;
  // 4 methods (swap_vae, its style block, beta_vae, pca) x 2 splits + header.
  EXPECT_EQ(std::count(acc.begin(), acc.end(), '\n'), 9);
  const std::string curves = engram::testing::read_file(dir_ / "o" / "curves.csv");
  EXPECT_NE(curves.find("swap_vae,1,3,kl,"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "o" / "embedding.csv"));
  // splits.csv: each split lists all 30 trials once, 6 of them (20%) tested, the splits differing.
  const std::string splits = engram::testing::read_file(dir_ / "o" / "splits.csv");
  ASSERT_EQ(splits.rfind("split,seed,trial,test\n", 0), 0u) << splits;
  std::istringstream lines(splits.substr(splits.find('\n') + 1));
  std::map<int, std::set<int>> trials, tested;
  for (std::string line; std::getline(lines, line);) {
    int split = 0, trial = 0, test = 0;
    long long seed = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d,%lld,%d,%d", &split, &seed, &trial, &test), 4) << line;
    EXPECT_EQ(seed, 2000 + split) << line;
    EXPECT_TRUE(trials[split].insert(trial).second) << "trial listed twice: " << line;
    if (test) tested[split].insert(trial);
  }
  ASSERT_EQ(trials.size(), 2u);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(trials[s].size(), 30u);
    EXPECT_EQ(tested[s].size(), 6u);
  }
  EXPECT_NE(tested[0], tested[1]);
}

TEST_F(SslCliTest, MyowSweepRunsAndBadRecordingWritesNothing) {
  const auto r = engram::testing::run_cli(
      "run " +
      write_config(std::string("experiment: myow\nseed: 2\n") + kSmallData +
                   "model: {hidden: [8], representation: 6, projection: 4, projection_hidden: 8, mined_projection: 3, "
                   "mined_hidden: 4, mining_warmup_epochs: 0, mining_rampup_epochs: 1}\n"
                   "train: {epochs: 2, batch: 16, pool: 20}\n"
                   "sweep: {grid: {train.lr: [0.001, 0.002]}}\n") +
      " --out " + (dir_ / "s").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string results = engram::testing::read_file(dir_ / "s" / "results.csv");
  EXPECT_NE(results.find("myow_accuracy"), std::string::npos) << results;
  EXPECT_NE(results.find("byol_accuracy"), std::string::npos) << results;

  std::vector<double> counts(12, 1.0);
  engram::data::write_npz((dir_ / "bad.npz").string(), {{"counts", {3, 4}, "<i4", counts},
                                                         {"trial", {3}, "<i4", {0, 1, 0}},
                                                         {"direction", {3}, "<i4", {1, 2, 2}}});
  const auto bad = engram::testing::run_cli("run " + write_config("experiment: myow\ndata: {path: bad.npz}\n", "bad.yaml") +
                                            " --out " + (dir_ / "b").string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("trial[2]"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir_ / "b" / "accuracy.csv"));

  // A partner window that excludes every bin is refused, naming the key.
  const auto window = engram::testing::run_cli(
      "run " + write_config(std::string("experiment: myow\n") + kSmallData + "train: {max_offset: 2, min_offset: 3}\n", "w.yaml") +
      " --out " + (dir_ / "w").string());
  EXPECT_EQ(window.exit_code, 2) << window.output;
  EXPECT_NE(window.output.find("train.min_offset"), std::string::npos) << window.output;
  EXPECT_FALSE(fs::exists(dir_ / "w" / "accuracy.csv"));
}

}  // namespace
