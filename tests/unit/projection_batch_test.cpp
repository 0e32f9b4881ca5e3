// run_projection_batch, the sweep's batch runner: on the CPU it runs brains brain-major (a thread
// owns a brain for all its steps) and brains of one graph (same seed and p) share the rows they
// generate; lazy brains run brain-major too. Checked against an independent path: the same brains
// stepped together in one ExactBatch (LazyBatch) on the portable kernels (the CUDA path), step by
// step, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engram/models/assembly/exact_batch.hpp"
#include "engram/models/assembly/lazy_batch.hpp"
#include "engram/models/assembly/projection_kind.hpp"
#include "support/threads.hpp"

namespace {

using engram::assembly::AreaSpec;
using engram::assembly::AreaSummary;
using engram::assembly::BrainId;
using engram::assembly::BrainOverrides;
using engram::assembly::BrainSpec;
using engram::assembly::ExactBatch;
using engram::assembly::FiberSpec;
using engram::assembly::GraphMode;
using engram::assembly::LazyBatch;
using engram::assembly::ProjectionExperiment;
using engram::assembly::StimulusSpec;
using engram::assembly::TraceRow;

// Jobs in the order a sweep over (seed, p, beta) might hand them over: brains of one graph
// (seed, p) interleaved with others, and a duplicate.
std::vector<ProjectionExperiment> jobs(GraphMode mode) {
  std::vector<ProjectionExperiment> out;
  for (const double beta : {0.0, 0.05, 0.3}) {
    for (const std::uint64_t seed : {3ull, 8ull}) {
      for (const double p : {0.03, 0.08}) {
        ProjectionExperiment e;
        e.brain.areas = {AreaSpec{"A", 1200, 30, false}};
        e.brain.stimuli = {StimulusSpec{"s", 30}};
        e.brain.fibers = {FiberSpec{"s", "A", beta, {}}, FiberSpec{"A", "A", beta, {}}};
        e.brain.p = p;
        e.brain.mode = mode;
        e.steps = 6;
        e.seed = seed;
        out.push_back(e);
      }
    }
  }
  out.push_back(out[3]);
  return out;
}

// The reference trajectory: the whole batch stepped together on the portable kernels, area A's
// support and overlap per brain and step.
template <class Batch>
std::vector<std::vector<TraceRow>> step_by_step_traces(Batch& reference, std::size_t brains, std::uint32_t steps) {
  reference.set_portable_kernels(true);
  std::vector<std::vector<TraceRow>> expected(brains);
  for (std::uint32_t step = 1; step <= steps; ++step) {
    reference.project();
    for (std::size_t b = 0; b < brains; ++b) {
      expected[b].push_back(TraceRow{step, 0, reference.support(b, "A"), reference.overlap(b, "A")});
    }
  }
  return expected;
}

// Runs the batch through the sweep's runner and checks every brain's per-step support and overlap,
// and its summary, against `expected` (from a reference batch stepped one step at a time).
std::vector<std::vector<TraceRow>> run_and_expect_traces(const std::vector<ProjectionExperiment>& experiments,
                                                         engram::Backend& backend,
                                                         const std::vector<std::vector<TraceRow>>& expected) {
  std::vector<std::vector<TraceRow>> traces;
  const auto summaries = engram::assembly::run_projection_batch(experiments, backend, &traces);
  EXPECT_EQ(traces.size(), experiments.size());
  if (traces.size() != experiments.size()) return traces;
  for (std::size_t b = 0; b < experiments.size(); ++b) {
    EXPECT_EQ(traces[b].size(), expected[b].size()) << "brain " << b;
    if (traces[b].size() != expected[b].size()) continue;
    for (std::size_t t = 0; t < traces[b].size(); ++t) {
      EXPECT_EQ(traces[b][t].support, expected[b][t].support) << "brain " << b << " step " << t + 1;
      EXPECT_EQ(traces[b][t].overlap, expected[b][t].overlap) << "brain " << b << " step " << t + 1;
    }
    EXPECT_EQ(summaries[b][0].support, expected[b].back().support) << "brain " << b;
  }
  return traces;
}

TEST(ProjectionBatch, BrainMajorWithSharedRowsEqualsStepByStepPortableBatch) {
  auto backend = engram::make_backend("cpu");
  for (const GraphMode mode : {GraphMode::implicit_graph, GraphMode::explicit_graph}) {
    const auto experiments = jobs(mode);
    // The reference: every brain in one batch, all stepped together on the portable kernels.
    std::vector<BrainId> ids;
    std::vector<BrainOverrides> overrides;
    for (const auto& e : experiments) {
      ids.push_back(BrainId{e.seed, 0});
      overrides.push_back(BrainOverrides{{e.brain.p, e.brain.p}, {e.brain.fibers[0].beta, e.brain.fibers[1].beta}});
    }
    ExactBatch reference(*backend, experiments.front().brain, ids, overrides);
    const auto expected = step_by_step_traces(reference, ids.size(), experiments.front().steps);
    for (const int threads : engram::testing::kThreadCounts) {
      engram::testing::OmpThreads scoped(threads);
      SCOPED_TRACE(::testing::Message() << to_string(mode) << ", " << threads << " threads");
      const auto traces = run_and_expect_traces(experiments, *backend, expected);
      if (traces.size() != experiments.size()) return;
      // The betas of one graph differ in their trajectories (the test is not trivially equal).
      EXPECT_NE(traces[0].back().support, traces[8].back().support);
    }
  }
}

TEST(ProjectionBatch, LazyBrainMajorEqualsStepByStepPortableBatch) {
  auto backend = engram::make_backend("cpu");
  // A lazy batch shares p and beta (they are part of its shape class); brains differ by seed.
  std::vector<ProjectionExperiment> experiments;
  for (const std::uint64_t seed : {3ull, 8ull, 21ull, 5ull, 3ull}) {
    ProjectionExperiment e;
    e.brain.areas = {AreaSpec{"A", 20000, 60, false}};
    e.brain.stimuli = {StimulusSpec{"s", 60}};
    e.brain.fibers = {FiberSpec{"s", "A", 0.1, {}}, FiberSpec{"A", "A", 0.1, {}}};
    e.brain.p = 0.05;
    e.brain.mode = GraphMode::lazy;
    e.steps = 8;
    e.seed = seed;
    experiments.push_back(e);
  }
  std::vector<BrainId> ids;
  for (const auto& e : experiments) ids.push_back(BrainId{e.seed, 0});
  LazyBatch reference(*backend, experiments.front().brain, ids);
  const auto expected = step_by_step_traces(reference, ids.size(), experiments.front().steps);
  for (const int threads : engram::testing::kThreadCounts) {
    engram::testing::OmpThreads scoped(threads);
    SCOPED_TRACE(::testing::Message() << threads << " threads");
    const auto traces = run_and_expect_traces(experiments, *backend, expected);
    if (traces.size() != experiments.size()) return;
    // Seeds differ in their trajectories (the test is not trivially equal).
    EXPECT_NE(traces[0].back().support, traces[1].back().support);
  }
}

}  // namespace
