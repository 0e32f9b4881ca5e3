// The OT job kinds' sweep contract: run_batch gives job i the same row whatever else shares the
// batch (jobs of different ε, sizes and seeds pack into one batched Sinkhorn call).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/models/ot/ot_kinds.hpp"

namespace {

engram::sched::JobInput job(const std::string& yaml, std::uint64_t seed) {
  return {engram::io::load_config_string(yaml), seed};
}

// A row as the results file holds it (NaN cells, e.g. divergence when not asked for, compare
// equal as text).
std::vector<std::string> text(const engram::sched::Row& row) {
  std::vector<std::string> cells;
  for (const auto& cell : row) cells.push_back(engram::sched::csv_cell(cell));
  return cells;
}

TEST(OtKinds, SinkhornBatchRowsEqualRowsAlone) {
  const auto& kind = engram::ot::sinkhorn_kind();
  const std::vector<engram::sched::JobInput> jobs = {
      job("experiment: sinkhorn\neps: 0.05\nrandom: {problems: 2, n: 30, m: 20, dim: 2}\n", 1),
      job("experiment: sinkhorn\neps: 0.2\nreach: 0.5\nrandom: {problems: 1, n: 7, m: 40, dim: 2, weights: random}\n", 2),
      job("experiment: sinkhorn\neps: 0.01\nrandom: {problems: 3, n: 25, m: 25, dim: 2}\n", 3),
  };
  for (const auto& j : jobs) kind.validate(j.config);
  EXPECT_EQ(kind.shape_class(jobs[0].config), kind.shape_class(jobs[2].config));
  auto backend = engram::make_backend("cpu");
  const engram::Progress context;
  const auto together = kind.run_batch(jobs, *backend, context);
  ASSERT_EQ(together.size(), jobs.size());
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    const auto alone = kind.run_batch({jobs[k]}, *backend, context);
    EXPECT_EQ(text(together[k]), text(alone[0])) << "job " << k;
    EXPECT_EQ(together[k].size(), kind.result_columns(jobs[k].config).size());
    EXPECT_EQ(together[k][0], engram::sched::Cell(std::int64_t{k == 0 ? 2 : k == 1 ? 1 : 3}));  // problems
  }
  // A different seed gives different problems.
  EXPECT_NE(text(kind.run_batch({job("experiment: sinkhorn\neps: 0.05\nrandom: {problems: 2, n: 30, m: 20, dim: 2}\n", 9)},
                           *backend, context)[0]),
            text(together[0]));
}

TEST(OtKinds, AlignmentRowDependsOnItsSeedOnly) {
  const auto& kind = engram::ot::ot_align_kind();
  const std::string yaml = "experiment: ot_align\nbaseline: false\ndata: {points_per_cluster: 20}\n";
  const std::vector<engram::sched::JobInput> jobs = {job(yaml, 4), job(yaml, 5)};
  auto backend = engram::make_backend("cpu");
  const engram::Progress context;
  const auto together = kind.run_batch(jobs, *backend, context);
  EXPECT_EQ(text(together[1]), text(kind.run_batch({jobs[1]}, *backend, context)[0]));
  EXPECT_LT(std::get<double>(together[0][0]), 0.05);
}

}  // namespace
