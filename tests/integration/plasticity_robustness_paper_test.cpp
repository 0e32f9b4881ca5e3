// Cristian et al.'s robustness experiment as bench/plasticity_robustness_paper.yaml runs it (L2
// PGD at their epsilons scaled to the 8x8 digits, only the images every model gets right): over
// five seeds the halfspace-learned rule's network is *less* robust than the same network trained
// by backpropagation: PGD accuracy 14.9 +- 3.5 points lower averaged over the epsilons (8 seeds,
// scripts/reproduce.py --only plasticity_robustness_paper), so the band is [-30, -5] points. The
// paper reports the opposite; docs/plasticity.md explains the difference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/models/job_kinds.hpp"

namespace {

double real(const engram::sched::Cell& c) {
  return std::holds_alternative<double>(c) ? std::get<double>(c) : static_cast<double>(std::get<std::int64_t>(c));
}

TEST(PlasticityRobustnessPaper, RuleTrainedNetworkIsLessRobustThanBackpropOverSeeds) {
  // The bench config as scripts/reproduce.py runs it, attacking the first 100 of the images every
  // model gets right instead of all of them (~350), to keep the suite short.
  std::ifstream file(std::string(ENGRAM_SOURCE_DIR) + "/bench/plasticity_robustness_paper.yaml");
  std::stringstream text;
  text << file.rdbuf();
  std::string yaml = text.str();
  const std::size_t examples = yaml.find("examples: 450");
  ASSERT_NE(examples, std::string::npos);
  yaml.replace(examples, 13, "examples: 100");
  const engram::io::ConfigNode config = engram::io::load_config_string(yaml);
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  kind.validate(config);
  const std::vector<std::string> columns = kind.result_columns(config);
  const auto at = [&](const std::string& name) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return std::size_t{0};
  };
  auto backend = engram::make_backend("cpu");
  const engram::Progress context;
  std::vector<engram::sched::JobInput> jobs;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) jobs.push_back({config, seed});
  const auto rows = kind.run_batch(jobs, *backend, context);
  ASSERT_EQ(rows.size(), 5u);
  constexpr int kEpsilons = 8;  // the config's: 0 and the paper's 0.5 .. 3.5, scaled
  double gap_sum = 0.0, rule_clean = 0.0, grad_clean = 0.0;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), columns.size());
    // Only images both networks get right are attacked, so both curves start at 100%.
    EXPECT_EQ(real(row[at("rule_pgd_0")]), 1.0);
    EXPECT_EQ(real(row[at("gradient_pgd_0")]), 1.0);
    EXPECT_EQ(real(row[at("attacked")]), 100.0);
    double gap = 0.0;
    for (int e = 1; e < kEpsilons; ++e) {
      const double rule = real(row[at("rule_pgd_" + std::to_string(e))]);
      const double grad = real(row[at("gradient_pgd_" + std::to_string(e))]);
      // PGD starts from FGSM's point and keeps its best iterate: never weaker.
      EXPECT_LE(rule, real(row[at("rule_fgsm_" + std::to_string(e))]) + 1e-12);
      EXPECT_LE(grad, real(row[at("gradient_fgsm_" + std::to_string(e))]) + 1e-12);
      gap += (rule - grad) / (kEpsilons - 1);
    }
    gap_sum += gap;
    rule_clean += real(row[at("rule_accuracy")]);
    grad_clean += real(row[at("gradient_accuracy")]);
  }
  const double gap = 100.0 * gap_sum / 5.0;
  std::printf("5 seeds: clean accuracy rule %.1f%%, gradient %.1f%%; PGD (L2) accuracy rule minus gradient, mean over "
              "the 7 nonzero epsilons: %.1f points\n",
              100.0 * rule_clean / 5.0, 100.0 * grad_clean / 5.0, gap);
  EXPECT_GT(gap, -30.0) << "the rule-trained network lost far more than the multi-seed figures say";
  EXPECT_LT(gap, -5.0) << "the rule-trained network is no longer less robust than backprop's";
}

}  // namespace
