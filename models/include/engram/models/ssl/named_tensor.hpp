#pragma once
// A tensor of a trained self-supervised model by its torch-style name: where it lies in one
// run's host state (ssl/model_state.hpp) and its torch shape. The names are those of an
// nn.Sequential of Linear, BatchNorm1d and ReLU modules per network (encoder.0.weight,
// encoder.1.running_mean, ...), so a state dict loads into the matching PyTorch module.
#include <cstdint>
#include <string>
#include <vector>

namespace engram::ssl {

// Which of a run's host vectors holds the tensor.
enum class StateStore { params, stats, target };

struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;  // Linear weights are [out, in], as stored
  StateStore store = StateStore::params;
  std::int64_t offset = 0;          // first element inside that store
};

}  // namespace engram::ssl
