// Cristian et al.'s robustness experiment as bench/plasticity_robustness_paper.yaml runs it (L2
// PGD at their epsilons scaled to the 8x8 digits, only the images every model gets right): over
// five seeds the halfspace-learned rule's network is *less* robust than the same network trained
// by backpropagation: PGD accuracy 14.9 +- 3.5 points lower averaged over the epsilons (8 seeds,
// scripts/reproduce.py --only plasticity_robustness_paper), so the band is [-30, -5] points. The
// paper reports the opposite; the second test shows why (its own attack is masked by a saturated
// softmax on the rule's readout at BrainNet's scale); docs/plasticity.md has the rest.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/job_kind.hpp"
#include "engram/models/job_kinds.hpp"

namespace {

double real(const engram::sched::Cell& c) {
  return std::holds_alternative<double>(c) ? std::get<double>(c) : static_cast<double>(std::get<std::int64_t>(c));
}

// The bench config as scripts/reproduce.py runs it, with `edits` (find, replace) applied to its text.
engram::io::ConfigNode paper_config(const std::vector<std::pair<std::string, std::string>>& edits) {
  std::ifstream file(std::string(ENGRAM_SOURCE_DIR) + "/bench/plasticity_robustness_paper.yaml");
  std::stringstream text;
  text << file.rdbuf();
  std::string yaml = text.str();
  for (const auto& [find, replace] : edits) {
    const std::size_t at = yaml.find(find);
    EXPECT_NE(at, std::string::npos) << find;
    if (at != std::string::npos) yaml.replace(at, find.size(), replace);
  }
  return engram::io::load_config_string(yaml);
}

// Mean over seeds of (rule - gradient) accuracy under `attack`, averaged over the nonzero epsilons.
double mean_gap(const std::vector<engram::sched::Row>& rows, const std::vector<std::string>& columns, const std::string& attack,
                int epsilons) {
  const auto at = [&](const std::string& name) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return i;
    }
    ADD_FAILURE() << "no column " << name;
    return std::size_t{0};
  };
  double sum = 0.0;
  for (const auto& row : rows) {
    for (int e = 1; e < epsilons; ++e) {
      sum += real(row[at("rule_" + attack + "_" + std::to_string(e))]) - real(row[at("gradient_" + attack + "_" + std::to_string(e))]);
    }
  }
  return 100.0 * sum / static_cast<double>(rows.size() * (epsilons - 1));
}

TEST(PlasticityRobustnessPaper, RuleTrainedNetworkIsLessRobustThanBackpropOverSeeds) {
  // Attacking the first 100 of the images every model gets right instead of all of them (~350),
  // to keep the suite short.
  const engram::io::ConfigNode config = paper_config({{"examples: 450", "examples: 100"}});
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

TEST(PlasticityRobustnessPaper, ThePapersAttackIsMaskedAtBrainNetsReadoutScale) {
  // The paper's own attack (targeted, Adam, cross-entropy of the softmax probabilities) on the rule's
  // readout at BrainNet's scale (eta 10): the rule-trained network looks far more robust than
  // backprop's (+24.1 +- 7.0 points, 8 seeds, scripts/reproduce.py --only
  // plasticity_robustness_paper_masked) while PGD on the very same networks finds it less robust
  // (-15.5 +- 2.7): gradient masking, not robustness. Two seeds, 50 images each: bands [5, 60] and
  // [-30, -5] points.
  const engram::io::ConfigNode config = paper_config(
      {{"  eta: 0.1 ", "  eta: 10 "}, {"kinds: [fgsm, pgd]", "kinds: [targeted, pgd]"}, {"examples: 450", "examples: 50"}});
  const engram::sched::JobKind& kind = engram::models::job_kind(config);
  kind.validate(config);
  auto backend = engram::make_backend("cpu");
  const auto rows = kind.run_batch({{config, 1}, {config, 2}}, *backend, engram::Progress{});
  const std::vector<std::string> columns = kind.result_columns(config);
  const double targeted = mean_gap(rows, columns, "targeted", 8), pgd = mean_gap(rows, columns, "pgd", 8);
  std::printf("2 seeds, eta 10: rule minus gradient accuracy, mean over the nonzero epsilons: the paper's attack %+.1f points, "
              "PGD %+.1f points\n", targeted, pgd);
  EXPECT_GT(targeted, 5.0) << "the paper's attack no longer sees the rule-trained network as more robust";
  EXPECT_LT(targeted, 60.0);
  EXPECT_GT(pgd, -30.0);
  EXPECT_LT(pgd, -5.0) << "PGD no longer finds the rule-trained network less robust";
}

}  // namespace
