// Sweeps through the `engram` executable: job expansion and stable ids, malformed sections,
// rows independent of batch size and thread count, SIGKILL + --resume, shards + merge.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <memory>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/backend/backend.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "engram/engine/scheduler/sweep.hpp"
#include "engram/models/assembly/projection_kind.hpp"

namespace {

namespace fs = std::filesystem;

// A reduced version of examples/sweep.yaml (same structure, smaller brains and grid): 36 jobs.
const char* kSweep = R"(experiment: project
p: 0.02
steps: 8
seed: 3
areas: [{name: A, n: 3000, k: 40}]
stimuli: [{name: s, k: 40}]
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
sweep:
  seeds: 3
  grid:
    p: [0.01, 0.03, 0.05]
  zip:
    fibers[0].beta: {start: 0.02, stop: 0.08, num: 4}
    fibers[1].beta: [0.02, 0.04, 0.06, 0.08]
)";

engram::sched::Sweep parse(const std::string& text) {
  return engram::sched::parse_sweep(engram::io::load_config_string(text), engram::assembly::projection_kind());
}
engram::assembly::ProjectionExperiment experiment_of(const engram::sched::SweepJob& job) {
  return engram::assembly::parse_projection(job.config());
}

std::set<std::string> ids_of(const std::string& text) {
  const auto sweep = parse(text);
  std::set<std::string> ids;
  for (const auto& job : sweep.jobs) ids.insert(job.id);
  EXPECT_EQ(ids.size(), sweep.jobs.size());
  return ids;
}

TEST(SweepConfig, ExpandsGridZipRangesAndSeeds) {
  const auto sweep = parse(kSweep);
  ASSERT_EQ(sweep.jobs.size(), 3u * 4u * 3u);
  EXPECT_EQ(sweep.parameters, (std::vector<std::string>{"fibers[0].beta", "fibers[1].beta", "p"}));
  std::set<std::string> betas;
  for (const auto& job : sweep.jobs) {
    const auto experiment = experiment_of(job);
    EXPECT_EQ(experiment.brains, 1u);
    EXPECT_EQ(experiment.seed, 3u + job.replicate);
    betas.insert(job.assignments[0].second);
    // Zipped: fibers[0].beta and fibers[1].beta move together.
    EXPECT_DOUBLE_EQ(experiment.brain.fibers[0].beta, experiment.brain.fibers[1].beta);
    EXPECT_EQ(experiment.brain.p, std::stod(job.assignments[2].second));
  }
  EXPECT_EQ(betas, (std::set<std::string>{"0.02", "0.04", "0.06", "0.08"}));
  EXPECT_TRUE(std::is_sorted(sweep.jobs.begin(), sweep.jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; }));
  // Two jobs of different p share a shape class (p and beta are per brain).
  EXPECT_EQ(engram::assembly::shape_class(experiment_of(sweep.jobs[0])),
            engram::assembly::shape_class(experiment_of(sweep.jobs[1])));
}

// Each job's traits, read once when the sweep expands, answer what the kind's three questions
// answer of its config; and run_batch gives the same rows from the parsed config as from the text.
TEST(SweepConfig, TraitsMatchTheKindsAnswersAndParsedJobsRunAlike) {
  const auto sweep = parse(kSweep);
  const auto& kind = engram::assembly::projection_kind();
  std::set<std::string> affinities;
  for (const auto& job : sweep.jobs) {
    const engram::io::ConfigNode config = job.config();
    EXPECT_EQ(job.traits.shape_class, kind.shape_class(config)) << job.id;
    EXPECT_EQ(job.traits.estimate_bytes, kind.estimate_bytes(config)) << job.id;
    EXPECT_EQ(job.traits.affinity, kind.affinity(config)) << job.id;
    ASSERT_NE(job.traits.parsed, nullptr) << job.id;
    affinities.insert(job.traits.affinity);
  }
  EXPECT_EQ(affinities.size(), 9u);  // 3 seeds x 3 values of p
  auto backend = engram::make_backend("cpu");
  std::vector<engram::sched::JobInput> parsed, reread;
  for (std::size_t j = 0; j < 6; ++j) {
    parsed.push_back(sweep.jobs[j].input());
    reread.push_back(engram::sched::JobInput{sweep.jobs[j].config(), sweep.jobs[j].seed, nullptr});
  }
  const engram::Progress quiet;
  const auto rows = kind.run_batch(parsed, *backend, quiet);
  EXPECT_EQ(rows, kind.run_batch(reread, *backend, quiet));
  // The job's seed, not the one the parsed config holds, keys the brain.
  parsed[1].seed = parsed[0].seed;
  reread[1] = engram::sched::JobInput{sweep.jobs[1].config(), sweep.jobs[0].seed, nullptr};
  EXPECT_EQ(kind.run_batch(parsed, *backend, quiet)[1], kind.run_batch(reread, *backend, quiet)[1]);
}

TEST(SweepConfig, IdsSurviveReorderingTheConfig) {
  const std::string reordered = R"(seed: 3
steps: 8
p: 0.02
fibers: [{from: s, to: A, beta: 0.05}, {from: A, to: A, beta: 0.05}]
stimuli: [{name: s, k: 40}]
areas: [{name: A, n: 3000, k: 40}]
sweep:
  zip:
    fibers[1].beta: [0.02, 0.04, 0.06, 0.08]
    fibers[0].beta: [0.02, 0.04, 0.06, 0.08]
  grid:
    p: [0.05, 1e-2, 0.030]
  seeds: 3
)";
  EXPECT_EQ(ids_of(kSweep), ids_of(reordered));
}

TEST(SweepConfig, RangesWithStep) {
  const auto sweep = parse(std::string(
      "p: 0.01\nsteps: 2\nareas: [{name: A, n: 100, k: 10}]\nstimuli: [{name: s, k: 10}]\n"
      "fibers: [{from: s, to: A, beta: 0.1}]\nsweep: {grid: {\"fibers[0].beta\": {start: 0.1, stop: 0.4, step: 0.1}}}\n"));
  std::vector<std::string> values;
  for (const auto& job : sweep.jobs) values.push_back(job.assignments[0].second);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"0.1", "0.2", "0.3"}));
}

// Brains of one batch with per-brain p and beta step exactly like brains built from specs with
// those values written in.
TEST(SweepBatchOverrides, PerBrainPAndBetaMatchSeparateSpecs) {
  using namespace engram::assembly;
  auto backend = engram::make_backend("cpu");
  BrainSpec spec;
  spec.areas = {{"A", 4000, 50}};
  spec.stimuli = {{"s", 50}};
  spec.fibers = {{"s", "A", 0.05}, {"A", "A", 0.05}};
  spec.p = 0.02;
  const std::vector<std::pair<double, double>> params = {{0.01, 0.1}, {0.03, 0.0}, {0.02, 0.05}};
  std::vector<BrainId> ids;
  std::vector<BrainOverrides> overrides;
  for (std::size_t b = 0; b < params.size(); ++b) {
    ids.push_back(BrainId{11 + b, 0});
    overrides.push_back(BrainOverrides{{params[b].first, params[b].first}, {params[b].second, params[b].second}});
  }
  ExactBatch together(*backend, spec, ids, overrides);
  std::vector<std::unique_ptr<ExactBatch>> alone;
  for (std::size_t b = 0; b < params.size(); ++b) {
    BrainSpec own = spec;
    own.p = params[b].first;
    for (auto& f : own.fibers) f.beta = params[b].second;
    alone.push_back(std::make_unique<ExactBatch>(*backend, own, std::vector<BrainId>{ids[b]}));
  }
  for (int step = 0; step < 6; ++step) {
    together.project();
    for (auto& a : alone) a->project();
  }
  for (std::size_t b = 0; b < params.size(); ++b) {
    EXPECT_EQ(together.winners(b, "A"), alone[b]->winners(0, "A")) << b;
    EXPECT_EQ(together.support(b, "A"), alone[b]->support(0, "A")) << b;
    const auto r1 = together.row(b, 1, together.winners(b, "A").front());
    const auto r2 = alone[b]->row(0, 1, alone[b]->winners(0, "A").front());
    EXPECT_EQ(r1.targets, r2.targets) << b;
    EXPECT_EQ(r1.weights, r2.weights) << b;
  }
  EXPECT_THROW(ExactBatch(*backend, spec, ids, {BrainOverrides{{0.5}, {}}}), engram::Error);
  EXPECT_THROW(ExactBatch(*backend, spec, {ids[0]}, {BrainOverrides{{1.5, 0.1}, {}}}), engram::Error);
}

#ifdef ENGRAM_CLI

#include "support/cli.hpp"

using Result = engram::testing::CliResult;

Result run(const std::string& args, const std::string& env = "") { return engram::testing::run_cli(args, env); }

std::string read(const fs::path& path) { return engram::testing::read_file(path); }

// Header, then the rows sorted by id; fails on a torn (unterminated) last line.
std::vector<std::string> sorted_rows(const fs::path& path) {
  const std::string text = read(path);
  EXPECT_TRUE(!text.empty() && text.back() == '\n') << path;
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  if (lines.size() > 1) std::sort(lines.begin() + 1, lines.end());
  return lines;
}

class SweepCliTest : public engram::testing::ScratchDirTest {
 protected:
  SweepCliTest() : ScratchDirTest("engram_sweep_") {}
  void SetUp() override {
    ScratchDirTest::SetUp();
    config_ = write_config(kSweep, "sweep.yaml");
  }
  std::string out(const std::string& name) const { return (dir_ / name).string(); }
  // The uninterrupted reference run.
  std::vector<std::string> reference() {
    const Result r = run("run " + config_ + " --backend cpu --out " + out("ref"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const auto rows = sorted_rows(dir_ / "ref" / "results.csv");
    EXPECT_EQ(rows.size(), 37u);
    return rows;
  }

  std::string config_;
};

TEST_F(SweepCliTest, SweepRowsIndependentOfBatchSizeAndThreads) {
  const auto expected = reference();
  for (const auto& [batch, threads] : std::vector<std::pair<int, int>>{{1, 1}, {7, 2}, {256, 1}, {7, 1}}) {
    const std::string name = "b" + std::to_string(batch) + "t" + std::to_string(threads);
    const Result r = run("run " + config_ + " --backend cpu --max-batch " + std::to_string(batch) + " --out " + out(name),
                         "OMP_NUM_THREADS=" + std::to_string(threads));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(sorted_rows(dir_ / name / "results.csv"), expected) << name;
  }
  // Two workers (two backends, one OpenMP thread each) finish batches out of order; same rows.
  const Result pool = run("run " + config_ + " --backend cpu --workers 2 --max-batch 3 --out " + out("pool"));
  ASSERT_EQ(pool.exit_code, 0) << pool.output;
  EXPECT_EQ(sorted_rows(dir_ / "pool" / "results.csv"), expected);
  // A memory budget of one job's estimate forces one brain per batch; rows are the same. (A
  // budget below that is refused before anything runs: ReliabilityOutput tests.)
  std::uint64_t one_job = 0;
  const auto sweep = parse(kSweep);
  for (const auto& job : sweep.jobs) one_job = std::max(one_job, sweep.kind->estimate_bytes(job.config()));
  const Result r = run("run " + config_ + " --backend cpu --memory-budget " + std::to_string(one_job) + " --out " + out("tiny"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("36 batch(es)"), std::string::npos) << r.output;
  EXPECT_EQ(sorted_rows(dir_ / "tiny" / "results.csv"), expected);
  const std::string manifest = read(dir_ / "ref" / "manifest.json");
  EXPECT_NE(manifest.find("\"config_hash\""), std::string::npos);
  EXPECT_NE(manifest.find("\"engram_version\""), std::string::npos);
  EXPECT_NE(manifest.find("\"backend\": \"cpu\""), std::string::npos);
}

TEST_F(SweepCliTest, SweepSurvivesSigkillAndResumes) {
  const auto expected = reference();
  int resumed_partial = 0;
  // Delays up to a second: on a loaded machine the first rows land late.
  for (const int delay_ms : {5, 25, 50, 80, 120, 200, 350, 600, 1000}) {
    const std::string name = "kill" + std::to_string(delay_ms);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      const std::string o = out(name);
      ::execl(ENGRAM_CLI, ENGRAM_CLI, "run", config_.c_str(), "--backend", "cpu", "--max-batch", "1", "--out", o.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (fs::exists(dir_ / name / "results.csv")) {
      const std::string partial = read(dir_ / name / "results.csv");
      const auto lines = static_cast<std::size_t>(std::count(partial.begin(), partial.end(), '\n'));
      if (lines > 1 && lines < 37) ++resumed_partial;
    }
    const Result r = run("run " + config_ + " --backend cpu --max-batch 1 --resume --out " + out(name));
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.output;
    EXPECT_EQ(sorted_rows(dir_ / name / "results.csv"), expected) << name;
  }
  // At least one kill landed mid-sweep (some rows on disk, not all).
  EXPECT_GE(resumed_partial, 1);
}

TEST_F(SweepCliTest, TracesHoldEveryStepAndSurviveAKill) {
  const Result full = run("run " + config_ + " --backend cpu --trace --out " + out("full"));
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const auto trace = sorted_rows(dir_ / "full" / "traces.csv");
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.front(), "id,step,area,support,overlap");
  // Every job contributes one row per step of its area; the last step's row matches its result.
  const auto results = sorted_rows(dir_ / "full" / "results.csv");
  std::size_t steps = 0;
  const std::string first_id = results[1].substr(0, results[1].find(','));
  for (const auto& row : trace) steps += row.rfind(first_id + ",", 0) == 0;
  EXPECT_GE(steps, 2u);
  EXPECT_EQ(trace.size() - 1, (results.size() - 1) * steps);

  // Killed mid-sweep and resumed with --trace: the same trace rows, none duplicated.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    const std::string o = out("killed");
    ::execl(ENGRAM_CLI, ENGRAM_CLI, "run", config_.c_str(), "--backend", "cpu", "--max-batch", "1", "--trace", "--out",
            o.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const Result resumed = run("run " + config_ + " --backend cpu --max-batch 1 --trace --resume --out " + out("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(sorted_rows(dir_ / "killed" / "traces.csv"), trace);
  EXPECT_EQ(sorted_rows(dir_ / "killed" / "results.csv"), results);
}

TEST_F(SweepCliTest, SweepResumeIgnoresTornLastLine) {
  const auto expected = reference();
  std::string text = read(dir_ / "ref" / "results.csv");
  // Keep the header and 10 rows, then half of the 11th.
  std::size_t at = 0;
  for (int line = 0; line < 11; ++line) at = text.find('\n', at) + 1;
  const std::size_t next = text.find('\n', at);
  std::ofstream(dir_ / "ref" / "results.csv", std::ios::trunc) << text.substr(0, at + (next - at) / 2);
  const Result r = run("run " + config_ + " --backend cpu --resume --out " + out("ref"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("10 done, 26 to run"), std::string::npos) << r.output;
  EXPECT_EQ(sorted_rows(dir_ / "ref" / "results.csv"), expected);
  // All done: a second resume runs nothing.
  const Result again = run("run " + config_ + " --backend cpu --resume --out " + out("ref"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("36 done, 0 to run"), std::string::npos) << again.output;
}

TEST_F(SweepCliTest, SweepChangedConfigRefusedUnlessForce) {
  reference();
  const Result rerun = run("run " + config_ + " --backend cpu --out " + out("ref"));
  EXPECT_EQ(rerun.exit_code, 2) << rerun.output;
  EXPECT_NE(rerun.output.find("--resume"), std::string::npos) << rerun.output;
  std::string changed = kSweep;
  changed.replace(changed.find("seeds: 3"), 8, "seeds: 2");
  const std::string other = write_config(changed, "changed.yaml");
  const Result refused = run("run " + other + " --backend cpu --resume --out " + out("ref"));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("different config"), std::string::npos) << refused.output;
  const Result forced = run("run " + other + " --backend cpu --resume --force --out " + out("ref"));
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(sorted_rows(dir_ / "ref" / "results.csv").size(), 25u);
}

TEST_F(SweepCliTest, SweepShardsMergeToTheUnshardedRun) {
  const auto expected = reference();
  std::string dirs;
  for (int i = 0; i < 3; ++i) {
    // Shards 0 and 1 share a directory; shard 2 has its own.
    const std::string d = out(i < 2 ? "shared" : "shard2");
    const Result r = run("run " + config_ + " --backend cpu --shard " + std::to_string(i) + "/3 --out " + d);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    if (i != 1) dirs += " " + d;
  }
  EXPECT_TRUE(fs::exists(dir_ / "shared" / "results.shard-0-of-3.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "shared" / "results.shard-1-of-3.csv"));
  const Result merged = run("merge" + dirs + " --out " + out("merged"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_EQ(sorted_rows(dir_ / "merged" / "results.csv"), expected);
  const std::string text = read(dir_ / "merged" / "results.csv");
  EXPECT_EQ(sorted_rows(dir_ / "merged" / "results.csv").size(), 37u);
  // Merged output is already sorted by id.
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  EXPECT_EQ(lines, expected);
  // Merging a shard twice is refused.
  const Result twice = run("merge " + out("shard2") + " " + out("shard2") + " --out " + out("twice"));
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  EXPECT_NE(twice.output.find("duplicates"), std::string::npos) << twice.output;
}

TEST_F(SweepCliTest, MalformedSweepExitsTwoNamingTheField) {
  const std::string base =
      "p: 0.01\nsteps: 2\nareas: [{name: A, n: 100, k: 10}]\nstimuli: [{name: s, k: 10}]\n"
      "fibers: [{from: s, to: A, beta: 0.1}]\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sweep: {grid: {\"fibers[0].gamma\": [1, 2]}}", "sweep.grid.fibers[0].gamma"},
      {"sweep: {grid: {\"fibers[3].beta\": [1, 2]}}", "sweep.grid.fibers[3].beta"},
      {"sweep: {grid: {}}", "sweep.grid"},
      {"sweep: {grid: {p: []}}", "sweep.grid.p"},
      {"sweep: {grid: {p: {start: 0.01, stop: 0.1, step: 0}}}", "sweep.grid.p.step"},
      {"sweep: {grid: {p: {start: 0.1, stop: 0.01, step: 0.01}}}", "sweep.grid.p"},
      {"sweep: {seeds: -3}", "sweep.seeds"},
      {"sweep: {seeds: 0}", "sweep.seeds"},
      {"sweep:\n  grid: {p: [0.01]}\n  grid: {p: [0.02]}", "sweep.grid"},
      {"sweep:\n  grid:\n    p: [0.01]\n    p: [0.02]", "sweep.grid.p"},
      {"sweep: {grid: {p: [0.01]}, zip: {p: [0.02]}}", "sweep.zip.p"},
      {"sweep: {zip: {p: [0.01, 0.02], \"fibers[0].beta\": [0.1]}}", "sweep.zip.fibers[0].beta"},
      {"sweep: {grid: {p: [0.01, 2]}}", "p = 2"},
      {"sweep: {grod: {p: [0.01]}}", "sweep.grod"},
  };
  for (const auto& [section, field] : cases) {
    const std::string config = write_config(base + section + "\n", "bad.yaml");
    const Result r = run("run " + config + " --backend cpu --out " + out("bad"));
    EXPECT_EQ(r.exit_code, 2) << section << "\n" << r.output;
    EXPECT_NE(r.output.find(field), std::string::npos) << section << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "bad")) << section;
  }
  const Result shard = run("run " + config_ + " --backend cpu --shard 3/3 --out " + out("bad"));
  EXPECT_EQ(shard.exit_code, 2) << shard.output;
  EXPECT_NE(shard.output.find("--shard"), std::string::npos) << shard.output;
  EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

// `mpirun -np 2 engram run`: rank r runs shard r/2, rank 0 merges. Runs when the CLI was built
// with -DENGRAM_MPI=ON and mpirun is installed (.ci/run does both).
TEST_F(SweepCliTest, SweepMpirunEqualsUnsharded) {
  const Result info = run("info");
  if (info.output.find("mpi: compiled in") == std::string::npos) GTEST_SKIP() << "engram built without ENGRAM_MPI";
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed";
  const auto expected = reference();
  const std::string command = std::string("OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
                              "mpirun --oversubscribe -np 2 " + ENGRAM_CLI + " run " + config_ + " --backend cpu --out " +
                              out("mpi") + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_TRUE(fs::exists(dir_ / "mpi" / "results.shard-0-of-2.csv")) << output;
  EXPECT_TRUE(fs::exists(dir_ / "mpi" / "results.shard-1-of-2.csv")) << output;
  EXPECT_EQ(sorted_rows(dir_ / "mpi" / "results.csv"), expected) << output;
  // engram merge of the MPI directory reads its shard files, not the merged copy beside them.
  const Result merged = run("merge " + out("mpi") + " --out " + out("merged"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_EQ(sorted_rows(dir_ / "merged" / "results.csv"), expected);
}

TEST_F(SweepCliTest, ExampleSweepReducedRuns) {
  // examples/sweep.yaml itself (n = 10^4, k = 100) on one shard of 100: 10 jobs.
  const Result r = run(std::string("run ") + ENGRAM_SOURCE_DIR + "/examples/sweep.yaml --backend cpu --shard 7/100 --out " +
                       out("example"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sweep of 1000 jobs"), std::string::npos) << r.output;
  EXPECT_EQ(sorted_rows(dir_ / "example" / "results.shard-7-of-100.csv").size(), 11u);
}


}  // namespace

namespace {

// The issue's acceptance run at full size: the 1000 jobs of examples/sweep.yaml give the same
// rows with max batch 256, 7 and 1, on 2 and 1 threads. (~1-2 minutes on 2 cores.)
TEST(SweepAcceptance, ExampleSweepRowsIndependentOfPackingAndThreads) {
  const fs::path dir = fs::temp_directory_path() / ("engram_sweep_acceptance_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string config = std::string(ENGRAM_SOURCE_DIR) + "/examples/sweep.yaml";
  std::vector<std::string> expected;
  for (const auto& [batch, threads] : std::vector<std::pair<int, int>>{{256, 2}, {7, 1}, {1, 2}}) {
    const std::string name = "b" + std::to_string(batch) + "t" + std::to_string(threads);
    const Result r = run("run " + config + " --backend cpu --max-batch " + std::to_string(batch) + " --out " +
                             (dir / name).string(),
                         "OMP_NUM_THREADS=" + std::to_string(threads));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto rows = sorted_rows(dir / name / "results.csv");
    ASSERT_EQ(rows.size(), 1001u) << name;
    if (expected.empty()) expected = rows;
    else EXPECT_EQ(rows, expected) << name;
  }
  fs::remove_all(dir);
}

}  // namespace

#endif  // ENGRAM_CLI
