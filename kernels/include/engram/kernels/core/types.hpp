#pragma once
// Index types shared by every kernel family. Neuron ids are 32-bit (areas up to 4e9 neurons);
// edge offsets and flattened [batch, n] indices are 64-bit because batch * n overflows 32 bits.
#include <cstdint>

namespace engram {

using NeuronId = std::uint32_t;
using EdgeOffset = std::int64_t;
using FlatIndex = std::int64_t;

// Marks a row of a lazily materialised graph that has not been generated yet.
inline constexpr EdgeOffset kRowAbsent = -1;

}  // namespace engram
