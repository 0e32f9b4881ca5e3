// The learned-plasticity job kinds end to end: the shipped robustness example through the CLI
// (one command -> the accuracy-versus-epsilon table), bad rule tables rejected with exit 2 and
// the field named, and sweep rows that do not depend on their batch mates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/models/job_kinds.hpp"
#include "support/cli.hpp"

namespace fs = std::filesystem;

namespace {

class PlasticityCli : public engram::testing::ScratchDirTest {
 protected:
  PlasticityCli() : ScratchDirTest("engram_plasticity_cli_") {}
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(PlasticityCli, RobustnessExampleWritesCurvesForBothModels) {
  const auto r = engram::testing::run_cli("run " + std::string(ENGRAM_SOURCE_DIR) + "/examples/plasticity_robustness.yaml --out " +
                                          (dir_ / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = lines_of(engram::testing::read_file(dir_ / "out" / "robustness.csv"));
  ASSERT_EQ(rows.size(), 1u + 2 * 2 * 5);  // header + {rule, gradient} x {fgsm, pgd} x 5 epsilons
  EXPECT_EQ(rows[0], "model,attack,epsilon,accuracy");
  EXPECT_NE(rows[1].find("rule,fgsm,0,"), std::string::npos);
  EXPECT_NE(rows.back().find("gradient,pgd,0.4,"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "out" / "metrics.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "rule.csv"));
}

TEST_F(PlasticityCli, BadRuleTablesExitTwoNamingTheField) {
  const std::string base = "experiment: plasticity_meta\nnetwork: {neurons: 20, cap: 10, rounds: 1}\nmeta: {method: none}\n";
  auto r = engram::testing::run_cli("run " + write_config(base + "rule: {table: [1, 2, 3]}\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("rule.table = 3 values"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("28 values"), std::string::npos) << r.output;
  std::string nan_table = "rule: {table: [.nan";
  for (int i = 1; i < 28; ++i) nan_table += ", 0";
  r = engram::testing::run_cli("run " + write_config(base + nan_table + "]}\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("rule.table[0] = .nan"), std::string::npos) << r.output;
  r = engram::testing::run_cli("run " + write_config(base + "data: {kind: spirals}\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("data.kind = spirals"), std::string::npos) << r.output;
  r = engram::testing::run_cli("run " + write_config("experiment: plasticity_meta\nnetwork: {neurons: 20, cap: 30}\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("network.cap = 30"), std::string::npos) << r.output;
}

TEST(PlasticityJobs, SweepRowsDoNotDependOnBatchMates) {
  const engram::io::ConfigNode config = engram::io::load_config_string(
      "experiment: plasticity_meta\nnetwork: {neurons: 30, cap: 15, rounds: 1}\n"
      "meta: {method: es, steps: 2, batch: 20, population: 8, sigma: 0.05}\n"
      "data: {kind: relu_teacher, inputs: 6, labels: 3, train_examples: 100, test_examples: 100}\n"
      "baseline: {epochs: 1}\n");
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  EXPECT_EQ(kind.name(), "plasticity_meta");
  kind.validate(config);
  auto backend = engram::make_backend("cpu");
  const engram::Progress context;
  const auto alone = kind.run_batch({{config, 7}}, *backend, context);
  const auto together = kind.run_batch({{config, 5}, {config, 7}}, *backend, context);
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_EQ(together.size(), 2u);
  EXPECT_EQ(alone[0], together[1]);
  EXPECT_NE(together[0], together[1]);
  EXPECT_EQ(alone[0].size(), kind.result_columns(config).size());
}

TEST(PlasticityJobs, NaturalSelectionEvolvesOneEntry) {
  const engram::io::ConfigNode config = engram::io::load_config_string(
      "experiment: plasticity_meta\nnetwork: {neurons: 30, cap: 15, rounds: 1}\nrule: {init: zeros}\n"
      "meta: {method: selection, entry: 26, steps: 3, batch: 20, population: 6, mutation: 0.5}\n"
      "data: {kind: halfspace, inputs: 6, train_examples: 100, test_examples: 100}\nbaseline: {enabled: false}\n");
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  kind.validate(config);
  const engram::sched::Results r = engram::sched::run_config(config, kind, {}, {});
  const engram::sched::Table* rule = nullptr;
  const engram::sched::Table* training = nullptr;
  for (const auto& t : r.tables) {
    if (t.name == "rule") rule = &t;
    if (t.name == "training") training = &t;
  }
  ASSERT_NE(rule, nullptr);
  ASSERT_NE(training, nullptr);
  EXPECT_EQ(training->rows(), 3u);  // one best loss per generation
  const auto& learned = rule->columns[5].reals;
  ASSERT_EQ(learned.size(), 28u);
  for (std::size_t k = 0; k < 28; ++k) {
    if (k != 26) {
      EXPECT_EQ(learned[k], 0.0) << k;
    }
  }
  EXPECT_NE(learned[26], 0.0);
  EXPECT_THROW(kind.validate(engram::io::load_config_string("experiment: plasticity_meta\nmeta: {method: selection, entry: 28}\n")),
               engram::Error);
}

TEST(PlasticityJobs, IdxFilesTrainTheClosedFormRule) {
  // The MNIST-format loader on the bundled digits files, as a user's MNIST files would be given.
  const std::string data = std::string(ENGRAM_SOURCE_DIR) + "/data/";
  const engram::io::ConfigNode config = engram::io::load_config_string(
      "experiment: plasticity_meta\nnetwork: {neurons: 100, cap: 50, rounds: 1, p: 0.5}\n"
      "rule: {init: perceptron}\nmeta: {method: none}\nbaseline: {enabled: false}\n"
      "data: {kind: idx, images: " + data + "digits-images.idx3-ubyte, label_file: " + data +
      "digits-labels.idx1-ubyte, train_examples: 1000}\n");
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  kind.validate(config);
  const engram::sched::Results r = engram::sched::run_config(config, kind, {}, {});
  const engram::sched::Table& metrics = r.tables.at(0);
  ASSERT_EQ(metrics.name, "metrics");
  ASSERT_EQ(metrics.rows(), 3u);  // initial, learned, perceptron rule on the idx set
  EXPECT_EQ(metrics.columns[0].texts[0], "idx");
  EXPECT_GT(metrics.columns[2].reals[2], 0.7);  // the closed-form rule learns the digits

  const engram::io::ConfigNode missing = engram::io::load_config_string(
      "experiment: plasticity_meta\ndata: {kind: idx, images: /no/such/file, label_file: /no/such/labels}\n");
  try {
    kind.validate(missing);
    FAIL() << "no error";
  } catch (const engram::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/file"), std::string::npos) << e.what();
  }
}

}  // namespace
