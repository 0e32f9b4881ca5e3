// The `engram` executable as a user meets it: exit codes, messages, output files, determinism
// across thread counts.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#ifdef ENGRAM_CLI

#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;

using Result = engram::testing::CliResult;

Result run(const std::string& args, const std::string& env = "") { return engram::testing::run_cli(args, env); }

class CliTest : public engram::testing::ScratchDirTest {
 protected:
  CliTest() : ScratchDirTest("engram_cli_") {}
  static std::string read(const fs::path& path) { return engram::testing::read_file(path); }
};

const char* kSmallProjection = R"(p: 0.01
steps: 12
seed: 5
brains: 3
batch_size: 2
areas: [{name: A, n: 20000, k: 141}]
stimuli: [{name: s, k: 141}]
fibers: [{from: s, to: A, beta: 0.1}, {from: A, to: A, beta: 0.1}]
)";

TEST_F(CliTest, InfoExitsZeroAndExplainsMissingGpu) {
  const Result r = run("info");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("backends compiled in: cpu"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cuda"), std::string::npos) << r.output;
  // The build level and what it enables, as this test binary was compiled (same flags).
  EXPECT_NE(r.output.find(std::string("host code for -march=") + ENGRAM_HOST_ARCH_FOR_TESTS), std::string::npos)
      << r.output;
#ifdef __AVX2__
  EXPECT_NE(r.output.find("AVX2"), std::string::npos) << r.output;
#else
  EXPECT_EQ(r.output.find("AVX2"), std::string::npos) << r.output;
#endif
}

TEST_F(CliTest, ExampleConfigRunsAndWritesCsv) {
  const Result r = run(std::string("run ") + ENGRAM_SOURCE_DIR + "/examples/project.yaml --backend cpu --out " +
                       (dir_ / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = read(dir_ / "out" / "projection.csv");
  EXPECT_EQ(csv.rfind("brain,seed,step,area,k,support,overlap,overlap_fraction\n", 0), 0u);
  // 2 brains x 20 steps x 1 area, plus the header.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 41);
  EXPECT_NE(r.output.find("   20  A"), std::string::npos) << r.output;
}

TEST_F(CliTest, SameBitsWithOneOrTwoThreads) {
  const std::string config = write_config(kSmallProjection);
  const Result one = run("run " + config + " --backend cpu --out " + (dir_ / "t1").string(), "OMP_NUM_THREADS=1");
  const Result two = run("run " + config + " --backend cpu --out " + (dir_ / "t2").string(), "OMP_NUM_THREADS=2");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const std::string a = read(dir_ / "t1" / "projection.csv");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, read(dir_ / "t2" / "projection.csv"));
}

TEST_F(CliTest, BatchSizeDoesNotChangeResults) {
  std::string batched = kSmallProjection;
  std::string alone = kSmallProjection;
  alone.replace(alone.find("batch_size: 2"), 13, "batch_size: 1");
  const Result a = run("run " + write_config(batched) + " --backend cpu --out " + (dir_ / "b2").string());
  const Result b = run("run " + write_config(alone) + " --backend cpu --out " + (dir_ / "b1").string());
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(read(dir_ / "b2" / "projection.csv"), read(dir_ / "b1" / "projection.csv"));
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* expected_message;
};

class CliBadConfig : public CliTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(CliBadConfig, ExitsTwoNamingTheFieldAndWritesNothing) {
  const std::string config = write_config(GetParam().yaml);
  const fs::path out = dir_ / "out";
  const Result r = run("run " + config + " --backend cpu --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(GetParam().expected_message), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out)) << "a failed run must leave no output behind";
}

const BadConfig kBadConfigs[] = {
    {"k_above_n", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 101}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "areas[0].k = 101: must be at most n = 100"},
    {"k_zero", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 0}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "areas[0].k = 0"},
    {"p_zero", "p: 0\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "p = 0: must be in (0, 1]"},
    {"p_above_one", "p: 1.5\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "p = 1.5"},
    {"fiber_p_negative",
     "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1, p: -0.2}]\n",
     "fibers[0].p = -0.2"},
    {"beta_negative", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: -1}]\n",
     "fibers[0].beta = -1"},
    {"unknown_source", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: B, to: A, beta: 0.1}]\n",
     "fibers[0].from = B: names no area or stimulus"},
    {"unknown_target", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: C, beta: 0.1}]\n",
     "fibers[0].to = C: names no area"},
    {"malformed_yaml", "p: 0.1\nsteps: [3\nareas: {name: A\n", "is not valid YAML: line"},
    {"missing_steps", "p: 0.1\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "steps = (missing): is required"},
    {"missing_k", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "areas[0].k = (missing): is required"},
    {"nan_p", "p: .nan\nsteps: 3\nareas: [{name: A, n: 100, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "p = .nan"},
    {"unknown_key", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 100, k: 10, size: 3}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "areas[0].size = 3: unknown key"},
    {"fractional_n", "p: 0.1\nsteps: 3\nareas: [{name: A, n: 10.5, k: 10}]\nfibers: [{from: A, to: A, beta: 0.1}]\n",
     "areas[0].n = 10.5: must be an integer"},
};

INSTANTIATE_TEST_SUITE_P(Configs, CliBadConfig, ::testing::ValuesIn(kBadConfigs),
                         [](const ::testing::TestParamInfo<BadConfig>& param_info) { return std::string(param_info.param.name); });

// Every shipped example is a promise to a newcomer: each must run and exit 0.
TEST_F(CliTest, EveryExampleRuns) {
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(ENGRAM_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++examples;
    const fs::path out = dir_ / entry.path().stem();
    const Result r = run("run " + entry.path().string() + " --backend cpu --out " + out.string());
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.output;
    EXPECT_TRUE(fs::exists(out / "projection.csv") || fs::exists(out / "metrics.csv") || fs::exists(out / "results.csv") ||
                fs::exists(out / "sequence.csv") || fs::exists(out / "markov.csv") ||
                fs::exists(out / "sinkhorn.csv") || fs::exists(out / "alignment.csv") ||
                fs::exists(out / "accuracy.csv"))
        << entry.path();
  }
  EXPECT_GE(examples, 5);
}

TEST_F(CliTest, ScriptReportsCompletionAndDensity) {
  const std::string config = write_config(R"(experiment: script
p: 0.1
seed: 2
trace_winners: true
areas: [{name: A, n: 5000, k: 70}]
stimuli: [{name: s, k: 70}]
fibers: [{from: s, to: A, beta: 0.1}, {from: A, to: A, beta: 0.1}]
program:
  - project: {sources: [s, A], targets: [A], steps: 15}
  - project: {sources: [A], targets: [A], steps: 3}
  - record: {area: A, as: asm}
  - density: {area: A, assembly: asm}
  - complete: {area: A, fraction: 0.6, steps: 4}
  - compare: {a: A, b: asm}
)");
  const Result r = run("run " + config + " --backend cpu --out " + (dir_ / "o").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = read(dir_ / "o" / "metrics.csv");
  // The recurrent density inside an assembly exceeds p: its neurons were chosen for their edges.
  const std::string density_key = ",A,density,";
  const auto density_at = csv.find(density_key);
  ASSERT_NE(density_at, std::string::npos) << csv;
  EXPECT_GT(std::stod(csv.substr(density_at + density_key.size())), 0.1);
  // Winners per step: 15 + 3 + 4 steps of area A, each with k = 70 neurons.
  const std::string winners = read(dir_ / "o" / "winners.csv");
  EXPECT_EQ(std::count(winners.begin(), winners.end(), '\n'), 1 + 22);
  const auto first_row = winners.find('\n') + 1;
  const std::string row = winners.substr(first_row, winners.find('\n', first_row) - first_row);
  EXPECT_EQ(row.rfind("0,1,A,", 0), 0u) << row;
  EXPECT_EQ(std::count(row.begin(), row.end(), ' '), 69) << row;
  const auto compare_at = csv.find("A~asm,overlap,");
  ASSERT_NE(compare_at, std::string::npos) << csv;
  EXPECT_GT(std::stod(csv.substr(compare_at + 14)), 0.9);
}

TEST_F(CliTest, ScriptErrorsNameTheOperationField) {
  const std::string config = write_config(R"(experiment: script
p: 0.1
areas: [{name: A, n: 500, k: 20}]
fibers: [{from: A, to: A, beta: 0.1}]
program:
  - activate: {area: A, assembly: 0}
  - complete: {area: A, fraction: 1.5, steps: 2}
)");
  const Result r = run("run " + config + " --out " + (dir_ / "o").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("program[1].complete.fraction = 1.5"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(CliTest, MissingConfigFileExitsTwo) {
  const Result r = run("run " + (dir_ / "nope.yaml").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("cannot be opened"), std::string::npos) << r.output;
}

TEST_F(CliTest, UnusableCudaBackendExitsTwoWithReason) {
  if (run("info").output.find("cuda:0") != std::string::npos) GTEST_SKIP() << "a GPU is present";
  const Result r = run("run " + write_config(kSmallProjection) + " --backend cuda --out " + (dir_ / "o").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("backend = cuda"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

}  // namespace

#endif  // ENGRAM_CLI
