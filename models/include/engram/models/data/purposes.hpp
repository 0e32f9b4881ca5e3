#pragma once
// The RNG purposes of synthetic neural data (models/data): the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose neural_data{18};  // synthetic neural recordings (trial, draw)

}  // namespace engram::purpose
