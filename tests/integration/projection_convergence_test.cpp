// The foundation's end-to-end claim: projection forms an assembly at scale, in implicit mode.
#include <gtest/gtest.h>

#include <cstdio>

#include "engram/engine/backend/backend.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "support/backends.hpp"

namespace engram::assembly {
namespace {

BrainSpec million_neuron_projection() {
  BrainSpec spec;
  spec.areas = {{"A", 1'000'000, 1000}};
  spec.stimuli = {{"stim", 1000}};
  spec.fibers = {{"stim", "A", 0.05}, {"A", "A", 0.05}};
  spec.p = 0.001;
  spec.mode = GraphMode::implicit_graph;
  return spec;
}

class ProjectionConvergence : public ::testing::TestWithParam<std::string> {};

TEST_P(ProjectionConvergence, MillionNeuronAreaConvergesWithin25Steps) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, million_neuron_projection(), {{2024, 0}});
  double overlap = 0.0;
  std::uint64_t support_at_20 = 0;
  for (int step = 1; step <= 25; ++step) {
    batch.project();
    overlap = batch.overlap(0, "A") / 1000.0;
    if (step == 20) support_at_20 = batch.support(0, "A");
  }
  std::printf("beta = 0.05: overlap %.4f at step 25, support %llu at step 20 and %llu at step 25\n", overlap,
              static_cast<unsigned long long>(support_at_20), static_cast<unsigned long long>(batch.support(0, "A")));
  EXPECT_GE(overlap, 0.99) << "consecutive winner sets should agree on >= 99% by step 25";
  // A converged assembly stops recruiting: the support barely moves in the last steps.
  EXPECT_LE(batch.support(0, "A") - support_at_20, 10u);
  // ...yet learning did recruit beyond the first winners (otherwise the test would be trivial).
  EXPECT_GT(batch.support(0, "A"), 1000u);
}

TEST_P(ProjectionConvergence, WithoutPlasticityNoAssemblyForms) {
  // The control: the same area, graph and seed with beta = 0. The recurrent winners keep
  // wandering, so the convergence above is Hebbian learning's doing and not an artefact of the k-cap.
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  BrainSpec spec = million_neuron_projection();
  for (FiberSpec& f : spec.fibers) f.beta = 0.0;
  ExactBatch batch(backend, spec, {{2024, 0}});
  double overlap = 0.0;
  for (int step = 1; step <= 25; ++step) {
    batch.project();
    overlap = batch.overlap(0, "A") / 1000.0;
  }
  std::printf("beta = 0: overlap of the last two winner sets %.3f, support %llu\n", overlap,
              static_cast<unsigned long long>(batch.support(0, "A")));
  EXPECT_LT(overlap, 0.9);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectionConvergence, ::testing::Values("cpu", "cuda"),
                         engram::testing::backend_name);

}  // namespace
}  // namespace engram::assembly
