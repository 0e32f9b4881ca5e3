// Batched meta-learning runs (meta_train_runs; plasticity_meta sweeps through run_batch): R runs
// trained in lockstep give every run exactly the rule table and meta-loss log it gets trained
// alone, for R = 1, 3, 8 and on 1 or 2 threads, with per-run problems, initial tables and
// learning rates.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/plasticity/meta_learning.hpp"
#include "engram/models/plasticity/plastic_data.hpp"
#include "engram/models/plasticity/plasticity_jobs.hpp"
#include "support/threads.hpp"

namespace engram::plastic {
namespace {

// Run r of a fixed list: its own teacher data, brains and learning rate.
MetaRun run_of(std::int64_t r) {
  const auto seed = static_cast<std::uint64_t>(40 + r);
  const PlasticShape shape{5, 12, 3, 6, 1, 0.4};
  MetaRun run;
  run.problem = [shape, seed](std::uint32_t index) {
    MetaProblem p;
    p.shape = shape;
    p.initial = random_weights(shape, seed, index, 1.0);
    p.batch = relu_teacher_data(5, 3, 8, 12, seed, index);
    p.eta = 0.3;
    return p;
  };
  run.options.steps = 4;
  run.options.problems_per_step = 2;
  run.options.adam.lr = 0.02 * static_cast<double>(1 + r % 3);
  return run;
}

struct RunResult {
  std::vector<double> table;
  std::vector<double> losses, norms;
};

// Runs [first, first + count) trained as one batch.
std::vector<RunResult> train_batch(std::int64_t first, std::int64_t count, int threads) {
  engram::testing::OmpThreads omp(threads);
  std::vector<MetaRun> runs;
  std::vector<double> tables;
  for (std::int64_t r = first; r < first + count; ++r) {
    runs.push_back(run_of(r));
    const std::vector<double> initial = PlasticRule::random(1, 0.1, static_cast<std::uint64_t>(60 + r)).params;
    tables.insert(tables.end(), initial.begin(), initial.end());
  }
  const std::vector<std::vector<MetaStep>> logs = meta_train_runs(runs, tables, nullptr);
  const std::size_t P = tables.size() / static_cast<std::size_t>(count);
  std::vector<RunResult> out(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].table.assign(tables.begin() + static_cast<std::ptrdiff_t>(i * P),
                        tables.begin() + static_cast<std::ptrdiff_t>((i + 1) * P));
    for (const MetaStep& s : logs[i]) {
      out[i].losses.push_back(s.loss);
      out[i].norms.push_back(s.gradient_norm);
    }
  }
  return out;
}

TEST(MetaRuns, EveryRunOfABatchIsTheSameBitsAsTrainedAlone) {
  std::vector<RunResult> alone;
  for (std::int64_t r = 0; r < 8; ++r) alone.push_back(train_batch(r, 1, 1).front());
  for (std::int64_t r = 1; r < 8; ++r) {
    ASSERT_NE(alone[static_cast<std::size_t>(r)].table, alone[0].table) << "runs must differ for the test to mean anything";
  }
  for (const int threads : engram::testing::kThreadCounts) {
    for (const std::int64_t R : {1, 3, 8}) {
      const std::vector<RunResult> batch = train_batch(0, R, threads);
      for (std::int64_t r = 0; r < R; ++r) {
        const RunResult& a = alone[static_cast<std::size_t>(r)];
        const RunResult& b = batch[static_cast<std::size_t>(r)];
        EXPECT_EQ(b.table, a.table) << "run " << r << " of " << R << " on " << threads << " threads";
        EXPECT_EQ(b.losses, a.losses) << "run " << r << " of " << R << " on " << threads << " threads";
        EXPECT_EQ(b.norms, a.norms) << "run " << r << " of " << R << " on " << threads << " threads";
      }
    }
  }
}

TEST(MetaRuns, OneRunIsMetaTrain) {
  MetaRun run = run_of(2);
  std::vector<double> single = PlasticRule::random(1, 0.1, 62).params;
  const std::vector<MetaStep> log = meta_train(run.problem, single, run.options, nullptr);
  const RunResult batched = train_batch(0, 3, 2)[2];
  EXPECT_EQ(single, batched.table);
  ASSERT_EQ(log.size(), batched.losses.size());
  for (std::size_t s = 0; s < log.size(); ++s) EXPECT_EQ(log[s].loss, batched.losses[s]) << "step " << s;
}

TEST(MetaRuns, RunsOfOneBatchMustShareTheirStepCount) {
  std::vector<MetaRun> runs{run_of(0), run_of(1)};
  runs[1].options.steps = 5;
  std::vector<double> tables(2 * PlasticRule::random(1, 0.1, 1).params.size(), 0.0);
  EXPECT_THROW(meta_train_runs(runs, tables, nullptr), Error);
}

// The sweep path: plasticity_meta jobs of one shape class (different seeds and meta learning
// rates) in one run_batch call give each job the row it gets alone, on 1 and 2 threads.
TEST(MetaRuns, PlasticityMetaBatchRowsEqualRowsAlone) {
  const auto& kind = plasticity_meta_kind();
  const auto job = [](double lr, std::uint64_t seed) {
    const std::string yaml =
        "experiment: plasticity_meta\n"
        "network: {neurons: 16, cap: 8, rounds: 1, p: 0.5}\n"
        "rule: {eta: 0.1, init: random}\n"
        "meta: {method: exact, steps: 3, batch: 20, lr: " + std::to_string(lr) + "}\n"
        "data: {kind: halfspace, inputs: 6, train_examples: 60, test_examples: 60}\n"
        "baseline: {epochs: 1, lr: 0.01, batch: 16}\n";
    return sched::JobInput{io::load_config_string(yaml), seed};
  };
  const std::vector<sched::JobInput> jobs = {job(0.05, 1), job(0.02, 2), job(0.05, 3)};
  EXPECT_EQ(kind.shape_class(jobs[0].config), kind.shape_class(jobs[1].config));
  auto backend = make_backend("cpu");
  const Progress context;
  std::vector<sched::Row> alone;
  for (const auto& j : jobs) alone.push_back(kind.run_batch({j}, *backend, context).front());
  EXPECT_NE(sched::csv_cell(alone[0][4]), sched::csv_cell(alone[2][4])) << "seeds must matter";
  for (const int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads omp(threads);
    const std::vector<sched::Row> together = kind.run_batch(jobs, *backend, context);
    ASSERT_EQ(together.size(), jobs.size());
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      ASSERT_EQ(together[k].size(), alone[k].size());
      for (std::size_t c = 0; c < alone[k].size(); ++c) {
        EXPECT_EQ(sched::csv_cell(together[k][c]), sched::csv_cell(alone[k][c]))
            << "job " << k << " column " << c << " on " << threads << " threads";
      }
    }
  }
}

}  // namespace
}  // namespace engram::plastic
