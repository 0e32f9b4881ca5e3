// Every kind that reads files resolves relative data paths against the config file's folder
// (ConfigNode::file_path), never the working directory: the same `engram run` works from any cwd,
// for single runs and for sweep jobs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engram/models/data/neural_data.hpp"
#include "engram/models/data/synthetic.hpp"
#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;

class RelativePathsTest : public engram::testing::ScratchDirTest {
 protected:
  RelativePathsTest() : ScratchDirTest("engram_relative_paths_") {}

  // <scratch>/configs/<name> with the data under <scratch>/configs/data/, and a working directory
  // elsewhere (<scratch>/elsewhere) to run from.
  void SetUp() override {
    ScratchDirTest::SetUp();
    fs::create_directories(dir_ / "configs" / "data");
    fs::create_directories(dir_ / "elsewhere");
    const fs::path source = fs::path(ENGRAM_SOURCE_DIR) / "data";
    for (const char* f : {"digits-images.idx3-ubyte", "digits-labels.idx1-ubyte"}) {
      fs::copy_file(source / f, dir_ / "configs" / "data" / f);
    }
    engram::data::AngleSpec spec;
    spec.trials = 24;
    spec.time = 2;
    spec.neurons = 8;
    spec.classes = 3;
    engram::data::save_neural_data((dir_ / "configs" / "data" / "session.npz").string(),
                                   engram::data::angle_population(spec, 1));
  }

  std::string config(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / "configs" / name) << text;
    return name;
  }

  // From another folder: once by absolute path, once by a path relative to that folder.
  void expect_runs(const std::string& name) const {
    const std::string from = "cd " + (dir_ / "elsewhere").string() + " && OMP_NUM_THREADS=1";
    const auto absolute = engram::testing::run_cli(
        "run " + (dir_ / "configs" / name).string() + " --out " + (dir_ / "out_abs" / name).string(), from);
    EXPECT_EQ(absolute.exit_code, 0) << name << ": " << absolute.output;
    const auto relative =
        engram::testing::run_cli("run ../configs/" + name + " --out ../out_rel/" + name, from);
    EXPECT_EQ(relative.exit_code, 0) << name << ": " << relative.output;
    EXPECT_TRUE(fs::exists(dir_ / "out_rel" / name)) << name;
  }
};

TEST_F(RelativePathsTest, ClassifyImages) {
  expect_runs(config("classify.yaml", R"(experiment: classify
mode: implicit
brains: 1
n: 300
k: 30
p: 0.1
beta: 0.2
train: {samples_per_class: 2, rounds: 1}
test: {samples_per_class: 2, steps: 1}
data: {kind: idx, images: data/digits-images.idx3-ubyte, labels: data/digits-labels.idx1-ubyte, threshold: 8}
)"));
}

TEST_F(RelativePathsTest, PlasticityIdxImages) {
  const std::string base = R"(experiment: plasticity_meta
network: {neurons: 30, cap: 15, rounds: 1}
rule: {init: perceptron}
meta: {method: none}
baseline: {enabled: false}
data: {kind: idx, images: data/digits-images.idx3-ubyte, label_file: data/digits-labels.idx1-ubyte,
       train_examples: 50, test_examples: 20}
)";
  expect_runs(config("plasticity.yaml", base));
  expect_runs(config("plasticity_sweep.yaml", base + "sweep: {seeds: 2}\n"));
}

TEST_F(RelativePathsTest, TransformerDataPath) {
  const std::string base = R"(experiment: train_transformer
data: {source: file, path: data/session.npz, classes: 3}
model: {width: 16, heads: 1, head_dim: 16, individual_layers: 1, population_layers: 1}
train: {steps: 2, batch: 4}
)";
  expect_runs(config("transformer.yaml", base));
  expect_runs(config("transformer_sweep.yaml", base + "sweep: {seeds: 2}\n"));
}

}  // namespace
