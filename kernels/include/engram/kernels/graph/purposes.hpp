#pragma once
// The RNG purposes of the graph kernels (kernels/graph): the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose graph_edges{2};  // out-neighbours of one source neuron of one fiber
inline constexpr Purpose input_noise{10};  // i.i.d. noise on every neuron's input before the k-cap (step, neuron)

}  // namespace engram::purpose
