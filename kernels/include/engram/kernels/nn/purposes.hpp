#pragma once
// The RNG purposes of the nn kernels and the trainers built on them: the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose nn_dropout{15};  // dropout masks (layer-and-step key, element)
inline constexpr Purpose nn_init{16};  // initial weights of a network (tensor, element)
inline constexpr Purpose nn_batches{17};  // minibatch order of a training run (epoch, position)

}  // namespace engram::purpose
