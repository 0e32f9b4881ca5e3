#pragma once
// Binned neural recordings on disk and in memory. The file format is an NPZ archive
// (numpy.savez, uncompressed) holding
//   counts     [trials, time, neurons]  spike counts per bin: finite, >= 0 (any numeric dtype)
//   labels     [trials]                 optional: integer class of each trial, in [0, classes)
//   behaviour  [trials, time, d]        optional: behavioural variables per bin, finite
// Any other array is ignored. docs/training.md describes the format with a numpy example.
//
//   engram::data::NeuralData d = engram::data::load_neural_data("session.npz");
//   float c = d.count(trial, t, neuron);
#include <cstdint>
#include <string>
#include <vector>

namespace engram::data {

struct NeuralData {
  std::int64_t trials = 0, time = 0, neurons = 0;
  std::vector<float> counts;          // [trials, time, neurons]
  std::vector<std::int32_t> labels;   // [trials] or empty
  std::int64_t classes = 0;           // 1 + the largest label (or as declared)
  std::int64_t behaviour_dim = 0;
  std::vector<float> behaviour;       // [trials, time, behaviour_dim] or empty

  float count(std::int64_t trial, std::int64_t t, std::int64_t n) const {
    return counts[static_cast<std::size_t>((trial * time + t) * neurons + n)];
  }
  // The listed trials, in order (train/test splits).
  NeuralData subset(const std::vector<std::int64_t>& trial_ids) const;
};

// Loads and checks a file; `classes` > 0 declares the label range (labels must lie in
// [0, classes)). Every problem raises engram::Error::bad_input naming the file and the array.
NeuralData load_neural_data(const std::string& path, std::int64_t classes = 0);
void save_neural_data(const std::string& path, const NeuralData& data);

// The checks load_neural_data applies, for data built in memory; `origin` names it in errors.
void validate_neural_data(const NeuralData& data, const std::string& origin);

}  // namespace engram::data
