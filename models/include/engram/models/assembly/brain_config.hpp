#pragma once
// The brain keys every BrainBatch-based experiment shares, read from YAML in one place:
//   backend, mode, p, seed, brains, batch_size, areas, stimuli, fibers
// with the same field-naming errors everywhere.
#include <cstdint>
#include <string>

#include "engram/engine/io/config_node.hpp"
#include "engram/models/assembly/brain_spec.hpp"

namespace engram::assembly {

struct BrainSection {
  BrainSpec brain;
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
};

// Reads and validates the shared keys; the caller checks the keys it allows (allow_keys).
BrainSection parse_brain_section(const io::ConfigNode& root);

// An optional count that must be at least 1 when given (brains, batch_size, steps).
std::uint32_t positive_count(const io::ConfigNode& node, const std::string& key, std::uint32_t fallback);

}  // namespace engram::assembly
