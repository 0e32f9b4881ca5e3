// Output safety and resource limits (docs/reliability.md): an output folder is claimed (created,
// writable, locked) before any work; a second run into it, of another config or at the same time,
// is refused; --force replaces only this run's files; merge reports what is missing; a run that
// cannot fit its memory budget is refused before allocating; out of memory on an OpenMP worker
// is an error, not an abort.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <new>
#include <set>
#include <string>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/io/output_lock.hpp"
#include "engram/engine/scheduler/sweep_runner.hpp"
#include "engram/kernels/core/parallel_guard.hpp"
#include "engram/models/job_kinds.hpp"
#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using engram::testing::read_file;
using engram::testing::run_cli;

// 12 small jobs.
const char* kSweepA = R"(experiment: project
p: 0.05
steps: 3
seed: 5
areas: [{name: A, n: 400, k: 20}]
stimuli: [{name: s, k: 20}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
sweep:
  seeds: 3
  grid:
    p: [0.02, 0.04, 0.06, 0.08]
)";

std::string other_config() {
  std::string b = kSweepA;
  b.replace(b.find("seeds: 3"), 8, "seeds: 2");
  return b;
}

const char* kPlain = R"(experiment: project
p: 0.05
steps: 3
seed: 9223372036854775813
areas: [{name: A, n: 500, k: 20}]
stimuli: [{name: s, k: 20}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
)";

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class ReliabilityOutput : public engram::testing::ScratchDirTest {
 protected:
  ReliabilityOutput() : ScratchDirTest("engram_reliability_") {}

  // run_config as the C API and Python call it: option names without "--".
  void run_in_process(const std::string& text, const fs::path& out, std::atomic<int>* steps = nullptr) {
    const auto root = engram::io::load_config_string(text);
    engram::sched::RunOptions options;
    options.out = out;
    options.option_prefix = "";
    options.return_rows = false;
    engram::sched::run_config(root, engram::models::job_kind(root), options,
                              engram::Progress([steps](std::uint64_t, std::uint64_t) {
                                if (steps) ++*steps;
                              }));
  }
};

TEST_F(ReliabilityOutput, UnwritableOutIsRefusedBeforeAnyStepRuns) {
  std::ofstream(dir_ / "a_file") << "x";
  for (const fs::path& out : {dir_ / "a_file" / "out", fs::path("/proc/engram_reliability_out")}) {
    SCOPED_TRACE(out.string());
    std::atomic<int> steps{0};
    try {
      run_in_process(kPlain, out, &steps);
      ADD_FAILURE() << "was accepted";
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
      EXPECT_NE(std::string(e.what()).find("out = " + out.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(steps.load(), 0) << "work started before the output was checked";
  }
  // The same config runs where the output can be written (so the refusals above were the folder's).
  std::atomic<int> steps{0};
  run_in_process(kPlain, dir_ / "fine", &steps);
  EXPECT_GT(steps.load(), 0);
  // Seeds span 0 .. 2^64 - 1 and print unsigned.
  EXPECT_NE(read_file(dir_ / "fine" / "projection.csv").find(",9223372036854775813,"), std::string::npos);
}

TEST_F(ReliabilityOutput, LockedFolderIsRefusedAndLeftAlone) {
  const fs::path out = dir_ / "busy";
  {
    // Another engram process holding the folder: flock is per open file, so this process holding
    // it refuses a run exactly as a second process would be refused.
    engram::io::OutputLock other(out, ".engram.lock", "--out");
    other.commit();
    for (const char* text : {kSweepA, kPlain}) {
      try {
        run_in_process(text, out);
        ADD_FAILURE() << "was accepted";
      } catch (const engram::Error& e) {
        EXPECT_NE(std::string(e.what()).find("in use by another engram run"), std::string::npos) << e.what();
      }
    }
    EXPECT_EQ(names_in(out), std::set<std::string>{".engram.lock"});
  }
  run_in_process(kSweepA, out);  // free again
  EXPECT_TRUE(fs::exists(out / "results.csv"));
}

TEST_F(ReliabilityOutput, AnotherConfigIntoASweepFolderIsRefused) {
  const fs::path out = dir_ / "sweep";
  run_in_process(kSweepA, out);
  const std::string rows = read_file(out / "results.csv");
  const std::string manifest = read_file(out / "manifest.json");
  for (const std::string& text : {other_config(), std::string(kPlain)}) {
    try {
      run_in_process(text, out);
      ADD_FAILURE() << "was accepted";
    } catch (const engram::Error& e) {
      EXPECT_EQ(e.code(), engram::ErrorCode::bad_input) << e.what();
      EXPECT_NE(std::string(e.what()).find("out = " + out.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(out / "results.csv"), rows);
    EXPECT_EQ(read_file(out / "manifest.json"), manifest);
  }
}

#ifdef ENGRAM_CLI
TEST_F(ReliabilityOutput, ForceReplacesOnlyThisShardAndMergeReportsGaps) {
  const std::string a = write_config(kSweepA, "a.yaml");
  const std::string b = write_config(other_config(), "b.yaml");
  const std::string out = (dir_ / "shards").string();
  for (const char* shard : {"0/3", "1/3"}) {
    const auto r = run_cli("run " + a + " --backend cpu --shard " + shard + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string shard0 = read_file(dir_ / "shards" / "results.shard-0-of-3.csv");
  // Another config with --force: it would replace shard 1 but shard 0 is another config's.
  const auto forced_other = run_cli("run " + b + " --backend cpu --force --shard 1/3 --out " + out);
  EXPECT_EQ(forced_other.exit_code, 2) << forced_other.output;
  EXPECT_NE(forced_other.output.find("results.shard-0-of-3.csv"), std::string::npos) << forced_other.output;
  EXPECT_EQ(read_file(dir_ / "shards" / "results.shard-0-of-3.csv"), shard0);
  EXPECT_TRUE(fs::exists(dir_ / "shards" / "results.shard-1-of-3.csv"));
  // The same config with --force reruns its shard and leaves the other alone.
  const auto forced_same = run_cli("run " + a + " --backend cpu --force --shard 1/3 --out " + out);
  EXPECT_EQ(forced_same.exit_code, 0) << forced_same.output;
  EXPECT_EQ(read_file(dir_ / "shards" / "results.shard-0-of-3.csv"), shard0);

  // Two of three shards: merge says which is missing and refuses unless told.
  const auto partial = run_cli("merge " + out + " --out " + (dir_ / "merged").string());
  EXPECT_EQ(partial.exit_code, 2) << partial.output;
  EXPECT_NE(partial.output.find("results.shard-2-of-3.csv"), std::string::npos) << partial.output;
  EXPECT_FALSE(fs::exists(dir_ / "merged"));
  const auto allowed = run_cli("merge " + out + " --allow-partial --out " + (dir_ / "merged").string());
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("missing results.shard-2-of-3.csv"), std::string::npos) << allowed.output;
  // Without a manifest nothing shows the rows are one config's.
  const auto third = run_cli("run " + a + " --backend cpu --shard 2/3 --out " + out);
  ASSERT_EQ(third.exit_code, 0) << third.output;
  fs::remove(dir_ / "shards" / "manifest.json");
  const auto unchecked = run_cli("merge " + out + " --out " + (dir_ / "merged2").string());
  EXPECT_EQ(unchecked.exit_code, 2) << unchecked.output;
  EXPECT_NE(unchecked.output.find("manifest.json"), std::string::npos) << unchecked.output;
  const auto told = run_cli("merge " + out + " --allow-unchecked --out " + (dir_ / "merged2").string());
  EXPECT_EQ(told.exit_code, 0) << told.output;
}

TEST_F(ReliabilityOutput, MemoryBudgetRefusesBeforeTheOutputIsTouched) {
  const std::string a = write_config(kSweepA, "a.yaml");
  const std::string plain = write_config(kPlain, "plain.yaml");
  for (const std::string& config : {a, plain}) {
    const auto r = run_cli("run " + config + " --backend cpu --memory-budget 1000 --out " + (dir_ / "tiny").string());
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("--memory-budget = 1000 bytes"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("needs an estimated"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "tiny"));
  }
}

TEST_F(ReliabilityOutput, OutOfMemoryOnOpenMpWorkersIsAnErrorNotAnAbort) {
  // 2 * 10^8 edges (1.6 GB) built on OpenMP workers under a 500 MB address-space limit; the
  // budget is raised past the limit so the run really allocates.
  const std::string config = write_config(R"(experiment: project
mode: explicit
p: 0.5
steps: 1
areas: [{name: A, n: 20000, k: 100}]
stimuli: [{name: s, k: 100}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
)",
                                          "oom.yaml");
  const auto r = run_cli("run " + config + " --backend cpu --memory-budget 100000000000", "ulimit -v 500000; OMP_NUM_THREADS=2");
  EXPECT_EQ(r.exit_code, 1) << r.output;  // 134 (abort) or -1 (signal) before
  EXPECT_NE(r.output.find("out of memory"), std::string::npos) << r.output;
  // Without the raised budget the limit itself refuses the run up front.
  const auto refused = run_cli("run " + config + " --backend cpu", "ulimit -v 500000;");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("needs an estimated"), std::string::npos) << refused.output;
}
#endif

// The up-front estimate must not refuse what runs: every example (they run in the suite on small
// machines) is estimated below 4 GiB, lazy mode with n = 10^9 included.
TEST(MemoryEstimate, EveryExampleIsEstimatedBelowFourGiB) {
  const fs::path examples = fs::path(ENGRAM_SOURCE_DIR) / "examples";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const auto root = engram::io::load_config_file(entry.path().string());
    YAML::Node base = YAML::Clone(root.yaml());
    base.remove("sweep");
    const engram::io::ConfigNode config(base, "", examples.string());
    const auto& kind = engram::models::job_kind(config);
    EXPECT_LT(kind.estimate_run_bytes(config), std::uint64_t{4} << 30);
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(ParallelGuard, FirstExceptionOfAWorkerIsRethrownOnTheCaller) {
  engram::ParallelGuard guard;
  std::atomic<int> ran{0};
#pragma omp parallel for num_threads(4)
  for (int i = 0; i < 1000; ++i) {
    guard.run([&] {
      ++ran;
      if (i == 137) throw std::bad_alloc();
    });
  }
  EXPECT_TRUE(guard.failed());
  EXPECT_THROW(guard.rethrow(), std::bad_alloc);
  EXPECT_GE(ran.load(), 138 / 4);
}

}  // namespace
