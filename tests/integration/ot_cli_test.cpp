// The OT experiment kinds through the `engram` CLI: examples/ot_sinkhorn.yaml end to end, a short
// ot_align run, and bad configs refused with the field named (exit 2).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;

class OtCliTest : public engram::testing::ScratchDirTest {
 protected:
  OtCliTest() : ScratchDirTest("engram_ot_cli_") {}
  static std::vector<std::vector<std::string>> csv(const fs::path& path) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(engram::testing::read_file(path));
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells;
      std::istringstream cells_in(line);
      for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
      rows.push_back(cells);
    }
    return rows;
  }
};

TEST_F(OtCliTest, SinkhornExampleWritesConvergedProblems) {
  const auto r = engram::testing::run_cli("run " ENGRAM_SOURCE_DIR "/examples/ot_sinkhorn.yaml --out " + (dir_ / "s").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = csv(dir_ / "s" / "sinkhorn.csv");
  ASSERT_EQ(rows.size(), 5u);  // header + 4 problems
  EXPECT_EQ(rows[0][5], "converged");
  EXPECT_EQ(rows[0][6], "marginal_error");
  EXPECT_EQ(rows[0][9], "divergence");
  for (std::size_t k = 1; k < rows.size(); ++k) {
    EXPECT_EQ(rows[k][5], "1");
    EXPECT_LT(std::stod(rows[k][6]), 1e-9);
    EXPECT_GT(std::stod(rows[k][9]), 0.0);
    EXPECT_LT(std::stod(rows[k][9]), std::stod(rows[k][8]));  // debiased below the entropic value
  }
}

TEST_F(OtCliTest, AlignmentRunsBothMethods) {
  const auto r = engram::testing::run_cli("run " + write_config(R"(experiment: ot_align
seed: 3
seeds: 2
baseline_align: {max_iter: 3, sinkhorn_max_iter: 20}
)") + " --out " + (dir_ / "a").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("relative error < 0.05 in 2/2 seeds"), std::string::npos) << r.output;
  const auto rows = csv(dir_ / "a" / "alignment.csv");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1][1], "hierarchical");
  EXPECT_EQ(rows[2][1], "single_level");
  EXPECT_LT(std::stod(rows[1][2]), 0.05);
}

TEST_F(OtCliTest, BadConfigsNameTheField) {
  const struct {
    const char* config;
    const char* field;
  } cases[] = {
      {"experiment: sinkhorn\neps: -1\n", "eps = -1"},
      {"experiment: sinkhorn\npoints: {x: [[0, 1], [1, 0]], y: [[0, 1, 2]]}\n", "points.y[0]"},
      {"experiment: sinkhorn\npoints: {x: [[0, 1]], y: [[1, 1]], b: [-1]}\n", "problems[0].b[0]"},
      {"experiment: sinkhorn\nrandom: {n: 0}\n", "random.n"},
      {"experiment: ot_align\ndata: {subspace_dim: 9}\n", "data.subspace_dim"},
      {"experiment: ot_align\nalign: {point_eps: 0}\n", "align.point_eps"},
  };
  for (const auto& c : cases) {
    const auto r = engram::testing::run_cli("run " + write_config(c.config));
    EXPECT_EQ(r.exit_code, 2) << c.config << r.output;
    EXPECT_NE(r.output.find(c.field), std::string::npos) << c.config << r.output;
  }
}

}  // namespace
