// Weight normalisation: a maximum weight caps Hebbian growth; incoming-sum normalisation keeps
// each winner's synaptic budget (in-edges from ever-fired neurons) constant through learning.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>

#include "engram/engine/error.hpp"
#include "engram/models/assembly/exact_batch.hpp"
#include "support/backends.hpp"

namespace engram::assembly {
namespace {

BrainSpec spec_with(bool normalise, double max_weight, GraphMode mode) {
  BrainSpec spec;
  spec.areas = {AreaSpec{"A", 3000, 50, true, 0.0, normalise}};
  spec.stimuli = {{"s", 50}};
  spec.fibers = {FiberSpec{"s", "A", 0.2, std::nullopt, max_weight}, FiberSpec{"A", "A", 0.2, std::nullopt, max_weight}};
  spec.p = 0.05;
  spec.mode = mode;
  return spec;
}

// Per-target sums of the in-weights of area A from the stimulus and from the given A sources.
std::vector<double> in_sums(const ExactBatch& batch, const std::vector<NeuronId>& area_sources) {
  std::vector<double> sums(3000, 0.0);
  for (NeuronId s = 0; s < 50; ++s) {
    const auto row = batch.row(0, 0, s);
    for (std::size_t e = 0; e < row.targets.size(); ++e) sums[row.targets[e]] += row.weights[e];
  }
  for (NeuronId s : area_sources) {
    const auto row = batch.row(0, 1, s);
    for (std::size_t e = 0; e < row.targets.size(); ++e) sums[row.targets[e]] += row.weights[e];
  }
  return sums;
}

class Normalisation : public ::testing::TestWithParam<std::string> {};

TEST_P(Normalisation, MaxWeightCapsGrowth) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, spec_with(false, 1.5, GraphMode::implicit_graph), {{4, 0}});
  for (int i = 0; i < 12; ++i) batch.project();
  float largest = 0;
  for (NeuronId s = 0; s < 50; ++s) {
    for (float w : batch.row(0, 0, s).weights) largest = std::max(largest, w);
  }
  EXPECT_FLOAT_EQ(largest, 1.5f) << "1.2^12 would be ~8.9 without the cap";
}

TEST_P(Normalisation, IncomingSumOfWinnersIsConserved) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, spec_with(true, 0.0, GraphMode::implicit_graph), {{4, 0}});
  for (int i = 0; i < 3; ++i) batch.project();
  // In implicit mode the materialised A rows are exactly the neurons that have fired.
  std::vector<NeuronId> fired;
  for (NeuronId s = 0; s < 3000; ++s) if (!batch.row(0, 1, s).targets.empty()) fired.push_back(s);
  const auto before = in_sums(batch, fired);
  const auto stimulus_row_before = batch.row(0, 0, 0).weights;
  batch.project();
  const auto after = in_sums(batch, fired);
  EXPECT_NE(batch.row(0, 0, 0).weights, stimulus_row_before) << "learning must change individual weights";
  for (NeuronId j : batch.winners(0, "A")) {
    ASSERT_GT(before[j], 0.0);
    EXPECT_NEAR(after[j], before[j], 1e-5 * before[j]) << "winner " << j;
  }
}

TEST_P(Normalisation, ExplicitAndImplicitStayIdentical) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch a(backend, spec_with(true, 3.0, GraphMode::implicit_graph), {{9, 1}});
  ExactBatch b(backend, spec_with(true, 3.0, GraphMode::explicit_graph), {{9, 1}});
  for (int i = 0; i < 8; ++i) {
    a.project();
    b.project();
    ASSERT_EQ(a.winners(0, "A"), b.winners(0, "A")) << "step " << i;
  }
}

TEST_P(Normalisation, LongRunsSaturateInsteadOfOverflowing) {
  // Unbounded 1.05x growth per step would push a converged assembly's inputs past the fixed-point
  // range (2^31) near step 400 and silently scramble it; the engine ceiling keeps it converged.
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  BrainSpec spec;
  spec.areas = {{"A", 10'000, 100}};
  spec.stimuli = {{"s", 100}};
  spec.fibers = {{"s", "A", 0.05}, {"A", "A", 0.05}};
  spec.p = 0.01;
  ExactBatch batch(backend, spec, {{42, 0}});
  for (int step = 0; step < 450; ++step) {
    batch.project();
    if (step >= 380) {
      ASSERT_EQ(batch.overlap(0, "A"), 100u) << "step " << step;
    }
  }
  float largest = 0;
  for (NeuronId s = 0; s < 100; ++s) {
    for (float w : batch.row(0, 0, s).weights) largest = std::max(largest, w);
  }
  EXPECT_EQ(largest, kMaxWeight);
}

TEST_P(Normalisation, FiberNormalisesEveryNeuronsInEdgesToTheTotal) {
  // Dabagia et al.'s per-neuron, per-fiber normalisation (explicit mode: every edge stored). The
  // reference sums the rows on the host; the other fiber must not move.
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, spec_with(false, 0.0, GraphMode::explicit_graph), {{5, 0}, {5, 1}});
  for (int i = 0; i < 3; ++i) batch.project();  // learning makes the weights unequal
  const auto recurrent_before = batch.row(1, 1, 7).weights;
  batch.normalise_fiber(0, 1.0);
  for (std::size_t b = 0; b < 2; ++b) {
    std::vector<double> sums(3000, 0.0);
    std::vector<int> degree(3000, 0);
    for (NeuronId s = 0; s < 50; ++s) {
      const auto row = batch.row(b, 0, s);
      for (std::size_t e = 0; e < row.targets.size(); ++e) {
        sums[row.targets[e]] += row.weights[e];
        ++degree[row.targets[e]];
      }
    }
    int with_edges = 0;
    for (NeuronId j = 0; j < 3000; ++j) {
      if (degree[j] == 0) continue;
      ++with_edges;
      ASSERT_NEAR(sums[j], 1.0, 1e-5) << "brain " << b << " neuron " << j << " (" << degree[j] << " in-edges)";
    }
    EXPECT_GT(with_edges, 2000) << "50 sources at p = 0.05 reach ~92% of the targets";
  }
  EXPECT_EQ(batch.row(1, 1, 7).weights, recurrent_before);
  // Scaling to 2 doubles every weight: the normalisation is a per-target rescale, nothing else.
  const auto unit = batch.row(0, 0, 3).weights;
  batch.normalise_fiber(0, 2.0);
  const auto doubled = batch.row(0, 0, 3).weights;
  ASSERT_EQ(unit.size(), doubled.size());
  for (std::size_t e = 0; e < unit.size(); ++e) EXPECT_NEAR(doubled[e], 2.0f * unit[e], 1e-6f);

  ExactBatch implicit(backend, spec_with(false, 0.0, GraphMode::implicit_graph), {{5, 0}});
  try {
    implicit.normalise_fiber(0, 1.0);
    ADD_FAILURE() << "implicit mode accepted a normalisation it cannot do over unstored edges";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mode = implicit"), std::string::npos) << e.what();
  }
}

TEST_P(Normalisation, RowWeightsCanBeSet) {
  ENGRAM_BACKEND_OR_SKIP(backend, GetParam());
  ExactBatch batch(backend, spec_with(false, 0.0, GraphMode::implicit_graph), {{5, 0}});
  std::vector<float> weights(3000);
  for (std::size_t t = 0; t < weights.size(); ++t) weights[t] = -static_cast<float>(t) / 1000.0f;
  batch.set_row_weights(0, 0, 4, weights);
  const auto row = batch.row(0, 0, 4);
  ASSERT_FALSE(row.targets.empty());
  for (std::size_t e = 0; e < row.targets.size(); ++e) EXPECT_EQ(row.weights[e], weights[row.targets[e]]);
  EXPECT_THROW(batch.set_row_weights(0, 0, 4, std::vector<float>(10, 0.0f)), Error);
  weights[9] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(batch.set_row_weights(0, 0, 4, weights), Error);
  EXPECT_THROW(batch.set_row_weights(0, 1, 4, std::vector<float>(3000, 0.0f)), Error) << "A's rows are generated when A fires";
}

INSTANTIATE_TEST_SUITE_P(Backends, Normalisation, ::testing::Values("cpu", "cuda"), engram::testing::backend_name);

}  // namespace
}  // namespace engram::assembly
