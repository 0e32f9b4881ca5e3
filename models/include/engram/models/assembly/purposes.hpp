#pragma once
// The RNG purposes of Assembly Calculus (models/assembly): the third field of every RngKey they draw with.
// Values are global (kernels/core/random.hpp); tests/unit/purposes_test.cpp checks that no two owners share one.
#include "engram/kernels/core/random.hpp"

namespace engram::purpose {

inline constexpr Purpose graph_seed{1};  // derive a brain's graph seed from its run seed
inline constexpr Purpose firing_subset{3};  // which part of an assembly fires as a cue (pattern completion)
inline constexpr Purpose lazy_area_seed{4};  // lazy mode: derive the seed of one area of one brain
inline constexpr Purpose lazy_potentials{5};  // lazy mode: the k best inputs among never-fired neurons (step, 0)
inline constexpr Purpose lazy_split{6};  // lazy mode: split of a new winner's input over sources (0, neuron)
inline constexpr Purpose lazy_in_edges{7};  // lazy mode: in-edges of a newly materialised neuron (fiber, neuron)
inline constexpr Purpose lazy_out_edges{8};  // lazy mode: out-edges of a newly materialised neuron (fiber, neuron)
inline constexpr Purpose classification_data{9};  // synthetic class cores and samples; train/test splits of image sets
inline constexpr Purpose markov_chain{11};  // Markov: next states shown in training (stream 0: walk, 2: calibrated rounds; step = transition) and the sampled winner (stream 1)

}  // namespace engram::purpose
