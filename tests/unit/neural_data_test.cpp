// The binned neural data format (NPZ) and the synthetic generators: round trips, numpy's own
// files, clear errors for malformed files, and properties of the generated data that follow
// from their definitions (label balance, tuning, conserved centre of mass).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <numbers>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/models/data/neural_data.hpp"
#include "engram/models/data/npz.hpp"
#include "engram/models/data/synthetic.hpp"
#include "engram/models/transformer/training.hpp"

namespace {

namespace fs = std::filesystem;
using engram::data::NpyArray;

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("engram_neural_data_" + std::to_string(::getpid()) + "_" + name);
}

std::string load_error(const std::vector<NpyArray>& arrays, std::int64_t classes = 0) {
  const fs::path p = temp_file("bad.npz");
  engram::data::write_npz(p.string(), arrays);
  try {
    engram::data::load_neural_data(p.string(), classes);
  } catch (const engram::Error& e) {
    EXPECT_EQ(e.code(), engram::ErrorCode::bad_input);
    fs::remove(p);
    return e.what();
  }
  fs::remove(p);
  return "";
}

NpyArray counts(std::vector<std::int64_t> shape, double fill = 1.0) {
  NpyArray a{"counts", shape, "<f4", {}};
  a.values.assign(static_cast<std::size_t>(a.size()), fill);
  return a;
}

TEST(NeuralData, RoundTripsThroughNpz) {
  engram::data::AngleSpec spec;
  spec.trials = 12;
  spec.time = 3;
  spec.neurons = 5;
  const auto d = engram::data::angle_population(spec, 9);
  const fs::path p = temp_file("round.npz");
  engram::data::save_neural_data(p.string(), d);
  const auto back = engram::data::load_neural_data(p.string());
  fs::remove(p);
  EXPECT_EQ(back.trials, 12);
  EXPECT_EQ(back.time, 3);
  EXPECT_EQ(back.neurons, 5);
  EXPECT_EQ(back.counts, d.counts);
  EXPECT_EQ(back.labels, d.labels);
}

TEST(NeuralData, ReadsArraysNumpyWrote) {
  // numpy.savez output (zip64 local headers), committed by scripts/make_transformer_reference.py.
  const auto arrays = engram::data::read_npz(std::string(ENGRAM_SOURCE_DIR) + "/tests/data/transformer_reference.npz");
  const NpyArray& c = arrays.at("counts");
  EXPECT_EQ(c.dtype, "<f4");
  ASSERT_EQ(c.shape.size(), 3u);
  EXPECT_EQ(c.size(), static_cast<std::int64_t>(c.values.size()));
  EXPECT_EQ(arrays.at("labels").dtype, "<i8");
  for (double v : c.values) EXPECT_EQ(v, std::floor(v));
}

TEST(NeuralData, ReadsCompressedArchivesAsTheirStoredTwins) {
  // numpy.savez_compressed of four arrays of transformer_reference.npz (deflated entries).
  const std::string dir = std::string(ENGRAM_SOURCE_DIR) + "/tests/data/";
  const auto stored = engram::data::read_npz(dir + "transformer_reference.npz");
  const auto compressed = engram::data::read_npz(dir + "transformer_reference_compressed.npz");
  ASSERT_EQ(compressed.size(), 4u);
  for (const auto& [name, array] : compressed) {
    const NpyArray& want = stored.at(name);
    EXPECT_EQ(array.dtype, want.dtype) << name;
    EXPECT_EQ(array.shape, want.shape) << name;
    EXPECT_EQ(array.values, want.values) << name;
  }
  // A damaged deflate stream is an error naming the entry, not garbage.
  std::ifstream in(dir + "transformer_reference_compressed.npz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t i = 60; i < 90; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  const fs::path p = temp_file("damaged.npz");
  { std::ofstream(p, std::ios::binary) << bytes; }
  try {
    engram::data::read_npz(p.string());
    ADD_FAILURE() << "no error";
  } catch (const engram::Error& e) {
    EXPECT_NE(std::string(e.what()).find("compressed entry"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

TEST(NeuralData, MalformedFilesGiveClearErrors) {
  EXPECT_NE(load_error({counts({4, 5})}).find("wrong rank 2"), std::string::npos);
  NpyArray nan = counts({2, 3, 4});
  nan.values[7] = NAN;
  EXPECT_NE(load_error({nan}).find("counts[0, 1, 3] = nan: spike counts must be finite"), std::string::npos)
      << load_error({nan});
  NpyArray negative = counts({2, 3, 4});
  negative.values[23] = -1;
  EXPECT_NE(load_error({negative}).find("counts[1, 2, 3] = -1: spike counts must be >= 0"), std::string::npos);
  const NpyArray labels{"labels", {2}, "<i8", {0, 8}};
  EXPECT_NE(load_error({counts({2, 3, 4}), labels}, 8).find("labels[1] = 8: label out of range"), std::string::npos);
  const NpyArray negative_label{"labels", {2}, "<i4", {-1, 0}};
  EXPECT_NE(load_error({counts({2, 3, 4}), negative_label}).find("label out of range"), std::string::npos);
  const NpyArray short_labels{"labels", {3}, "<i8", {0, 1, 2}};
  EXPECT_NE(load_error({counts({2, 3, 4}), short_labels}).find("labels must be [trials]"), std::string::npos);
  const NpyArray behaviour{"behaviour", {2, 4, 1}, "<f4", {0, 0, 0, 0, 0, 0, 0, 0}};
  EXPECT_NE(load_error({counts({2, 3, 4}), behaviour}).find("behaviour must be [trials, time, d]"), std::string::npos);
  EXPECT_NE(load_error({NpyArray{"other", {1}, "<f4", {1}}}).find("needs an array 'counts'"), std::string::npos);
  // Not an archive at all.
  const fs::path p = temp_file("junk.npz");
  { std::ofstream(p) << "not a zip file, just text that is long enough"; }
  EXPECT_THROW(engram::data::read_npz(p.string()), engram::Error);
  fs::remove(p);
}

TEST(NeuralData, AnglePopulationIsTunedAndBalanced) {
  engram::data::AngleSpec spec;
  spec.trials = 800;
  spec.time = 4;
  spec.neurons = 20;
  const auto d = engram::data::angle_population(spec, 3);
  std::vector<int> per_class(8, 0);
  for (auto l : d.labels) per_class[static_cast<std::size_t>(l)]++;
  for (int c : per_class) EXPECT_NEAR(c, 100, 40);
  // Same seed, same data; the population seed alone fixes the neurons' tuning.
  EXPECT_EQ(engram::data::angle_population(spec, 3).counts, d.counts);
  // Mean count over all trials lies between baseline/2 and baseline*1.5 + gain*1.5 (definition).
  double mean = 0;
  for (float c : d.counts) mean += c / static_cast<double>(d.counts.size());
  EXPECT_GT(mean, 0.5 * spec.baseline);
  EXPECT_LT(mean, 1.5 * spec.baseline + 1.5 * spec.gain);
  // Tuning: each neuron's mean count differs between its best and worst class by a wide margin.
  for (std::int64_t n = 0; n < 3; ++n) {
    std::vector<double> sum(8, 0.0);
    for (std::int64_t tr = 0; tr < d.trials; ++tr) {
      for (std::int64_t t = 0; t < d.time; ++t) sum[static_cast<std::size_t>(d.labels[tr])] += d.count(tr, t, n);
    }
    for (int c = 0; c < 8; ++c) sum[c] /= static_cast<double>(per_class[c] * d.time);
    EXPECT_GT(*std::max_element(sum.begin(), sum.end()) - *std::min_element(sum.begin(), sum.end()), 0.5 * spec.gain * 0.5);
  }
}

TEST(NeuralData, GravityBodiesConserveTheCentreOfMass) {
  engram::data::GravitySpec spec;
  spec.trials = 3;
  spec.time = 30;
  spec.neurons = 10;
  const auto d = engram::data::gravity_bodies(spec, 2);
  ASSERT_EQ(d.behaviour_dim, 2 * spec.bodies);
  engram::data::validate_neural_data(d, "gravity");
  // Unit masses and zero total momentum: the mean position is constant along a trajectory.
  for (std::int64_t tr = 0; tr < d.trials; ++tr) {
    for (int c = 0; c < 2; ++c) {
      auto centre = [&](std::int64_t t) {
        double s = 0;
        for (std::int64_t b = 0; b < spec.bodies; ++b) s += d.behaviour[static_cast<std::size_t>((tr * d.time + t) * d.behaviour_dim + 2 * b + c)];
        return s / static_cast<double>(spec.bodies);
      };
      EXPECT_NEAR(centre(0), centre(d.time - 1), 1e-5);
    }
  }
  // The bodies actually move.
  EXPECT_GT(std::abs(d.behaviour[0] - d.behaviour[static_cast<std::size_t>((d.time - 1) * d.behaviour_dim)]), 1e-3);
}

TEST(NeuralData, SplitIsDeterministicAndDisjoint) {
  engram::data::AngleSpec spec;
  spec.trials = 40;
  spec.time = 2;
  spec.neurons = 3;
  auto d = engram::data::angle_population(spec, 1);
  // Tag every bin of a trial with the trial's index, so each side of the split says which trials it holds.
  for (std::int64_t trial = 0; trial < d.trials; ++trial) {
    for (std::int64_t i = 0; i < d.time * d.neurons; ++i) d.counts[static_cast<std::size_t>(trial * d.time * d.neurons + i)] = static_cast<float>(trial);
  }
  const auto trials_of = [&](const engram::data::NeuralData& part) {
    std::vector<int> ids;
    for (std::int64_t trial = 0; trial < part.trials; ++trial) {
      ids.push_back(static_cast<int>(part.count(trial, 0, 0)));
      for (std::int64_t i = 1; i < part.time * part.neurons; ++i) {
        EXPECT_EQ(part.counts[static_cast<std::size_t>(trial * part.time * part.neurons + i)], part.count(trial, 0, 0))
            << "trial " << trial << " mixes bins of two source trials";
      }
    }
    return ids;
  };
  const auto [train, test] = engram::models::transformer::split_trials(d, 0.25, 7);
  EXPECT_EQ(test.trials, 10);
  EXPECT_EQ(train.trials, 30);
  std::vector<int> all = trials_of(train);
  const std::vector<int> held_out = trials_of(test);
  all.insert(all.end(), held_out.begin(), held_out.end());
  std::sort(all.begin(), all.end());
  std::vector<int> every(40);
  std::iota(every.begin(), every.end(), 0);
  EXPECT_EQ(all, every) << "train and test must partition the trials: disjoint, and together all of them";
  const auto again = engram::models::transformer::split_trials(d, 0.25, 7);
  EXPECT_EQ(trials_of(again.second), held_out);
  const auto other = engram::models::transformer::split_trials(d, 0.25, 8);
  EXPECT_NE(trials_of(other.second), held_out) << "the split seed must choose the held-out trials";
}

}  // namespace
