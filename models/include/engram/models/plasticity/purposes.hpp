#pragma once
// The RNG purposes of learned-rule networks (models/plasticity): the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose plasticity_data{12};  // synthetic samples and teachers (step = stream, index = sample)
inline constexpr Purpose plasticity_weights{13};  // graph and initial weights (step = array, index = row)
inline constexpr Purpose plasticity_rule{14};  // initial rules, ES perturbations, selection mutations

}  // namespace engram::purpose
