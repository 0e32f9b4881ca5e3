// The CLI end of issue "one launch path": a train_transformer sweep packs its jobs into batches
// of training runs with the same rows at any --max-batch, and a CPU run never maps a CUDA library.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#ifdef ENGRAM_CLI

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;

class LaunchCliTest : public engram::testing::ScratchDirTest {
 protected:
  LaunchCliTest() : ScratchDirTest("engram_launch_cli_") {}
};

const char* kTransformerSweep = R"(experiment: train_transformer
seed: 1
backend: cpu
data: {source: angle, trials: 40, time: 2, neurons: 16, classes: 4, gain: 3.0}
model: {width: 16, heads: 1, head_dim: 16, individual_layers: 1, population_layers: 1, dropout: 0.1, neuron_embedding: true}
train: {steps: 3, batch: 8, lr: 0.01}
sweep:
  seeds: 2
  grid:
    train.lr: {start: 0.002, stop: 0.02, num: 4}
)";

std::vector<std::string> sorted_lines(const fs::path& path) {
  std::istringstream in(engram::testing::read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST_F(LaunchCliTest, TransformerSweepRowsDoNotDependOnBatchSize) {
  const std::string config = write_config(kTransformerSweep);
  const auto one = engram::testing::run_cli("run " + config + " --backend cpu --max-batch 1 --out " + (dir_ / "b1").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto eight = engram::testing::run_cli("run " + config + " --backend cpu --max-batch 8 --out " + (dir_ / "b8").string(),
                                              "OMP_NUM_THREADS=2");
  ASSERT_EQ(eight.exit_code, 0) << eight.output;
  const auto rows = sorted_lines(dir_ / "b1" / "results.csv");
  ASSERT_EQ(rows.size(), 9u) << "a header and 8 jobs (4 learning rates x 2 seeds)";
  EXPECT_EQ(sorted_lines(dir_ / "b8" / "results.csv"), rows);
  // Eight jobs of one shape class fill one batch at --max-batch 8.
  EXPECT_NE(eight.output.find("1 batch(es)"), std::string::npos) << eight.output;
}

TEST_F(LaunchCliTest, CpuRunMapsNoCudaLibrary) {
  const std::string config = engram::testing::read_file(fs::path(ENGRAM_SOURCE_DIR) / "examples" / "train_transformer.yaml");
  const auto r = engram::testing::run_cli("run " + write_config(config) + " --backend cpu --out " + (dir_ / "o").string() +
                                          " --print-mapped-libraries");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The listing is there (the C library is always mapped), and names nothing from CUDA.
  EXPECT_NE(r.output.find("mapped: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("libc.so"), std::string::npos) << r.output;
  for (const char* cuda : {"libcuda", "libcudart", "libcublas", "libengram_cuda"}) {
    EXPECT_EQ(r.output.find(cuda), std::string::npos) << cuda << " is mapped:\n" << r.output;
  }
}

TEST_F(LaunchCliTest, TrainTransformerAcceptsCudaAndRefusesOnlyWithoutADevice) {
  const bool gpu = engram::testing::run_cli("info").output.find("cuda:0") != std::string::npos;
  const std::string config = engram::testing::read_file(fs::path(ENGRAM_SOURCE_DIR) / "examples" / "train_transformer.yaml");
  const auto r = engram::testing::run_cli("run " + write_config(config) + " --backend cuda --out " + (dir_ / "o").string());
  if (gpu) {
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(fs::exists(dir_ / "o"));
  } else {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("backend = cuda: no usable CUDA device"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("cpu backend only"), std::string::npos) << "the old refusal must be gone: " << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "o"));
  }
}

}  // namespace

#endif  // ENGRAM_CLI
