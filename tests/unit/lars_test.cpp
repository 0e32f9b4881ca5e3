// LARS on batched training runs (runs::BasicTrainingRuns::lars_step) against the scalar reference
// (tests/reference): three runs with their own learning rates, adapting and non-adapting tensors,
// a zero tensor (trust ratio 1), values outside every tensor, three steps so the momentum
// buffer carries; double to 1e-12, float to 1e-5 relative.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/error.hpp"
#include "engram/models/nn/training_runs.hpp"
#include "reference/reference.hpp"

namespace {

using engram::models::runs::LarsTensor;

// offset, count, adapt: a weight, a bias, a gap [17, 20) no tensor holds, a weight that starts at
// zero, a batch-norm scale, and the tail [41, 45) untouched.
const std::vector<LarsTensor> kTensors = {{0, 12, true}, {12, 5, false}, {20, 9, true}, {29, 6, true}, {35, 6, false}};
constexpr std::int64_t kParams = 45, kRuns = 3;

template <class T>
void check_against_reference(double tolerance) {
  auto backend = engram::make_backend("cpu");
  engram::models::runs::BasicTrainingRuns<T> runs(*backend, kRuns, kParams);
  std::vector<engram::reference::LarsTensor> ref_tensors;
  for (const LarsTensor& t : kTensors) ref_tensors.push_back({static_cast<std::size_t>(t.offset), static_cast<std::size_t>(t.count), t.adapt});
  runs.set_lars_tensors(kTensors);
  const std::vector<double> lr = {0.8, 0.05, 2.5};
  runs.set_learning_rates(lr);
  const engram::nn::LarsConfig config{0.9, 1e-2, 1e-3};
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::vector<double>> w(kRuns), buf(kRuns, std::vector<double>(kParams, 0.0));
  for (std::int64_t r = 0; r < kRuns; ++r) {
    std::vector<T> init(kParams);
    for (std::int64_t i = 0; i < kParams; ++i) init[static_cast<std::size_t>(i)] = i >= 29 && i < 35 ? T(0) : static_cast<T>(normal(gen));
    runs.upload_run(r, init);
    w[static_cast<std::size_t>(r)].assign(init.begin(), init.end());
  }
  for (int step = 0; step < 3; ++step) {
    std::vector<T> grads(static_cast<std::size_t>(kRuns * runs.stride()), T(0));
    for (std::int64_t r = 0; r < kRuns; ++r) {
      std::vector<double> g(kParams);
      // Gradients on differing scales, so the trust ratio matters.
      for (std::int64_t i = 0; i < kParams; ++i) {
        const T v = static_cast<T>(normal(gen) * std::pow(10.0, static_cast<double>(r - 1)));
        grads[static_cast<std::size_t>(r * runs.stride() + i)] = v;
        g[static_cast<std::size_t>(i)] = static_cast<double>(v);
      }
      engram::reference::lars_step(w[static_cast<std::size_t>(r)], g, buf[static_cast<std::size_t>(r)], ref_tensors,
                                   lr[static_cast<std::size_t>(r)], config.momentum, config.weight_decay, config.eta);
    }
    backend->copy_from_host(runs.grads(), grads.data(), grads.size() * sizeof(T));
    runs.lars_step(config);
    for (std::int64_t r = 0; r < kRuns; ++r) {
      const std::vector<T> got = runs.run_values(r);
      for (std::int64_t i = 0; i < kParams; ++i) {
        const double expect = w[static_cast<std::size_t>(r)][static_cast<std::size_t>(i)];
        EXPECT_NEAR(static_cast<double>(got[static_cast<std::size_t>(i)]), expect, tolerance * std::max(1.0, std::abs(expect)))
            << "step " << step << " run " << r << " value " << i;
      }
    }
  }
  // The zero-initialised weight moved (trust ratio 1), the gap and the tail did not.
  const std::vector<T> last = runs.run_values(0);
  EXPECT_NE(last[30], T(0));
}

TEST(Lars, DoubleRunsMatchTheScalarReference) { check_against_reference<double>(1e-12); }

TEST(Lars, FloatRunsMatchTheScalarReference) { check_against_reference<float>(1e-5); }

TEST(Lars, OverlappingOrOutOfRangeTensorsAreRefused) {
  auto backend = engram::make_backend("cpu");
  engram::models::runs::BasicTrainingRuns<float> runs(*backend, 1, 10);
  EXPECT_THROW(runs.set_lars_tensors({{0, 6, true}, {5, 2, false}}), engram::Error);
  EXPECT_THROW(runs.set_lars_tensors({{8, 3, true}}), engram::Error);
  EXPECT_THROW(runs.lars_step({}), engram::Error);
}

}  // namespace
